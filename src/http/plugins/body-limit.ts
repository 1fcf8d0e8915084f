/**
 * Request body limits, enforced before a body is read into memory. A request with a valid
 * credential may send up to MAX_REQUEST_BODY_SIZE; one without (sign-in, sign-up, anything
 * anonymous) up to ANONYMOUS_MAX_BODY_BYTES, so a crowd of anonymous requests can't make the
 * server hold many large bodies before authentication and rate limits run. A declared
 * Content-Length is checked on arrival (the credential is looked at only when the length is over
 * the anonymous limit); a body without one (chunked) is counted as it is read, and stops at the limit.
 * The runtime's own limit is set above ours (SERVER_BODY_CEILING), so the 413 is ours and carries
 * the security headers; the runtime answers only bodies declared beyond that ceiling.
 * A streamed route (uploads) has its own, larger limit: a declared length is checked against it
 * here, and a chunked body is left unread for the route, which counts it as it streams.
 */
import { Elysia } from 'elysia'
import type { AuthDeps } from '../../auth/auth-deps.ts'
import { admitCredential, findCredential, type AuthResult } from '../../auth/authenticate.ts'
import { HttpError } from '../http-error.ts'
import { requestPath } from '../request-path.ts'

/** The most an anonymous request may send: sign-in and sign-up bodies are far smaller. */
export const ANONYMOUS_MAX_BODY_BYTES = 64 * 1024

/** Bun.serve's maxRequestBodySize for a server whose limit is `maxBytes`: far enough above that ours answers. */
export const serverBodyCeiling = (maxBytes: number) => maxBytes + 1024 ** 3

/**
 * Answers 413 to a body over the caller's limit: declared ones on arrival, chunked ones as they are
 * read. `hasCredential` says whether a request is signed in (see carriesCredential).
 */
export const bodyLimit = (maxBytes: number, hasCredential: (request: Request) => boolean | Promise<boolean>, streamedRoutes: ReadonlyMap<string, number> = new Map()) => {
  const chunkedLimits = new WeakMap<Request, number>()
  const limitFor = async (request: Request) => {
    const routeLimit = request.method === 'POST' ? streamedRoutes.get(requestPath(request)) : undefined
    return await hasCredential(request) ? routeLimit ?? maxBytes : Math.min(maxBytes, ANONYMOUS_MAX_BODY_BYTES)
  }

  return new Elysia({ name: 'body-limit' })
    .onRequest(({ request }) => {
      const declared = request.headers.get('content-length')
      if (declared === null) {
        const isStreamed = request.method === 'POST' && streamedRoutes.has(requestPath(request))
        if (request.body !== null && !isStreamed) return limitFor(request).then((limit) => void chunkedLimits.set(request, limit))
        return
      }
      if (!/^\d+$/.test(declared)) throw new HttpError(400, 'invalid_content_length', 'The Content-Length header is not a number.')
      const length = Number(declared)
      if (length <= ANONYMOUS_MAX_BODY_BYTES && length <= maxBytes) return
      return limitFor(request).then((limit) => {
        if (length > limit) throw tooLarge(limit)
      })
    })
    // note: a chunked body is read here, counted, and parsed as Elysia would (json-bodies has let
    // through only JSON, and a form on its one form route); a clone can't be used to count it:
    // Bun's tee of a streaming request stalls while the other branch is unread.
    .onParse(async ({ request }) => {
      const limit = chunkedLimits.get(request)
      if (limit === undefined) return
      return parseBody(await readBodyWithin(request, limit), request.headers.get('content-type'))
    })
    .as('global')
}

function parseBody(text: string, contentType: string | null): unknown {
  const media = contentType?.split(';')[0]?.trim().toLowerCase() ?? ''
  if (media === 'application/x-www-form-urlencoded') return Object.fromEntries(new URLSearchParams(text))
  if (media === 'application/json' || media.endsWith('+json')) return JSON.parse(text)
  return text
}

/**
 * Whether a request carries a credential that authenticates (an API key refused for this path counts:
 * it is a user's; so does one held to second-factor enrolment, so that rule is not asked here).
 */
export const carriesCredential = (auth: AuthDeps) => (request: Request): boolean | Promise<boolean> => {
  const isUsers = (result: AuthResult) => result.ok || result.reason === 'api_key_not_allowed' || result.reason === 'api_key_endpoint_denied'
  const result = admitCredential(auth, findCredential(request.headers), requestPath(request))
  return result instanceof Promise ? result.then(isUsers) : isUsers(result)
}

/** Reads the whole body as text, or throws 413 as soon as it passes the limit. */
async function readBodyWithin(request: Request, limit: number): Promise<string> {
  const reader = request.body!.getReader()
  const chunks: Uint8Array[] = []
  let total = 0
  for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) {
    total += chunk.value.byteLength
    if (total > limit) {
      await reader.cancel()
      throw tooLarge(limit)
    }
    chunks.push(chunk.value)
  }
  return Buffer.concat(chunks).toString('utf8')
}

const tooLarge = (limit: number) =>
  new HttpError(413, 'body_too_large', limit === ANONYMOUS_MAX_BODY_BYTES
    ? `The request body is larger than the ${limit} bytes this server accepts without a sign-in.`
    : `The request body is larger than the ${limit} bytes this server accepts.`)
