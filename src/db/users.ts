import { blindIndex } from '../crypto/blind-index.ts'
import type { AccountChanges } from './account-changes.ts'
import { DatabaseStatementError } from './database-errors.ts'
import type { DataKeyRepo } from './data-keys.ts'
import type { SqlEngine } from './engine.ts'
import { newUserId, type UserId } from './ids.ts'
import { sealedTable } from './sealed-table.ts'
import { eraseDeletedPagesFromWal } from './wal-erasure.ts'

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
export type ChangeEmailResult = { ok: boolean } | { ok: false; reason: 'email_taken' }

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

// note: "user" is quoted everywhere: a reserved word in PostgreSQL, an ordinary name to SQLite.
// note: preferences are left out: every authenticated request reads its user, and none needs them.
const COLUMNS = 'id, email, name, role, created_at, updated_at'

/** Normalises an email for lookups: trimmed, Unicode NFC, lower-cased. */
export function normaliseEmail(email: string): string {
  return email.trim().normalize('NFC').toLowerCase()
}

/** The email index taken by a concurrent creation that committed first (PostgreSQL names no column: 23505 is any unique key). */
const isEmailTaken = (error: unknown) =>
  (error instanceof DatabaseStatementError && error.sqlState === '23505') || (error instanceof Error && /UNIQUE constraint failed: user\.email_index/.test(error.message))

/** Users; a role change or a deletion is announced to `changes`, a new name or email noted there. */
export function createUserRepo(sql: SqlEngine, keys: DataKeyRepo, now: () => number, changes: AccountChanges) {
  const emailIndex = async (email: string) => blindIndex((await keys.ringFor(EMAIL_INDEX_OWNER)).current.key, 'user.email', normaliseEmail(email))

  async function toUser(row: UserRow): Promise<User> {
    const ring = await keys.ringFor(row.id)
    return {
      id: row.id as UserId,
      email: userTable.openColumn('email', row.id, row.email, ring)!,
      name: userTable.openColumn('name', row.id, row.name, ring)!,
      role: row.role,
      createdAt: row.created_at,
      updatedAt: row.updated_at,
    }
  }
  const toUserOrNull = async (row: UserRow | null) => (row === null ? null : toUser(row))
  const exists = async (id: UserId) => (await sql.get('SELECT 1 AS found FROM "user" WHERE id = ?', id)) !== null

  async function changePreferences(id: UserId, change: (current: Record<string, unknown>) => Record<string, unknown> | null): Promise<Record<string, unknown> | null> {
    if (!await exists(id)) return null
    const ring = await keys.ringFor(id)
    let isWritten = false
    const result = await sql.transaction(async () => {
      isWritten = false
      const row = await sql.get<{ preferences: Uint8Array | null }>('SELECT preferences FROM "user" WHERE id = ?', id)
      if (row === null) return null
      const current = (userTable.openColumn('preferences', id, row.preferences, ring) ?? {}) as Record<string, unknown>
      const next = change(current)
      if (next === null) return current
      const sealed = userTable.sealColumn('preferences', id, next, ring)!
      isWritten = (await sql.run('UPDATE "user" SET preferences = ?, updated_at = ? WHERE id = ?', sealed, now(), id)).changes === 1
      return isWritten ? next : null
    })
    if (isWritten) changes.recordChanged(id)
    return result
  }

  return {
    /** Creates a user and their data key in one transaction; refuses an email already in use. */
    async createUser(input: NewUser): Promise<CreateUserResult> {
      const index = await emailIndex(input.email)
      const email = input.email.trim()
      const preferences = input.preferences ?? {}
      try {
        // note: SERIALIZABLE on PostgreSQL: of two first sign-ups at once one is refused and runs again, finding the other.
        return await sql.transaction(async (): Promise<CreateUserResult> => {
          if (await sql.get('SELECT id FROM "user" WHERE email_index = ?', index) !== null) return { ok: false, reason: 'email_taken' }
          const isFirst = input.adminIfFirst === true && Number((await sql.get<{ n: number | string }>('SELECT count(*) AS n FROM "user"'))!.n) === 0
          const role: Role = isFirst ? 'admin' : input.role
          const id = input.imported?.id ?? newUserId()
          const ring = await keys.createKey(id)
          const sealed = userTable.seal(id, { email, name: input.name, preferences }, ring)
          const at = input.imported?.createdAt ?? now()
          await sql.run('INSERT INTO "user" (id, email_index, email, name, preferences, role, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
            id, index, sealed.email!, sealed.name!, sealed.preferences, role, at, at)
          return { ok: true, user: { id, email, name: input.name, role, createdAt: at, updatedAt: at } }
        })
      } catch (error) {
        if (isEmailTaken(error)) return { ok: false, reason: 'email_taken' }
        throw error
      }
    },

    /** Returns the user, or null when there is none with that id. */
    async findUserById(id: UserId): Promise<User | null> {
      return toUserOrNull(await sql.get<UserRow>(`SELECT ${COLUMNS} FROM "user" WHERE id = ?`, id))
    },

    /** Finds a user by email, compared after normalisation; null when none. */
    async findUserByEmail(email: string): Promise<User | null> {
      return toUserOrNull(await sql.get<UserRow>(`SELECT ${COLUMNS} FROM "user" WHERE email_index = ?`, await emailIndex(email)))
    },

    /** Lists users oldest first, one page at a time. */
    async listUsers(page: { limit: number; offset: number }): Promise<User[]> {
      const rows = await sql.all<UserRow>(`SELECT ${COLUMNS} FROM "user" ORDER BY created_at, id LIMIT ? OFFSET ?`, page.limit, page.offset)
      return Promise.all(rows.map(toUser))
    },

    /** The oldest admin (whom a pending user should ask), or null when there is none. */
    async findFirstAdmin(): Promise<User | null> {
      return toUserOrNull(await sql.get<UserRow>(`SELECT ${COLUMNS} FROM "user" WHERE role = 'admin' ORDER BY created_at, id LIMIT 1`))
    },

    async countUsers(): Promise<number> {
      return Number((await sql.get<{ n: number | string }>('SELECT count(*) AS n FROM "user"'))!.n)
    },

    async countAdmins(): Promise<number> {
      return Number((await sql.get<{ n: number | string }>(`SELECT count(*) AS n FROM "user" WHERE role = 'admin'`))!.n)
    },

    /** Returns the server's one admin, or null when it has none or several. */
    async findOnlyAdmin(): Promise<User | null> {
      const admins = await sql.all<UserRow>(`SELECT ${COLUMNS} FROM "user" WHERE role = 'admin' ORDER BY created_at, id LIMIT 2`)
      return admins.length === 1 ? toUser(admins[0]!) : null
    },

    /** Renames the user; false when there is no such user. */
    async renameUser(id: UserId, name: string): Promise<boolean> {
      if (!await exists(id)) return false
      const sealed = userTable.sealColumn('name', id, name, await keys.ringFor(id))!
      const isChanged = (await sql.run('UPDATE "user" SET name = ?, updated_at = ? WHERE id = ?', sealed, now(), id)).changes === 1
      if (isChanged) changes.recordChanged(id)
      return isChanged
    },

    /** Changes the user's email (and its blind index); refuses one another user has. False when there is no such user. */
    async changeUserEmail(id: UserId, email: string): Promise<ChangeEmailResult> {
      if (!await exists(id)) return { ok: false }
      const index = await emailIndex(email)
      const sealed = userTable.sealColumn('email', id, email.trim(), await keys.ringFor(id))!
      let result: ChangeEmailResult
      try {
        result = await sql.transaction(async (): Promise<ChangeEmailResult> => {
          const holder = await sql.get<{ id: string }>('SELECT id FROM "user" WHERE email_index = ?', index)
          if (holder !== null && holder.id !== id) return { ok: false, reason: 'email_taken' }
          return { ok: (await sql.run('UPDATE "user" SET email_index = ?, email = ?, updated_at = ? WHERE id = ?', index, sealed, now(), id)).changes === 1 }
        })
      } catch (error) {
        if (isEmailTaken(error)) return { ok: false, reason: 'email_taken' }
        throw error
      }
      if (result.ok) changes.recordChanged(id)
      return result
    },

    /** Changes the user's role; false when there is no such user. */
    async setUserRole(id: UserId, role: Role): Promise<boolean> {
      const isChanged = (await sql.run('UPDATE "user" SET role = ?, updated_at = ? WHERE id = ?', role, now(), id)).changes === 1
      if (isChanged) changes.accessChanged(id, { kind: 'role', role })
      return isChanged
    },

    /** The user's preferences ({} when none were set), or null when there is no such user. */
    async findUserPreferences(id: UserId): Promise<Record<string, unknown> | null> {
      const row = await sql.get<{ preferences: Uint8Array | null }>('SELECT preferences FROM "user" WHERE id = ?', id)
      if (row === null) return null
      return (userTable.openColumn('preferences', id, row.preferences, await keys.ringFor(id)) ?? {}) as Record<string, unknown>
    },

    /** Replaces the user's preferences; false when there is no such user. */
    async setUserPreferences(id: UserId, preferences: Record<string, unknown>): Promise<boolean> {
      if (!await exists(id)) return false
      const sealed = userTable.sealColumn('preferences', id, preferences, await keys.ringFor(id))!
      const isChanged = (await sql.run('UPDATE "user" SET preferences = ?, updated_at = ? WHERE id = ?', sealed, now(), id)).changes === 1
      // note: the row's updated_at moved, and a copy of the user carries it.
      if (isChanged) changes.recordChanged(id)
      return isChanged
    },

    /** Merges `patch` over the stored preferences, read and written in one transaction; the result, or null when there is no such user. */
    async mergeUserPreferences(id: UserId, patch: Record<string, unknown>): Promise<Record<string, unknown> | null> {
      return await changePreferences(id, (current) => ({ ...current, ...patch }))
    },

    /**
     * Applies `change` to the stored preferences, read and written in one transaction, so a concurrent
     * change is never lost; the preferences as they now are, or null when there is no such user.
     * `change` returning null writes nothing. It may run more than once (a transaction run again), so
     * it must only compute from what it is given.
     */
    changeUserPreferences: changePreferences,

    /**
     * Deletes the user, every row they own, and their data key, so no copy of their data opens again.
     * Throws WalNotErasedError (wal-erasure.ts) when the deletion committed but SQLite's WAL could
     * not be emptied of the older copies of their pages (the wrapped key among them) in time.
     */
    async deleteUser(id: UserId): Promise<void> {
      await sql.transaction(async () => {
        await sql.run('DELETE FROM "user" WHERE id = ?', id)
        await keys.destroyKeys(id)
      })
      // note: told before the erasure, which may wait on the WAL checkpointer: the user is gone either way.
      changes.accessChanged(id, { kind: 'deleted' })
      await eraseDeletedPagesFromWal(sql)
    },
  }
}

export type UserRepo = ReturnType<typeof createUserRepo>
