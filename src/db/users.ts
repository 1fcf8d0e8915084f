import type { Database } from 'bun:sqlite'
import { blindIndex } from '../crypto/blind-index.ts'
import type { AccountChanges } from './account-changes.ts'
import type { DataKeyRepo } from './data-keys.ts'
import { newUserId, type UserId } from './ids.ts'
import { sealedTable } from './sealed-table.ts'

export type Role = 'admin' | 'user' | 'pending'

export type User = {
  id: UserId
  email: string
  name: string
  role: Role
  createdAt: number
  updatedAt: number
}

export type NewUser = {
  email: string
  name: string
  role: Role
  /** Make the user an admin instead when there are no users yet; decided inside the insert's transaction. */
  adminIfFirst?: boolean
  preferences?: Record<string, unknown>
  /** Keeps an id and creation time from elsewhere (an import); otherwise new ones are made. */
  imported?: { id: UserId; createdAt: number }
}

export type CreateUserResult = { ok: true; user: User } | { ok: false; reason: 'email_taken' }

/** Owner of the key that computes email blind indexes. */
export const EMAIL_INDEX_OWNER = 'email-index'

const userTable = sealedTable('user', { email: 'text', name: 'text', preferences: 'json' })

/** A user row as read: every column but `preferences`, which only `findUserPreferences` opens. */
type UserRow = {
  id: string
  email: Uint8Array
  name: Uint8Array
  role: Role
  created_at: number
  updated_at: number
}

/** Normalises an email for lookups: trimmed, Unicode NFC, lower-cased. */
export function normaliseEmail(email: string): string {
  return email.trim().normalize('NFC').toLowerCase()
}

/** Users; a role change or a deletion is announced to `changes`, a new name or email noted there. */
export function createUserRepo(db: Database, keys: DataKeyRepo, now: () => number, changes: AccountChanges) {
  // note: preferences are left out: every authenticated request reads its user, and none needs them.
  const columns = 'id, email, name, role, created_at, updated_at'
  const insertUser = db.query<void, [string, Uint8Array, Uint8Array, Uint8Array, Uint8Array | null, Role, number, number]>(
    `INSERT INTO user (id, email_index, email, name, preferences, role, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`)
  const selectById = db.query<UserRow, [string]>(`SELECT ${columns} FROM user WHERE id = ?`)
  const selectByIndex = db.query<UserRow, [Uint8Array]>(`SELECT ${columns} FROM user WHERE email_index = ?`)
  const selectIdByIndex = db.query<{ id: string }, [Uint8Array]>('SELECT id FROM user WHERE email_index = ?')
  const selectPreferences = db.query<{ preferences: Uint8Array | null }, [string]>('SELECT preferences FROM user WHERE id = ?')
  const selectPage = db.query<UserRow, [number, number]>(`SELECT ${columns} FROM user ORDER BY created_at, id LIMIT ? OFFSET ?`)
  const selectFirstAdmin = db.query<UserRow, []>(`SELECT ${columns} FROM user WHERE role = 'admin' ORDER BY created_at, id LIMIT 1`)
  const countAll = db.query<{ n: number }, []>('SELECT count(*) AS n FROM user')
  const countAdmins = db.query<{ n: number }, []>("SELECT count(*) AS n FROM user WHERE role = 'admin'")
  const selectAdmins = db.query<UserRow, []>(`SELECT ${columns} FROM user WHERE role = 'admin' ORDER BY created_at, id LIMIT 2`)
  const updateName = db.query<void, [Uint8Array, number, string]>('UPDATE user SET name = ?, updated_at = ? WHERE id = ?')
  const updateEmail = db.query<void, [Uint8Array, Uint8Array, number, string]>('UPDATE user SET email_index = ?, email = ?, updated_at = ? WHERE id = ?')
  const updateRole = db.query<void, [Role, number, string]>('UPDATE user SET role = ?, updated_at = ? WHERE id = ?')
  const updatePreferences = db.query<void, [Uint8Array, number, string]>('UPDATE user SET preferences = ?, updated_at = ? WHERE id = ?')
  const deleteById = db.query<void, [string]>('DELETE FROM user WHERE id = ?')

  const emailIndex = (email: string) => blindIndex(keys.keysForOwner(EMAIL_INDEX_OWNER).current.key, 'user.email', normaliseEmail(email))

  function toUser(row: UserRow): User {
    const ring = keys.keysForOwner(row.id)
    return {
      id: row.id as UserId,
      email: userTable.openColumn('email', row.id, row.email, ring)!,
      name: userTable.openColumn('name', row.id, row.name, ring)!,
      role: row.role,
      createdAt: row.created_at,
      updatedAt: row.updated_at,
    }
  }

  return {
    /** Creates a user and their data key in one transaction; refuses an email already in use. */
    createUser(input: NewUser): CreateUserResult {
      return db.transaction((): CreateUserResult => {
        const index = emailIndex(input.email)
        if (selectIdByIndex.get(index) !== null) return { ok: false, reason: 'email_taken' }
        const role: Role = input.adminIfFirst === true && countAll.get()!.n === 0 ? 'admin' : input.role
        const id = input.imported?.id ?? newUserId()
        const ring = keys.createKeyForOwner(id)
        const preferences = input.preferences ?? {}
        const sealed = userTable.seal(id, { email: input.email.trim(), name: input.name, preferences }, ring)
        const at = input.imported?.createdAt ?? now()
        insertUser.run(id, index, sealed.email!, sealed.name!, sealed.preferences, role, at, at)
        return { ok: true, user: { id, email: input.email.trim(), name: input.name, role, createdAt: at, updatedAt: at } }
      }).immediate()
    },

    /** Returns the user, or null when there is none with that id. */
    findUserById(id: UserId): User | null {
      const row = selectById.get(id)
      return row === null ? null : toUser(row)
    },

    /** Finds a user by email, compared after normalisation; null when none. */
    findUserByEmail(email: string): User | null {
      const row = selectByIndex.get(emailIndex(email))
      return row === null ? null : toUser(row)
    },

    /** Lists users oldest first, one page at a time. */
    listUsers(page: { limit: number; offset: number }): User[] {
      return selectPage.all(page.limit, page.offset).map(toUser)
    },

    /** The oldest admin (whom a pending user should ask), or null when there is none. */
    findFirstAdmin(): User | null {
      const row = selectFirstAdmin.get()
      return row === null ? null : toUser(row)
    },

    countUsers(): number {
      return countAll.get()!.n
    },

    countAdmins(): number {
      return countAdmins.get()!.n
    },

    /** Returns the server's one admin, or null when it has none or several. */
    findOnlyAdmin(): User | null {
      const admins = selectAdmins.all()
      return admins.length === 1 ? toUser(admins[0]!) : null
    },

    /** Renames the user; false when there is no such user. */
    renameUser(id: UserId, name: string): boolean {
      if (selectById.get(id) === null) return false
      const isChanged = updateName.run(userTable.sealColumn('name', id, name, keys.keysForOwner(id))!, now(), id).changes === 1
      if (isChanged) changes.recordChanged(id)
      return isChanged
    },

    /** Changes the user's email (and its blind index); refuses one another user has. False when there is no such user. */
    changeUserEmail(id: UserId, email: string): { ok: boolean } | { ok: false; reason: 'email_taken' } {
      return db.transaction((): { ok: boolean } | { ok: false; reason: 'email_taken' } => {
        const index = emailIndex(email)
        const holder = selectIdByIndex.get(index)
        if (holder !== null && holder.id !== id) return { ok: false, reason: 'email_taken' }
        const sealed = userTable.sealColumn('email', id, email.trim(), keys.keysForOwner(id))!
        const isChanged = updateEmail.run(index, sealed, now(), id).changes === 1
        if (isChanged) changes.recordChanged(id)
        return { ok: isChanged }
      }).immediate()
    },

    /** Changes the user's role; false when there is no such user. */
    setUserRole(id: UserId, role: Role): boolean {
      const isChanged = updateRole.run(role, now(), id).changes === 1
      if (isChanged) changes.accessChanged(id)
      return isChanged
    },

    /** The user's preferences ({} when none were set), or null when there is no such user. */
    findUserPreferences(id: UserId): Record<string, unknown> | null {
      const row = selectPreferences.get(id)
      if (row === null) return null
      return (userTable.openColumn('preferences', id, row.preferences, keys.keysForOwner(id)) ?? {}) as Record<string, unknown>
    },

    /** Replaces the user's preferences; false when there is no such user. */
    setUserPreferences(id: UserId, preferences: Record<string, unknown>): boolean {
      if (selectById.get(id) === null) return false
      const isChanged = updatePreferences.run(userTable.sealColumn('preferences', id, preferences, keys.keysForOwner(id))!, now(), id).changes === 1
      // note: the row's updated_at moved, and a copy of the user carries it.
      if (isChanged) changes.recordChanged(id)
      return isChanged
    },

    /** Deletes the user, every row they own, and their data key, so no copy of their data opens again. */
    deleteUser(id: UserId): void {
      db.transaction(() => {
        deleteById.run(id)
        keys.destroyKeysOfOwner(id)
      }).immediate()
      // note: the WAL still holds the deleted pages (the wrapped key among them) until a checkpoint
      // copies the zeroed pages back and resets it; TRUNCATE does both now.
      if (!db.inTransaction) db.run('PRAGMA wal_checkpoint(TRUNCATE)')
      changes.accessChanged(id)
    },
  }
}

export type UserRepo = ReturnType<typeof createUserRepo>
