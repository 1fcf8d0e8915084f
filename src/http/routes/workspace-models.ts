/**
 * Workspace models (presets on a base model) as Open WebUI's workspace page calls them, under
 * /api/v1/models: GET / (the presets the caller may edit; `listEditable`, routed by models.ts), GET /list (paged, with `query`,
 * `view_option`, `tag`), GET /tags, POST /create, GET /model?id=, POST /model/toggle?id=,
 * POST /model/update (id in the query or the body), POST or DELETE /model/delete, DELETE /delete/all
 * (admins), GET /export and POST /import (admins, or the models_export / models_import permission),
 * GET /model/profile/image?id=.
 *
 * Threat: reading or changing another user's preset. A preset the caller may not read is 404, as
 * an unknown id; one they may read but not change is 403. Creating needs `workspace.models`.
 */
import { CloneType } from '@sinclair/typebox'
import { TypeCompiler, type TypeCheck } from '@sinclair/typebox/compiler'
import { Elysia, t } from 'elysia'
import { Numeric } from '../numeric-schemas.ts'
import type { AuthDeps } from '../../auth/auth-deps.ts'
import type { Permissions } from '../../auth/permissions.ts'
import type { Principal } from '../../auth/principal.ts'
import type { WorkspaceAccess } from '../../auth/workspace-access.ts'
import type { Connections } from '../../chat/connections.ts'
import { fullModelName } from '../../chat/connections.ts'
import { canonicalModelName } from '../../db/model-grants.ts'
import type { AddressList } from '../../config/network.ts'
import type { UserId } from '../../db/ids.ts'
import { profileImageOf, readUserPreferences } from '../../db/user-preferences.ts'
import type { WorkspaceModel, WorkspaceModelInput } from '../../db/workspace-models.ts'
import type { AccessControl } from '../../auth/access-control.ts'
import { HttpError } from '../http-error.ts'
import { resolveClientAddress } from '../client-address.ts'
import { accessControlOfGrants, grantsOfAccessControl } from './model-access.ts'
import { refusePublicUnlessPermitted } from '../permission-gate.ts'
import { requireAuth } from '../plugins/require-auth.ts'
import { AccessControlBody, checkMeta, checkParams, JsonObject, presetImageOf, seconds, toAccessControl } from './workspace-shapes.ts'

/** A preset's id is the model name chats use: printable, no slash at either end, bounded. */
const ModelId = t.String({ minLength: 1, maxLength: 256, pattern: '^[^\\s/\\x00-\\x1f\\x7f][^\\x00-\\x1f\\x7f]*$' })
const IdQuery = t.Object({ id: ModelId })
const ModelBody = t.Object({
  id: ModelId,
  base_model_id: t.Nullable(t.String({ minLength: 1, maxLength: 256 })),
  name: t.String({ minLength: 1, maxLength: 200 }),
  meta: t.Optional(t.Nullable(JsonObject)),
  params: t.Optional(t.Nullable(JsonObject)),
  access_control: t.Optional(AccessControlBody),
  // note: newer Open WebUI pages send their grants as `access_grants` (`user:*:read` public), read before access_control.
  access_grants: t.Optional(t.Array(t.Unknown(), { maxItems: 1000 })),
  is_active: t.Optional(t.Boolean()),
})
type ModelBodyType = typeof ModelBody.static
const UpdateBody = t.Object({ ...ModelBody.properties, id: t.Optional(ModelId) })
const ListQuery = t.Object({
  query: t.Optional(t.String({ maxLength: 200 })), view_option: t.Optional(t.String({ maxLength: 20 })), tag: t.Optional(t.String({ maxLength: 200 })),
  order_by: t.Optional(t.String({ maxLength: 40 })), direction: t.Optional(t.String({ maxLength: 10 })), page: t.Optional(Numeric({ minimum: 1, maximum: 100_000, multipleOf: 1 })),
})
const ImportBody = t.Object({ models: t.Array(JsonObject, { maxItems: 500 }) })
const PAGE_SIZE = 30

/** The neutral picture of a preset without one. */
const MODEL_PICTURE = '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 64 64"><rect width="64" height="64" rx="14" fill="#e4e4e7"/>'
  + '<path d="M32 14l5 13 13 5-13 5-5 13-5-13-13-5 13-5z" fill="#71717a"/></svg>'

export type WorkspaceModelRouteDeps = { auth: AuthDeps; trustedProxies: AddressList; access: WorkspaceAccess; permissions: Pick<Permissions, 'has'>; connections: Connections }

export const workspaceModelRoutes = ({ auth, trustedProxies, access, permissions, connections }: WorkspaceModelRouteDeps) => {
  const repo = auth.store.workspaceModels
  const ownerOf = async (id: UserId) => {
    const user = await auth.store.users.findUserById(id)
    return user === null ? null : { id: user.id, name: user.name, email: user.email, role: user.role, profile_image_url: profileImageOf(await readUserPreferences(auth.store.users, user.id)) }
  }
  /** Open WebUI's ModelModel, with its owner and whether the caller may edit it. */
  const describe = async (model: WorkspaceModel, principal: Principal) => ({
    id: model.id, user_id: model.ownerId, base_model_id: model.baseModelId, name: model.name, params: model.params,
    meta: { ...model.meta, profile_image_url: presetImageOf(model.meta) ?? '/static/favicon.png' },
    access_control: model.access, is_active: model.isActive, created_at: seconds(model.createdAt), updated_at: seconds(model.updatedAt),
    user: await ownerOf(model.ownerId), write_access: await access.may(principal.user, model, 'write'),
  })
  /** The preset the caller may `kind`; 404 when they may not read it, 403 when they may read but not change it. */
  const presetFor = async (principal: Principal, id: string, kind: 'read' | 'write'): Promise<WorkspaceModel> => {
    const grant = await repo.find(id)
    if (grant === null || !await access.may(principal.user, grant, 'read')) throw new HttpError(404, 'model_not_found', 'Model not found.')
    if (kind === 'write' && !await access.may(principal.user, grant, 'write')) throw new HttpError(403, 'access_prohibited', 'You may not change this model.')
    const model = await repo.findModel(id)
    if (model === null) throw new HttpError(404, 'model_not_found', 'Model not found.')
    return model
  }
  const describeAll = (models: readonly WorkspaceModel[], principal: Principal) => Promise.all(models.map((model) => describe(model, principal)))
  const requirePermission = async (principal: Principal, key: string) => {
    if (!await permissions.has(principal, key)) throw new HttpError(403, 'permission_denied', 'You do not have permission to do this.')
  }
  /** The stored fields for a posted form; refuses what Enclave would not apply. */
  async function inputOf(body: ModelBodyType, id: string): Promise<WorkspaceModelInput> {
    if (body.base_model_id === null) throw new HttpError(400, 'base_model_required', 'A workspace model needs a base model.')
    if (await repo.find(body.base_model_id) !== null) throw new HttpError(400, 'base_model_is_preset', 'A workspace model can only be based on a model from Ollama.')
    const baseNames = new Set((await connections.listModels()).models.map((model) => fullModelName(model.name)))
    if (!baseNames.has(fullModelName(body.base_model_id))) throw new HttpError(400, 'base_model_not_found', 'There is no base model of that name.')
    // note: Ollama's names ignore case and `:latest` (canonicalModelName); a preset named like a base model
    // listed now, or one an administrator has set access for, would read as that model, so it is refused.
    // Open WebUI's create_new_model refuses an id its model table holds (MODEL_ID_TAKEN), where a base model's access is kept too.
    const taken = new Set([...baseNames, ...(await auth.store.modelGrants.snapshot()).grants.keys()].map(canonicalModelName))
    if (taken.has(canonicalModelName(id))) throw new HttpError(409, 'model_id_taken', 'A base model already has this id; choose another.')
    const meta = body.meta ?? {}
    const params = body.params ?? {}
    checkMeta(meta)
    checkParams(params)
    return { baseModelId: body.base_model_id, name: body.name.trim() || body.name, meta, params, access: accessOfOrPrivate(body), isActive: body.is_active ?? true }
  }
  const editable = async (principal: Principal) => repo.listModels(await access.deciderFor(principal.user, 'write'))
  const readable = async (principal: Principal) => repo.listModels(await access.deciderFor(principal.user, 'read'))
  const tagsOf = (model: WorkspaceModel): string[] => (Array.isArray(model.meta.tags) ? model.meta.tags : [])
    .map((tag: unknown) => (typeof tag === 'object' && tag !== null && typeof (tag as { name?: unknown }).name === 'string' ? (tag as { name: string }).name : null))
    .filter((name): name is string => name !== null)
  /**
   * Open WebUI's admin page saves a base model's access as a model with `base_model_id: null`
   * (create the first time, update after): that is the base model's grant (db/model-grants.ts),
   * admins only, never a preset. Its display fields are the listing's own: a new name or description,
   * options and turning a base model off are refused rather than dropped.
   */
  async function saveBaseModelAccess(principal: Principal, id: string, body: Omit<ModelBodyType, 'id'>, ip: string) {
    if (principal.user.role !== 'admin') throw new HttpError(400, 'base_model_required', 'A workspace model needs a base model.')
    if (await repo.find(id) !== null) throw new HttpError(400, 'base_model_required', 'A workspace model keeps its base model.')
    if (body.is_active === false) throw new HttpError(400, 'base_model_not_disabled', 'A base model is not turned off here; save who may use it instead, or turn off its connection.')
    if (body.params != null && Object.keys(body.params).length > 0) throw new HttpError(400, 'base_model_params_unsupported', 'A base model keeps its own options; make a workspace model to set a system prompt or options.')
    const access = accessOfBody(body)
    if (access === undefined) throw new HttpError(422, 'invalid_request', 'Send access_grants or access_control.')
    // note: a new display name or description would be dropped, so it is refused instead of answered as saved.
    const description = (body.meta as { description?: unknown } | null | undefined)?.description
    if (body.name.trim() !== id || (typeof description === 'string' && description.trim() !== '')) {
      throw new HttpError(400, 'base_model_display_unsupported', 'A base model keeps the name and description Ollama gives it; make a workspace model to show another.')
    }
    const saved = await auth.store.modelGrants.setGrant(id, access, principal.user.id)
    auth.audit.record({ event: 'model_access_changed', actorId: principal.user.id, ip, details: { model_id: saved.modelId.slice(0, 200), public: access === null } })
    return {
      id: saved.modelId, user_id: principal.user.id, base_model_id: null, name: saved.modelId, params: {}, meta: body.meta ?? {},
      access_control: saved.access, access_grants: grantsOfAccessControl(saved.access), is_active: true,
      created_at: seconds(saved.updatedAt), updated_at: seconds(saved.updatedAt),
    }
  }
  /** The access a posted body asks for: its access_grants (Open WebUI's newer page) or access_control; undefined when neither. */
  function accessOfBody(body: { access_grants?: unknown[] | undefined; access_control?: Parameters<typeof toAccessControl>[0] }): AccessControl | undefined {
    // note: an empty access_grants beside an access_control is what older pages send with it: the access_control decides.
    if (body.access_grants !== undefined && (body.access_grants.length > 0 || body.access_control === undefined)) {
      if (!body.access_grants.every(isGrantEntry)) throw new HttpError(400, 'invalid_access_grants', 'Each grant needs principal_type user or group, principal_id and permission read or write.')
      return accessControlOfGrants(body.access_grants)
    }
    return body.access_control === undefined ? undefined : toAccessControl(body.access_control)
  }
  /** As accessOfBody; neither given is private ({}), where Open WebUI would make it public. */
  function accessOfOrPrivate(body: Parameters<typeof accessOfBody>[0]): AccessControl {
    const access = accessOfBody(body)
    return access === undefined ? {} : access
  }
  const deleteOne = async (principal: Principal, id: string) => {
    await presetFor(principal, id, 'write')
    return repo.deleteModel(id)
  }

  const routes = new Elysia({ name: 'workspace-model-routes', prefix: '/api/v1/models' })
    .use(requireAuth(auth, trustedProxies))

    .get('/list', async ({ principal, query }) => {
      const needle = query.query?.trim().toLowerCase() ?? ''
      let models = await readable(principal)
      if (query.view_option === 'created') models = models.filter((model) => model.ownerId === principal.user.id)
      else if (query.view_option === 'shared') models = models.filter((model) => model.ownerId !== principal.user.id)
      if (needle !== '') models = models.filter((model) => model.name.toLowerCase().includes(needle) || model.id.toLowerCase().includes(needle))
      if (query.tag !== undefined && query.tag !== '') models = models.filter((model) => tagsOf(model).includes(query.tag!))
      if (query.order_by === 'name') models.sort((a, b) => a.name.localeCompare(b.name))
      if (query.direction === 'asc' && query.order_by !== 'name') models.reverse()
      if (query.direction === 'desc' && query.order_by === 'name') models.reverse()
      const page = query.page ?? 1
      return { items: await describeAll(models.slice((page - 1) * PAGE_SIZE, page * PAGE_SIZE), principal), total: models.length }
    }, { auth: 'active', query: ListQuery })

    .get('/tags', async ({ principal }) => [...new Set((await readable(principal)).flatMap(tagsOf))].sort(), { auth: 'active' })

    .post('/create', async ({ principal, body, request, server }) => {
      if (body.base_model_id === null) return saveBaseModelAccess(principal, body.id, body, resolveClientAddress(request, server, trustedProxies).ip)
      await requirePermission(principal, 'workspace.models')
      const input = await inputOf(body, body.id)
      // note: as Open WebUI (routers/models.py, filter_allowed_access_grants), public needs sharing.public_models.
      await refusePublicUnlessPermitted(permissions, principal, PUBLIC_MODELS, input.access)
      const created = await repo.createModel(principal.user.id, body.id, input)
      if (!created.ok) throw new HttpError(409, 'model_id_taken', 'A model already has this id; choose another.')
      return describe(created.model, principal)
    }, { auth: 'active', body: ModelBody })

    .get('/model', async ({ principal, query }) => describe(await presetFor(principal, query.id, 'read'), principal), { auth: 'active', query: IdQuery })

    .post('/model/toggle', async ({ principal, query }) => {
      const model = await presetFor(principal, query.id, 'write')
      const toggled = await repo.setModelActive(model.id, !model.isActive)
      if (toggled === null) throw new HttpError(404, 'model_not_found', 'Model not found.')
      return describe(toggled, principal)
    }, { auth: 'active', query: IdQuery })

    .post('/model/update', async ({ principal, body, query, request, server }) => {
      const id = query.id ?? body.id
      if (id === undefined) throw new HttpError(400, 'model_id_required', 'Say which model to update.')
      if (body.id !== undefined && body.id !== id) throw new HttpError(400, 'model_id_mismatch', 'A model keeps its id; create a new one instead.')
      if (body.base_model_id === null && await repo.find(id) === null) return saveBaseModelAccess(principal, id, body, resolveClientAddress(request, server, trustedProxies).ip)
      const stored = await presetFor(principal, id, 'write')
      const input = await inputOf({ ...body, id }, id)
      // note: only the owner (or an admin) changes who may use it, as Open WebUI's page offers.
      const mayShare = stored.ownerId === principal.user.id || principal.user.role === 'admin'
      const access = mayShare && (body.access_control !== undefined || body.access_grants !== undefined) ? input.access : stored.access
      if (access !== stored.access) await refusePublicUnlessPermitted(permissions, principal, PUBLIC_MODELS, access)
      const updated = await repo.updateModel(id, { ...input, access })
      if (updated === null) throw new HttpError(404, 'model_not_found', 'Model not found.')
      return describe(updated, principal)
    }, { auth: 'active', body: UpdateBody, query: t.Object({ id: t.Optional(ModelId) }) })

    .post('/model/delete', ({ principal, body }) => deleteOne(principal, body.id), { auth: 'active', body: IdQuery })
    .delete('/model/delete', ({ principal, query }) => deleteOne(principal, query.id), { auth: 'active', query: IdQuery })

    .delete('/delete/all', async () => {
      await repo.deleteAllModels()
      return true
    }, { auth: 'admin' })

    .get('/export', async ({ principal, query }) => {
      await requirePermission(principal, 'workspace.models_export')
      const ids = query.ids === undefined ? null : new Set(Array.isArray(query.ids) ? query.ids : [query.ids])
      return describeAll((await editable(principal)).filter((model) => ids === null || ids.has(model.id)), principal)
    }, { auth: 'active', query: t.Object({ ids: t.Optional(t.Union([t.String({ maxLength: 256 }), t.Array(t.String({ maxLength: 256 }), { maxItems: 500 })])) }) })

    .post('/import', async ({ principal, body }) => {
      await requirePermission(principal, 'workspace.models_import')
      // note: all or nothing: every entry is checked before the first is written.
      const entries: { id: string; input: WorkspaceModelInput; isNew: boolean }[] = []
      for (const raw of body.models) {
        if (!ModelBodyCheck(raw)) throw new HttpError(400, 'invalid_model', 'Each model needs an id, a base model and a name.')
        const entry = raw as ModelBodyType
        const existing = await repo.find(entry.id) === null ? null : await presetFor(principal, entry.id, 'write')
        const input = await inputOf(entry, entry.id)
        // note: one already public stays public on a re-import, as on /model/update.
        if (existing === null || input.access !== existing.access) await refusePublicUnlessPermitted(permissions, principal, PUBLIC_MODELS, input.access)
        entries.push({ id: entry.id, input, isNew: existing === null })
      }
      // note: the importer's key is read before the transaction opens (presetFor read the other owners'), so it holds database work only.
      await auth.store.dataKeys.ringFor(principal.user.id)
      await auth.store.sql.transaction(async () => {
        for (const { id, input, isNew } of entries) {
          if (isNew) await repo.createModel(principal.user.id, id, input)
          else await repo.updateModel(id, input)
        }
      })
      return { success: true }
    }, { auth: 'active', body: ImportBody })

    .get('/model/profile/image', async ({ principal, query }) => {
      const grant = query.id === undefined ? null : await repo.find(query.id)
      const model = grant !== null && await access.may(principal.user, grant, 'read') ? await repo.findModel(query.id!) : null
      const image = model === null ? null : presetImageOf(model.meta)
      if (image === null) return new Response(MODEL_PICTURE, { headers: { 'content-type': 'image/svg+xml', 'cache-control': 'public, max-age=86400' } })
      const comma = image.indexOf(',')
      return new Response(Buffer.from(image.slice(comma + 1), 'base64'), { headers: { 'content-type': image.slice(5, image.indexOf(';')), 'cache-control': 'private, max-age=60' } })
    }, { auth: 'active', query: t.Object({ id: t.Optional(t.String({ maxLength: 500 })) }, { additionalProperties: true }) })
  /**
   * POST /api/v1/models/model/access/update for a preset (routed by model-access.ts, which owns the
   * path): its owner or an admin changes who may use it, as the update form does; 404 when the
   * caller may not read it, 403 when they may not change its access.
   */
  const updatePresetAccess = async (principal: Principal, id: string, body: { access_grants?: unknown[]; access_control?: AccessControl }) => {
    const stored = await presetFor(principal, id, 'write')
    if (stored.ownerId !== principal.user.id && principal.user.role !== 'admin') throw new HttpError(403, 'access_prohibited', 'Only the owner changes who may use this model.')
    const access = accessOfBody(body)
    if (access === undefined) throw new HttpError(422, 'invalid_request', 'Send access_grants or access_control.')
    // note: Open WebUI's access dialog posts the whole list back unchanged; one already public stays so.
    if (access !== stored.access) await refusePublicUnlessPermitted(permissions, principal, PUBLIC_MODELS, access)
    const saved = await repo.updateModel(id, { baseModelId: stored.baseModelId, name: stored.name, meta: stored.meta, params: stored.params, access, isActive: stored.isActive })
    if (saved === null) throw new HttpError(404, 'model_not_found', 'Model not found.')
    return { ...await describe(saved, principal), access_grants: grantsOfAccessControl(saved.access) }
  }
  /** GET /api/v1/models/ (served by routes/models.ts, which shares the path without the slash): the presets the caller may edit. */
  const listEditable = async (principal: Principal) => describeAll(await editable(principal), principal)
  return { routes, listEditable, updatePresetAccess }
}

/** The permission that lets a user make a model public (Open WebUI's USER_PERMISSIONS sharing.public_models). */
const PUBLIC_MODELS = 'sharing.public_models'

const ModelBodyCheck = (value: unknown): boolean => (modelBodyChecker ??= TypeCompiler.Compile(ModelBodyAsDeclared)).Check(value)
// note: compiled at the first import, not when a start loads the module; from a copy taken now,
// as the route that takes ModelBody as its body schema changes that object when it is composed.
const ModelBodyAsDeclared = CloneType(ModelBody)
let modelBodyChecker: TypeCheck<typeof ModelBody> | null = null

/** One of Open WebUI's access_grants entries. */
function isGrantEntry(value: unknown): value is { principal_type: 'user' | 'group'; principal_id: string; permission: 'read' | 'write' } {
  if (typeof value !== 'object' || value === null) return false
  const grant = value as Record<string, unknown>
  return (grant.principal_type === 'user' || grant.principal_type === 'group') && typeof grant.principal_id === 'string'
    && grant.principal_id.length > 0 && grant.principal_id.length <= 64 && (grant.permission === 'read' || grant.permission === 'write')
}
