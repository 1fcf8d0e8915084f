import { Elysia } from 'elysia'
import { HttpError } from '../http-error.ts'

/**
 * Answers 413 before reading a body whose declared length is over the limit. Bodies without a
 * length (chunked) are capped by the server's maxRequestBodySize, set to the same limit.
 */
export const bodyLimit = (maxBytes: number) =>
  new Elysia({ name: 'body-limit' }).onRequest(({ request }) => {
    const declared = request.headers.get('content-length')
    if (declared === null) return
    if (!/^\d+$/.test(declared)) throw new HttpError(400, 'invalid_content_length', 'The Content-Length header is not a number.')
    if (Number(declared) > maxBytes) {
      throw new HttpError(413, 'body_too_large', `The request body is larger than the ${maxBytes} bytes this server accepts.`)
    }
  }).as('global')
