/**
 * The path a request targets, read from the request itself: `/api/models` from
 * `http://host/api/models?x=1`. Bun has already resolved `.` and `..` segments and leaves
 * percent-escapes as sent, so this is the path its router matches.
 *
 * Threat: the API-key allow-list and the audit log must see the path that is served. Elysia's own
 * `path` is only there when it spots the field in the handler's source text (a compiled build can
 * hide it), and with `standardHostname: false` it is cut at a fixed offset, which a Host header
 * Bun cannot put in a URL shifts: Bun then gives a bare `/path` as the URL, which `new URL` throws on.
 */

/** Returns the request's path, starting with `/`, without query or fragment; `/` when it has none. */
export function requestPath(request: Request): string {
  const url = request.url
  // note: character scans rather than regular expressions: every request asks, some several times.
  let start = url.startsWith('/') ? 0 : url.indexOf('://') + 3
  while (start < url.length && !startsPath(url.charCodeAt(start))) start++
  if (url.charCodeAt(start) !== SLASH) return '/'
  let end = start
  while (end < url.length && !endsPath(url.charCodeAt(end))) end++
  return url.slice(start, end)
}

const SLASH = 0x2f
const QUESTION = 0x3f
const HASH = 0x23
const endsPath = (code: number) => code === QUESTION || code === HASH
const startsPath = (code: number) => code === SLASH || endsPath(code)
