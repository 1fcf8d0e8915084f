/**
 * Groups and their members. A group's name and description are sealed under the system key (the
 * name is found by a blind index); its permissions are Open WebUI's tree of flags, stored as JSON
 * (no user text). `source` says who manages the members: admins by hand ('local'), or a sign-in
 * through LDAP or OpenID, which syncs them from the directory.
 *
 * Access decisions read a user's group ids and a group's permissions on every request, so both
 * are kept in memory and dropped on every write made through this repository (the only writer):
 * a membership or permission change is in effect for the very next request.
 */
import type { Database } from 'bun:sqlite'
import { blindIndex } from '../crypto/blind-index.ts'
import { SYSTEM_OWNER, type DataKeyRepo } from './data-keys.ts'
import type { UserId } from './ids.ts'
import { sealedTable } from './sealed-table.ts'
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
  created_at: number; updated_at: number
}

/** Trims and folds a group name to the form it is looked up by: names differ only by more than case. */
export function normaliseGroupName(name: string): string {
  return name.trim().normalize('NFC').toLowerCase()
}

/** Groups and their members. Names are sealed under the system key and found by a blind index. */
export function createGroupRepo(db: Database, keys: DataKeyRepo, now: () => number) {
  const columns = 'g.id, g.name, g.description, g.source, g.permissions, g.created_at, g.updated_at'
  const insertGroup = db.query<void, [string, Uint8Array, Uint8Array, Uint8Array | null, GroupSource, string | null, number, number]>(
    'INSERT INTO user_group (id, name_index, name, description, source, permissions, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)')
  const selectByIndex = db.query<GroupRow, [Uint8Array]>(`SELECT ${columns} FROM user_group g WHERE g.name_index = ?`)
  const selectById = db.query<GroupRow, [string]>(`SELECT ${columns} FROM user_group g WHERE g.id = ?`)
  const selectAll = db.query<GroupRow, []>(`SELECT ${columns} FROM user_group g ORDER BY g.created_at, g.id`)
  const selectOfUser = db.query<GroupRow & { member_source: GroupSource }, [string]>(
    `SELECT ${columns}, m.source AS member_source FROM group_member m JOIN user_group g ON g.id = m.group_id WHERE m.user_id = ? ORDER BY g.created_at, g.id`)
  const selectGroupIdsOfUser = db.query<{ group_id: string }, [string]>('SELECT group_id FROM group_member WHERE user_id = ?')
  const selectAllPermissions = db.query<{ id: string; permissions: string | null }, []>('SELECT id, permissions FROM user_group')
  const insertMember = db.query<void, [string, string, GroupSource, number]>(
    'INSERT INTO group_member (group_id, user_id, source, added_at) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING')
  const deleteMember = db.query<void, [string, string]>('DELETE FROM group_member WHERE group_id = ? AND user_id = ?')
  const selectMemberIds = db.query<{ user_id: string }, [string]>('SELECT user_id FROM group_member WHERE group_id = ? ORDER BY added_at, user_id')
  const countMembers = db.query<{ count: number }, [string]>('SELECT count(*) AS count FROM group_member WHERE group_id = ?')
  const deleteGroup = db.query<void, [string]>('DELETE FROM user_group WHERE id = ?')
  const updateRow = db.query<void, [Uint8Array, Uint8Array, Uint8Array | null, string | null, number, string]>(
    'UPDATE user_group SET name_index = ?, name = ?, description = ?, permissions = ?, updated_at = ? WHERE id = ?')

  // note: dropped on every write below; a user's entry is read once and then served from memory.
  const groupIdsByUser = new Map<string, readonly string[]>()
  let permissionsByGroup: Map<string, PermissionTree | null> | null = null
  let version = 0
  const forget = () => {
    groupIdsByUser.clear()
    permissionsByGroup = null
    version += 1
  }

  const system = () => keys.keysForOwner(SYSTEM_OWNER)
  const nameIndex = (name: string) => blindIndex(keys.keysForOwner(EMAIL_INDEX_OWNER).current.key, 'user_group.name', normaliseGroupName(name))
  const parsePermissions = (text: string | null): PermissionTree | null => (text === null ? null : JSON.parse(text) as PermissionTree)
  const toGroup = (row: GroupRow): Group => {
    const opened = groupTable.open(row.id, row, system())
    return {
      id: row.id, name: opened.name!, description: opened.description ?? '', source: row.source, permissions: parsePermissions(row.permissions),
      createdAt: row.created_at, updatedAt: row.updated_at || row.created_at,
    }
  }

  function createGroup(name: string, source: GroupSource, extra: { description?: string; permissions?: PermissionTree | null } = {}): Group {
    const id = crypto.randomUUID()
    const at = now()
    const trimmed = name.trim()
    const description = extra.description ?? ''
    const permissions = extra.permissions ?? null
    insertGroup.run(id, nameIndex(trimmed), groupTable.sealColumn('name', id, trimmed, system())!, groupTable.sealColumn('description', id, description, system()),
      source, permissions === null ? null : JSON.stringify(permissions), at, at)
    forget()
    return { id, name: trimmed, description, source, permissions, createdAt: at, updatedAt: at }
  }

  function findGroupByName(name: string): Group | null {
    const row = selectByIndex.get(nameIndex(name))
    return row === null ? null : toGroup(row)
  }

  function findGroup(id: string): Group | null {
    const row = selectById.get(id)
    return row === null ? null : toGroup(row)
  }

  return {
    findGroupByName,
    findGroup,

    /** Creates a group, or returns the one that already has that name (compared case-insensitively). */
    ensureGroup(name: string, source: GroupSource): Group {
      return db.transaction(() => findGroupByName(name) ?? createGroup(name, source)).immediate()
    },

    /** Creates a group an admin manages; fails when another group has the name (compared case-insensitively). */
    createLocalGroup(input: { name: string; description?: string; permissions?: PermissionTree | null }): GroupWrite {
      return db.transaction((): GroupWrite => {
        if (findGroupByName(input.name) !== null) return { ok: false, reason: 'name_taken' }
        return { ok: true, group: createGroup(input.name, 'local', input) }
      }).immediate()
    },

    /** Changes a group's name, description or permissions; fails when the new name is another group's. */
    updateGroup(id: string, change: GroupChange): GroupWrite {
      return db.transaction((): GroupWrite => {
        const group = findGroup(id)
        if (group === null) return { ok: false, reason: 'not_found' }
        const name = change.name?.trim() ?? group.name
        const holder = findGroupByName(name)
        if (holder !== null && holder.id !== id) return { ok: false, reason: 'name_taken' }
        const next: Group = {
          ...group, name, description: change.description ?? group.description,
          permissions: change.permissions === undefined ? group.permissions : change.permissions, updatedAt: now(),
        }
        updateRow.run(nameIndex(name), groupTable.sealColumn('name', id, name, system())!, groupTable.sealColumn('description', id, next.description, system()),
          next.permissions === null ? null : JSON.stringify(next.permissions), next.updatedAt, id)
        forget()
        return { ok: true, group: next }
      }).immediate()
    },

    listGroups(): Group[] {
      return selectAll.all().map(toGroup)
    },

    /** The groups the user belongs to, whoever added them. */
    listGroupsOfUser(userId: UserId): Group[] {
      return selectOfUser.all(userId).map(toGroup)
    },

    /** A number that changes on every write to groups or memberships (decisions made from them may be reused until it does). */
    version: (): number => version,

    /** The ids of the user's groups, from memory after the first read (no decryption). */
    groupIdsOfUser(userId: string): readonly string[] {
      let ids = groupIdsByUser.get(userId)
      if (ids === undefined) {
        ids = Object.freeze(selectGroupIdsOfUser.all(userId).map((row) => row.group_id))
        if (groupIdsByUser.size >= 10_000) groupIdsByUser.clear()
        groupIdsByUser.set(userId, ids)
      }
      return ids
    },

    /** The permissions a group grants (null: none), from memory after the first read. */
    permissionsOfGroup(groupId: string): PermissionTree | null {
      permissionsByGroup ??= new Map(selectAllPermissions.all().map((row) => [row.id, parsePermissions(row.permissions)]))
      return permissionsByGroup.get(groupId) ?? null
    },

    listMemberIds(groupId: string): UserId[] {
      return selectMemberIds.all(groupId).map((row) => row.user_id as UserId)
    },

    countMembers(groupId: string): number {
      return countMembers.get(groupId)?.count ?? 0
    },

    addMember(groupId: string, userId: UserId, source: GroupSource): void {
      insertMember.run(groupId, userId, source, now())
      forget()
    },

    removeMember(groupId: string, userId: UserId): void {
      deleteMember.run(groupId, userId)
      forget()
    },

    removeGroup(groupId: string): void {
      deleteGroup.run(groupId)
      forget()
    },

    /**
     * Makes the user's memberships from `source` exactly `names`, in one transaction: joins the
     * named groups (creating missing ones only when `createMissing`; otherwise they are reported as
     * unknown), leaves groups that source had added and no longer names. Memberships another source
     * made are left alone.
     */
    syncMembershipsFromSource(userId: UserId, source: GroupSource, names: readonly string[], createMissing: boolean): GroupSync {
      const sync = db.transaction((): GroupSync => {
        const wanted = new Map<string, string>()
        for (const name of names) if (normaliseGroupName(name) !== '') wanted.set(normaliseGroupName(name), name)
        const current = selectOfUser.all(userId)
        const sync: GroupSync = { added: [], removed: [], unknown: [] }
        for (const row of current) {
          const group = toGroup(row)
          const key = normaliseGroupName(group.name)
          if (wanted.has(key)) wanted.delete(key)
          else if (row.member_source === source) {
            deleteMember.run(group.id, userId)
            sync.removed.push(group.name)
          }
        }
        for (const name of wanted.values()) {
          const group = findGroupByName(name) ?? (createMissing ? createGroup(name, source) : null)
          if (group === null) { sync.unknown.push(name.trim()); continue }
          insertMember.run(group.id, userId, source, now())
          sync.added.push(group.name)
        }
        return sync
      }).immediate()
      forget()
      return sync
    },
  }
}

export type GroupRepo = ReturnType<typeof createGroupRepo>
