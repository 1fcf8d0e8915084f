/**
 * Opening the store on PostgreSQL (DATABASE_URL), as far as the repositories allow today: the pool,
 * the key check and data keys (store-keys.ts), and the schema. Order matters as in openStore: a
 * wrong key is refused before anything is written (the schema is migrated only once the key is
 * known good), and a first start migrates, then initialises. The repositories join this store as
 * they move onto the engine; until they all have, `openStore` (SQLite) is the store the server runs
 * on, and STORE_RUNS_ON_POSTGRES stays false (config/database-variables.ts).
 *
 * Not here, unlike openStore: the data directory's key file (the caller reads the key material; a
 * generated key file is one instance's, so several instances are given ENCRYPTION_KEY or
 * ENCRYPTION_KEY_FILE), and finishing an interrupted master key rotation (ENCRYPTION_KEY_PREVIOUS).
 */
import type { PostgresConfig } from '../config/database-variables.ts'
import type { MasterKeySource } from '../config/load-config.ts'
import type { MasterKeyMaterial } from '../crypto/master-key.ts'
import { migratePostgres } from './migrate-postgres.ts'
import { createPostgresEngine } from './postgres-engine.ts'
import { initialiseKeysOn, unlockKeysOn } from './store-keys.ts'

export type PostgresStoreOptions = {
  database: PostgresConfig
  /** The master key's material, read by the caller; null when there is none (refused unless the database is new). */
  material: MasterKeyMaterial | null
  source: MasterKeySource
  now: () => number
}

/** Opens the keys and schema of the store on PostgreSQL; throws KeyMismatchError (nothing written) for a wrong key. */
export async function openPostgresStore({ database, material, source, now }: PostgresStoreOptions) {
  const sql = createPostgresEngine(database)
  try {
    let keys = await unlockKeysOn(sql, material, source, now)
    await migratePostgres(sql, undefined, undefined, now)
    if (keys === null) {
      if (material === null) throw new Error('A new database needs a master key: set ENCRYPTION_KEY or ENCRYPTION_KEY_FILE.')
      keys = await initialiseKeysOn(sql, material, source, now)
    }
    return {
      sql,
      dataKeys: keys.dataKeys,
      info: { keyFingerprint: keys.keyFingerprint, initialised: keys.initialised },
      close: () => sql.close(),
    }
  } catch (error) {
    await sql.close()
    throw error
  }
}

export type PostgresStore = Awaited<ReturnType<typeof openPostgresStore>>
