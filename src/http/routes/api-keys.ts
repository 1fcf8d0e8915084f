import { Elysia, t } from 'elysia'
import { Integer } from '../numeric-schemas.ts'
import type { AuthDeps } from '../../auth/auth-deps.ts'
import { generateApiKey, hashApiKey } from '../../auth/api-key-secret.ts'
import { mayUseApiKeys } from '../../auth/authenticate.ts'
import type { AddressList } from '../../config/network.ts'
import type { ApiKey, ApiKeyId } from '../../db/api-keys.ts'
import { resolveClientAddress } from '../client-address.ts'
import { requireFreshCode } from '../fresh-code.ts'
import { HttpError } from '../http-error.ts'
import { requireAuth } from '../plugins/require-auth.ts'

const CreateBody = t.Optional(t.Object({
  name: t.Optional(t.String({ minLength: 1, maxLength: 100 })),
  /** Lifetime in seconds; absent for a key that does not expire. */
  expires_in: t.Optional(Integer({ minimum: 60, maximum: 10 * 365 * 86_400 })),
  /** The only models the key may reach, on every path (beyond Open WebUI); absent or null: every model its owner may use. */
  allowed_models: t.Optional(t.Nullable(t.Array(t.String({ minLength: 1, maxLength: 200 }), { minItems: 1, maxItems: 100 }))),
  /** A current authenticator code, needed when the account has TOTP (see fresh-code.ts). */
  mfa_code: t.Optional(t.String({ maxLength: 64 })),
}))

const seconds = (ms: number | null) => (ms === null ? null : Math.floor(ms / 1000))
const describeKey = (key: ApiKey) => ({
  id: key.id, name: key.name, created_at: seconds(key.createdAt), expires_at: seconds(key.expiresAt), last_used_at: seconds(key.lastUsedAt),
  allowed_models: key.allowedModels,
})

/**
 * API keys under /api/v1/auths/api_key: POST creates one and shows it once, GET lists them (never
 * the keys), DELETE removes all (Open WebUI's single-key shape) and DELETE /:id removes one.
 * Managing keys needs a session: an API key cannot mint or delete keys.
 */
export const apiKeyRoutes = (deps: AuthDeps, trustedProxies: AddressList) => {
  const ensureAllowed = async (user: Parameters<typeof mayUseApiKeys>[1]) => {
    if (!await mayUseApiKeys(deps, user)) throw new HttpError(403, 'api_keys_not_allowed', 'API keys are not enabled for your account.')
  }
  return new Elysia()
    .use(requireAuth(deps, trustedProxies))
    .post('/api_key', async ({ body, principal, request, server, set }) => {
      await ensureAllowed(principal.user)
      const allowedModels = body?.allowed_models == null ? null : [...new Set(body.allowed_models.map((model) => model.trim()).filter((model) => model !== ''))]
      if (allowedModels?.length === 0) throw new HttpError(422, 'invalid_request', 'allowed_models names no model.')
      await requireFreshCode(deps, principal, body?.mfa_code, resolveClientAddress(request, server, trustedProxies).ip, set)
      const key = generateApiKey()
      const expiresAt = body?.expires_in === undefined ? null : deps.now() + body.expires_in * 1000
      const stored = await deps.store.apiKeys.createApiKey({
        id: crypto.randomUUID() as ApiKeyId, userId: principal.user.id, keyHash: hashApiKey(key), name: body?.name ?? 'API key', expiresAt,
        allowedModels,
      })
      deps.audit.record({
        event: 'api_key_created', actorId: principal.user.id, ip: resolveClientAddress(request, server, trustedProxies).ip,
        details: { key_id: stored.id, model_limited: stored.allowedModels !== null },
      })
      return { api_key: key, ...describeKey(stored) }
    }, { auth: 'session', body: CreateBody })
    .get('/api_key', async ({ principal }) => {
      await ensureAllowed(principal.user)
      return { api_key: null, keys: (await deps.store.apiKeys.listApiKeys(principal.user.id)).map(describeKey) }
    }, { auth: 'session' })
    .delete('/api_key', async ({ principal, request, server }) => {
      const deleted = await deps.store.apiKeys.deleteAllApiKeys(principal.user.id)
      deps.audit.record({ event: 'api_key_deleted', actorId: principal.user.id, ip: resolveClientAddress(request, server, trustedProxies).ip, details: { count: deleted } })
      return true
    }, { auth: 'session' })
    .delete('/api_key/:id', async ({ params, principal, request, server }) => {
      if (!await deps.store.apiKeys.deleteApiKey(principal.user.id, params.id as ApiKeyId)) throw new HttpError(404, 'api_key_not_found', 'API key not found.')
      deps.audit.record({ event: 'api_key_deleted', actorId: principal.user.id, ip: resolveClientAddress(request, server, trustedProxies).ip, details: { key_id: params.id } })
      return true
    }, { auth: 'session', params: t.Object({ id: t.String({ maxLength: 64 }) }) })
}
