/**
 * A parsed request body nested deeper than MAX_JSON_NESTING (db/json-nesting.ts) is refused with
 * 400 before validation and the route read it, on every route, whichever parser read it (Elysia's,
 * body-limit's for a chunked body). Threat: code that recurses over the value (validation errors,
 * JSON.stringify) overflows the stack, a 500 for anyone. A whole-chat save of declared length
 * arrives unread and is measured where it is read (routes/chats.ts).
 */
import { Elysia } from 'elysia'
import { MAX_JSON_NESTING, nestsDeeperThan } from '../../db/json-nesting.ts'
import { HttpError } from '../http-error.ts'

export const tooDeep = () =>
  new HttpError(400, 'body_too_deep', `The request body is nested deeper than the ${MAX_JSON_NESTING} levels this server accepts.`)

/** Answers 400 to a body nested deeper than MAX_JSON_NESTING. */
export const bodyNesting = () =>
  new Elysia({ name: 'body-nesting' }).onTransform(({ body }) => {
    if (nestsDeeperThan(body, MAX_JSON_NESTING)) throw tooDeep()
  }).as('global')
