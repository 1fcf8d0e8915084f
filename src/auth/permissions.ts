/**
 * Open WebUI's permissions: a tree of flags (`workspace.models`, `chat.file_upload`,
 * `features.api_keys`, ...) that says what a user may do beyond their role. Permissions are
 * additive: a user has one when the defaults (USER_PERMISSIONS_*, then what an admin saved at
 * /api/v1/users/default/permissions) or any of their groups grant it; no group can take one away.
 * Admins have every permission except the restrictions (`chat.temporary_enforced`), pending
 * accounts none, and nobody has the features Enclave does not offer (FEATURES_NOT_OFFERED).
 *
 * Threat: a stale answer after an admin removes a user from a group or edits a group. Every call
 * reads the user's groups and the groups' flags from the repository's memory (db/groups.ts), which
 * every write made there replaces, so a change is in effect for the next request and the next
 * socket frame; a change made through another instance holds within a second (kept-read.ts).
 */
import type { PermissionTree } from '../db/groups.ts'

/** Who is asking: the user's id and role (a Principal is one). */
export type PermissionHolder = { user: { id: string; role: 'admin' | 'user' | 'pending' } }

export type PermissionDeps = {
  /** The default permissions in effect now (runtime-auth.ts keeps them at most a second). */
  defaults: () => Readonly<PermissionTree> | Promise<Readonly<PermissionTree>>
  /** The default permissions as last read, at once. */
  defaultsAsKnown?: () => Readonly<PermissionTree>
  /** The default permissions at once while fresh; undefined when only a read can tell. */
  defaultsIfFresh?: () => Readonly<PermissionTree> | undefined
  groups: {
    groupIdsOfUser(userId: string): Promise<readonly string[]>
    permissionsByGroup(): Promise<ReadonlyMap<string, PermissionTree | null>>
    peekAccess?(userId: string, freshOnly?: boolean): { groupIds: readonly string[]; permissionsByGroup: ReadonlyMap<string, PermissionTree | null> } | undefined
  }
}

/** Flags that restrict rather than allow: an admin is never held to them. */
const RESTRICTIONS = new Set(['chat.temporary_enforced'])

/**
 * Features Open WebUI has and Enclave does not: false for everyone, admins included, whatever a
 * default or group says, so no client offers a toggle that would do nothing (Conduit shows web
 * search and image generation while `features.web_search` / `.image_generation` read true).
 */
export const FEATURES_NOT_OFFERED = new Set(['features.web_search', 'features.image_generation', 'features.code_interpreter'])

function isGranted(tree: Readonly<PermissionTree> | null | undefined, section: string, flag: string): boolean {
  return tree?.[section]?.[flag] === true
}

function isGrantedByAny(trees: readonly (Readonly<PermissionTree> | null | undefined)[], section: string, flag: string): boolean {
  for (const tree of trees) if (isGranted(tree, section, flag)) return true
  return false
}

/** Splits 'workspace.models' into its section and flag; null for a key without both. */
function splitKey(key: string): [string, string] | null {
  const dot = key.indexOf('.')
  return dot <= 0 ? null : [key.slice(0, dot), key.slice(dot + 1)]
}

/** What a user's permissions are computed from: the defaults, every group's trees, the user's group ids, each as read. */
type Snapshot = { defaults: Readonly<PermissionTree>; byGroup: ReadonlyMap<string, PermissionTree | null>; groupIds: readonly string[] }

type Role = PermissionHolder['user']['role']

export function createPermissions(deps: PermissionDeps) {
  /** The snapshot at once while everything in it is fresh in memory; else read (at most a second old). */
  function snapshotOf(userId: string): Snapshot | Promise<Snapshot> {
    const defaults = deps.defaultsIfFresh?.()
    const access = defaults === undefined ? undefined : deps.groups.peekAccess?.(userId, true)
    if (defaults !== undefined && access !== undefined) return { defaults, byGroup: access.permissionsByGroup, groupIds: access.groupIds }
    return Promise.all([deps.defaults(), deps.groups.groupIdsOfUser(userId), deps.groups.permissionsByGroup()])
      .then(([read, groupIds, byGroup]) => ({ defaults: read, byGroup, groupIds }))
  }

  /** The trees that grant a user something: the defaults, then each of their groups'. */
  const treesIn = ({ defaults, byGroup, groupIds }: Snapshot) => [defaults, ...groupIds.map((groupId) => byGroup.get(groupId))]

  async function treesOf(userId: string): Promise<(Readonly<PermissionTree> | null | undefined)[]> {
    const snapshot = snapshotOf(userId)
    return treesIn(snapshot instanceof Promise ? await snapshot : snapshot)
  }

  /** The decision for an admin or a pending account, who need no trees; undefined for a user. */
  function byRole(role: Role, key: string): boolean | undefined {
    if (role === 'pending' || FEATURES_NOT_OFFERED.has(key)) return false
    if (role === 'admin') return !RESTRICTIONS.has(key)
    return undefined
  }

  /** Whether the holder has the permission `key`, a dotted path such as 'workspace.models'. */
  async function has(holder: PermissionHolder, key: string): Promise<boolean> {
    const { id, role } = holder.user
    const known = byRole(role, key)
    if (known !== undefined) return known
    const split = splitKey(key)
    return split !== null && isGrantedByAny(await treesOf(id), split[0], split[1])
  }

  // note: the whole tree is computed once per snapshot and role, not per request: each part is the
  // object its kept read holds (a new read, a new object), so a change to the defaults, a group or a
  // membership makes a new key, and an old snapshot's trees go with the objects they were keyed by.
  const computed = new WeakMap<object, WeakMap<object, WeakMap<object, Map<Role, PermissionTree>>>>()

  /** The holder's whole tree, every flag of the defaults and their groups, as Open WebUI's page reads `user.permissions` (frozen: shared). */
  async function effective(holder: PermissionHolder): Promise<PermissionTree> {
    const found = snapshotOf(holder.user.id)
    const snapshot = found instanceof Promise ? await found : found
    const { role } = holder.user
    let byGroup = computed.get(snapshot.defaults)
    if (byGroup === undefined) computed.set(snapshot.defaults, byGroup = new WeakMap())
    let byIds = byGroup.get(snapshot.byGroup)
    if (byIds === undefined) byGroup.set(snapshot.byGroup, byIds = new WeakMap())
    let byRoleTree = byIds.get(snapshot.groupIds)
    if (byRoleTree === undefined) byIds.set(snapshot.groupIds, byRoleTree = new Map())
    let tree = byRoleTree.get(role)
    if (tree === undefined) byRoleTree.set(role, tree = treeFor(role, treesIn(snapshot)))
    return tree
  }

  /** Every flag any of the trees names, decided for the role (frozen, null-prototype objects). */
  function treeFor(role: Role, trees: readonly (Readonly<PermissionTree> | null | undefined)[]): PermissionTree {
    // note: null-prototype objects: a section or flag named `__proto__` in a stored tree stays a plain key
    // instead of reaching Object.prototype.
    const tree: PermissionTree = Object.create(null)
    for (const source of trees) {
      for (const [section, flags] of Object.entries(source ?? {})) {
        if (typeof flags !== 'object' || flags === null) continue
        const out = tree[section] ??= Object.create(null)
        // note: decided as `has` decides the dotted key (a section with a dot in it splits at its first dot).
        const plain = section !== '' && !section.includes('.')
        for (const flag of Object.keys(flags)) {
          const key = `${section}.${flag}`
          const split = plain ? null : splitKey(key)
          out![flag] = byRole(role, key) ?? (plain ? isGrantedByAny(trees, section, flag) : split !== null && isGrantedByAny(trees, split[0], split[1]))
        }
      }
    }
    for (const section of Object.values(tree)) Object.freeze(section)
    return Object.freeze(tree)
  }

  /**
   * `has`, answered at once from what was last read (however old; a stale read is renewed behind
   * it), for the checks that must not wait: a revocation notice, a socket frame, the body limit.
   * Every HTTP request asks `has` first (auth/authenticate.ts), so what is known is at most a second
   * old while the user makes requests. Undefined when the user's groups were never read here.
   */
  function hasAsKnown(holder: PermissionHolder, key: string): boolean | undefined {
    return fromMemory(holder, key, false)
  }

  /** `has` at once when everything it reads is fresh in memory (younger than a second); undefined when only a read can tell. */
  function hasIfFresh(holder: PermissionHolder, key: string): boolean | undefined {
    return fromMemory(holder, key, true)
  }

  function fromMemory(holder: PermissionHolder, key: string, freshOnly: boolean): boolean | undefined {
    const known = byRole(holder.user.role, key)
    if (known !== undefined) return known
    const split = splitKey(key)
    if (split === null) return false
    const access = deps.groups.peekAccess?.(holder.user.id, freshOnly)
    const defaults = freshOnly ? deps.defaultsIfFresh?.() : deps.defaultsAsKnown?.()
    if (access === undefined || defaults === undefined) return undefined
    return isGrantedByAny([defaults, ...access.groupIds.map((groupId) => access.permissionsByGroup.get(groupId))], split[0], split[1])
  }

  return { has, effective, hasAsKnown, hasIfFresh }
}

export type Permissions = ReturnType<typeof createPermissions>
