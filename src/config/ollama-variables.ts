import { refusedOllamaHost } from './address-class.ts'
import { httpUrl, integerFrom, isParseFailure, type ParseFailure, type Parser } from './parsers.ts'
import type { Variable } from './variable.ts'
import type { VariableValues } from './variables.ts'

/** The Ollama servers models come from, and how long to wait on them. */
export type OllamaConfig = Readonly<{
  /** OLLAMA_BASE_URLS, else OLLAMA_BASE_URL: one or more, no duplicates, no credentials. */
  urls: readonly string[]
  timeouts: Readonly<{ firstByteMs: number; idleMs: number }>
}>

/** The most connections a list may hold; each one is queried on every model listing. */
export const MAX_OLLAMA_CONNECTIONS = 32

/**
 * Checks a list of Ollama URLs, from OLLAMA_BASE_URLS or an admin's request: each an absolute
 * http(s) URL without credentials (so none can surface in a log or an error), none twice, none
 * on a link-local or cloud metadata address (address-class.ts).
 * Returns them without trailing slashes.
 */
export function parseOllamaUrls(raw: readonly string[]): string[] | ParseFailure {
  if (raw.length === 0 || raw.length > MAX_OLLAMA_CONNECTIONS) return { expected: `from 1 to ${MAX_OLLAMA_CONNECTIONS} Ollama URLs` }
  const urls: string[] = []
  for (const entry of raw) {
    const url = httpUrl(entry)
    if (isParseFailure(url)) return { expected: `${url.expected} for each entry` }
    if (urls.includes(url)) return { expected: 'each URL at most once' }
    const refused = refusedOllamaHost(url)
    if (refused !== null) return { expected: `an Ollama URL on loopback, a private network or a public host, not ${refused}` }
    urls.push(url)
  }
  return urls
}

/** Parses OLLAMA_BASE_URL: one URL, checked as a list entry is. */
const ollamaUrl: Parser<string> = (raw) => {
  const urls = parseOllamaUrls([raw])
  return isParseFailure(urls) ? { expected: urls.expected.replace(' for each entry', '') } : urls[0]!
}

/** Parses OLLAMA_BASE_URLS: URLs separated by semicolons, as Open WebUI writes them. */
const ollamaUrlList: Parser<string[]> = (raw) => {
  const urls = parseOllamaUrls(raw.split(';').map((entry) => entry.trim()).filter((entry) => entry !== ''))
  return isParseFailure(urls) ? { expected: `a semicolon-separated list of ${urls.expected}` } : urls
}

/** Where Ollama is. Names and meanings follow Open WebUI, except the two timeouts (see their docs). */
export const ollamaVariables = {
  OLLAMA_BASE_URL: { parse: ollamaUrl, default: 'http://127.0.0.1:11434', doc: 'Ollama endpoint.' },
  OLLAMA_BASE_URLS: {
    parse: ollamaUrlList, default: null, show: (urls: unknown) => (Array.isArray(urls) ? urls.join(';') : String(urls)),
    doc: 'Several Ollama endpoints, separated by semicolons; when set it replaces OLLAMA_BASE_URL. Models are listed from all of them, and a model on several is served by the first that answers. Administrators can replace the list at runtime (stored encrypted).',
  },
  OLLAMA_TIMEOUT: {
    parse: integerFrom(1, 86_400), default: 300,
    doc: "Seconds to wait for Ollama's first byte (a model may be loading). Open WebUI's AIOHTTP_CLIENT_TIMEOUT bounds a whole answer instead and is not read.",
  },
  OLLAMA_IDLE_TIMEOUT: { parse: integerFrom(1, 3600), default: 60, doc: 'Seconds to wait between two chunks of a streamed answer before giving up.' },
} as const satisfies Record<string, Variable<unknown>>

/** Builds the Ollama settings from the parsed variables. */
export function ollamaConfigFrom(values: VariableValues): OllamaConfig {
  return {
    urls: values.OLLAMA_BASE_URLS ?? [values.OLLAMA_BASE_URL],
    timeouts: { firstByteMs: values.OLLAMA_TIMEOUT * 1000, idleMs: values.OLLAMA_IDLE_TIMEOUT * 1000 },
  }
}
