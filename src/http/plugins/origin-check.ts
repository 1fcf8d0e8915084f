/**
 * Cross-site request forgery guard. A browser attaches the `token` cookie to requests that other
 * sites trigger (forms, fetches), so a state-changing request that carries cookies must come from
 * this server's own origin (or WEBUI_URL, or an origin listed in CORS_ALLOW_ORIGIN). The Origin
 * header decides; without one, Sec-Fetch-Site does. Requests without cookies (API clients with
 * Bearer tokens or API keys) are not forgeable this way and pass.
 */
import { Elysia } from 'elysia'
import type { CorsPolicy } from '../../config/cors-origins.ts'
import type { AddressList } from '../../config/network.ts'
import { originOfServer } from '../client-address.ts'
import { HttpError } from '../http-error.ts'

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS'])

export const originCheck = (options: { publicUrl: string | null; cors: CorsPolicy; trustedProxies: AddressList }) => {
  const listed = new Set(options.cors.allowsAnyOrigin ? [] : options.cors.allowedOrigins)
  if (options.publicUrl !== null) listed.add(new URL(options.publicUrl).origin)

  return new Elysia({ name: 'origin-check' }).onRequest(({ request, server }) => {
    if (SAFE_METHODS.has(request.method) || !request.headers.has('cookie')) return
    const origin = request.headers.get('origin')
    if (origin === null) {
      const site = request.headers.get('sec-fetch-site')
      if (site === 'cross-site' || site === 'same-site') throw refusal()
      return
    }
    if (listed.has(origin) || origin === originOfServer(request, server, options.trustedProxies)) return
    throw refusal()
  }).as('global')
}

const refusal = () => new HttpError(403, 'cross_site_request', 'This request came from another site and was refused.')
