/**
 * Single-user mode's fence. The server has no password in the way, so only a browser on this
 * machine, on this server's own page, may reach it: every request must name the server by a
 * loopback host name (a DNS-rebinding page uses its own name), must not come through a proxy, and
 * must not be sent by another site's page. The one exception is a top-level navigation (following
 * a link to the UI): it carries no script and its answer goes to the tab, not to the linking page.
 * This stands on its own, whatever the other origin and host checks allow.
 */
import { Elysia } from 'elysia'
import { HttpError } from '../http-error.ts'
import { isCrossSiteRequest, isForwardedRequest, isLoopbackHostHeader } from '../request-origin.ts'

export const singleUserGuard = (enabled: boolean) => {
  const plugin = new Elysia({ name: 'single-user-guard' })
  if (!enabled) return plugin
  return plugin.onRequest(({ request }) => {
    const host = request.headers.get('host')
    if (!isLoopbackHostHeader(host)) throw new HttpError(403, 'host_not_allowed', 'This single-user server answers only to localhost, 127.0.0.1 or [::1].')
    if (isForwardedRequest(request.headers)) throw new HttpError(403, 'proxied_request', 'This single-user server answers only to a browser on its own machine, not through a proxy.')
    const headers = request.headers
    const isNavigation = request.method === 'GET' && headers.get('sec-fetch-mode') === 'navigate' && headers.get('sec-fetch-dest') === 'document'
    if (!isNavigation && isCrossSiteRequest(headers, `http://${host}`)) {
      throw new HttpError(403, 'cross_site_request', 'This request came from another site and was refused.')
    }
  }).as('global')
}
