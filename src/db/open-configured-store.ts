/**
 * The store the configuration names: PostgreSQL when DATABASE_URL is set (config.postgres), else
 * SQLite in DATA_DIR. What the server and every command that opens the store go through, so the
 * choice of engine is made in one place.
 *
 * On PostgreSQL the master key comes from ENCRYPTION_KEY or ENCRYPTION_KEY_FILE (or, for one
 * instance, the key file generated in its DATA_DIR on the first start: copy it to any other
 * instance, or a second instance is refused with a key mismatch). Uploaded files' blobs are kept
 * in DATA_DIR/files, which several instances share as one volume.
 */
import { existsSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import type { Config } from '../config/load-config.ts'
import { KeyMismatchError } from '../crypto/key-errors.ts'
import { writeNewKeyFile } from '../crypto/key-files.ts'
import { readMasterKeyMaterial, type MasterKeyMaterial } from '../crypto/master-key.ts'
import type { PreviousMasterKey } from '../crypto/previous-master-key.ts'
import { generateKey } from '../crypto/random.ts'
import { FILES_DIRECTORY } from './file-blobs.ts'
import { openPostgresStore } from './open-postgres-store.ts'
import { openStore, type Store } from './open-store.ts'
import { readKeyCheckOn } from './key-check.ts'
import { createPostgresEngine } from './postgres-engine.ts'

export type ConfiguredStoreOptions = {
  now: () => number
  previousMasterKey?: PreviousMasterKey | null
}

/** Opens the configured store; throws as openStore / openPostgresStore do (a wrong key: KeyMismatchError, nothing written). */
export async function openConfiguredStore(config: Pick<Config, 'dataDir' | 'masterKey' | 'postgres'>, { now, previousMasterKey = null }: ConfiguredStoreOptions): Promise<Store> {
  if (config.postgres === null) return openStore({ dataDir: config.dataDir, masterKey: config.masterKey, now, previousMasterKey })
  let material: MasterKeyMaterial | null = readMasterKeyMaterial(config.masterKey)
  let generatedKeyFile: string | null = null
  if (material === null && config.masterKey.kind === 'generated' && !existsSync(config.masterKey.path) && !(await databaseHasKeyCheck(config.postgres))) {
    // note: only for a database nobody initialised: a key generated beside one that is would only be refused.
    const key = generateKey()
    writeNewKeyFile(config.masterKey.path, Buffer.from(key).toString('hex'))
    material = { kind: 'raw', key }
    generatedKeyFile = config.masterKey.path
  }
  try {
    const store = await openPostgresStore({ database: config.postgres, material, source: config.masterKey, now, filesDir: join(config.dataDir, FILES_DIRECTORY) })
    store.info.generatedKeyFile = generatedKeyFile
    return store
  } catch (error) {
    if (!(error instanceof KeyMismatchError) || config.masterKey.kind !== 'generated') throw error
    // note: another instance initialised the database first with its own key: one made here opens nothing, so it goes
    // (kept on any other failure: the database may hold its key check already).
    if (generatedKeyFile !== null) rmSync(generatedKeyFile, { force: true })
    throw anotherInstancesKey(error, config.masterKey.path)
  }
}

/** The refusal of an instance without a configured key on a database another instance initialised: says to copy that key. */
function anotherInstancesKey(error: KeyMismatchError, keyFile: string): KeyMismatchError {
  return new KeyMismatchError(error.expectedFingerprint, error.given,
    `This PostgreSQL database was initialised with another instance's master key: copy that instance's key file (its DATA_DIR/.encryption_key) to ${keyFile}, ` +
    'or give every instance the same ENCRYPTION_KEY_FILE. Nothing was written.')
}

async function databaseHasKeyCheck(database: NonNullable<Config['postgres']>): Promise<boolean> {
  const sql = createPostgresEngine({ ...database, pool: { ...database.pool, maxConnections: 1 } })
  try {
    return (await readKeyCheckOn(sql)) !== null
  } finally {
    await sql.close()
  }
}
