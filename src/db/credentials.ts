import type { Database } from 'bun:sqlite'
import type { DataKeyRepo } from './data-keys.ts'
import type { UserId } from './ids.ts'
import { sealedTable } from './sealed-table.ts'

const credentialTable = sealedTable('credential', { password_hash: 'text' })

/** Local password hashes, sealed under their user's data key (an offline guess needs the key too). */
export function createCredentialRepo(db: Database, keys: DataKeyRepo, now: () => number) {
  const selectHash = db.query<{ password_hash: Uint8Array }, [string]>('SELECT password_hash FROM credential WHERE user_id = ?')
  const upsertHash = db.query<void, [string, Uint8Array, number]>(
    `INSERT INTO credential (user_id, password_hash, updated_at) VALUES (?, ?, ?)
     ON CONFLICT (user_id) DO UPDATE SET password_hash = excluded.password_hash, updated_at = excluded.updated_at`)

  return {
    /** Returns the user's password hash, or null when they have no local password (SSO-only). */
    findPasswordHash(userId: UserId): string | null {
      const row = selectHash.get(userId)
      return row === null ? null : credentialTable.open(userId, row, keys.keysForOwner(userId)).password_hash
    },
    setPasswordHash(userId: UserId, hash: string): void {
      upsertHash.run(userId, credentialTable.sealColumn('password_hash', userId, hash, keys.keysForOwner(userId))!, now())
    },
  }
}

export type CredentialRepo = ReturnType<typeof createCredentialRepo>
