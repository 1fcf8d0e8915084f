/**
 * Groups as Open WebUI's pages and Conduit call them (src/lib/apis/groups/index.ts): GET
 * /api/v1/groups/ (an admin sees every group, anyone else the groups they belong to), and for
 * admins POST /create, GET /id/{id}, GET /id/{id}/export, POST /id/{id}/users, POST
 * /id/{id}/update, POST /id/{id}/users/add and /users/remove (`{"user_ids": [...]}`), DELETE
 * /id/{id}/delete; GET /api/v1/users/groups (the caller's) and GET /api/v1/users/{id}/groups.
 *
 * Groups synced from LDAP or OpenID (`data.source`) have their members managed by the directory:
 * admins may change their description and permissions, not their name (the sync finds them by it)
 * nor their members (409 group_managed_by_directory). A change is in effect on the next request
 * (db/groups.ts keeps no stale copy) and every change is audited (ids and counts, never names).
 *
 * Threat: a user never learns of a group they are not in, nor who else is in it; only admins edit.
 */
import { Elysia, t } from 'elysia'
import type { AuthDeps } from '../../auth/auth-deps.ts'
import type { AddressList } from '../../config/network.ts'
import type { Group, GroupWrite, PermissionTree } from '../../db/groups.ts'
import { parseUserId, type UserId } from '../../db/ids.ts'
import { resolveClientAddress } from '../client-address.ts'
import { HttpError } from '../http-error.ts'
import { requireAuth } from '../plugins/require-auth.ts'

const seconds = (ms: number) => Math.floor(ms / 1000)

const Name = t.String({ minLength: 1, maxLength: 255 })
const Description = t.String({ maxLength: 2000 })
/** Open WebUI's permission tree: section -> flag -> boolean, bounded. */
export const PermissionTreeBody = t.Record(t.String({ maxLength: 40 }), t.Record(t.String({ maxLength: 60 }), t.Boolean(), { maxProperties: 100 }), { maxProperties: 20 })
const UserIds = t.Array(t.String({ maxLength: 64 }), { maxItems: 1000 })
const CreateBody = t.Object({
  name: Name, description: t.Optional(Description), permissions: t.Optional(t.Nullable(PermissionTreeBody)), data: t.Optional(t.Nullable(t.Unknown())),
}, { additionalProperties: true })
const UpdateBody = t.Object({
  name: t.Optional(Name), description: t.Optional(t.Nullable(Description)), permissions: t.Optional(t.Nullable(PermissionTreeBody)),
  data: t.Optional(t.Nullable(t.Unknown())), user_ids: t.Optional(t.Nullable(UserIds)),
}, { additionalProperties: true })
const MembersBody = t.Object({ user_ids: UserIds })
const GroupParams = t.Object({ id: t.String({ maxLength: 64 }) })

const groupNotFound = () => new HttpError(404, 'group_not_found', 'Group not found.')
const nameTaken = () => new HttpError(400, 'group_name_taken', 'Another group has this name.')
const managedByDirectory = () => new HttpError(409, 'group_managed_by_directory', 'This group is synced from the directory: its members and name are managed there.')

export const groupRoutes = (deps: AuthDeps, trustedProxies: AddressList) => {
  const { groups, users } = deps.store
  const ipOf = (request: Request, server: Parameters<typeof resolveClientAddress>[1]) => resolveClientAddress(request, server, trustedProxies).ip
  /** Open WebUI's GroupResponse; members are listed for an admin only. */
  const describeGroup = async (group: Group, withMembers: boolean) => {
    const members = withMembers ? await groups.listMemberIds(group.id) : []
    return {
      id: group.id, user_id: null, name: group.name, description: group.description, permissions: group.permissions,
      data: { source: group.source }, meta: null,
      user_ids: members, member_count: withMembers ? members.length : undefined,
      created_at: seconds(group.createdAt), updated_at: seconds(group.updatedAt),
    }
  }
  const describeGroups = (list: readonly Group[], withMembers: boolean) => Promise.all(list.map((group) => describeGroup(group, withMembers)))
  const findGroupOr404 = async (id: string): Promise<Group> => {
    const group = await groups.findGroup(id)
    if (group === null) throw groupNotFound()
    return group
  }
  const written = (write: GroupWrite): Group => {
    if (write.ok) return write.group
    throw write.reason === 'name_taken' ? nameTaken() : groupNotFound()
  }
  /** The listed ids that name existing users, once each (unknown ones are left out, as Open WebUI does). */
  const existingUsers = async (ids: readonly string[]): Promise<UserId[]> => {
    const found: UserId[] = []
    for (const raw of new Set(ids)) {
      const id = parseUserId(raw)
      if (id !== null && await users.findUserById(id) !== null) found.push(id)
    }
    return found
  }
  /** Makes the group's admin-made memberships exactly `wanted` (directory-made ones stay). */
  const setMembers = (group: Group, wanted: readonly UserId[]) => groups.replaceMembers(group.id, wanted, 'local')
  const refuseDirectoryGroup = (group: Group) => {
    if (group.source !== 'local') throw managedByDirectory()
  }

  return new Elysia({ name: 'group-routes' })
    .use(requireAuth(deps, trustedProxies))
    .get('/api/v1/groups/', async ({ principal }) => principal.user.role === 'admin'
      ? describeGroups(await groups.listGroups(), true)
      : describeGroups(await groups.listGroupsOfUser(principal.user.id), false), {
      auth: 'active', query: t.Object({ share: t.Optional(t.String({ maxLength: 10 })) }),
    })
    .get('/api/v1/users/groups', async ({ principal }) => describeGroups(await groups.listGroupsOfUser(principal.user.id), false), { auth: 'active' })
    .get('/api/v1/users/:id/groups', async ({ params }) => {
      const id = parseUserId(params.id)
      if (id === null || await users.findUserById(id) === null) throw new HttpError(404, 'user_not_found', 'User not found.')
      return describeGroups(await groups.listGroupsOfUser(id), true)
    }, { auth: 'admin', params: t.Object({ id: t.String({ maxLength: 64 }) }) })

    .post('/api/v1/groups/create', async ({ body, principal, request, server }) => {
      if (body.name.trim() === '') throw new HttpError(422, 'invalid_request', 'A group needs a name.')
      const group = written(await groups.createLocalGroup({ name: body.name, description: body.description ?? '', permissions: (body.permissions ?? null) as PermissionTree | null }))
      deps.audit.record({ event: 'group_created', actorId: principal.user.id, ip: ipOf(request, server), details: { group_id: group.id } })
      return describeGroup(group, true)
    }, { auth: 'admin', body: CreateBody })

    .get('/api/v1/groups/id/:id', async ({ params }) => describeGroup(await findGroupOr404(params.id), true), { auth: 'admin', params: GroupParams })
    .get('/api/v1/groups/id/:id/export', async ({ params }) => describeGroup(await findGroupOr404(params.id), true), { auth: 'admin', params: GroupParams })
    .get('/api/v1/groups/id/:id/info', async ({ params }) => describeGroup(await findGroupOr404(params.id), true), { auth: 'admin', params: GroupParams })

    .post('/api/v1/groups/id/:id/users', async ({ params }) =>
      (await Promise.all((await groups.listMemberIds((await findGroupOr404(params.id)).id)).map((id) => users.findUserById(id)))).flatMap((user) =>
        user === null ? [] : [{ id: user.id, name: user.name, email: user.email, role: user.role, profile_image_url: `/api/v1/users/${user.id}/profile/image` }]),
    { auth: 'admin', params: GroupParams })

    .post('/api/v1/groups/id/:id/update', async ({ params, body, principal, request, server }) => {
      const group = await findGroupOr404(params.id)
      const members = body.user_ids === undefined || body.user_ids === null ? null : await existingUsers(body.user_ids)
      const renamed = body.name !== undefined && body.name.trim() !== group.name
      if (group.source !== 'local' && (renamed || (body.user_ids !== undefined && body.user_ids !== null))) throw managedByDirectory()
      if (body.name !== undefined && body.name.trim() === '') throw new HttpError(422, 'invalid_request', 'A group needs a name.')
      const updated = written(await groups.updateGroup(group.id, {
        ...(body.name === undefined ? {} : { name: body.name }),
        ...(body.description == null ? {} : { description: body.description }),
        ...(body.permissions === undefined ? {} : { permissions: body.permissions as PermissionTree | null }),
      }))
      if (members !== null) await setMembers(updated, members)
      deps.audit.record({ event: 'group_updated', actorId: principal.user.id, ip: ipOf(request, server), details: { group_id: group.id, members_set: body.user_ids != null } })
      return describeGroup(updated, true)
    }, { auth: 'admin', params: GroupParams, body: UpdateBody })

    .post('/api/v1/groups/id/:id/users/add', async ({ params, body, principal, request, server }) => {
      const group = await findGroupOr404(params.id)
      refuseDirectoryGroup(group)
      const added = await existingUsers(body.user_ids)
      await groups.addMembers(group.id, added, 'local')
      deps.audit.record({ event: 'group_members_changed', actorId: principal.user.id, ip: ipOf(request, server), details: { group_id: group.id, added: added.length } })
      return describeGroup(group, true)
    }, { auth: 'admin', params: GroupParams, body: MembersBody })

    .post('/api/v1/groups/id/:id/users/remove', async ({ params, body, principal, request, server }) => {
      const group = await findGroupOr404(params.id)
      refuseDirectoryGroup(group)
      const removed = [...new Set(body.user_ids)].flatMap((raw) => parseUserId(raw) ?? [])
      await groups.removeMembers(group.id, removed)
      deps.audit.record({ event: 'group_members_changed', actorId: principal.user.id, ip: ipOf(request, server), details: { group_id: group.id, removed: removed.length } })
      return describeGroup(group, true)
    }, { auth: 'admin', params: GroupParams, body: MembersBody })

    .delete('/api/v1/groups/id/:id/delete', async ({ params, principal, request, server }) => {
      const group = await findGroupOr404(params.id)
      await groups.removeGroup(group.id)
      deps.audit.record({ event: 'group_deleted', actorId: principal.user.id, ip: ipOf(request, server), details: { group_id: group.id } })
      return true
    }, { auth: 'admin', params: GroupParams })
}
