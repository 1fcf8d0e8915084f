/**
 * The key check: what the database keeps to recognise the master key it was written with (an HMAC
 * of the key, never the key), its fingerprint for messages, and the scrypt salt and parameters when
 * the key is a passphrase.
 */
import type { Database } from 'bun:sqlite'
import type { KdfParams } from '../crypto/key-derivation.ts'

export type StoredKeyCheck = {
  check: Uint8Array
  fingerprint: string
  /** Present when the master key is stretched from a passphrase. */
  kdf: { salt: Uint8Array; params: KdfParams } | null
}

/** Reads the key check, or null for a database that was never initialised. */
export function readKeyCheck(db: Database): StoredKeyCheck | null {
  const hasMeta = db.query("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'meta'").get() !== null
  if (!hasMeta) return null
  const rows = db.query<{ name: string; value: Uint8Array | string }, []>('SELECT name, value FROM meta').all()
  const meta = new Map(rows.map((row) => [row.name, row.value]))
  const check = meta.get('key_check')
  const fingerprint = meta.get('key_fingerprint')
  if (!(check instanceof Uint8Array) || typeof fingerprint !== 'string') return null
  const salt = meta.get('kdf_salt')
  const params = meta.get('kdf_params')
  const kdf = salt instanceof Uint8Array && typeof params === 'string' ? { salt, params: JSON.parse(params) as KdfParams } : null
  return { check, fingerprint, kdf }
}

/** Records the key check of a new database. Call inside the initialising transaction. */
export function writeKeyCheck(db: Database, keyCheck: StoredKeyCheck): void {
  const insert = db.query<void, [string, Uint8Array | string]>('INSERT INTO meta (name, value) VALUES (?, ?)')
  insert.run('key_check', keyCheck.check)
  insert.run('key_fingerprint', keyCheck.fingerprint)
  if (keyCheck.kdf !== null) {
    insert.run('kdf_salt', keyCheck.kdf.salt)
    insert.run('kdf_params', JSON.stringify(keyCheck.kdf.params))
  }
}

/** Replaces the key check after a master key rotation. Call inside the re-wrapping transaction. */
export function replaceKeyCheck(db: Database, keyCheck: StoredKeyCheck): void {
  db.run("DELETE FROM meta WHERE name IN ('key_check', 'key_fingerprint', 'kdf_salt', 'kdf_params')")
  writeKeyCheck(db, keyCheck)
}
