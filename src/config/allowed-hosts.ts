/**
 * ALLOWED_HOSTS: the host names this server answers to, checked against each request's Host
 * header. The threat is DNS rebinding: a foreign page whose own name starts resolving to
 * 127.0.0.1 reaches a loopback-only server as "same origin", and its requests carry
 * `Host: evil.example`. A browser can't forge Host, so refusing unknown names stops it.
 * Names match without their port, case-insensitively; `*.example.com` matches any subdomain.
 */
import { ipVersionOf } from './ip-address.ts'
import type { Parser } from './parsers.ts'

/** Any host (`*`), or the names and `.suffix`es allowed. */
export type HostPolicy = Readonly<{ allowsAnyHost: true } | { allowsAnyHost: false; names: readonly string[]; suffixes: readonly string[] }>

/** Loopback names are always allowed: a rebinding page never arrives under them. */
const LOOPBACK_NAMES = ['localhost', '127.0.0.1', '[::1]']
const WILDCARD_LISTENS = new Set(['0.0.0.0', '::', '[::]'])

/** Parses `*` or a comma-separated list of host names, IP addresses and `*.domain` wildcards. */
export const hostList: Parser<'*' | readonly string[]> = (raw) => {
  const entries = raw.split(',').map((entry) => entry.trim().toLowerCase()).filter((entry) => entry !== '')
  const expected = '* alone, or host names separated by commas, such as chat.example.com,*.lan,192.168.1.5 (no scheme or port)'
  if (entries.length === 0) return { expected }
  if (entries.includes('*')) return entries.length === 1 ? '*' : { expected: `${expected}; * cannot be combined with names` }
  const bad = entries.find((entry) => normalizeHostEntry(entry) === null)
  return bad === undefined ? [...new Set(entries.map((entry) => normalizeHostEntry(entry)!))] : { expected: `${expected}; "${bad}" is not one` }
}

/**
 * The host policy from ALLOWED_HOSTS, HOST and WEBUI_URL. Set, ALLOWED_HOSTS lists the names
 * besides WEBUI_URL's host and the loopback names. Unset, it means: any name when the server
 * listens on every address (0.0.0.0, as in Docker, where it is reached under many names) and no
 * WEBUI_URL says which one is its own; otherwise WEBUI_URL's host, the HOST address (unless it is
 * every address) and the loopback names.
 */
export function hostPolicyFrom(listed: '*' | readonly string[] | null, listenHost: string, publicUrl: string | null): HostPolicy {
  const listensEverywhere = WILDCARD_LISTENS.has(listenHost)
  if (listed === '*' || (listed === null && publicUrl === null && listensEverywhere)) return { allowsAnyHost: true }
  const listenName = listensEverywhere ? null : normalizeHostEntry(listenHost.toLowerCase())
  const entries = [...LOOPBACK_NAMES, ...(listed ?? (listenName === null ? [] : [listenName]))]
  if (publicUrl !== null) entries.push(new URL(publicUrl).hostname)
  const unique = [...new Set(entries)]
  return {
    allowsAnyHost: false,
    names: unique.filter((entry) => !entry.startsWith('*.')),
    suffixes: unique.filter((entry) => entry.startsWith('*.')).map((entry) => entry.slice(1)),
  }
}

/** Whether a Host header value (name or address, with or without a port) is allowed. */
export function isHostAllowed(policy: HostPolicy, hostHeader: string): boolean {
  if (policy.allowsAnyHost) return true
  const name = hostNameOf(hostHeader)
  if (name === null) return false
  return policy.names.includes(name) || policy.suffixes.some((suffix) => name.endsWith(suffix) && name.length > suffix.length)
}

/** The name part of a Host header, lower-cased, IPv6 in brackets, without port or trailing dot; null when malformed. */
function hostNameOf(hostHeader: string): string | null {
  const match = /^(\[[0-9a-f:.]+\]|[a-z0-9._-]+)(?::\d{1,5})?$/.exec(hostHeader.trim().toLowerCase())
  if (match === null) return null
  return match[1]!.replace(/\.$/, '')
}

/** A list entry as it will be compared: IPv6 addresses in brackets; null when it is not a host. */
function normalizeHostEntry(entry: string): string | null {
  const bare = entry.replace(/^\[|\]$/g, '')
  if (ipVersionOf(bare) === 6) return `[${bare}]`
  const name = entry.replace(/\.$/, '')
  return /^(\*\.)?[a-z0-9_-]+(\.[a-z0-9_-]+)*$/.test(name) ? name : null
}
