/**
 * The `params` of a chat completion request: the chat controls Open WebUI's page sends only there
 * (Chat.svelte: `params: { ...$settings.params, ...params, format, keep_alive, stop }`), and Conduit
 * too (api_service.dart, the user's settings `params` and `reasoning_effort`), mapped for Ollama as
 * Open WebUI's backend maps them for an Ollama model: utils/middleware.py apply_params_to_form_data
 * drops its own settings (`stream_response`, `stream_delta_chunk_size`, `function_calling`,
 * `reasoning_tags`, `system`, which the page has already put into the messages), merges
 * `custom_params` over the rest (each a JSON text or a plain value) and makes them the Ollama
 * `options`; utils/payload.py convert_payload_openai_to_ollama then moves `format`, `keep_alive`
 * and `think` to the request's top level and renames `max_tokens` to `num_predict`.
 *
 * Threat: the values are the caller's and go to Ollama. Only the options chat/model-options.ts
 * lists reach it, each of its type and range; one that is not is refused with a 400 naming it, as a
 * top-level field is. The other names are left out (Ollama itself ignores an option it does not
 * know): OpenAI-only ones (`logit_bias`, `reasoning_effort`, which Open WebUI also sends into an
 * Ollama model's options, where it has no effect) and the load settings (`num_gpu`, `num_thread`,
 * `use_mmap`, ...), which are the operator's to set in the Modelfile, not a chat's.
 */
import { invalidOptionNames, ollamaOptionsOf } from '../../chat/model-options.ts'
import type { ChatRequest, ModelOptions } from '../../chat/ollama-client.ts'
import { MAX_JSON_NESTING, nestsDeeperThan } from '../../db/json-nesting.ts'
import { OpenAiError } from './openai-shapes.ts'

/** What `params` asks of the request to Ollama: its options, and the top-level fields it sets. */
export type CompletionParams = { options: ModelOptions } & Pick<ChatRequest, 'format' | 'keepAlive' | 'think'>

/** Open WebUI's own settings, which never go to the model (middleware.py apply_params_to_form_data). */
const OPEN_WEBUI_ONLY = new Set(['stream_response', 'stream_delta_chunk_size', 'function_calling', 'reasoning_tags', 'system', 'custom_params'])
const TOP_LEVEL = new Set(['format', 'keep_alive', 'think'])
/** Ollama's keep_alive: seconds (negative: for ever) or a Go duration such as `5m` or `1h30m`. */
const DURATION = /^-?(?:\d+(?:\.\d+)?(?:ns|us|µs|ms|s|m|h))+$/
const THINK_LEVELS = new Set(['low', 'medium', 'high'])

const invalid = (message: string) => new OpenAiError(400, 'invalid_request_error', 'invalid_request', message)
const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value)

/**
 * Open WebUI's parse_json: a text that is JSON is read as its value, any other text stays as it is.
 * A value nested deeper than the body may be is refused with a 400 naming `field`.
 */
function parseJson(value: unknown, field: string): unknown {
  if (typeof value !== 'string') return value
  let parsed: unknown
  try {
    parsed = JSON.parse(value)
  } catch {
    return value
  }
  // note: a string in the body, so body-nesting did not measure it; it goes on to Ollama as JSON (JSON.stringify recurses).
  if (nestsDeeperThan(parsed, MAX_JSON_NESTING)) throw invalid(`${field} is nested deeper than the ${MAX_JSON_NESTING} levels this server accepts.`)
  return parsed
}

/** The params as one flat object: `custom_params` merged over the rest, their JSON texts read. */
function flatten(params: Record<string, unknown>): Record<string, unknown> {
  const custom = params.custom_params
  if (custom === undefined || custom === null) return params
  if (!isObject(custom)) throw invalid('params.custom_params must be an object.')
  return { ...params, ...Object.fromEntries(Object.entries(custom).map(([name, value]) => [name, parseJson(value, `params.custom_params.${JSON.stringify(name.slice(0, 40))}`)])) }
}

function keepAliveOf(raw: unknown): CompletionParams['keepAlive'] {
  const value = parseJson(raw, 'params.keep_alive')
  if (typeof value === 'number' && Number.isFinite(value)) return value
  if (typeof value === 'string' && value.length <= 32 && DURATION.test(value)) return value
  throw invalid('params.keep_alive must be a number of seconds or a duration such as "5m".')
}

function formatOf(raw: unknown): unknown {
  const value = parseJson(raw, 'params.format')
  if (value === 'json' || isObject(value)) return value
  throw invalid('params.format must be "json" or a JSON schema object.')
}

function thinkOf(value: unknown): CompletionParams['think'] {
  if (typeof value === 'boolean') return value
  if (typeof value === 'string' && THINK_LEVELS.has(value)) return value as 'low' | 'medium' | 'high'
  throw invalid('params.think must be true, false, "low", "medium" or "high".')
}

/**
 * Reads a request's `params` (absent or null: none); throws a 400 naming the fields whose values
 * are of the wrong type or out of range.
 */
export function readCompletionParams(raw: unknown): CompletionParams {
  if (raw === undefined || raw === null) return { options: {} }
  if (!isObject(raw)) throw invalid('params must be an object.')
  const params = flatten(raw)
  const given = Object.fromEntries(Object.entries(params).filter(([name, value]) => value !== null && !OPEN_WEBUI_ONLY.has(name) && !TOP_LEVEL.has(name)))
  // note: a stop text alone is taken as a list of one, as the top-level `stop` is.
  if (typeof given.stop === 'string') given.stop = [given.stop]
  const wrong = invalidOptionNames(given)
  if (wrong.length > 0) throw invalid(`Invalid value in params for ${wrong.map((name) => JSON.stringify(name.slice(0, 40))).join(', ')}: of the wrong type or out of range.`)
  const read: CompletionParams = { options: ollamaOptionsOf(given) }
  if (params.format != null) read.format = formatOf(params.format)
  if (params.keep_alive != null) read.keepAlive = keepAliveOf(params.keep_alive)
  if (params.think != null) read.think = thinkOf(params.think)
  return read
}
