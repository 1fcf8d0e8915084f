/**
 * `enclave migrate-db --to URL|PATH`: copies the configured store to the other engine. From SQLite
 * in DATA_DIR (DATABASE_URL unset) to an empty PostgreSQL database (`--to postgresql://…`), or from
 * DATABASE_URL's PostgreSQL back to a new SQLite file (`--to PATH`). The source is left as it was.
 *
 * Order: the master key is checked against the source's key check before anything is written
 * anywhere; a target that holds data is refused before it is touched; the copy runs in one target
 * transaction (a SQLite target is written beside its path and renamed into place at the end), and
 * is checked (row counts, a sample of every sealed column opened) before it is reported done.
 *
 * Threat: the URL's password goes to the engine only; messages show showUrl(url), without it.
 */
import { Database } from 'bun:sqlite'
import { existsSync, renameSync, rmSync, statSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import type { Config } from '../config/load-config.ts'
import { postgresUrl, type PostgresConfig } from '../config/database-variables.ts'
import { isParseFailure } from '../config/parsers.ts'
import { readMasterKeyMaterial } from '../crypto/master-key.ts'
import { type SqlEngine } from '../db/engine.ts'
import { createSqliteEngine } from '../db/sqlite-engine.ts'
import { readKeyCheck, type StoredKeyCheck } from '../db/key-check.ts'
import { migrate, SchemaTooNewError } from '../db/migrate.ts'
import { migratePostgres, readPostgresSchemaVersion } from '../db/migrate-postgres.ts'
import { LATEST_SCHEMA_VERSION } from '../db/migrations.ts'
import { openDatabase } from '../db/open-database.ts'
import { openExistingDatabase } from '../db/open-existing.ts'
import { DATABASE_FILE } from '../db/open-store.ts'
import { createPostgresEngine } from '../db/postgres-engine.ts'
import { bringSqliteForward, copiedRows, copyAndCheckStore, isPostgresWithoutStore, readEngineKeyCheck, snapshotSqliteDatabase } from '../db/store-transfer.ts'
import { unlockExistingDatabase } from '../db/unlock.ts'
import { quote } from './parse-args.ts'
import { COPY_POOL, describePostgresFailure, showUrl } from './postgres-failure.ts'

type Output = { out: (text: string) => void; err: (text: string) => void }

/** Copies the configured store to `to`. Exit 0 done, 1 refused or failed (with a message). */
export async function migrateDatabase(config: Config, to: string, io: Output): Promise<number> {
  const looksLikeUrl = /^[a-z][a-z0-9+.-]*:/i.test(to) && to.includes('://')
  if (config.postgres !== null) {
    if (looksLikeUrl) return refuse(io, 'the store is on PostgreSQL already (DATABASE_URL): --to takes the path of a new SQLite file. To copy a SQLite store to PostgreSQL, unset DATABASE_URL.')
    // note: PATH_MAX; a longer one could not be created, and is not echoed back whole.
    if (to.length > 4096) return refuse(io, '--to: the path is too long.')
    return toSqlite(config, config.postgres, resolve(process.cwd(), to), io)
  }
  if (!looksLikeUrl) return refuse(io, 'the store is in SQLite already (DATA_DIR): --to takes a postgresql:// URL. To copy a PostgreSQL store back to SQLite, set DATABASE_URL to it and give --to a file path.')
  const url = postgresUrl(to)
  if (isParseFailure(url)) return refuse(io, `--to ${quote(to)}: expected ${url.expected}.`)
  return toPostgres(config, url, io)
}

function refuse(io: Output, message: string): 1 {
  io.err(`enclave: migrate-db refused: ${message}\n`)
  return 1
}

/** Runs `copy`, turning PostgreSQL's errors into messages; closes the engines it opened. */
async function withPostgres(shown: string, io: Output, engines: SqlEngine[], copy: () => Promise<number>): Promise<number> {
  try {
    return await copy()
  } catch (error) {
    const problem = describePostgresFailure(error, shown)
    if (problem === null) throw error
    io.err(`enclave: migrate-db failed: ${problem} Nothing was copied.\n`)
    return 1
  } finally {
    for (const engine of engines) await engine.close().catch(() => {})
  }
}

/** The master key of a store whose key check is `stored`; throws KeyMismatchError for a wrong or missing one. */
function masterKeyFor(config: Config, stored: StoredKeyCheck): Uint8Array {
  return unlockExistingDatabase(stored, readMasterKeyMaterial(config.masterKey), config.masterKey)
}

async function toPostgres(config: Config, url: string, io: Output): Promise<number> {
  const databasePath = join(config.dataDir, DATABASE_FILE)
  const live = openExistingDatabase(config.dataDir, false)
  let stored: StoredKeyCheck | null
  try {
    stored = readKeyCheck(live)
  } finally {
    live.close()
  }
  if (stored === null) return refuse(io, `${databasePath} holds no Enclave store yet (it was never started): there is nothing to copy.`)
  const key = masterKeyFor(config, stored)
  const shown = showUrl(url)
  const target = createPostgresEngine({ url, pool: COPY_POOL })
  const snapshot = join(config.dataDir, `.enclave-migrate-${crypto.randomUUID()}.db`)
  let source: SqlEngine | null = null
  try {
    return await withPostgres(shown, io, [target], async () => {
      if (!(await isPostgresWithoutStore(target))) {
        return refuse(io, `the database ${shown} is not empty: copy into a new, empty database (CREATE DATABASE … OWNER …), so nothing is overwritten.`)
      }
      const started = performance.now()
      const live = new Database(databasePath, { readonly: true, strict: true })
      try {
        snapshotSqliteDatabase(live, snapshot)
      } finally {
        live.close()
      }
      const version = bringSqliteForward(snapshot, key)
      await migratePostgres(target)
      source = createSqliteEngine(openDatabase(snapshot))
      const { report, check } = await copyAndCheckStore(source, target, key)
      io.out(`Copied ${copiedRows(report)} rows of ${report.rows.size} tables from ${databasePath} (schema version ${version}) to ${shown} in ${seconds(started)} s.\n`)
      io.out(`Checked on PostgreSQL: every table's row count, and ${check.openedValues} sealed values opened under the master key (fingerprint ${stored!.fingerprint}).\n`)
      io.out('Next: give every instance DATABASE_URL, the same master key (ENCRYPTION_KEY or ENCRYPTION_KEY_FILE; a generated key is DATA_DIR/.encryption_key, copy it), ' +
        'and DATA_DIR/files on a volume they share (uploaded files stay encrypted files on disk). ' +
        `${databasePath} is left as it was: keep it until the new setup is checked (docs/postgresql.md).\n`)
      return 0
    })
  } finally {
    await (source as SqlEngine | null)?.close().catch(() => {})
    for (const path of [snapshot, `${snapshot}-wal`, `${snapshot}-shm`]) rmSync(path, { force: true })
  }
}

async function toSqlite(config: Config, postgres: PostgresConfig, to: string, io: Output): Promise<number> {
  const path = existsSync(to) && statSync(to).isDirectory() ? join(to, DATABASE_FILE) : to
  if (existsSync(path) && statSync(path).size > 0) return refuse(io, `${path} already exists: give the path of a new file, so nothing is overwritten.`)
  if (!existsSync(dirname(path))) return refuse(io, `the directory ${dirname(path)} does not exist: create it first.`)
  // note: SQLite would read a leftover WAL into the new file when it is next opened.
  const leftovers = [`${path}-wal`, `${path}-shm`].filter((file) => existsSync(file))
  if (leftovers.length > 0) return refuse(io, `${leftovers.join(' and ')} exist${leftovers.length === 1 ? 's' : ''}, left by another database: remove ${leftovers.length === 1 ? 'it' : 'them'} or give another path.`)
  const shown = showUrl(postgres.url)
  const source = createPostgresEngine({ url: postgres.url, pool: COPY_POOL })
  const incoming = `${path}.migrating-${crypto.randomUUID()}`
  let target: SqlEngine | null = null
  try {
    return await withPostgres(shown, io, [source], async () => {
      const stored = await readEngineKeyCheck(source)
      if (stored === null) return refuse(io, `${shown} holds no Enclave store: there is nothing to copy.`)
      const key = masterKeyFor(config, stored)
      const version = await readPostgresSchemaVersion(source)
      if (version > LATEST_SCHEMA_VERSION) throw new SchemaTooNewError(version, LATEST_SCHEMA_VERSION)
      // note: what a start does; a store on PostgreSQL has no messages of before schema 6 to re-seal.
      if (version < LATEST_SCHEMA_VERSION) await migratePostgres(source)
      const started = performance.now()
      const db = openDatabase(incoming)
      migrate(db)
      target = createSqliteEngine(db)
      const { report, check } = await copyAndCheckStore(source, target, key)
      await target.exec('PRAGMA wal_checkpoint(TRUNCATE)')
      await target.close()
      target = null
      renameSync(incoming, path)
      io.out(`Copied ${copiedRows(report)} rows of ${report.rows.size} tables from ${shown} to ${path} in ${seconds(started)} s.\n`)
      io.out(`Checked in SQLite: every table's row count, and ${check.openedValues} sealed values opened under the master key (fingerprint ${stored.fingerprint}).\n`)
      io.out(`Next: stop the instances, put ${path} as DATA_DIR/${DATABASE_FILE} beside DATA_DIR/files and the master key, unset DATABASE_URL, and start one instance (docs/postgresql.md).\n`)
      return 0
    })
  } finally {
    await (target as SqlEngine | null)?.close().catch(() => {})
    for (const leftover of [incoming, `${incoming}-wal`, `${incoming}-shm`]) rmSync(leftover, { force: true })
  }
}

const seconds = (started: number) => ((performance.now() - started) / 1000).toFixed(1)

