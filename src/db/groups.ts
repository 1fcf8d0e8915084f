/**
 * Groups and their members. A group's name and description are sealed under the system key (the
 * name is found by a blind index); its permissions are Open WebUI's tree of flags, stored as JSON
 * (no user text). `source` says who manages the members: admins by hand ('local'), or a sign-in
 * through LDAP or OpenID, which syncs them from the directory.
 *
 * Access decisions read a user's group ids and the groups' permissions on every request, so both
 * are kept in memory (kept-read.ts): dropped on every write made through this repository, so a
 * change made here is in effect for the very next request, and read again after at most a second,
 * so a change made through another instance on the same database holds here within that time.
 */
import { blindIndex } from '../crypto/blind-index.ts'
import { SYSTEM_OWNER, type DataKeyRepo, type KeyRing } from './data-keys.ts'
import type { SqlEngine } from './engine.ts'
import type { UserId } from './ids.ts'
import { keptRead, keptReadsByKey } from './kept-read.ts'
import { sealedTable } from './sealed-table.ts'
import { announceSettingsWrite, type SharedWrites } from './shared-writes.ts'
import { EMAIL_INDEX_OWNER } from './users.ts'

/** Who manages a group's memberships: admins by hand, or a sign-in through LDAP or OpenID. */
export type GroupSource = 'local' | 'ldap' | 'oidc'

/** Open WebUI's permission tree: section -> flag -> granted. */
export type PermissionTree = Record<string, Record<string, boolean>>

export type Group = {
  id: string; name: string; description: string; source: GroupSource
  /** null: the group grants nothing beyond the defaults. */
  permissions: PermissionTree | null
  createdAt: number; updatedAt: number
}

export type GroupSync = { added: string[]; removed: string[]; unknown: string[] }

/** What an admin may change of a group; absent fields stay. */
export type GroupChange = { name?: string; description?: string; permissions?: PermissionTree | null }

export type GroupWrite = { ok: true; group: Group } | { ok: false; reason: 'name_taken' | 'not_found' }

const groupTable = sealedTable('user_group', { name: 'text', description: 'text' })

type GroupRow = {
  id: string; name: Uint8Array; description: Uint8Array | null; source: GroupSource; permissions: string | null
  created_at: number | string; updated_at: number | string
}

/** Trims and folds a group name to the form it is looked up by: names differ only by more than case. */
export function normaliseGroupName(name: string): string {
  return name.trim().normalize('NFC').toLowerCase()
}

/** Groups and their members. Names are sealed under the system key and found by a blind index. */
export function createGroupRepo(sql: SqlEngine, keys: DataKeyRepo, now: () => number, shared: SharedWrites = { isAnnounced: false }) {
  const columns = 'g.id, g.name, g.description, g.source, g.permissions, g.created_at, g.updated_at'
  const selectOfUser = (userId: string) => sql.all<GroupRow & { member_source: GroupSource }>(
    `SELECT ${columns}, m.source AS member_source FROM group_member m JOIN user_group g ON g.id = m.group_id WHERE m.user_id = ? ORDER BY g.created_at, g.id`, userId)
  const insertMember = (groupId: string, userId: string, source: GroupSource, at: number) =>
    sql.run('INSERT INTO group_member (group_id, user_id, source, added_at) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING', groupId, userId, source, at)

  // note: an unchanged read answers the same frozen array, so decisions remembered by it stand (model-access.ts).
  const lastIds = new Map<string, readonly string[]>()
  const groupIds = keptReadsByKey(async (userId) => {
    const rows = await sql.all<{ group_id: string }>('SELECT group_id FROM group_member WHERE user_id = ? ORDER BY group_id', userId)
    const ids = rows.map((row) => row.group_id)
    const previous = lastIds.get(userId)
    if (previous !== undefined && previous.length === ids.length && previous.every((id, i) => id === ids[i])) return previous
    if (lastIds.size >= 10_000) lastIds.clear()
    const frozen = Object.freeze(ids)
    lastIds.set(userId, frozen)
    return frozen
  }, now)
  const permissions = keptRead(async () => {
    const rows = await sql.all<{ id: string; permissions: string | null }>('SELECT id, permissions FROM user_group')
    return new Map(rows.map((row) => [row.id, parsePermissions(row.permissions)])) as ReadonlyMap<string, PermissionTree | null>
  }, now)
  const forgetKept = () => {
    groupIds.forget()
    permissions.forget()
  }
  // note: another instance's write drops what is kept at once (with Redis), rather than within the second.
  shared.onKeptReadsStale?.(forgetKept)
  /** After a write here: forgets what is kept, and tells the other instances once it committed. */
  const forget = () => {
    forgetKept()
    announceSettingsWrite(sql, shared)
  }

  const system = () => keys.ringFor(SYSTEM_OWNER)
  const nameIndexer = async () => {
    const ring = await keys.ringFor(EMAIL_INDEX_OWNER)
    return (name: string) => blindIndex(ring.current.key, 'user_group.name', normaliseGroupName(name))
  }
  const parsePermissions = (text: string | null): PermissionTree | null => (text === null ? null : JSON.parse(text) as PermissionTree)
  const toGroup = (row: GroupRow, ring: KeyRing): Group => {
    const opened = groupTable.open(row.id, row, ring)
    const createdAt = Number(row.created_at)
    return {
      id: row.id, name: opened.name!, description: opened.description ?? '', source: row.source, permissions: parsePermissions(row.permissions),
      createdAt, updatedAt: Number(row.updated_at) || createdAt,
    }
  }

  /** A new group sealed ahead of its transaction: the row to insert, and the group it becomes. */
  const sealNewGroup = (name: string, source: GroupSource, ring: KeyRing, extra: { description?: string; permissions?: PermissionTree | null } = {}) => {
    const id = crypto.randomUUID()
    const at = now()
    const trimmed = name.trim()
    const description = extra.description ?? ''
    const permissions = extra.permissions ?? null
    const group: Group = { id, name: trimmed, description, source, permissions, createdAt: at, updatedAt: at }
    const sealedName = groupTable.sealColumn('name', id, trimmed, ring)!
    const sealedDescription = groupTable.sealColumn('description', id, description, ring)
    const storedPermissions = permissions === null ? null : JSON.stringify(permissions)
    return {
      group,
      insert: (nameIndex: Uint8Array) => sql.run('INSERT INTO user_group (id, name_index, name, description, source, permissions, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
        id, nameIndex, sealedName, sealedDescription, source, storedPermissions, at, at),
    }
  }

  const findRowByIndex = (index: Uint8Array) => sql.get<GroupRow>(`SELECT ${columns} FROM user_group g WHERE g.name_index = ?`, index)

  async function findGroupByName(name: string): Promise<Group | null> {
    const row = await findRowByIndex((await nameIndexer())(name))
    return row === null ? null : toGroup(row, await system())
  }

  async function findGroup(id: string): Promise<Group | null> {
    const row = await sql.get<GroupRow>(`SELECT ${columns} FROM user_group g WHERE g.id = ?`, id)
    return row === null ? null : toGroup(row, await system())
  }

  return {
    findGroupByName,
    findGroup,

    /** Creates a group, or returns the one that already has that name (compared case-insensitively). */
    async ensureGroup(name: string, source: GroupSource): Promise<Group> {
      const [ring, index] = [await system(), (await nameIndexer())(name)]
      const made = sealNewGroup(name, source, ring)
      try {
        return await sql.transaction(async () => {
          const row = await findRowByIndex(index)
          if (row !== null) return toGroup(row, ring)
          await made.insert(index)
          return made.group
        })
      } finally {
        forget()
      }
    },

    /** Creates a group an admin manages; fails when another group has the name (compared case-insensitively). */
    async createLocalGroup(input: { name: string; description?: string; permissions?: PermissionTree | null }): Promise<GroupWrite> {
      const [ring, index] = [await system(), (await nameIndexer())(input.name)]
      const made = sealNewGroup(input.name, 'local', ring, input)
      try {
        return await sql.transaction(async (): Promise<GroupWrite> => {
          if (await findRowByIndex(index) !== null) return { ok: false, reason: 'name_taken' }
          await made.insert(index)
          return { ok: true, group: made.group }
        })
      } finally {
        forget()
      }
    },

    /** Changes a group's name, description or permissions; fails when the new name is another group's. */
    async updateGroup(id: string, change: GroupChange): Promise<GroupWrite> {
      const group = await findGroup(id)
      if (group === null) return { ok: false, reason: 'not_found' }
      const ring = await system()
      const name = change.name?.trim() ?? group.name
      const index = (await nameIndexer())(name)
      const next: Group = {
        ...group, name, description: change.description ?? group.description,
        permissions: change.permissions === undefined ? group.permissions : change.permissions, updatedAt: now(),
      }
      const sealedName = groupTable.sealColumn('name', id, name, ring)!
      const sealedDescription = groupTable.sealColumn('description', id, next.description, ring)
      try {
        return await sql.transaction(async (): Promise<GroupWrite> => {
          const holder = await findRowByIndex(index)
          if (holder !== null && holder.id !== id) return { ok: false, reason: 'name_taken' }
          const changed = await sql.run('UPDATE user_group SET name_index = ?, name = ?, description = ?, permissions = ?, updated_at = ? WHERE id = ?',
            index, sealedName, sealedDescription, next.permissions === null ? null : JSON.stringify(next.permissions), next.updatedAt, id)
          return changed.changes === 0 ? { ok: false, reason: 'not_found' } : { ok: true, group: next }
        })
      } finally {
        forget()
      }
    },

    async listGroups(): Promise<Group[]> {
      const rows = await sql.all<GroupRow>(`SELECT ${columns} FROM user_group g ORDER BY g.created_at, g.id`)
      const ring = await system()
      return rows.map((row) => toGroup(row, ring))
    },

    /** The groups the user belongs to, whoever added them. */
    async listGroupsOfUser(userId: UserId): Promise<Group[]> {
      const rows = await selectOfUser(userId)
      if (rows.length === 0) return []
      const ring = await system()
      return rows.map((row) => toGroup(row, ring))
    },

    /** The ids of the user's groups, from memory while fresh (no decryption); the same array until they change. */
    groupIdsOfUser: (userId: string): Promise<readonly string[]> => groupIds.get(userId),

    /** Every group's permissions (null: none), from memory while fresh. */
    permissionsByGroup: (): Promise<ReadonlyMap<string, PermissionTree | null>> => permissions.get(),

    /** The last read of the user's group ids and of the groups' permissions, however old, for a check that must answer at once; undefined when not read yet. */
    peekAccess: (userId: string, freshOnly = false): { groupIds: readonly string[]; permissionsByGroup: ReadonlyMap<string, PermissionTree | null> } | undefined => {
      const ids = freshOnly ? groupIds.peekFresh(userId) : groupIds.peek(userId)
      const byGroup = freshOnly ? permissions.peekFresh() : permissions.peek()
      return ids === undefined || byGroup === undefined ? undefined : { groupIds: ids, permissionsByGroup: byGroup }
    },

    async listMemberIds(groupId: string): Promise<UserId[]> {
      const rows = await sql.all<{ user_id: string }>('SELECT user_id FROM group_member WHERE group_id = ? ORDER BY added_at, user_id', groupId)
      return rows.map((row) => row.user_id as UserId)
    },

    async countMembers(groupId: string): Promise<number> {
      return Number((await sql.get<{ count: number | string }>('SELECT count(*) AS count FROM group_member WHERE group_id = ?', groupId))?.count ?? 0)
    },

    async addMember(groupId: string, userId: UserId, source: GroupSource): Promise<void> {
      try {
        await insertMember(groupId, userId, source, now())
      } finally {
        forget()
      }
    },

    /** Adds each user to the group, in one transaction (members already in stay as they were). */
    async addMembers(groupId: string, userIds: readonly UserId[], source: GroupSource): Promise<void> {
      const at = now()
      try {
        await sql.transaction(async () => {
          for (const userId of userIds) await insertMember(groupId, userId, source, at)
        })
      } finally {
        forget()
      }
    },

    /** Takes each user out of the group, in one transaction. */
    async removeMembers(groupId: string, userIds: readonly UserId[]): Promise<void> {
      try {
        await sql.transaction(async () => {
          for (const userId of userIds) await sql.run('DELETE FROM group_member WHERE group_id = ? AND user_id = ?', groupId, userId)
        })
      } finally {
        forget()
      }
    },

    /** Makes the group's members exactly `userIds`, in one transaction; new ones join as `source`. */
    async replaceMembers(groupId: string, userIds: readonly UserId[], source: GroupSource): Promise<void> {
      const keep = new Set<string>(userIds)
      const at = now()
      try {
        await sql.transaction(async () => {
          const current = await sql.all<{ user_id: string }>('SELECT user_id FROM group_member WHERE group_id = ?', groupId)
          for (const { user_id: userId } of current) if (!keep.has(userId)) await sql.run('DELETE FROM group_member WHERE group_id = ? AND user_id = ?', groupId, userId)
          for (const userId of userIds) await insertMember(groupId, userId, source, at)
        })
      } finally {
        forget()
      }
    },

    async removeMember(groupId: string, userId: UserId): Promise<void> {
      try {
        await sql.run('DELETE FROM group_member WHERE group_id = ? AND user_id = ?', groupId, userId)
      } finally {
        forget()
      }
    },

    async removeGroup(groupId: string): Promise<void> {
      try {
        // note: its memberships go with it (ON DELETE CASCADE on both engines).
        await sql.run('DELETE FROM user_group WHERE id = ?', groupId)
      } finally {
        forget()
      }
    },

    /**
     * Makes the user's memberships from `source` exactly `names`, in one transaction: joins the
     * named groups (creating missing ones only when `createMissing`; otherwise they are reported as
     * unknown), leaves groups that source had added and no longer names. Memberships another source
     * made are left alone.
     */
    async syncMembershipsFromSource(userId: UserId, source: GroupSource, names: readonly string[], createMissing: boolean): Promise<GroupSync> {
      const ring = await system()
      const indexOf = await nameIndexer()
      const wanted = new Map<string, string>()
      for (const name of names) if (normaliseGroupName(name) !== '') wanted.set(normaliseGroupName(name), name)
      // note: sealed before the transaction opens; a group made on the way is sealed only in case it is missing.
      const candidates = [...wanted.entries()].map(([key, name]) => ({ key, name, index: indexOf(name), made: createMissing ? sealNewGroup(name, source, ring) : null }))
      try {
        return await sql.transaction(async (): Promise<GroupSync> => {
          const sync: GroupSync = { added: [], removed: [], unknown: [] }
          const current = new Set<string>()
          for (const row of await selectOfUser(userId)) {
            const group = toGroup(row, ring)
            const key = normaliseGroupName(group.name)
            if (wanted.has(key)) current.add(key)
            else if (row.member_source === source) {
              await sql.run('DELETE FROM group_member WHERE group_id = ? AND user_id = ?', group.id, userId)
              sync.removed.push(group.name)
            }
          }
          for (const candidate of candidates) {
            if (current.has(candidate.key)) continue
            const row = await findRowByIndex(candidate.index)
            let group = row === null ? null : toGroup(row, ring)
            if (group === null && candidate.made !== null) {
              await candidate.made.insert(candidate.index)
              group = candidate.made.group
            }
            if (group === null) { sync.unknown.push(candidate.name.trim()); continue }
            await insertMember(group.id, userId, source, now())
            sync.added.push(group.name)
          }
          return sync
        })
      } finally {
        forget()
      }
    },
  }
}

export type GroupRepo = ReturnType<typeof createGroupRepo>
