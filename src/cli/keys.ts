/**
 * `enclave keys status` and `enclave keys verify`: what the operator needs to know about the keys,
 * never the keys. Both only read (SQLite: the file opened read-only) and work while the server
 * runs; with DATABASE_URL they read the PostgreSQL store, on a small pool of their own.
 */
import type { Config } from '../config/load-config.ts'
import { KeyMaterialError } from '../crypto/key-errors.ts'
import { describeMasterKeySource, readMasterKeyMaterial } from '../crypto/master-key.ts'
import { readPreviousMasterKey } from '../crypto/previous-master-key.ts'
import { keyFingerprint } from '../crypto/key-derivation.ts'
import { createDataKeyRepo } from '../db/data-keys.ts'
import { type SqlEngine } from '../db/engine.ts'
import { createSqliteEngine } from '../db/sqlite-engine.ts'
import type { StoredKeyCheck } from '../db/key-check.ts'
import { readKeyInventory } from '../db/key-inventory.ts'
import { readSchemaVersion } from '../db/migrate.ts'
import { readPostgresSchemaVersion } from '../db/migrate-postgres.ts'
import { openExistingDatabase } from '../db/open-existing.ts'
import { createPostgresEngine } from '../db/postgres-engine.ts'
import { readEngineKeyCheck } from '../db/store-transfer.ts'
import { materialMatches, unlockExistingDatabase } from '../db/unlock.ts'
import { verifySealedFields } from '../db/verify-fields.ts'
import { COPY_POOL } from './postgres-failure.ts'

type Output = { out: (text: string) => void; err: (text: string) => void }

/** Prints where the master key comes from, the fingerprints, the key check and counts per key version. Exit 0, or 1 without a database. */
export async function printKeyStatus(config: Config, io: Output): Promise<number> {
  const { sql, schemaVersion, close } = openForReading(config)
  try {
    const stored = await readEngineKeyCheck(sql)
    io.out(`Master key:        ${describeMasterKeySource(config.masterKey)}\n`)
    if (stored === null) {
      io.out('Key check:         none: this database was never initialised\n')
      return 1
    }
    io.out(`Database key:      fingerprint ${stored.fingerprint}${stored.kdf === null ? '' : ' (passphrase, scrypt)'}\n`)
    io.out(`Key check:         ${describeKeyCheck(config, stored)}\n`)
    io.out(`Schema version:    ${await schemaVersion()}\n`)
    const inventory = await readKeyInventory(sql)
    io.out(`Data keys:         ${inventory.owners} owners; ${inventory.dataKeysByVersion.map((row) => `version ${row.version}: ${row.count}`).join(', ') || 'none'}\n`)
    io.out(`Sealed values:     ${inventory.valuesByVersion.map((row) => `key version ${row.version}: ${row.count}`).join(', ') || 'none'}\n`)
    for (const row of inventory.valuesByColumn) io.out(`  ${row.place.padEnd(22)} key version ${row.version}: ${row.count}\n`)
    return 0
  } finally {
    await close()
  }
}

/** The store to read: DATA_DIR's file read-only (NoDatabaseError when there is none), or PostgreSQL on a small pool. */
function openForReading(config: Config): { sql: SqlEngine; schemaVersion: () => Promise<number>; close: () => Promise<void> } {
  if (config.postgres !== null) {
    const sql = createPostgresEngine({ ...config.postgres, pool: COPY_POOL })
    return { sql, schemaVersion: () => readPostgresSchemaVersion(sql), close: () => sql.close().catch(() => {}) }
  }
  const db = openExistingDatabase(config.dataDir, false)
  return { sql: createSqliteEngine(db), schemaVersion: async () => readSchemaVersion(db), close: async () => db.close() }
}

function describeKeyCheck(config: Config, stored: StoredKeyCheck): string {
  try {
    const material = readMasterKeyMaterial(config.masterKey)
    if (material === null) return `no key: ${describeMasterKeySource(config.masterKey)} does not exist`
    if (materialMatches(stored, material)) return 'matches the configured key'
    const previous = readPreviousMasterKey(config.values, config.masterKey, process.cwd())
    if (previous !== null && materialMatches(stored, previous.material)) {
      // note: on PostgreSQL a rotation commits in one transaction and a start never finishes one: a start under the new key is refused.
      return config.postgres === null
        ? `the database is still under ${previous.origin}: a master key rotation is pending and the next start finishes it`
        : `the database is still under ${previous.origin}, not the configured key: the server will refuse to start; configure that key again and run \`enclave keys rotate --new-key-file\` with the new one`
    }
    const given = material.kind === 'raw' ? keyFingerprint(material.key) : 'a passphrase'
    return `DOES NOT MATCH: the configured key is ${given}; the server will refuse to start`
  } catch (error) {
    if (error instanceof KeyMaterialError) return `unusable key: ${error.message}`
    throw error
  }
}

/** Opens every sealed value read-only; prints each failure. Exit 0 when all open, 1 otherwise. */
export async function verifyKeys(config: Config, io: Output): Promise<number> {
  const { sql, close } = openForReading(config)
  try {
    const stored = await readEngineKeyCheck(sql)
    if (stored === null) {
      io.err('enclave: this database was never initialised: nothing to verify\n')
      return 1
    }
    const key = unlockExistingDatabase(stored, readMasterKeyMaterial(config.masterKey), config.masterKey)
    const report = await verifySealedFields(sql, createDataKeyRepo(sql, key, Date.now))
    for (const failure of report.failures) io.out(`FAILED  ${failure.table}.${failure.column}  row ${failure.rowId}\n`)
    if (report.failures.length === 0) {
      io.out(`OK: all ${report.checkedValues} sealed values open under key fingerprint ${stored.fingerprint}\n`)
      return 0
    }
    io.out(`${report.failures.length} of ${report.checkedValues} sealed values (and data keys) failed to open\n`)
    return 1
  } finally {
    await close()
  }
}
