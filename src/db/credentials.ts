import type { AccountChanges } from './account-changes.ts'
import type { SqlEngine } from './engine.ts'
import type { DataKeyRepo } from './data-keys.ts'
import type { UserId } from './ids.ts'
import { sealedTable } from './sealed-table.ts'

const credentialTable = sealedTable('credential', { password_hash: 'text' })

/**
 * Local password hashes, sealed under their user's data key (an offline guess needs the key too).
 * A new password moves the user's revision: whether they have one decides whether MFA_REQUIRED covers them.
 */
export function createCredentialRepo(sql: SqlEngine, keys: DataKeyRepo, now: () => number, changes: AccountChanges) {
  return {
    /** Returns the user's password hash, or null when they have no local password (SSO-only). */
    async findPasswordHash(userId: UserId): Promise<string | null> {
      const row = await sql.get<{ password_hash: Uint8Array }>('SELECT password_hash FROM credential WHERE user_id = ?', userId)
      return row === null ? null : credentialTable.open(userId, row, await keys.ringFor(userId)).password_hash
    },
    async setPasswordHash(userId: UserId, hash: string): Promise<void> {
      await sql.run(`INSERT INTO credential (user_id, password_hash, updated_at) VALUES (?, ?, ?)
        ON CONFLICT (user_id) DO UPDATE SET password_hash = excluded.password_hash, updated_at = excluded.updated_at`,
      userId, credentialTable.sealColumn('password_hash', userId, hash, await keys.ringFor(userId))!, now())
      changes.recordChanged(userId)
    },
  }
}

export type CredentialRepo = ReturnType<typeof createCredentialRepo>
