/**
 * Who may read and change a workspace resource (a model preset or a prompt): the asking user with
 * their current groups, against the resource's owner and grant, decided by `hasAccess` alone.
 * Groups are read on each decision (db/groups.ts keeps them at most a second), so a membership
 * change takes effect on the next request here and within a second on another instance.
 */
import type { GroupRepo } from '../db/groups.ts'
import type { UserId } from '../db/ids.ts'
import type { User } from '../db/users.ts'
import { hasAccess, type AccessControl, type AccessKind, type AccessPolicy, type Accessor } from './access-control.ts'

/** Open WebUI's default: BYPASS_ADMIN_ACCESS_CONTROL=true (admins pass every grant). */
export const DEFAULT_ACCESS_POLICY: AccessPolicy = { bypassAdmin: true }

export type WorkspaceAccess = ReturnType<typeof createWorkspaceAccess>

export function createWorkspaceAccess(deps: { groups: Pick<GroupRepo, 'groupIdsOfUser'>; findUser: (id: UserId) => Promise<User | null>; policy?: AccessPolicy }) {
  const policy = deps.policy ?? DEFAULT_ACCESS_POLICY
  const accessorOf = async (user: Pick<User, 'id' | 'role'>): Promise<Accessor> => ({ id: user.id, role: user.role, groupIds: await deps.groups.groupIdsOfUser(user.id) })
  return {
    accessorOf,
    /** Whether the user may `kind` a resource owned by `ownerId` with grant `access`. */
    async may(user: Pick<User, 'id' | 'role'>, resource: { ownerId: string; access: AccessControl }, kind: AccessKind): Promise<boolean> {
      return hasAccess(await accessorOf(user), resource, kind, policy)
    },
    /** As `may`, for a user known by id only (a socket turn); false when the user is gone. */
    async mayById(userId: UserId, resource: { ownerId: string; access: AccessControl }, kind: AccessKind): Promise<boolean> {
      const user = await deps.findUser(userId)
      return user !== null && hasAccess(await accessorOf(user), resource, kind, policy)
    },
    /** A decision that reuses the user's groups for many resources (a listing). */
    async deciderFor(user: Pick<User, 'id' | 'role'>, kind: AccessKind): Promise<(resource: { ownerId: string; access: AccessControl }) => boolean> {
      const who = await accessorOf(user)
      return (resource) => hasAccess(who, resource, kind, policy)
    },
  }
}
