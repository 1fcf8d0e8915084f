/**
 * Open WebUI's admin "Models" and "Interface" settings: GET/POST /api/v1/configs/models (the models
 * a new chat starts with, and the order of the model list), POST /api/v1/configs/suggestions (the
 * prompt suggestions on an empty chat), and GET/POST /api/v1/configs/connections, where Enclave
 * offers neither direct browser connections to outside APIs nor Open WebUI's model-list cache
 * (both read false; turning one on is refused 400). Admin only, stored sealed in the settings,
 * audited by name only; /api/config hands the first two to signed-in users.
 */
import { Elysia, t } from 'elysia'
import type { AuthDeps } from '../../auth/auth-deps.ts'
import { authenticate, findCredential } from '../../auth/authenticate.ts'
import type { AddressList } from '../../config/network.ts'
import type { SettingsRepo } from '../../db/settings.ts'
import type { AuditEvent } from '../../audit/audit-log.ts'
import { resolveClientAddress } from '../client-address.ts'
import { HttpError } from '../http-error.ts'
import { requireAuth } from '../plugins/require-auth.ts'

const MODELS_SETTING = 'models_config'
const SUGGESTIONS_SETTING = 'prompt_suggestions'

export type ModelsConfig = { DEFAULT_MODELS: string | null; MODEL_ORDER_LIST: string[] }
export type PromptSuggestion = { title: string[]; content: string }

const ModelsBody = t.Object({
  DEFAULT_MODELS: t.Optional(t.Nullable(t.String({ maxLength: 2000 }))),
  MODEL_ORDER_LIST: t.Optional(t.Nullable(t.Array(t.String({ maxLength: 500 }), { maxItems: 1000 }))),
}, { additionalProperties: true })
const SuggestionsBody = t.Object({
  suggestions: t.Array(t.Object({ title: t.Array(t.String({ maxLength: 200 }), { maxItems: 4 }), content: t.String({ maxLength: 5000 }) }, { additionalProperties: true }), { maxItems: 50 }),
})
const ConnectionsBody = t.Object({ ENABLE_DIRECT_CONNECTIONS: t.Boolean(), ENABLE_BASE_MODELS_CACHE: t.Optional(t.Boolean()) }, { additionalProperties: true })

/** The stored model defaults (none set: no default model, the list in Ollama's order). */
export const readModelsConfig = async (settings: SettingsRepo): Promise<ModelsConfig> =>
  (await settings.readSetting(MODELS_SETTING) as ModelsConfig | null) ?? { DEFAULT_MODELS: null, MODEL_ORDER_LIST: [] }

/** The stored prompt suggestions (none set: none). */
export const readPromptSuggestions = async (settings: SettingsRepo): Promise<PromptSuggestion[]> =>
  (await settings.readSetting(SUGGESTIONS_SETTING) as PromptSuggestion[] | null) ?? []

/**
 * What /api/config adds for an active signed-in caller: the model a new chat starts with, the
 * suggestions, and the `features` the page draws only when told they are on.
 */
export const interfaceDefaultsFor = (deps: AuthDeps) => async (request: Request): Promise<object> => {
  const found = await authenticate(deps, findCredential(request.headers), '/api/config')
  if (!found.ok || found.principal.user.role === 'pending') return {}
  const admin = await deps.runtime.readAdminConfig()
  return {
    default_models: (await readModelsConfig(deps.store.settings)).DEFAULT_MODELS,
    default_prompt_suggestions: await readPromptSuggestions(deps.store.settings),
    // note: Open WebUI's get_app_config gives a signed-in caller these; its Sidebar.svelte draws the
    // Folders section (and the chats in folders) only `{#if $config?.features?.enable_folders && ...}`.
    // Only what Enclave has is said on; notes, channels, memories, code execution, image generation,
    // webhooks and autocompletion are left out, which the page reads as off.
    features: { enable_folders: admin.ENABLE_FOLDERS },
  }
}

export const interfaceConfigRoutes = (deps: AuthDeps, trustedProxies: AddressList, directConnections = false) => {
  const { settings } = deps.store
  const audit = (event: AuditEvent, actorId: string, request: Request, server: Parameters<typeof resolveClientAddress>[1]) =>
    deps.audit.record({ event, actorId, ip: resolveClientAddress(request, server, trustedProxies).ip })
  return new Elysia({ name: 'interface-config-routes' })
    .use(requireAuth(deps, trustedProxies))
    .get('/api/v1/configs/models', () => readModelsConfig(settings), { auth: 'admin' })
    .post('/api/v1/configs/models', async ({ body, principal, request, server }) => {
      const current = await readModelsConfig(settings)
      const next: ModelsConfig = {
        DEFAULT_MODELS: body.DEFAULT_MODELS === undefined ? current.DEFAULT_MODELS : body.DEFAULT_MODELS,
        MODEL_ORDER_LIST: body.MODEL_ORDER_LIST === undefined ? current.MODEL_ORDER_LIST : body.MODEL_ORDER_LIST ?? [],
      }
      await settings.writeSetting(MODELS_SETTING, next)
      audit('models_config_changed', principal.user.id, request, server)
      return next
    }, { auth: 'admin', body: ModelsBody })
    .post('/api/v1/configs/suggestions', async ({ body, principal, request, server }) => {
      const suggestions = body.suggestions.map(({ title, content }) => ({ title, content }))
      await settings.writeSetting(SUGGESTIONS_SETTING, suggestions)
      audit('prompt_suggestions_changed', principal.user.id, request, server)
      return suggestions
    }, { auth: 'admin', body: SuggestionsBody })
    // note: direct connections are ENABLE_DIRECT_CONNECTIONS, read at start; a post may only confirm it.
    .get('/api/v1/configs/connections', () => ({ ENABLE_DIRECT_CONNECTIONS: directConnections, ENABLE_BASE_MODELS_CACHE: false }), { auth: 'admin' })
    .post('/api/v1/configs/connections', ({ body }) => {
      if (body.ENABLE_DIRECT_CONNECTIONS !== directConnections || body.ENABLE_BASE_MODELS_CACHE === true) {
        throw new HttpError(400, 'not_offered', 'Direct connections are set with ENABLE_DIRECT_CONNECTIONS; Enclave offers no model-list cache.')
      }
      return { ENABLE_DIRECT_CONNECTIONS: directConnections, ENABLE_BASE_MODELS_CACHE: false }
    }, { auth: 'admin', body: ConnectionsBody })
}
