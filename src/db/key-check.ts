/**
 * The key check: what the database keeps to recognise the master key it was written with (an HMAC
 * of the key, never the key), its fingerprint for messages, and the scrypt salt and parameters when
 * the key is a passphrase. It lives in `meta`: values of any type on SQLite, BYTEA on PostgreSQL
 * (where the fingerprint and parameters are their UTF-8 text). The synchronous calls read a SQLite
 * file directly (start-up, backup, restore); the `...On` calls run on either engine.
 */
import type { Database } from 'bun:sqlite'
import { DEFAULT_KDF_PARAMS, type KdfParams } from '../crypto/key-derivation.ts'
import type { SqlEngine } from './engine.ts'

export type StoredKeyCheck = {
  check: Uint8Array
  fingerprint: string
  /** Present when the master key is stretched from a passphrase. */
  kdf: { salt: Uint8Array; params: KdfParams } | null
}

type MetaRow = { name: string; value: Uint8Array | string }

const KEY_CHECK_NAMES = "('key_check', 'key_fingerprint', 'kdf_salt', 'kdf_params')"
const SELECT_KEY_CHECK = `SELECT name, value FROM meta WHERE name IN ${KEY_CHECK_NAMES}`
const INSERT_META = 'INSERT INTO meta (name, value) VALUES (?, ?)'

/** Reads the key check, or null for a database that was never initialised. */
export function readKeyCheck(db: Database): StoredKeyCheck | null {
  const hasMeta = db.query("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'meta'").get() !== null
  return hasMeta ? keyCheckOf(db.query<MetaRow, []>(SELECT_KEY_CHECK).all(), false) : null
}

/** readKeyCheck on an engine: null for a database that was never initialised (no meta table, or no key check in it). */
export async function readKeyCheckOn(sql: SqlEngine): Promise<StoredKeyCheck | null> {
  const hasMeta = sql.dialect === 'sqlite'
    ? await sql.get("SELECT 1 AS found FROM sqlite_master WHERE type = 'table' AND name = 'meta'")
    : await sql.get("SELECT 1 AS found FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = 'meta'")
  return hasMeta === null ? null : keyCheckOf(await sql.all<MetaRow>(SELECT_KEY_CHECK), sql.dialect === 'postgresql')
}

function keyCheckOf(rows: MetaRow[], textAsBytes: boolean): StoredKeyCheck | null {
  return keyCheckFromMeta(new Map(rows.map((row) => [row.name, row.value])), textAsBytes)
}

/**
 * The key check held by `meta` entries (copy-store.ts's readMeta gives them from either engine);
 * `textAsBytes` when text values are stored as UTF-8 bytes (PostgreSQL). Null when absent or malformed.
 */
export function keyCheckFromMeta(meta: ReadonlyMap<string, unknown>, textAsBytes = false): StoredKeyCheck | null {
  const text = (value: unknown) => (textAsBytes && value instanceof Uint8Array ? new TextDecoder().decode(value) : value)
  const check = meta.get('key_check')
  const fingerprint = text(meta.get('key_fingerprint'))
  if (!(check instanceof Uint8Array) || typeof fingerprint !== 'string') return null
  const salt = meta.get('kdf_salt')
  const params = text(meta.get('kdf_params'))
  if (salt === undefined && params === undefined) return { check: new Uint8Array(check), fingerprint, kdf: null }
  // note: a database may come from an untrusted backup; scrypt's cost is taken from it only when it is one Enclave writes.
  const kdfParams = typeof params === 'string' ? parseKdfParams(params) : null
  if (!(salt instanceof Uint8Array) || kdfParams === null) return null
  return { check: new Uint8Array(check), fingerprint, kdf: { salt: new Uint8Array(salt), params: kdfParams } }
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

/** The meta rows of a key check; text as UTF-8 bytes when `textAsBytes` (PostgreSQL's BYTEA). */
function metaRowsOf(keyCheck: StoredKeyCheck, textAsBytes: boolean): [string, Uint8Array | string][] {
  const text = (value: string) => (textAsBytes ? new TextEncoder().encode(value) : value)
  const rows: [string, Uint8Array | string][] = [['key_check', keyCheck.check], ['key_fingerprint', text(keyCheck.fingerprint)]]
  if (keyCheck.kdf !== null) rows.push(['kdf_salt', keyCheck.kdf.salt], ['kdf_params', text(JSON.stringify(keyCheck.kdf.params))])
  return rows
}

/** Records the key check of a new database. Call inside the initialising transaction. */
export function writeKeyCheck(db: Database, keyCheck: StoredKeyCheck): void {
  const insert = db.query<void, [string, Uint8Array | string]>(INSERT_META)
  for (const [name, value] of metaRowsOf(keyCheck, false)) insert.run(name, value)
}

/** writeKeyCheck on an engine. Call inside the initialising transaction. */
export async function writeKeyCheckOn(sql: SqlEngine, keyCheck: StoredKeyCheck): Promise<void> {
  for (const [name, value] of metaRowsOf(keyCheck, sql.dialect === 'postgresql')) await sql.run(INSERT_META, name, value)
}

/** Replaces the key check after a master key rotation. Call inside the re-wrapping transaction. */
export function replaceKeyCheck(db: Database, keyCheck: StoredKeyCheck): void {
  db.run(`DELETE FROM meta WHERE name IN ${KEY_CHECK_NAMES}`)
  writeKeyCheck(db, keyCheck)
}

/** replaceKeyCheck on an engine. Call inside the re-wrapping transaction. */
export async function replaceKeyCheckOn(sql: SqlEngine, keyCheck: StoredKeyCheck): Promise<void> {
  await sql.run(`DELETE FROM meta WHERE name IN ${KEY_CHECK_NAMES}`)
  await writeKeyCheckOn(sql, keyCheck)
}
