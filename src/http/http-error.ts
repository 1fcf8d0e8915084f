/**
 * Request failures: one class, mapped to a response in one place (httpErrors). The message is a
 * short fixed sentence safe to show anyone; the cause is logged with the request, never sent.
 */
import { Elysia } from 'elysia'
import { DatabaseUnavailableError } from '../db/database-errors.ts'
import { FieldOpenError } from '../db/field-open-error.ts'
import { WalNotErasedError } from '../db/wal-erasure.ts'
import type { Logger } from '../log/logger.ts'
import { requestPath } from './request-path.ts'
import { validationSummary } from './validation-summary.ts'

export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options)
    this.name = 'HttpError'
  }

  /** Open WebUI clients read `detail`; ours switch on `code`. */
  toResponse(): Response {
    return Response.json({ detail: this.message, code: this.code }, { status: this.status })
  }
}

/**
 * The paths OpenAI's clients call (chat completions, embeddings, and Ollama's own /v1 under
 * /ollama): their failures take OpenAI's `{ error: { message, type, code } }` shape, which those
 * clients read, even when refused before the route (no credential, a malformed body).
 */
const OPENAI_PATHS = /^\/(?:api(?:\/v1)?\/(?:chat\/completions|embeddings)|ollama\/v1\/)/

/** OpenAI's error `type` for a status. */
const openAiType = (status: number) => (status === 401 ? 'authentication_error' : status === 403 ? 'permission_error' : status >= 500 ? 'api_error' : 'invalid_request_error')

/** `error` in OpenAI's shape, keeping its status and code. */
function toOpenAiResponse(error: HttpError): Response {
  const type = 'type' in error && typeof error.type === 'string' ? error.type : openAiType(error.status)
  return Response.json({ error: { message: error.message, type, code: error.code } }, { status: error.status })
}

/** The only onError: known failures keep their status, anything else is logged and answered 500. */
export const httpErrors = (log: Logger) =>
  new Elysia({ name: 'http-errors' }).onError({ as: 'global' }, ({ code, error, request }) => {
    const path = requestPath(request)
    const render = OPENAI_PATHS.test(path) ? toOpenAiResponse : (known: HttpError) => known.toResponse()
    if (error instanceof HttpError) return render(error)
    switch (code) {
      case 'NOT_FOUND':
        return render(new HttpError(404, 'not_found', 'Not found.'))
      case 'PARSE':
        // note: a refusal from a parse hook (a body over the limit, no credential) arrives wrapped.
        if ((error as Error).cause instanceof HttpError) return render((error as Error).cause as HttpError)
        return render(new HttpError(400, 'malformed_body', 'The request body is not valid JSON or form data.'))
      case 'VALIDATION':
        if (OPENAI_PATHS.test(path)) return render(new HttpError(422, 'invalid_request', 'The request is not in the expected shape: ' + validationSummary(error).map((item) => `${item.field} ${item.problem}`).join('; ')))
        return Response.json({ detail: 'The request is not in the expected shape.', code: 'invalid_request', errors: validationSummary(error) }, { status: 422 })
      case 'INVALID_COOKIE_SIGNATURE':
        return render(new HttpError(400, 'invalid_cookie', 'A cookie was altered.'))
    }
    if (error instanceof DatabaseUnavailableError) {
      // note: the engine reconnects by itself; the client is told to try again, nothing was written.
      log.warn('database unavailable', { code: error.code, path })
      return render(new HttpError(503, 'database_unavailable', 'The database is unavailable right now. Nothing was saved; try again in a moment.'))
    }
    if (error instanceof FieldOpenError) {
      log.error('stored data failed to decrypt', { table: error.table, column: error.column, row: error.rowId, path })
      return render(new HttpError(500, 'stored_data_unreadable', 'Some stored data could not be decrypted. The administrator has been told where.'))
    }
    if (error instanceof WalNotErasedError) {
      // note: the deletion is committed (a second one finds nothing); what did not finish is the erasure of older
      // copies from SQLite's WAL. The message names nothing deleted.
      log.error('deleted pages not yet erased from the WAL', { path })
      return render(new HttpError(500, 'erasure_incomplete', 'The deletion was made, but older encrypted copies of the deleted data are still in the database log; they go when the log is next emptied (at the latest when the server stops).'))
    }
    log.error('request failed', { path, error: error instanceof Error ? `${error.name}: ${error.message}` : String(error) })
    return render(new HttpError(500, 'internal_error', 'Something went wrong on the server.'))
  })
