/**
 * Migrations on PostgreSQL: the same numbered steps as on SQLite (migrations.ts), each step's
 * `postgresql` text. Several instances may start together on one database, so each step runs in a
 * transaction that first takes a transaction-level advisory lock: the others wait for it, then find
 * the step recorded and skip it. Versions are recorded in schema_migration (SQLite keeps its one
 * number in PRAGMA user_version).
 */
import type { SqlEngine } from './engine.ts'
import { SchemaTooNewError } from './migrate.ts'
import { migrations as allMigrations, type Migration } from './migrations.ts'

/** The advisory lock every instance takes to migrate (any fixed number; these bytes spell "enclav"). */
export const MIGRATION_LOCK_KEY = 0x656e636c6176

const CREATE_VERSIONS = `CREATE TABLE IF NOT EXISTS schema_migration (
  version    INTEGER PRIMARY KEY,
  name       TEXT NOT NULL,
  applied_at BIGINT NOT NULL
)`

/** Reads the schema version (0 for a new database). */
export async function readPostgresSchemaVersion(sql: SqlEngine): Promise<number> {
  const exists = await sql.get<{ found: string | null }>("SELECT to_regclass('schema_migration') AS found")
  if (exists?.found === null || exists === null) return 0
  return (await sql.get<{ version: number | null }>('SELECT max(version) AS version FROM schema_migration'))?.version ?? 0
}

/**
 * Applies every step above the database's version, up to `target`, each in its own transaction
 * with its record, so a failure leaves the database at the last good version. Returns the version.
 */
export async function migratePostgres(sql: SqlEngine, migrations: readonly Migration[] = allMigrations, target = migrations.length, now: () => number = Date.now): Promise<number> {
  const start = await readPostgresSchemaVersion(sql)
  if (start > migrations.length) throw new SchemaTooNewError(start, migrations.length)
  for (const migration of migrations) {
    if (migration.version <= start) continue
    if (migration.version > target) break
    await sql.transaction(async () => {
      // note: read committed, so that what the lock waited for is visible once it is taken (a
      // serializable snapshot would be taken before the wait, by the statement that takes it).
      await sql.exec('SET TRANSACTION ISOLATION LEVEL READ COMMITTED')
      await sql.get('SELECT pg_advisory_xact_lock(?)', MIGRATION_LOCK_KEY)
      await sql.exec(CREATE_VERSIONS)
      const current = await readPostgresSchemaVersion(sql)
      if (current > migrations.length) throw new SchemaTooNewError(current, migrations.length)
      if (migration.version <= current) return
      if (migration.postgresql === undefined) throw new Error(`Migration ${migration.name} has no PostgreSQL version.`)
      await sql.exec(migration.postgresql)
      await sql.run('INSERT INTO schema_migration (version, name, applied_at) VALUES (?, ?, ?)', migration.version, migration.name, now())
    })
  }
  return readPostgresSchemaVersion(sql)
}
