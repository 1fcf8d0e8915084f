/**
 * The key check: what the database keeps to recognise the master key it was written with (an HMAC
 * of the key, never the key), its fingerprint for messages, and the scrypt salt and parameters when
 * the key is a passphrase.
 */
import type { Database } from 'bun:sqlite'
import { DEFAULT_KDF_PARAMS, type KdfParams } from '../crypto/key-derivation.ts'

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
  const rows = db.query<{ name: string; value: unknown }, []>('SELECT name, value FROM meta').all()
  return keyCheckFromMeta(new Map(rows.map((row) => [row.name, row.value])))
}

/** The key check held by `meta` entries as SQLite keeps them (copy-store.ts's readMeta gives them from either engine); null when absent or malformed. */
export function keyCheckFromMeta(meta: ReadonlyMap<string, unknown>): StoredKeyCheck | null {
  const check = meta.get('key_check')
  const fingerprint = meta.get('key_fingerprint')
  if (!(check instanceof Uint8Array) || typeof fingerprint !== 'string') return null
  const salt = meta.get('kdf_salt')
  const params = meta.get('kdf_params')
  if (salt === undefined && params === undefined) return { check, fingerprint, kdf: null }
  // note: a database may come from an untrusted backup; scrypt's cost is taken from it only when it is one Enclave writes.
  const kdfParams = typeof params === 'string' ? parseKdfParams(params) : null
  if (!(salt instanceof Uint8Array) || kdfParams === null) return null
  return { check, fingerprint, kdf: { salt, params: kdfParams } }
}

/** Scrypt parameters as Enclave writes them (N from 2^14 to 2^20, r = 8, p = 1), else null. */
function parseKdfParams(text: string): KdfParams | null {
  try {
    const parsed = JSON.parse(text) as Partial<KdfParams>
    const { N, r, p } = parsed
    const isPowerOfTwoInRange = Number.isInteger(N) && N! >= 2 ** 14 && N! <= 2 ** 20 && (N! & (N! - 1)) === 0
    return isPowerOfTwoInRange && r === DEFAULT_KDF_PARAMS.r && p === DEFAULT_KDF_PARAMS.p ? { N: N!, r, p } : null
  } catch {
    return null
  }
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
