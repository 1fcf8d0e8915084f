/**
 * Cross-site request forgery guard. A page on another site can make a visitor's browser send
 * forms and fetches here, with the `token` cookie or without: a sign-up that makes the admin of a
 * fresh server, a sign-in to the attacker's account (login CSRF), a sign-out. So a state-changing
 * request (any method but GET, HEAD and OPTIONS, and GET /api/v1/auths/signout, which Open WebUI's
 * page calls) must not come from another site, cookie or not:
 * - an Origin header must be this server's own, WEBUI_URL's or listed in CORS_ALLOW_ORIGIN (with
 *   CORS_ALLOW_ORIGIN=*, any origin that sends an Authorization or x-api-key header, which no form
 *   can, except on the account routes under /api/v1/auths: they set and clear the session cookie,
 *   and a made-up header would do to sign the visitor in to another account);
 * - without an Origin, Sec-Fetch-Site must not say cross-site or same-site.
 * API clients (curl, the openai and ollama libraries, an identity provider's back-channel logout)
 * send neither header and pass; browsers send Origin on every such request.
 */
import { Elysia } from 'elysia'
import type { CorsPolicy } from '../../config/cors-origins.ts'
import type { AddressList } from '../../config/network.ts'
import { originOfServer } from '../client-address.ts'
import { HttpError } from '../http-error.ts'
import { requestPath } from '../request-path.ts'

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS'])
/** GET routes that change state all the same; refused from other sites like a POST. */
const STATE_CHANGING_GETS = new Set(['/api/v1/auths/signout'])
const ACCOUNT_ROUTES = '/api/v1/auths'

/** Answers 403 `cross_site_request` to a state-changing request from another site (see above). */
export const originCheck = (options: { publicUrl: string | null; cors: CorsPolicy; trustedProxies: AddressList }) => {
  const listed = new Set(options.cors.allowsAnyOrigin ? [] : options.cors.allowedOrigins)
  if (options.publicUrl !== null) listed.add(new URL(options.publicUrl).origin)

  return new Elysia({ name: 'origin-check' }).onRequest(({ request, server }) => {
    const path = pathOf(request)
    if (SAFE_METHODS.has(request.method) && !STATE_CHANGING_GETS.has(path)) return
    const origin = request.headers.get('origin')
    if (origin === null) {
      const site = request.headers.get('sec-fetch-site')
      if (site === 'cross-site' || site === 'same-site') throw refusal()
      return
    }
    if (listed.has(origin) || origin === originOfServer(request, server, options.trustedProxies)) return
    const isAccountRoute = path === ACCOUNT_ROUTES || path.startsWith(`${ACCOUNT_ROUTES}/`)
    if (options.cors.allowsAnyOrigin && !isAccountRoute && (request.headers.has('authorization') || request.headers.has('x-api-key'))) return
    throw refusal()
  }).as('global')
}

/** The request's path without a trailing slash. */
function pathOf(request: Request): string {
  const path = requestPath(request)
  return path.length > 1 && path.endsWith('/') ? path.replace(/\/+$/, '') : path
}

const refusal = () => new HttpError(403, 'cross_site_request', 'This request came from another site and was refused.')
