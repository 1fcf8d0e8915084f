import type { Database } from 'bun:sqlite'
import type { AccountChanges } from './account-changes.ts'
import type { DataKeyRepo } from './data-keys.ts'
import type { UserId } from './ids.ts'
import { sealedTable } from './sealed-table.ts'

export type ApiKeyId = string & { readonly brand: 'ApiKeyId' }

/** `allowedModels`: the only models the key reaches (ids as given); null: every model its owner may use. */
export type ApiKey = { id: ApiKeyId; userId: UserId; name: string; createdAt: number; expiresAt: number | null; lastUsedAt: number | null; allowedModels: string[] | null }

const apiKeyTable = sealedTable('api_key', { name: 'text', allowed_models: 'json' })

type ApiKeyRow = { id: string; user_id: string; name: Uint8Array; allowed_models: Uint8Array | null; created_at: number; expires_at: number | null; last_used_at: number | null }

// note: last_used_at is written at most once a minute per key.
const LAST_USED_RESOLUTION_MS = 60_000

/** API keys, stored only as their SHA-256; the key itself is shown once, at creation. Deletions are announced to `changes`. */
export function createApiKeyRepo(db: Database, keys: DataKeyRepo, now: () => number, changes: AccountChanges) {
  const insertKey = db.query<void, [string, string, Uint8Array, Uint8Array, Uint8Array | null, number, number | null]>(
    'INSERT INTO api_key (id, user_id, key_hash, name, allowed_models, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?)')
  const selectByHash = db.query<{ id: string; user_id: string; allowed_models: Uint8Array | null; expires_at: number | null; last_used_at: number | null }, [Uint8Array]>(
    'SELECT id, user_id, allowed_models, expires_at, last_used_at FROM api_key WHERE key_hash = ?')
  const touch = db.query<void, [number, string]>('UPDATE api_key SET last_used_at = ? WHERE id = ?')
  const selectForUser = db.query<ApiKeyRow, [string]>('SELECT id, user_id, name, allowed_models, created_at, expires_at, last_used_at FROM api_key WHERE user_id = ? ORDER BY created_at')
  const deleteOne = db.query<void, [string, string]>('DELETE FROM api_key WHERE id = ? AND user_id = ?')
  const deleteAll = db.query<void, [string]>('DELETE FROM api_key WHERE user_id = ?')

  return {
    /** Stores a new key by its hash. */
    createApiKey(input: { id: ApiKeyId; userId: UserId; keyHash: Uint8Array; name: string; expiresAt: number | null; allowedModels?: string[] | null }): ApiKey {
      const at = now()
      const ring = keys.keysForOwner(input.userId)
      const allowedModels = input.allowedModels ?? null
      insertKey.run(input.id, input.userId, input.keyHash, apiKeyTable.sealColumn('name', input.id, input.name, ring)!,
        apiKeyTable.sealColumn('allowed_models', input.id, allowedModels, ring), at, input.expiresAt)
      return { id: input.id, userId: input.userId, name: input.name, createdAt: at, expiresAt: input.expiresAt, lastUsedAt: null, allowedModels }
    },

    /** Finds the live key with this hash and notes its use; null when unknown or expired. */
    useApiKey(keyHash: Uint8Array): { id: ApiKeyId; userId: UserId; expiresAt: number | null; allowedModels: string[] | null } | null {
      const row = selectByHash.get(keyHash)
      const at = now()
      if (row === null || (row.expires_at !== null && row.expires_at <= at)) return null
      if (row.last_used_at === null || row.last_used_at < at - LAST_USED_RESOLUTION_MS) touch.run(at, row.id)
      const allowedModels = row.allowed_models === null ? null : apiKeyTable.openColumn('allowed_models', row.id, row.allowed_models, keys.keysForOwner(row.user_id as UserId)) as string[]
      return { id: row.id as ApiKeyId, userId: row.user_id as UserId, expiresAt: row.expires_at, allowedModels }
    },

    listApiKeys(userId: UserId): ApiKey[] {
      const rows = selectForUser.all(userId)
      if (rows.length === 0) return []
      const ring = keys.keysForOwner(userId)
      return rows.map((row) => {
        const opened = apiKeyTable.open(row.id, row, ring)
        return {
          id: row.id as ApiKeyId, userId, name: opened.name!, createdAt: row.created_at,
          expiresAt: row.expires_at, lastUsedAt: row.last_used_at, allowedModels: opened.allowed_models as string[] | null,
        }
      })
    },

    /** Deletes one of the user's keys; false when it is not theirs. */
    deleteApiKey(userId: UserId, id: ApiKeyId): boolean {
      const isDeleted = deleteOne.run(id, userId).changes === 1
      if (isDeleted) changes.accessChanged(userId)
      return isDeleted
    },

    /** Deletes every key of the user; returns how many. */
    deleteAllApiKeys(userId: UserId): number {
      const deleted = deleteAll.run(userId).changes
      if (deleted > 0) changes.accessChanged(userId)
      return deleted
    },
  }
}

export type ApiKeyRepo = ReturnType<typeof createApiKeyRepo>
