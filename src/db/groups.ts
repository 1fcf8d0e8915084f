import type { Database } from 'bun:sqlite'
import { blindIndex } from '../crypto/blind-index.ts'
import { SYSTEM_OWNER, type DataKeyRepo } from './data-keys.ts'
import type { UserId } from './ids.ts'
import { sealedTable } from './sealed-table.ts'
import { EMAIL_INDEX_OWNER } from './users.ts'

/** Who manages a group's memberships: admins by hand, or a sign-in through LDAP or OpenID. */
export type GroupSource = 'local' | 'ldap' | 'oidc'

export type Group = { id: string; name: string; source: GroupSource; createdAt: number }

export type GroupSync = { added: string[]; removed: string[]; unknown: string[] }

const groupTable = sealedTable('user_group', { name: 'text' })

type GroupRow = { id: string; name: Uint8Array; source: GroupSource; created_at: number }

/** Trims and folds a group name to the form it is looked up by: names differ only by more than case. */
export function normaliseGroupName(name: string): string {
  return name.trim().normalize('NFC').toLowerCase()
}

/** Groups and their members. Names are sealed under the system key and found by a blind index. */
export function createGroupRepo(db: Database, keys: DataKeyRepo, now: () => number) {
  const columns = 'g.id, g.name, g.source, g.created_at'
  const insertGroup = db.query<void, [string, Uint8Array, Uint8Array, GroupSource, number]>(
    'INSERT INTO user_group (id, name_index, name, source, created_at) VALUES (?, ?, ?, ?, ?)')
  const selectByIndex = db.query<GroupRow, [Uint8Array]>(`SELECT ${columns} FROM user_group g WHERE g.name_index = ?`)
  const selectAll = db.query<GroupRow, []>(`SELECT ${columns} FROM user_group g ORDER BY g.created_at, g.id`)
  const selectOfUser = db.query<GroupRow & { member_source: GroupSource }, [string]>(
    `SELECT ${columns}, m.source AS member_source FROM group_member m JOIN user_group g ON g.id = m.group_id WHERE m.user_id = ? ORDER BY g.created_at, g.id`)
  const insertMember = db.query<void, [string, string, GroupSource, number]>(
    'INSERT INTO group_member (group_id, user_id, source, added_at) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING')
  const deleteMember = db.query<void, [string, string]>('DELETE FROM group_member WHERE group_id = ? AND user_id = ?')
  const selectMemberIds = db.query<{ user_id: string }, [string]>('SELECT user_id FROM group_member WHERE group_id = ? ORDER BY added_at, user_id')
  const deleteGroup = db.query<void, [string]>('DELETE FROM user_group WHERE id = ?')

  const nameIndex = (name: string) => blindIndex(keys.keysForOwner(EMAIL_INDEX_OWNER).current.key, 'user_group.name', normaliseGroupName(name))
  const toGroup = (row: GroupRow): Group => ({
    id: row.id,
    name: groupTable.open(row.id, row, keys.keysForOwner(SYSTEM_OWNER)).name!,
    source: row.source,
    createdAt: row.created_at,
  })

  function createGroup(name: string, source: GroupSource): Group {
    const id = crypto.randomUUID()
    const at = now()
    const trimmed = name.trim()
    insertGroup.run(id, nameIndex(trimmed), groupTable.sealColumn('name', id, trimmed, keys.keysForOwner(SYSTEM_OWNER))!, source, at)
    return { id, name: trimmed, source, createdAt: at }
  }

  function findGroupByName(name: string): Group | null {
    const row = selectByIndex.get(nameIndex(name))
    return row === null ? null : toGroup(row)
  }

  return {
    findGroupByName,

    /** Creates a group, or returns the one that already has that name (compared case-insensitively). */
    ensureGroup(name: string, source: GroupSource): Group {
      return db.transaction(() => findGroupByName(name) ?? createGroup(name, source)).immediate()
    },

    listGroups(): Group[] {
      return selectAll.all().map(toGroup)
    },

    /** The groups the user belongs to, whoever added them. */
    listGroupsOfUser(userId: UserId): Group[] {
      return selectOfUser.all(userId).map(toGroup)
    },

    listMemberIds(groupId: string): UserId[] {
      return selectMemberIds.all(groupId).map((row) => row.user_id as UserId)
    },

    addMember(groupId: string, userId: UserId, source: GroupSource): void {
      insertMember.run(groupId, userId, source, now())
    },

    removeMember(groupId: string, userId: UserId): void {
      deleteMember.run(groupId, userId)
    },

    removeGroup(groupId: string): void {
      deleteGroup.run(groupId)
    },

    /**
     * Makes the user's memberships from `source` exactly `names`, in one transaction: joins the
     * named groups (creating missing ones only when `createMissing`; otherwise they are reported as
     * unknown), leaves groups that source had added and no longer names. Memberships another source
     * made are left alone.
     */
    syncMembershipsFromSource(userId: UserId, source: GroupSource, names: readonly string[], createMissing: boolean): GroupSync {
      return db.transaction((): GroupSync => {
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
    },
  }
}

export type GroupRepo = ReturnType<typeof createGroupRepo>
