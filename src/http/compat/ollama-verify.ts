/**
 * Open WebUI's "verify connection" button in the admin's Ollama settings: POST /ollama/verify with
 * `{url, key?}` asks that Ollama for its version and answers `{version}`, or 400 when it can't be
 * reached or answers something else. Admin only: the server calls the URL it is given, as it would
 * once the admin saves it (POST /ollama/config/update).
 *
 * Threat: the URL is an admin's, and still only http(s) is called, through the Ollama client (no
 * redirects, capped answer, deadlines); the key goes in a header and is never logged or answered.
 */
import { Elysia, t } from 'elysia'
import type { AuthDeps } from '../../auth/auth-deps.ts'
import { createOllamaClient, type OllamaTimeouts } from '../../chat/ollama-client.ts'
import type { AddressList } from '../../config/network.ts'
import { refusedOllamaHost } from '../../config/address-class.ts'
import { httpUrl } from '../../config/parsers.ts'
import { HttpError } from '../http-error.ts'
import { requireAuth } from '../plugins/require-auth.ts'

const VerifyBody = t.Object({ url: t.String({ minLength: 1, maxLength: 2048 }), key: t.Optional(t.Nullable(t.String({ maxLength: 4096 }))) }, { additionalProperties: true })
const VERIFY_TIMEOUT_MS = 10_000

export const ollamaVerifyRoutes = (deps: AuthDeps, trustedProxies: AddressList, timeouts: OllamaTimeouts) => new Elysia({ name: 'ollama-verify-routes' })
  .use(requireAuth(deps, trustedProxies))
  .post('/ollama/verify', async ({ body }) => {
    const url = httpUrl(body.url)
    if (typeof url !== 'string') throw new HttpError(400, 'invalid_url', 'The URL must be an absolute http:// or https:// URL.')
    const refused = refusedOllamaHost(url)
    if (refused !== null) throw new HttpError(400, 'refused_address', `Ollama can't be on ${refused}.`)
    const key = body.key ?? ''
    const withKey = (target: string, init: RequestInit) => {
      const headers = new Headers(init.headers)
      headers.set('authorization', `Bearer ${key}`)
      return fetch(target, { ...init, headers })
    }
    const client = createOllamaClient({ baseUrl: url, timeouts, ...(key === '' ? {} : { fetch: withKey }) })
    try {
      return { version: await client.version({ signal: AbortSignal.timeout(VERIFY_TIMEOUT_MS) }) }
    } catch {
      throw new HttpError(400, 'connection_failed', 'Ollama: Server Connection Error')
    }
  }, { auth: 'admin', body: VerifyBody })
