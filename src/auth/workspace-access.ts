/**
 * Who may read and change a workspace resource (a model preset or a prompt): the asking user with
 * their current groups, against the resource's owner and grant, decided by `hasAccess` alone.
 * Groups are read on each decision, so a membership change takes effect on the next request.
 */
import type { GroupRepo } from '../db/groups.ts'
import type { UserId } from '../db/ids.ts'
import type { User } from '../db/users.ts'
import { hasAccess, type AccessControl, type AccessKind, type AccessPolicy, type Accessor } from './access-control.ts'

/** Open WebUI's default: BYPASS_ADMIN_ACCESS_CONTROL=true (admins pass every grant). */
export const DEFAULT_ACCESS_POLICY: AccessPolicy = { bypassAdmin: true }

export type WorkspaceAccess = ReturnType<typeof createWorkspaceAccess>

export function createWorkspaceAccess(deps: { groups: Pick<GroupRepo, 'listGroupsOfUser'>; findUser: (id: UserId) => Promise<User | null>; policy?: AccessPolicy }) {
  const policy = deps.policy ?? DEFAULT_ACCESS_POLICY
  const accessorOf = (user: Pick<User, 'id' | 'role'>): Accessor => ({ id: user.id, role: user.role, groupIds: deps.groups.listGroupsOfUser(user.id).map((group) => group.id) })
  return {
    accessorOf,
    /** Whether the user may `kind` a resource owned by `ownerId` with grant `access`. */
    may(user: Pick<User, 'id' | 'role'>, resource: { ownerId: string; access: AccessControl }, kind: AccessKind): boolean {
      return hasAccess(accessorOf(user), resource, kind, policy)
    },
    /** As `may`, for a user known by id only (a socket turn); false when the user is gone. */
    async mayById(userId: UserId, resource: { ownerId: string; access: AccessControl }, kind: AccessKind): Promise<boolean> {
      const user = await deps.findUser(userId)
      return user !== null && hasAccess(accessorOf(user), resource, kind, policy)
    },
    /** A decision that reuses the user's groups for many resources (a listing). */
    deciderFor(user: Pick<User, 'id' | 'role'>, kind: AccessKind): (resource: { ownerId: string; access: AccessControl }) => boolean {
      const who = accessorOf(user)
      return (resource) => hasAccess(who, resource, kind, policy)
    },
  }
}
