/**
 * Groups as Open WebUI's pages and Conduit read them: GET /api/v1/groups/ (an admin sees every
 * group, anyone else the groups they belong to), GET /api/v1/users/groups (the caller's) and
 * GET /api/v1/users/{id}/groups (an admin's view of one user). Membership comes from the sign-in
 * provider (db/groups.ts); there is no route here that edits groups.
 *
 * Threat: a user never learns of a group they are not in, nor who else is in it.
 */
import { Elysia, t } from 'elysia'
import type { AuthDeps } from '../../auth/auth-deps.ts'
import type { AddressList } from '../../config/network.ts'
import type { Group } from '../../db/groups.ts'
import { parseUserId } from '../../db/ids.ts'
import { HttpError } from '../http-error.ts'
import { requireAuth } from '../plugins/require-auth.ts'

const seconds = (ms: number) => Math.floor(ms / 1000)

export const groupRoutes = (deps: AuthDeps, trustedProxies: AddressList) => {
  const { groups } = deps.store
  /** Open WebUI's GroupResponse; members are listed for an admin only. */
  const describeGroup = (group: Group, withMembers: boolean) => {
    const members = groups.listMemberIds(group.id)
    return {
      id: group.id, user_id: null, name: group.name, description: '', permissions: null, data: { source: group.source }, meta: null,
      user_ids: withMembers ? members : [], member_count: withMembers ? members.length : undefined,
      created_at: seconds(group.createdAt), updated_at: seconds(group.createdAt),
    }
  }
  return new Elysia({ name: 'group-routes' })
    .use(requireAuth(deps, trustedProxies))
    .get('/api/v1/groups/', ({ principal }) => principal.user.role === 'admin'
      ? groups.listGroups().map((group) => describeGroup(group, true))
      : groups.listGroupsOfUser(principal.user.id).map((group) => describeGroup(group, false)), { auth: 'active' })
    .get('/api/v1/users/groups', ({ principal }) => groups.listGroupsOfUser(principal.user.id).map((group) => describeGroup(group, false)), { auth: 'active' })
    .get('/api/v1/users/:id/groups', ({ params }) => {
      const id = parseUserId(params.id)
      if (id === null || deps.store.users.findUserById(id) === null) throw new HttpError(404, 'user_not_found', 'User not found.')
      return groups.listGroupsOfUser(id).map((group) => describeGroup(group, true))
    }, { auth: 'admin', params: t.Object({ id: t.String({ maxLength: 64 }) }) })
}
