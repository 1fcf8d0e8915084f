/**
 * Request body limits, enforced before a body is read into memory. A request with a valid
 * credential may send up to MAX_REQUEST_BODY_SIZE; one without (sign-in, sign-up, anything
 * anonymous) up to ANONYMOUS_MAX_BODY_BYTES, so a crowd of anonymous requests can't make the
 * server hold many large bodies before authentication and rate limits run. A declared
 * Content-Length is checked on arrival (the credential is looked at only when the length is over
 * the anonymous limit); a body without one (chunked) is counted as it is read, and stops at the limit.
 * The runtime's own limit is set above ours (SERVER_BODY_CEILING), so the 413 is ours and carries
 * the security headers; the runtime answers only bodies declared beyond that ceiling.
 */
import { Elysia } from 'elysia'
import type { AuthDeps } from '../../auth/auth-deps.ts'
import { authenticate, findCredential } from '../../auth/authenticate.ts'
import { HttpError } from '../http-error.ts'

/** The most an anonymous request may send: sign-in and sign-up bodies are far smaller. */
export const ANONYMOUS_MAX_BODY_BYTES = 64 * 1024

/** Bun.serve's maxRequestBodySize for a server whose limit is `maxBytes`: far enough above that ours answers. */
export const serverBodyCeiling = (maxBytes: number) => maxBytes + 1024 ** 3

/**
 * Answers 413 to a body over the caller's limit: declared ones on arrival, chunked ones as they are
 * read. `hasCredential` says whether a request is signed in (see carriesCredential).
 */
export const bodyLimit = (maxBytes: number, hasCredential: (request: Request) => boolean) => {
  const chunkedLimits = new WeakMap<Request, number>()
  const limitFor = (request: Request) => (hasCredential(request) ? maxBytes : Math.min(maxBytes, ANONYMOUS_MAX_BODY_BYTES))

  return new Elysia({ name: 'body-limit' })
    .onRequest(({ request }) => {
      const declared = request.headers.get('content-length')
      if (declared === null) {
        if (request.body !== null) chunkedLimits.set(request, limitFor(request))
        return
      }
      if (!/^\d+$/.test(declared)) throw new HttpError(400, 'invalid_content_length', 'The Content-Length header is not a number.')
      const length = Number(declared)
      if (length <= ANONYMOUS_MAX_BODY_BYTES && length <= maxBytes) return
      if (length > limitFor(request)) throw tooLarge(limitFor(request))
    })
    // note: reads a copy up to the limit; the original keeps what was read for Elysia's own parser.
    .onParse(async ({ request }) => {
      const limit = chunkedLimits.get(request)
      if (limit !== undefined) await ensureBodyWithin(request.clone(), limit)
    })
    .as('global')
}

/** Whether a request carries a credential that authenticates (an API key refused for this path counts: it is a user's). */
export const carriesCredential = (auth: AuthDeps) => (request: Request): boolean => {
  const result = authenticate(auth, findCredential(request.headers), new URL(request.url).pathname)
  return result.ok || result.reason === 'api_key_not_allowed' || result.reason === 'api_key_endpoint_denied'
}

async function ensureBodyWithin(request: Request, limit: number): Promise<void> {
  const reader = request.body!.getReader()
  let total = 0
  for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) {
    total += chunk.value.byteLength
    if (total > limit) {
      await reader.cancel()
      throw tooLarge(limit)
    }
  }
}

const tooLarge = (limit: number) =>
  new HttpError(413, 'body_too_large', limit === ANONYMOUS_MAX_BODY_BYTES
    ? `The request body is larger than the ${limit} bytes this server accepts without a sign-in.`
    : `The request body is larger than the ${limit} bytes this server accepts.`)
