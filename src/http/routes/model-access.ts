/**
 * Who may use which base model, set by admins: GET /api/v1/models/access (every base model Ollama
 * lists or that has a grant, with its access_control, and what the upgrade made public) and
 * POST /api/v1/models/model/access/update, as Open WebUI's admin page saves a model's access (for a
 * workspace model id, its preset's access, by its owner or an admin; see routes/workspace-models.ts):
 * `{id, name, access_grants: [{principal_type: 'user'|'group', principal_id, permission: 'read'|'write'}]}`
 * (`user:*:read` is public), or the older `{id, access_control}` (null public, {} admins only).
 * A change is in effect on the next request and the next socket frame (db/model-grants.ts); an
 * answer already streaming may finish. Changes are audited with the model id, never the lists.
 */
import { Elysia, t } from 'elysia'
import type { AccessControl, AccessGrant } from '../../auth/access-control.ts'
import type { AuthDeps } from '../../auth/auth-deps.ts'
import type { Principal } from '../../auth/principal.ts'
import type { Connections } from '../../chat/connections.ts'
import type { AddressList } from '../../config/network.ts'
import { canonicalModelName, type GrantSnapshot } from '../../db/model-grants.ts'
import { resolveClientAddress } from '../client-address.ts'
import { HttpError } from '../http-error.ts'
import { requireAuth } from '../plugins/require-auth.ts'

const Id = t.String({ minLength: 1, maxLength: 64 })
const Ids = t.Array(Id, { maxItems: 1000 })
const GrantList = t.Object({ group_ids: t.Optional(Ids), user_ids: t.Optional(Ids) })
const AccessControlBody = t.Nullable(t.Object({ read: t.Optional(t.Nullable(GrantList)), write: t.Optional(t.Nullable(GrantList)) }))
const AccessGrantBody = t.Object({
  id: t.Optional(t.String({ maxLength: 64 })), principal_type: t.Union([t.Literal('user'), t.Literal('group')]),
  principal_id: t.String({ minLength: 1, maxLength: 64 }), permission: t.Union([t.Literal('read'), t.Literal('write')]),
})
const UpdateBody = t.Object({
  id: t.String({ minLength: 1, maxLength: 200, pattern: '^[A-Za-z0-9][A-Za-z0-9._:/@+-]*$' }),
  name: t.Optional(t.Nullable(t.String({ maxLength: 200 }))),
  access_grants: t.Optional(t.Array(AccessGrantBody, { maxItems: 2000 })),
  access_control: t.Optional(AccessControlBody),
}, { additionalProperties: true })

type GrantEntry = typeof AccessGrantBody.static

/** Open WebUI's access_grants as an access_control: `user:*:read` is public (null); none is admins only ({}). */
export function accessControlOfGrants(grants: readonly GrantEntry[]): AccessControl {
  if (grants.some((grant) => grant.principal_type === 'user' && grant.principal_id === '*' && grant.permission === 'read')) return null
  const empty = (): AccessGrant => ({ group_ids: [], user_ids: [] })
  const result = { read: empty(), write: empty() }
  for (const grant of grants) {
    if (grant.principal_id === '*') continue
    const list = grant.principal_type === 'group' ? result[grant.permission].group_ids : result[grant.permission].user_ids
    if (!list.includes(grant.principal_id)) list.push(grant.principal_id)
  }
  return result.read.group_ids.length + result.read.user_ids.length + result.write.group_ids.length + result.write.user_ids.length === 0 ? {} : result
}

/** An access_control as Open WebUI's access_grants list. */
export function grantsOfAccessControl(access: AccessControl): { principal_type: 'user' | 'group'; principal_id: string; permission: 'read' | 'write' }[] {
  if (access === null) return [{ principal_type: 'user', principal_id: '*', permission: 'read' }]
  return (['read', 'write'] as const).flatMap((permission) => [
    ...(access[permission]?.group_ids ?? []).map((id) => ({ principal_type: 'group' as const, principal_id: id, permission })),
    ...(access[permission]?.user_ids ?? []).map((id) => ({ principal_type: 'user' as const, principal_id: id, permission })),
  ])
}

/** A posted access_control, de-duplicated, with missing lists made empty. */
function normaliseAccessControl(body: typeof AccessControlBody.static): AccessControl {
  if (body === null) return null
  const list = (grant: { group_ids?: string[]; user_ids?: string[] } | null | undefined): AccessGrant => ({
    group_ids: [...new Set(grant?.group_ids ?? [])], user_ids: [...new Set(grant?.user_ids ?? [])],
  })
  return body.read == null && body.write == null ? {} : { read: list(body.read), write: list(body.write) }
}

/** Saves a workspace model's access (routes/workspace-models.ts decides who may); absent: workspace ids answer 404. */
export type PresetAccessUpdate = (principal: Principal, id: string, body: { access_grants?: GrantEntry[]; access_control?: AccessControl }) => unknown

export const modelAccessRoutes = (deps: AuthDeps, trustedProxies: AddressList, connections: Connections, presetAccess: PresetAccessUpdate | null = null) => {
  const grants = deps.store.modelGrants
  const describe = (snapshot: GrantSnapshot, id: string, listed: boolean) => {
    const grant = snapshot.grants.get(canonicalModelName(id))
    const access = grant === undefined ? {} : grant.access
    return {
      id, listed, has_grant: grant !== undefined, access_control: access, access_grants: grantsOfAccessControl(access),
      updated_at: grant === undefined ? null : Math.floor(grant.updatedAt / 1000), made_public_by_upgrade: grant?.updatedBy === 'upgrade',
    }
  }
  return new Elysia({ name: 'model-access-routes' })
    .use(requireAuth(deps, trustedProxies))
    .get('/api/v1/models/access', async () => {
      const listing = await connections.listModels()
      const listed = new Set(listing.models.map((model) => canonicalModelName(model.name)))
      const snapshot = await grants.snapshot()
      const ids = [...new Set([...listed, ...snapshot.grants.keys()])].sort()
      const { upgrade } = snapshot
      return {
        bypass_model_access_control: deps.auth.access.bypassModelAccess,
        bypass_admin_access_control: deps.auth.access.bypassAdmin,
        upgrade: { pending: upgrade.pending, made_public: upgrade.adopted ?? [], at: upgrade.adoptedAt === null ? null : Math.floor(upgrade.adoptedAt / 1000) },
        models: ids.map((id) => describe(snapshot, id, listed.has(id))),
      }
    }, { auth: 'admin' })

    .post('/api/v1/models/model/access/update', async ({ body, principal, request, server }) => {
      if (body.access_grants === undefined && body.access_control === undefined) {
        throw new HttpError(422, 'invalid_request', 'Send access_grants or access_control.')
      }
      // note: a workspace model's access is its preset's: its owner (or an admin) saves it there; a base model's is the admins'.
      if (await deps.models.isWorkspaceModel(body.id)) {
        if (presetAccess === null) throw new HttpError(404, 'model_not_found', 'No base model of that name; a workspace model\'s access is saved with the model.')
        return presetAccess(principal, body.id, {
          ...(body.access_grants === undefined ? {} : { access_grants: body.access_grants }),
          ...(body.access_control === undefined ? {} : { access_control: normaliseAccessControl(body.access_control) }),
        })
      }
      if (principal.user.role !== 'admin') throw new HttpError(403, 'admin_only', 'Only administrators may do this.')
      const access = body.access_grants !== undefined ? accessControlOfGrants(body.access_grants) : normaliseAccessControl(body.access_control!)
      const saved = await grants.setGrant(body.id, access, principal.user.id)
      deps.audit.record({ event: 'model_access_changed', actorId: principal.user.id, ip: resolveClientAddress(request, server, trustedProxies).ip, details: { model_id: saved.modelId.slice(0, 200), public: access === null } })
      return describe(await grants.snapshot(), saved.modelId, true)
    }, { auth: 'active', body: UpdateBody })
}
