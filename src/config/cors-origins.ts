/**
 * CORS_ALLOW_ORIGIN and CORS_ALLOW_CUSTOM_SCHEME: which other web origins may call the API from a
 * browser. Origins are written as browsers send them in the Origin header (scheme://host[:port],
 * lower-case, default port dropped), so matching a request is one exact lookup. Anything that
 * would make matching loose (paths, wildcards in hosts, `null`) is refused at start.
 */
import { ipVersionOf } from './ip-address.ts'
import { ConfigError } from './config-error.ts'
import type { Parser } from './parsers.ts'

/** `*` (any origin, never with credentials), or the exact origins allowed. */
export type CorsOriginList = '*' | readonly string[]

/** What the CORS plugin enforces; no origins and not any origin means same origin only. */
export type CorsPolicy = Readonly<
  | { allowsAnyOrigin: true }
  | { allowsAnyOrigin: false; allowedOrigins: readonly string[] }
>

const defaultPorts: Record<string, string> = { http: '80', https: '443' }

// note: browsers give these schemes an opaque origin and send `Origin: null`, so listing one could never match.
const opaqueSchemes = ['file', 'data', 'blob', 'javascript', 'about']

/** Parses `*` or a semicolon-separated list of origins (Open WebUI's format); names the first bad entry. */
export const corsOriginList: Parser<CorsOriginList> = (raw) => {
  const entries = raw.split(';').map((entry) => entry.trim()).filter((entry) => entry !== '')
  const expected = '* alone, or origins separated by ; such as https://chat.example.com;http://localhost:5173 (scheme://host[:port], no path, query or user name)'
  if (entries.length === 0) return { expected }
  if (entries.includes('*')) return entries.length === 1 ? '*' : { expected: `${expected}; * cannot be combined with origins` }
  const origins: string[] = []
  for (const entry of entries) {
    if (entry.toLowerCase() === 'null') return { expected: `${expected}; "null" is never allowed (sandboxed frames and local files send it)` }
    const origin = normalizeOrigin(entry)
    if (origin === null) return { expected: `${expected}; "${entry}" is not one` }
    if (!origins.includes(origin)) origins.push(origin)
  }
  return origins
}

/** Parses a semicolon-separated list of extra URL schemes, such as `app;tauri`, lower-cased. */
export const urlSchemeList: Parser<readonly string[]> = (raw) => {
  const schemes = raw.split(';').map((entry) => entry.trim().toLowerCase()).filter((entry) => entry !== '')
  const expected = 'URL schemes separated by ; such as app;tauri (letters, digits, + . -, without ://)'
  const bad = schemes.find((scheme) => !/^[a-z][a-z0-9+.-]*$/.test(scheme) || opaqueSchemes.includes(scheme))
  if (schemes.length === 0) return { expected }
  return bad === undefined ? [...new Set(schemes)] : { expected: `${expected}; "${bad}" is not usable` }
}

/**
 * Combines the two settings: every origin must use http, https or a listed custom scheme. Throws a
 * ConfigError naming CORS_ALLOW_ORIGIN and the entry otherwise. Unset origins mean same origin only.
 */
export function corsPolicyFrom(origins: CorsOriginList | null, customSchemes: readonly string[] | null): CorsPolicy {
  if (origins === null) return { allowsAnyOrigin: false, allowedOrigins: [] }
  if (origins === '*') return { allowsAnyOrigin: true }
  const schemes = ['http', 'https', ...(customSchemes ?? [])]
  const refused = origins.find((origin) => !schemes.includes(origin.slice(0, origin.indexOf('://'))))
  if (refused !== undefined) {
    throw new ConfigError([{
      variable: 'CORS_ALLOW_ORIGIN',
      value: origins.join(';'),
      expected: `origins using http, https or a scheme listed in CORS_ALLOW_CUSTOM_SCHEME; "${refused}" uses another scheme`,
    }])
  }
  return { allowsAnyOrigin: false, allowedOrigins: origins }
}

/** Returns the origin as a browser would send it, or null when the entry is not scheme://host[:port]. */
function normalizeOrigin(entry: string): string | null {
  // note: one trailing slash is tolerated (an env file carried over from Open WebUI may have it); any other path is not.
  const match = /^([a-z][a-z0-9+.-]*):\/\/([^/?#@\s\\]+?)(?::(\d{1,5}))?\/?$/i.exec(entry)
  if (match === null) return null
  const scheme = match[1]!.toLowerCase()
  const host = canonicalHost(match[2]!)
  const port = match[3]
  if (host === null || (port !== undefined && (Number(port) < 1 || Number(port) > 65535))) return null
  const shownPort = port === undefined || String(Number(port)) === defaultPorts[scheme] ? '' : `:${Number(port)}`
  return `${scheme}://${host}${shownPort}`
}

/** Lower-cases a host name (IDN to punycode) or canonicalises an IP address; null when it is neither. */
function canonicalHost(host: string): string | null {
  if (host.startsWith('[')) {
    if (!host.endsWith(']') || ipVersionOf(host.slice(1, -1)) !== 6) return null
  } else if (!/^[^:*%]+$/.test(host)) {
    return null
  }
  let hostname: string
  try {
    hostname = new URL(`http://${host}/`).hostname
  } catch {
    return null
  }
  return hostname.startsWith('[') || /^([a-z0-9_]([a-z0-9_-]*[a-z0-9_])?\.)*[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?$/.test(hostname) ? hostname : null
}
