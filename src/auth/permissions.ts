/**
 * Open WebUI's permissions: a tree of flags (`workspace.models`, `chat.file_upload`,
 * `features.api_keys`, ...) that says what a user may do beyond their role. Permissions are
 * additive: a user has one when the defaults (USER_PERMISSIONS_*, then what an admin saved at
 * /api/v1/users/default/permissions) or any of their groups grant it; no group can take one away.
 * Admins have every permission except the restrictions (`chat.temporary_enforced`), pending
 * accounts none.
 *
 * Threat: a stale answer after an admin removes a user from a group or edits a group. Every call
 * reads the user's groups and the groups' flags from the repository's memory, which every write
 * replaces, so a change is in effect for the next request and the next socket frame.
 */
import type { PermissionTree } from '../db/groups.ts'

/** Who is asking: the user's id and role (a Principal is one). */
export type PermissionHolder = { user: { id: string; role: 'admin' | 'user' | 'pending' } }

export type PermissionDeps = {
  /** The default permissions in effect now. */
  defaults: () => Readonly<PermissionTree>
  groups: { groupIdsOfUser(userId: string): readonly string[]; permissionsOfGroup(groupId: string): PermissionTree | null }
}

/** Flags that restrict rather than allow: an admin is never held to them. */
const RESTRICTIONS = new Set(['chat.temporary_enforced'])

function isGranted(tree: Readonly<PermissionTree> | null, section: string, flag: string): boolean {
  return tree?.[section]?.[flag] === true
}

function isGrantedByAny(trees: readonly (Readonly<PermissionTree> | null)[], section: string, flag: string): boolean {
  for (const tree of trees) if (isGranted(tree, section, flag)) return true
  return false
}

export function createPermissions(deps: PermissionDeps) {
  /** Whether the holder has the permission `key`, a dotted path such as 'workspace.models'. */
  function has(holder: PermissionHolder, key: string): boolean {
    const { id, role } = holder.user
    if (role === 'pending') return false
    if (role === 'admin') return !RESTRICTIONS.has(key)
    const dot = key.indexOf('.')
    if (dot <= 0) return false
    const section = key.slice(0, dot)
    const flag = key.slice(dot + 1)
    if (isGranted(deps.defaults(), section, flag)) return true
    for (const groupId of deps.groups.groupIdsOfUser(id)) {
      if (isGranted(deps.groups.permissionsOfGroup(groupId), section, flag)) return true
    }
    return false
  }

  /** The holder's whole tree, every flag of the defaults and their groups, as Open WebUI's page reads `user.permissions`. */
  function effective(holder: PermissionHolder): PermissionTree {
    // note: null-prototype objects: a section or flag named `__proto__` in a stored tree stays a plain key
    // instead of reaching Object.prototype.
    const tree: PermissionTree = Object.create(null)
    const trees = [deps.defaults(), ...deps.groups.groupIdsOfUser(holder.user.id).map((groupId) => deps.groups.permissionsOfGroup(groupId))]
    const isUser = holder.user.role === 'user'
    for (const source of trees) {
      for (const [section, flags] of Object.entries(source ?? {})) {
        if (typeof flags !== 'object' || flags === null) continue
        tree[section] ??= Object.create(null)
        // note: a user's flag is looked up in the trees read once above (every session answer carries
        // the whole tree: one has() per flag made it most of an authenticated request); a section has()
        // would split differently (empty, or with a dot), and admins and pending accounts, go through has().
        const isPlainSection = isUser && section !== '' && !section.includes('.')
        for (const flag of Object.keys(flags)) tree[section]![flag] = isPlainSection ? isGrantedByAny(trees, section, flag) : has(holder, `${section}.${flag}`)
      }
    }
    return tree
  }

  return { has, effective }
}

export type Permissions = ReturnType<typeof createPermissions>
