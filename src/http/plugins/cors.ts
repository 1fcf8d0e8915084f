/**
 * CORS, strict by default. With no CORS_ALLOW_ORIGIN the server is same-origin only and sends no
 * Access-Control-* header at all. With a list, an Origin on it gets itself reflected with
 * credentials allowed; any other origin gets nothing, and its preflight a 403. With `*`, any origin
 * may call, but never with credentials (the browser then sends no cookies).
 * Written here rather than taken from @elysiajs/cors, whose defaults reflect any origin.
 */
import { Elysia } from 'elysia'
import type { CorsPolicy } from '../../config/cors-origins.ts'
import { HttpError } from '../http-error.ts'

const ALLOWED_METHODS = 'GET, POST, PUT, PATCH, DELETE'
/** Request headers a cross-origin caller may send; anything else asked for in a preflight is left out. */
const ALLOWED_REQUEST_HEADERS = new Set(['accept', 'accept-language', 'authorization', 'content-language', 'content-type', 'x-api-key', 'x-requested-with'])
const PREFLIGHT_MAX_AGE_SECONDS = '600'

/** Answers CORS per the policy: reflects allowed origins, answers their preflights with 204. */
export const cors = (policy: CorsPolicy) => {
  const plugin = new Elysia({ name: 'cors' })
  if (!policy.allowsAnyOrigin && policy.allowedOrigins.length === 0) return plugin
  const allowedOrigins = new Set(policy.allowsAnyOrigin ? [] : policy.allowedOrigins)

  return plugin.onRequest(({ request, set }) => {
    const origin = request.headers.get('origin')
    if (!policy.allowsAnyOrigin) set.headers.vary = 'Origin'
    if (origin === null) return
    const isAllowed = policy.allowsAnyOrigin || allowedOrigins.has(origin)
    const isPreflight = request.method === 'OPTIONS' && request.headers.has('access-control-request-method')
    if (!isAllowed) {
      if (isPreflight) throw new HttpError(403, 'origin_not_allowed', 'This origin may not call this server.')
      return
    }
    if (policy.allowsAnyOrigin) {
      set.headers['access-control-allow-origin'] = '*'
    } else {
      set.headers['access-control-allow-origin'] = origin
      set.headers['access-control-allow-credentials'] = 'true'
    }
    if (!isPreflight) return
    set.headers['access-control-allow-methods'] = ALLOWED_METHODS
    const allowedHeaders = allowedRequestHeaders(request.headers.get('access-control-request-headers'))
    if (allowedHeaders !== '') set.headers['access-control-allow-headers'] = allowedHeaders
    set.headers['access-control-max-age'] = PREFLIGHT_MAX_AGE_SECONDS
    return new Response(null, { status: 204 })
  }).as('global')
}

/** Keeps the requested headers that are on the allow-list, lower-cased and comma-separated. */
function allowedRequestHeaders(requested: string | null): string {
  const names = (requested ?? '').split(',').map((name) => name.trim().toLowerCase())
  return [...new Set(names.filter((name) => ALLOWED_REQUEST_HEADERS.has(name)))].join(', ')
}
