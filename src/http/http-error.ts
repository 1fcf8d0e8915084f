/**
 * Request failures: one class, mapped to a response in one place (httpErrors). The message is a
 * short fixed sentence safe to show anyone; the cause is logged with the request, never sent.
 */
import { Elysia } from 'elysia'
import { FieldOpenError } from '../db/field-open-error.ts'
import type { Logger } from '../log/logger.ts'
import { requestPath } from './request-path.ts'

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

/** The only onError: known failures keep their status, anything else is logged and answered 500. */
export const httpErrors = (log: Logger) =>
  new Elysia({ name: 'http-errors' }).onError({ as: 'global' }, ({ code, error, request }) => {
    if (error instanceof HttpError) return error.toResponse()
    switch (code) {
      case 'NOT_FOUND':
        return new HttpError(404, 'not_found', 'Not found.').toResponse()
      case 'PARSE':
        // note: a refusal from a parse hook (a body over the limit, no credential) arrives wrapped.
        if ((error as Error).cause instanceof HttpError) return ((error as Error).cause as HttpError).toResponse()
        return new HttpError(400, 'malformed_body', 'The request body is not valid JSON or form data.').toResponse()
      case 'VALIDATION':
        return Response.json({ detail: 'The request is not in the expected shape.', code: 'invalid_request', errors: validationSummary(error) }, { status: 422 })
      case 'INVALID_COOKIE_SIGNATURE':
        return new HttpError(400, 'invalid_cookie', 'A cookie was altered.').toResponse()
    }
    const path = requestPath(request)
    if (error instanceof FieldOpenError) {
      log.error('stored data failed to decrypt', { table: error.table, column: error.column, row: error.rowId, path })
      return new HttpError(500, 'stored_data_unreadable', 'Some stored data could not be decrypted. The administrator has been told where.').toResponse()
    }
    log.error('request failed', { path, error: error instanceof Error ? `${error.name}: ${error.message}` : String(error) })
    return new HttpError(500, 'internal_error', 'Something went wrong on the server.').toResponse()
  })

// note: names the fields that failed and why, never echoes the values sent.
function validationSummary(error: unknown): { field: string; problem: string }[] {
  const all = (error as { all?: { path?: string; summary?: string; message?: string }[] }).all ?? []
  return all.slice(0, 10).map((item) => ({ field: item.path ?? '', problem: item.summary ?? item.message ?? 'invalid' }))
}
