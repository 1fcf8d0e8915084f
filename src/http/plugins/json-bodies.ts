/**
 * Request bodies are JSON. A page on another site can send a form (urlencoded or multipart) or
 * text/plain body without asking the browser's permission (no CORS preflight), and a form's
 * fields would parse into the very object a JSON route validates; application/json it can't send
 * without a preflight. So a body that does not say it is JSON gets 415 before it is parsed. The
 * routes that take a form by their spec (OpenID back-channel logout, server to server; file uploads,
 * multipart, which read their own body) are exempt.
 */
import { Elysia } from 'elysia'
import { HttpError } from '../http-error.ts'
import { requestPath } from '../request-path.ts'

// note: uploads are multipart by Open WebUI's API; a cross-site one is refused by originCheck (it changes state) like any POST.
const FORM_ROUTES = new Set(['/oauth/backchannel-logout', '/api/v1/files/', '/api/v1/files'])

/** Answers 415 to a non-empty body whose Content-Type is not JSON (application/json or +json). */
export const jsonBodies = () =>
  new Elysia({ name: 'json-bodies' }).onRequest(({ request }) => {
    if (!hasBody(request) || isJson(request.headers.get('content-type'))) return
    if (FORM_ROUTES.has(requestPath(request))) return
    throw new HttpError(415, 'unsupported_media_type', 'Send the request body as JSON, with Content-Type: application/json.')
  }).as('global')

/** Whether the request carries a body that is not empty. */
function hasBody(request: Request): boolean {
  const declared = request.headers.get('content-length')
  if (declared !== null) return declared !== '0'
  return request.headers.has('transfer-encoding') || request.body !== null
}

function isJson(contentType: string | null): boolean {
  const media = contentType?.split(';')[0]?.trim().toLowerCase() ?? ''
  return media === 'application/json' || (media.startsWith('application/') && media.endsWith('+json'))
}
