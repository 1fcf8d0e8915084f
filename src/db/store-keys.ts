/**
 * The keys of a store on the engine (engine.ts): a first start writes the key check and creates the
 * system and email-index data keys in one transaction; a later start reads the key check and
 * unlocks it, refusing a wrong key (KeyMismatchError) before anything is written. openStore does
 * the same synchronously on its SQLite file; these run on either engine, and are what a store on
 * PostgreSQL opens with (open-postgres-store.ts).
 *
 * Several instances may start together on one empty database: the initialising transaction reads
 * the key check again inside it, so one instance writes it and the others unlock what it wrote
 * (on PostgreSQL a concurrent initialisation is refused for conflict and run again, finding it).
 */
import type { MasterKeySource } from '../config/load-config.ts'
import type { MasterKeyMaterial } from '../crypto/master-key.ts'
import { createDataKeyRepo, SYSTEM_OWNER, type DataKeyRepo } from './data-keys.ts'
import type { SqlEngine } from './engine.ts'
import { readKeyCheckOn, writeKeyCheckOn, type StoredKeyCheck } from './key-check.ts'
import { keyForNewDatabase, unlockExistingDatabase } from './unlock.ts'
import { EMAIL_INDEX_OWNER } from './users.ts'

export type StoreKeys = {
  dataKeys: DataKeyRepo
  /** The master key; kept by the store for the keys derived from it (cluster-seal.ts). */
  masterKey: Uint8Array
  keyFingerprint: string
  /** True when this start initialised the database. */
  initialised: boolean
}

/** Unlocks the database's keys with `material`, or null when it was never initialised. Throws KeyMismatchError for a wrong key; writes nothing. */
export async function unlockKeysOn(sql: SqlEngine, material: MasterKeyMaterial | null, source: MasterKeySource, now: () => number): Promise<StoreKeys | null> {
  const stored = await readKeyCheckOn(sql)
  return stored === null ? null : unlocked(sql, stored, material, source, now)
}

/**
 * Initialises a database that has none (the schema migrated, no key check): writes the key check of
 * `material` and the first data keys. When another instance initialised it meanwhile, unlocks what
 * it wrote instead (and so refuses a different key).
 */
export async function initialiseKeysOn(sql: SqlEngine, material: MasterKeyMaterial, source: MasterKeySource, now: () => number): Promise<StoreKeys> {
  // note: scrypt for a passphrase runs before the transaction, which holds only database work.
  const { key, keyCheck } = keyForNewDatabase(material)
  const dataKeys = createDataKeyRepo(sql, key, now)
  const found = await sql.transaction(async () => {
    const raced = await readKeyCheckOn(sql)
    if (raced !== null) return raced
    await writeKeyCheckOn(sql, keyCheck)
    await dataKeys.createKey(SYSTEM_OWNER)
    await dataKeys.createKey(EMAIL_INDEX_OWNER)
    return null
  })
  if (found !== null) return unlocked(sql, found, material, source, now)
  return { dataKeys, masterKey: key, keyFingerprint: keyCheck.fingerprint, initialised: true }
}

function unlocked(sql: SqlEngine, stored: StoredKeyCheck, material: MasterKeyMaterial | null, source: MasterKeySource, now: () => number): StoreKeys {
  const key = unlockExistingDatabase(stored, material, source)
  return { dataKeys: createDataKeyRepo(sql, key, now), masterKey: key, keyFingerprint: stored.fingerprint, initialised: false }
}
