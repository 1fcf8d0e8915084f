/**
 * Master key rotation: every data key is re-wrapped under the new master key, and the key check
 * replaced, in one transaction. The data keys themselves do not change, so no row of data is read
 * or written: the work is proportional to the number of owners, not to the data. A crash before
 * the commit leaves the database wholly under the old key; after it, wholly under the new.
 */
import type { Database } from 'bun:sqlite'
import type { MasterKeyMaterial } from '../crypto/master-key.ts'
import type { DataKeyRepo } from './data-keys.ts'
import type { SqlEngine } from './engine.ts'
import { replaceKeyCheck, replaceKeyCheckOn } from './key-check.ts'
import { keyForNewDatabase } from './unlock.ts'
import { checkpointWal } from './wal-erasure.ts'

export type MasterKeyRotation = { key: Uint8Array; fingerprint: string; previousFingerprint: string; rewrappedKeys: number }

/**
 * Re-wraps every data key of the database under the key made from `material`. `dataKeys` must be a
 * repository unlocked with the current master key, on `sql`; afterwards it wraps under the new one.
 */
export async function rotateMasterKeyOn(sql: SqlEngine, dataKeys: DataKeyRepo, previousFingerprint: string, material: MasterKeyMaterial): Promise<MasterKeyRotation> {
  const { key, keyCheck } = keyForNewDatabase(material)
  const rewrappedKeys = await sql.transaction(async () => {
    const count = await dataKeys.rewrapEveryKey(key)
    await replaceKeyCheckOn(sql, keyCheck)
    return count
  })
  // note: with synchronous=NORMAL a WAL commit can be lost to a power cut; the old key file is retired
  // right after this returns, so the rotation is forced into the database file first. A FULL
  // checkpoint that meets the WAL checkpointer's answers busy at once (SQLite does not wait on the
  // checkpoint lock), so it is asked again (wal-erasure.ts); not throwing past the bound, since the
  // rotation committed and the repository must switch to the new key, but saying so.
  if (sql.dialect === 'sqlite' && !(await checkpointWal(sql, 'FULL')).done) {
    console.error('Master key rotation: the WAL checkpoint stayed busy; the rotation is committed in the WAL and reaches the database file at its next checkpoint')
  }
  dataKeys.useMasterKey(key)
  return { key, fingerprint: keyCheck.fingerprint, previousFingerprint, rewrappedKeys }
}

/** rotateMasterKeyOn for the synchronous start-up on a SQLite file (openStore finishing a rotation). */
export function rotateMasterKey(db: Database, dataKeys: DataKeyRepo, previousFingerprint: string, material: MasterKeyMaterial): MasterKeyRotation {
  const { key, keyCheck } = keyForNewDatabase(material)
  const rewrappedKeys = db.transaction(() => {
    const count = dataKeys.rewrapEveryKeyNow(key)
    replaceKeyCheck(db, keyCheck)
    return count
  }).immediate()
  db.run('PRAGMA wal_checkpoint(FULL)')
  dataKeys.useMasterKey(key)
  return { key, fingerprint: keyCheck.fingerprint, previousFingerprint, rewrappedKeys }
}
