/**
 * Opening the store on PostgreSQL (DATABASE_URL): the pool, the key check and data keys
 * (store-keys.ts), the schema, then the same repositories as on SQLite (open-store.ts
 * `createStoreOn`). Order matters as in openStore: a wrong key is refused before anything is
 * written (the schema is migrated only once the key is known good), and a first start migrates,
 * then initialises. Instances starting together on one empty database agree on one key check.
 *
 * Not here, unlike openStore: the data directory's key file (the caller reads the key material; a
 * generated key file is one instance's, so several instances are given ENCRYPTION_KEY or
 * ENCRYPTION_KEY_FILE), and finishing an interrupted master key rotation (ENCRYPTION_KEY_PREVIOUS):
 * on PostgreSQL a rotation commits in one transaction, so there is nothing to finish.
 *
 * Threat: PostgreSQL only ever holds ciphertext, blind indexes and non-sensitive columns; the master
 * key stays in this process.
 */
import type { PostgresConfig } from '../config/database-variables.ts'
import { withoutPassword } from '../config/database-variables.ts'
import type { MasterKeySource } from '../config/load-config.ts'
import type { MasterKeyMaterial } from '../crypto/master-key.ts'
import { migratePostgres } from './migrate-postgres.ts'
import { createStoreOn, type Store } from './open-store.ts'
import { createPostgresEngine } from './postgres-engine.ts'
import { initialiseKeysOn, unlockKeysOn } from './store-keys.ts'

export type PostgresStoreOptions = {
  database: PostgresConfig
  /** The master key's material, read by the caller; null when there is none (refused unless the database is new). */
  material: MasterKeyMaterial | null
  source: MasterKeySource
  now: () => number
  /** The shared directory of the encrypted file blobs (DATA_DIR/files on a volume every instance mounts); null: a private temporary one. */
  filesDir?: string | null
  warnings?: string[]
}

/** Opens the store on PostgreSQL; throws KeyMismatchError (nothing written) for a wrong key. */
export async function openPostgresStore({ database, material, source, now, filesDir = null, warnings = [] }: PostgresStoreOptions): Promise<Store> {
  const sql = createPostgresEngine(database)
  try {
    let keys = await unlockKeysOn(sql, material, source, now)
    await migratePostgres(sql, undefined, undefined, now)
    if (keys === null) {
      if (material === null) throw new Error('A new database needs a master key: set ENCRYPTION_KEY or ENCRYPTION_KEY_FILE.')
      keys = await initialiseKeysOn(sql, material, source, now)
    }
    const info = { databasePath: withoutPassword(database.url), keyFingerprint: keys.keyFingerprint, generatedKeyFile: null, warnings, initialised: keys.initialised }
    return createStoreOn(sql, null, keys.dataKeys, keys.masterKey, now, filesDir, info, () => sql.close())
  } catch (error) {
    await sql.close()
    throw error
  }
}
