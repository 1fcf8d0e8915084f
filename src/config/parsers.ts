/**
 * Parsers turn one raw setting into a typed value, or return a ParseFailure that says what was
 * expected. They never see the variable name: loadConfig adds it when it reports the problem.
 */
import { ipVersionOf } from './ip-address.ts'

export type ParseFailure = { expected: string }
export type Parser<T> = (raw: string) => T | ParseFailure

export function isParseFailure(value: unknown): value is ParseFailure {
  return typeof value === 'object' && value !== null && 'expected' in value && Object.keys(value).length === 1
}

export function integerFrom(min: number, max: number): Parser<number> {
  const expected = `an integer from ${min} to ${max}`
  return (raw) => {
    if (!/^-?\d+$/.test(raw.trim())) return { expected }
    const value = Number(raw.trim())
    return Number.isSafeInteger(value) && value >= min && value <= max ? value : { expected }
  }
}

export const portNumber = integerFrom(1, 65535)

export const text: Parser<string> = (raw) => raw

export const nonEmptyText: Parser<string> = (raw) =>
  raw.trim() === '' ? { expected: 'a non-empty value' } : raw.trim()

// note: underscores are allowed, as container and compose service names often have them.
const dnsName = /^(?=.{1,253}$)[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?(?:\.[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?)*\.?$/

/**
 * Accepts a host name or an IP address (IPv6 bare or in brackets, with a zone), without scheme or
 * port; a port is refused with the variable that takes it, `portVariable`.
 */
export function hostName(portVariable: string): Parser<string> {
  return (raw) => {
    const host = raw.trim()
    const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):\/\//.exec(host)
    if (scheme !== null) return { expected: `an address without a scheme (no ${scheme[1]}://), such as 0.0.0.0 or localhost` }
    if (/^\[[^\]]*\]:\d*$/.test(host) || /^[^:]+:\d*$/.test(host)) return { expected: `an address without a port; put the port in ${portVariable}` }
    const address = host.replace(/^\[(.*)\]$/, '$1').replace(/%[A-Za-z0-9_.-]+$/, '')
    if ((address.includes(':') && ipVersionOf(address) === 6) || ipVersionOf(host) === 4 || dnsName.test(host)) return host
    return { expected: 'a host name or IP address, such as 127.0.0.1 or 0.0.0.0' }
  }
}

export const path: Parser<string> = (raw) =>
  raw.trim() === '' || raw.includes('\0') ? { expected: 'a file system path' } : raw.trim()

/** Accepts true/false in the spellings Open WebUI accepts (case-insensitive true, 1, yes, on). */
export const boolean: Parser<boolean> = (raw) => {
  const value = raw.trim().toLowerCase()
  if (['true', '1', 'yes', 'on'].includes(value)) return true
  if (['false', '0', 'no', 'off', ''].includes(value)) return false
  return { expected: 'true or false' }
}

/** Accepts an absolute http(s) URL and returns it without a trailing slash. */
export const httpUrl: Parser<string> = (raw) => {
  const expected = 'an absolute http:// or https:// URL'
  let url: URL
  try {
    url = new URL(raw.trim())
  } catch {
    return { expected }
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return { expected }
  if (url.username !== '' || url.password !== '') return { expected: `${expected} without credentials in it` }
  return url.href.replace(/\/+$/, '')
}

const byteUnits: Record<string, number> = { '': 1, b: 1, kb: 1024, k: 1024, mb: 1024 ** 2, m: 1024 ** 2, gb: 1024 ** 3, g: 1024 ** 3 }

/** Accepts a byte count such as 1048576, 512kb or 16MB (units are powers of 1024), from 1 KiB to 1 GiB. */
export const byteSize: Parser<number> = (raw) => {
  const expected = 'a size from 1kb to 1gb, such as 16mb or 1048576'
  const match = /^(\d+)\s*([a-z]*)$/i.exec(raw.trim())
  const unit = byteUnits[match?.[2]?.toLowerCase() ?? 'x']
  if (match === null || unit === undefined) return { expected }
  const bytes = Number(match[1]) * unit
  return bytes >= 1024 && bytes <= 1024 ** 3 ? bytes : { expected }
}

/** Accepts one of a closed set of words, case-insensitively, and returns it in its listed spelling. */
export function oneOf<const T extends string>(choices: readonly T[]): Parser<T> {
  return (raw) => {
    const found = choices.find((choice) => choice.toLowerCase() === raw.trim().toLowerCase())
    return found ?? { expected: `one of ${choices.join(', ')}` }
  }
}

const durationUnitsMs: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 }

/** Milliseconds from Open WebUI's duration format (`30m`, `1h30m`, `4w`), or null for `-1` / `0` (never). */
export const durationOrNever: Parser<number | null> = (raw) => {
  const value = raw.trim().toLowerCase()
  if (value === '-1' || value === '0') return null
  const ms = parseDurationMs(value)
  return ms === null ? { expected: 'a duration such as 30m, 1h30m or 4w, or -1 for no expiry' } : ms
}

/** Parses `N/duration` (e.g. `15/3m`): at most N events per duration. */
export const rateLimit: Parser<{ limit: number; windowMs: number }> = (raw) => {
  const expected = 'a rate such as 15/3m (attempts per duration)'
  const match = /^(\d{1,6})\s*\/\s*([0-9a-z]+)$/i.exec(raw.trim())
  const windowMs = match === null ? null : parseDurationMs(match[2]!.toLowerCase())
  if (match === null || windowMs === null || Number(match[1]) < 1) return { expected }
  return { limit: Number(match[1]), windowMs }
}

function parseDurationMs(value: string): number | null {
  if (!/^(\d+(ms|s|m|h|d|w))+$/.test(value)) return null
  let total = 0
  for (const [, amount, unit] of value.matchAll(/(\d+)(ms|s|m|h|d|w)/g)) total += Number(amount) * durationUnitsMs[unit!]!
  return total > 0 && Number.isSafeInteger(total) ? total : null
}

/** A regular expression, compiled to check that it is one. */
export const regex: Parser<RegExp> = (raw) => {
  try {
    return new RegExp(raw)
  } catch {
    return { expected: 'a valid regular expression' }
  }
}

/** An HTTP header name, lower-cased. */
export const headerName: Parser<string> = (raw) =>
  /^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/.test(raw.trim()) ? raw.trim().toLowerCase() : { expected: 'an HTTP header name such as X-Forwarded-Email' }

/** A comma-separated list of URL paths, each starting with '/', without trailing slashes. */
export const pathList: Parser<string[]> = (raw) => {
  const paths = raw.split(',').map((entry) => entry.trim()).filter((entry) => entry !== '')
  const valid = paths.every((entry) => /^\/[A-Za-z0-9/_.{}:-]*$/.test(entry) && !entry.includes('..'))
  return valid ? paths.map((entry) => (entry.length > 1 ? entry.replace(/\/+$/, '') : entry)) : { expected: 'a comma-separated list of paths such as /api/models,/api/chat/completions' }
}
