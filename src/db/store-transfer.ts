/**
 * The steps `enclave migrate-db`, and backup and restore on PostgreSQL, share around the copier
 * (copy-store.ts): a private SQLite snapshot brought to the latest schema as a start would bring it
 * (migrations, then schema 6's re-sealing of old messages, which needs the master key), the test
 * of an empty PostgreSQL database, and a copy that is checked before anyone relies on it.
 *
 * Threat: snapshots hold what the database holds (ciphertext, blind indexes, plain columns) and
 * are made 0600 in a directory the caller chose; errors name tables and counts, never values.
 */
import { Database } from 'bun:sqlite'
import { chmodSync } from 'node:fs'
import { copyStore, readMeta, type CopyReport } from './copy-store.ts'
import { createDataKeyRepo } from './data-keys.ts'
import { type SqlEngine } from './engine.ts'
import { createSqliteEngine } from './sqlite-engine.ts'
import { keyCheckFromMeta, type StoredKeyCheck } from './key-check.ts'
import { resealLegacyMessages } from './message-aad-upgrade.ts'
import { migrate } from './migrate.ts'
import { closeDatabase, openDatabase } from './open-database.ts'
import { checkCopiedStore, isCopyIntact, type CopyCheck } from './verify-copy.ts'

/** The copy on the target does not match what was read from the source; its transaction was rolled back. */
export class CopyCheckError extends Error {
  constructor(readonly check: CopyCheck) {
    const problems = [
      ...check.countMismatches.map((table) => `${table}: row count differs`),
      ...check.unopened.map(({ place, values }) => `${place}: ${values} sampled value(s) do not open`),
    ]
    super(`The copy does not match its source (${problems.join('; ')}); it was rolled back, and the target is as it was.`)
    this.name = 'CopyCheckError'
  }
}

/** Writes a consistent snapshot of `db` to `path` (VACUUM INTO: one read transaction), mode 0600. */
export function snapshotSqliteDatabase(db: Database, path: string): void {
  db.query('VACUUM INTO ?').run(path)
  chmodSync(path, 0o600)
}

/** Brings a private SQLite copy to the latest schema as a start would (migrations, then old messages re-sealed); returns the version. */
export function bringSqliteForward(path: string, masterKey: Uint8Array, now: () => number = Date.now): number {
  const db = openDatabase(path)
  try {
    const version = migrate(db)
    resealLegacyMessages(db, createDataKeyRepo(createSqliteEngine(db), masterKey, now))
    return version
  } finally {
    closeDatabase(db)
  }
}

/** The key check a store keeps in `meta`, on either engine; null when it has none (never initialised). */
export async function readEngineKeyCheck(sql: SqlEngine): Promise<StoredKeyCheck | null> {
  if (sql.dialect === 'postgresql') {
    const found = await sql.get<{ found: string | null }>("SELECT to_regclass('meta') AS found")
    if (found?.found === null || found === null) return null
  }
  return keyCheckFromMeta(await readMeta(sql))
}

/**
 * Whether a PostgreSQL database may receive a store: it has no table at all, or only Enclave's
 * schema without a store in it (migrated, never initialised: `meta` empty).
 */
export async function isPostgresWithoutStore(sql: SqlEngine): Promise<boolean> {
  const tables = await sql.get<{ n: number }>('SELECT count(*) AS n FROM information_schema.tables WHERE table_schema = current_schema()')
  if (Number(tables?.n ?? 0) === 0) return true
  const meta = await sql.get<{ found: string | null }>("SELECT to_regclass('meta') AS found")
  if (meta === null || meta.found === null) return false
  return Number((await sql.get<{ n: number }>('SELECT count(*) AS n FROM meta'))?.n ?? 0) === 0
}

/**
 * Copies the source store over the target's and checks the target (counts; a sample of sealed
 * values when the master key is given) in the same target transaction, so a copy that fails its
 * check is rolled back with it.
 */
export async function copyAndCheckStore(source: SqlEngine, target: SqlEngine, masterKey: Uint8Array | null): Promise<{ report: CopyReport; check: CopyCheck }> {
  return target.transaction(async () => {
    const report = await copyStore(source, target)
    const check = await checkCopiedStore(target, report, masterKey)
    if (!isCopyIntact(check)) throw new CopyCheckError(check)
    return { report, check }
  })
}

/** Total rows of a copy report. */
export const copiedRows = (report: CopyReport) => [...report.rows.values()].reduce((sum, rows) => sum + rows, 0)
