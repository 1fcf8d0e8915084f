/**
 * The one place the server sends a request to a URL a user gave (a direct connection). Threat:
 * server-side request forgery: a user points the server at its loopback services, the private
 * network or a cloud metadata service. So:
 * - the URL is parsed once, by the WHATWG parser fetch itself uses, so every spelling of an
 *   address (decimal `2130706433`, hex `0x7f000001`, octal `0177.1`, short `127.1`, IPv4-mapped
 *   `[::ffff:7f00:1]`, a trailing dot) is judged as the address it is; a user name or password in
 *   it is refused, so `http://a@127.0.0.1` names no host but 127.0.0.1 and leaks no secret;
 * - the name is resolved once, and every address it resolves to must be public (address-class.ts),
 *   unless the admin listed the host or a range holding the address (DIRECT_CONNECTIONS_ALLOWED_HOSTS);
 * - the connection goes to the checked address (the resolver is not asked again, so a second
 *   answer can't differ), with the URL's host in the Host header and TLS SNI;
 * - no redirect is followed: a 3xx is a failure.
 * node:http, node:https and node:dns are imported at their first use: a server without direct
 * connections never loads them (they cost several ms and MB of every start).
 */
import { classifyAddress, isMetadataName } from '../config/address-class.ts'
import type { DirectConnectionConfig } from '../config/direct-connection-variables.ts'

export type OutboundPolicy = NonNullable<DirectConnectionConfig>

/** A URL whose host was resolved and judged; requests go to `address`. */
export type CheckedUrl = { url: URL; address: string; family: 4 | 6 }

export type OutboundRefusal = 'invalid_url' | 'credentials_in_url' | 'refused_address' | 'unresolvable'
export type OutboundCheck = { ok: true; target: CheckedUrl } | { ok: false; reason: OutboundRefusal; message: string }

/** Resolves a host name to every address it has. */
export type Resolve = (hostname: string) => Promise<{ address: string; family: number }[]>
const resolveAll: Resolve = async (hostname) => (await import('node:dns/promises')).lookup(hostname, { all: true, verbatim: true })

const refused = (message: string): OutboundCheck => ({ ok: false, reason: 'refused_address', message })

/** Parses `raw` and resolves its host once; refuses what the policy does not allow. Never connects. */
export async function checkOutboundUrl(raw: string, policy: OutboundPolicy, resolve: Resolve = resolveAll): Promise<OutboundCheck> {
  let url: URL
  try {
    url = new URL(raw.trim())
  } catch {
    return { ok: false, reason: 'invalid_url', message: 'The URL must be an absolute http:// or https:// URL.' }
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return { ok: false, reason: 'invalid_url', message: 'The URL must be an absolute http:// or https:// URL.' }
  if (url.username !== '' || url.password !== '') return { ok: false, reason: 'credentials_in_url', message: 'Put the API key in its own field, not in the URL.' }
  const host = url.hostname.replace(/^\[|\]$/g, '').replace(/\.$/, '').toLowerCase()
  if (isMetadataName(host)) return refused('That host is a cloud metadata service.')
  const isListedName = policy.allowedHostNames.has(host)
  const literal = classifyAddress(host)
  let addresses: { address: string; family: number }[]
  if (literal !== null) addresses = [{ address: host, family: host.includes(':') ? 6 : 4 }]
  else {
    try {
      addresses = await resolve(host)
    } catch {
      return { ok: false, reason: 'unresolvable', message: 'The host name does not resolve.' }
    }
    if (addresses.length === 0) return { ok: false, reason: 'unresolvable', message: 'The host name does not resolve.' }
  }
  // note: every address must pass, not just the first: a name with one public and one private
  // address would otherwise reach the private one whenever the other fails.
  for (const { address } of addresses) {
    if (isListedName || policy.allowedRanges?.matches(address) === true) continue
    const kind = classifyAddress(address)
    if (kind !== 'public') return refused('That address is not on the public internet; an administrator can allow it in DIRECT_CONNECTIONS_ALLOWED_HOSTS.')
  }
  const chosen = addresses[0]!
  return { ok: true, target: { url, address: chosen.address, family: chosen.family === 6 ? 6 : 4 } }
}

/** An answer from a checked URL: status, headers and the body as it arrives. */
export type OutboundResponse = { status: number; headers: Record<string, string>; body: AsyncIterable<Uint8Array> }

/**
 * Sends one request to `path` under the checked URL, connecting to its checked address only.
 * Rejects on a redirect (3xx), on `signal`, and when no byte arrives within `timeoutMs`.
 */
export async function requestChecked(target: CheckedUrl, path: string, init: { method: 'GET' | 'POST'; headers: Record<string, string>; body?: string; signal?: AbortSignal; timeoutMs: number }): Promise<OutboundResponse> {
  const base = target.url.pathname.replace(/\/+$/, '')
  const module = target.url.protocol === 'https:' ? await import('node:https') : await import('node:http')
  return new Promise((resolvePromise, reject) => {
    const request = module.request({
      protocol: target.url.protocol, hostname: target.url.hostname.replace(/^\[|\]$/g, ''), port: target.url.port || undefined,
      path: `${base}${path}`, method: init.method, headers: { ...init.headers, ...(init.body === undefined ? {} : { 'content-length': String(Buffer.byteLength(init.body)) }) },
      signal: init.signal, timeout: init.timeoutMs,
      // note: the name was resolved and judged once; the connection goes to that address, whatever the resolver would say now.
      lookup: ((_hostname: string, options: { all?: boolean }, callback: (...args: unknown[]) => void) => {
        if (options?.all) callback(null, [{ address: target.address, family: target.family }])
        else callback(null, target.address, target.family)
      }) as never,
    }, (response) => {
      const status = response.statusCode ?? 0
      if (status >= 300 && status < 400) {
        response.resume()
        reject(new OutboundError('redirect', 'The endpoint answered with a redirect, which is not followed.'))
        return
      }
      const headers: Record<string, string> = {}
      for (const [name, value] of Object.entries(response.headers)) if (typeof value === 'string') headers[name] = value
      resolvePromise({ status, headers, body: response as AsyncIterable<Uint8Array> })
    })
    request.on('timeout', () => request.destroy(new OutboundError('timeout', 'The endpoint did not answer in time.')))
    request.on('error', (error) => reject(error instanceof OutboundError ? error : new OutboundError(init.signal?.aborted ? 'aborted' : 'unreachable', 'The endpoint is not reachable.', { cause: error })))
    if (init.body !== undefined) request.write(init.body)
    request.end()
  })
}

export class OutboundError extends Error {
  constructor(readonly reason: 'redirect' | 'timeout' | 'unreachable' | 'aborted' | 'bad_response', message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'OutboundError'
  }
}
