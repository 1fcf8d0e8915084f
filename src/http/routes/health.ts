/**
 * Liveness and version, answered without authentication (Open WebUI's shapes). Probes poll /health
 * often, so its answer is built from parts made once: the JSON body, and a Headers object with the
 * configured every-response headers that each answer copies (far cheaper for the runtime than
 * turning a plain object of them into headers). Whatever the plugins set for this request is
 * carried over, so the answer has exactly the headers any other would have.
 */
import { Elysia } from 'elysia'
import { VERSION } from '../../version.ts'

/** Elysia's `set`: header values are strings, numbers, or (Set-Cookie) a list. */
type SetHeaders = { headers: Record<string, string | number | string[]> }

/** `everyResponse`: the security headers every answer carries (see plugins/security-headers.ts). */
export const healthRoutes = (everyResponse: Readonly<Record<string, string>> = {}) => {
  const health = fixedJson(JSON.stringify({ status: true }), everyResponse)
  const version = fixedJson(JSON.stringify({ version: VERSION }), everyResponse)
  return new Elysia()
    .get('/health', ({ set }) => health(set))
    .get('/api/version', ({ set }) => version(set))
}

/** Answers `body` as JSON with the request's headers, starting from a prepared copy of `everyResponse`. */
function fixedJson(body: string, everyResponse: Readonly<Record<string, string>>) {
  const template = new Headers(everyResponse)
  template.set('content-type', 'application/json;charset=utf-8')
  return (set: SetHeaders): Response => {
    const fromPlugins = set.headers
    // note: copied only when a plugin set something beyond the every-response headers; otherwise the
    // Response copies the template itself (it never shares the Headers it is given).
    let headers: Headers | null = null
    for (const name of Object.keys(fromPlugins)) {
      const value = fromPlugins[name]!
      if (everyResponse[name] === value) continue
      headers ??= new Headers(template)
      if (Array.isArray(value)) for (const each of value) headers.append(name, each)
      else headers.set(name, String(value))
    }
    // note: emptied, so the framework hands on this Response as it is instead of merging the headers again.
    set.headers = {}
    return new Response(body, { headers: headers ?? template })
  }
}
