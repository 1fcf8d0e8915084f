/**
 * How deep a request's JSON may nest: arrays and objects within each other, MAX_JSON_NESTING levels
 * at most (`[]` and `{}` are one level, `[[]]` two).
 *
 * Threat: a small body nested thousands of levels deep (`{"email":[[[[…]]]]}`, 10 KB for 5,000
 * levels) reaches code that recurses over the value and overflows the stack: a 500 and an error in
 * the log for any anonymous caller. Elysia's ValidationError does, as it is made (its message puts
 * the value in a template string, Array toString recursing; elysia/dist/error.mjs mapValueError,
 * from 5,000 levels), and so does JSON.stringify, which a route storing a setting calls (from about
 * 100,000). JSON.parse itself does not recurse, so the value is measured after parsing, by a walk with its own stack,
 * before validation or anything else reads it.
 * note: Open WebUI's backend (FastAPI, fastapi/routing.py get_request_handler) reads a body with
 * Python's json.loads, which gives up at about 1,000 levels (RecursionError, answered 400 "There was
 * an error parsing the body"): no client of Open WebUI sends more. Its deepest real bodies (a chat's
 * messages with their files, sources and tool calls; a tool's JSON Schema; settings) nest a few dozen.
 */

/** The deepest nesting a request body may have. */
export const MAX_JSON_NESTING = 1000

/**
 * Whether `value`, as JSON.parse gives it, nests deeper than `max` levels. Only arrays and plain
 * objects are entered (anything else a parser hands on, such as a file or a body left unread, is a leaf).
 */
export function nestsDeeperThan(value: unknown, max: number): boolean {
  if (!isContainer(value)) return false
  const pending: object[] = [value]
  const levels: number[] = [1]
  while (pending.length > 0) {
    const node = pending.pop()!
    const level = levels.pop()!
    if (level > max) return true
    const children: unknown[] = Array.isArray(node) ? node : Object.values(node)
    for (const child of children) {
      if (!isContainer(child)) continue
      pending.push(child)
      levels.push(level + 1)
    }
  }
  return false
}

function isContainer(value: unknown): value is object {
  if (typeof value !== 'object' || value === null) return false
  if (Array.isArray(value)) return true
  const prototype = Object.getPrototypeOf(value)
  return prototype === Object.prototype || prototype === null
}
