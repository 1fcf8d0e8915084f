/**
 * Where a browser request says it comes from, and which name it used for this server. Threat: a
 * page on another site (cross-site request forgery), or a hostile name resolving to this machine
 * (DNS rebinding: the page's own origin, so the browser lets it read the answers), driving a
 * server that has no password in the way (single-user mode). The Host header names what the
 * browser thinks it reached; Origin and Sec-Fetch-Site say which page sent the request.
 */

/** Whether a Host header names this machine by a loopback name: localhost, 127.x.y.z or [::1], with or without a port. */
export function isLoopbackHostHeader(host: string | null): boolean {
  if (host === null) return false
  const match = /^(localhost|127(?:\.\d{1,3}){3}|\[::1\])(?::\d{1,5})?$/i.exec(host.trim())
  if (match === null) return false
  const name = match[1]!.toLowerCase()
  return name.startsWith('127.') ? name.split('.').every((part) => Number(part) <= 255) : true
}

/**
 * Whether a browser marked the request as sent by another page than `ownOrigin` (e.g.
 * http://localhost:8080): an Origin that differs (the opaque `null` included), or, without one,
 * Sec-Fetch-Site cross-site or same-site (another port or subdomain is another site's page).
 */
export function isCrossSiteRequest(headers: Headers, ownOrigin: string): boolean {
  const origin = headers.get('origin')
  if (origin !== null) return origin.toLowerCase() !== ownOrigin.toLowerCase()
  const site = headers.get('sec-fetch-site')
  return site === 'cross-site' || site === 'same-site'
}

/** Whether a request came through a proxy (it carries forwarding headers): not from a browser on this machine itself. */
export function isForwardedRequest(headers: Headers): boolean {
  return ['forwarded', 'x-forwarded-for', 'x-forwarded-host', 'x-real-ip'].some((name) => headers.has(name))
}
