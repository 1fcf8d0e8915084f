import type { AccountChanges } from './account-changes.ts'
import type { DataKeyRepo } from './data-keys.ts'
import type { SqlEngine } from './engine.ts'
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
export function createApiKeyRepo(sql: SqlEngine, keys: DataKeyRepo, now: () => number, changes: AccountChanges) {
  return {
    /** Stores a new key by its hash. */
    async createApiKey(input: { id: ApiKeyId; userId: UserId; keyHash: Uint8Array; name: string; expiresAt: number | null; allowedModels?: string[] | null }): Promise<ApiKey> {
      const at = now()
      const ring = await keys.ringFor(input.userId)
      const allowedModels = input.allowedModels ?? null
      await sql.run('INSERT INTO api_key (id, user_id, key_hash, name, allowed_models, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?)',
        input.id, input.userId, input.keyHash, apiKeyTable.sealColumn('name', input.id, input.name, ring)!,
        apiKeyTable.sealColumn('allowed_models', input.id, allowedModels, ring), at, input.expiresAt)
      return { id: input.id, userId: input.userId, name: input.name, createdAt: at, expiresAt: input.expiresAt, lastUsedAt: null, allowedModels }
    },

    /** Finds the live key with this hash and notes its use; null when unknown or expired. */
    async useApiKey(keyHash: Uint8Array): Promise<{ id: ApiKeyId; userId: UserId; expiresAt: number | null; allowedModels: string[] | null } | null> {
      const row = await sql.get<{ id: string; user_id: string; allowed_models: Uint8Array | null; expires_at: number | null; last_used_at: number | null }>(
        'SELECT id, user_id, allowed_models, expires_at, last_used_at FROM api_key WHERE key_hash = ?', keyHash)
      const at = now()
      if (row === null || (row.expires_at !== null && row.expires_at <= at)) return null
      // note: committed at once, not in the group-commit batch (see sessions.ts).
    if (row.last_used_at === null || row.last_used_at < at - LAST_USED_RESOLUTION_MS) await sql.transaction(() => sql.run('UPDATE api_key SET last_used_at = ? WHERE id = ?', at, row.id))
      const allowedModels = row.allowed_models === null ? null : apiKeyTable.openColumn('allowed_models', row.id, row.allowed_models, await keys.ringFor(row.user_id as UserId)) as string[]
      return { id: row.id as ApiKeyId, userId: row.user_id as UserId, expiresAt: row.expires_at, allowedModels }
    },

    async listApiKeys(userId: UserId): Promise<ApiKey[]> {
      const rows = await sql.all<ApiKeyRow>('SELECT id, user_id, name, allowed_models, created_at, expires_at, last_used_at FROM api_key WHERE user_id = ? ORDER BY created_at', userId)
      if (rows.length === 0) return []
      const ring = await keys.ringFor(userId)
      return rows.map((row) => {
        const opened = apiKeyTable.open(row.id, row, ring)
        return {
          id: row.id as ApiKeyId, userId, name: opened.name!, createdAt: row.created_at,
          expiresAt: row.expires_at, lastUsedAt: row.last_used_at, allowedModels: opened.allowed_models as string[] | null,
        }
      })
    },

    /** Deletes one of the user's keys; false when it is not theirs. */
    async deleteApiKey(userId: UserId, id: ApiKeyId): Promise<boolean> {
      const isDeleted = (await sql.run('DELETE FROM api_key WHERE id = ? AND user_id = ?', id, userId)).changes === 1
      if (isDeleted) changes.accessChanged(userId, { kind: 'api_key', apiKeyId: id })
      return isDeleted
    },

    /** Deletes every key of the user; returns how many. */
    async deleteAllApiKeys(userId: UserId): Promise<number> {
      const deleted = (await sql.run('DELETE FROM api_key WHERE user_id = ?', userId)).changes
      if (deleted > 0) changes.accessChanged(userId, { kind: 'api_key', apiKeyId: null })
      return deleted
    },
  }
}

export type ApiKeyRepo = ReturnType<typeof createApiKeyRepo>
