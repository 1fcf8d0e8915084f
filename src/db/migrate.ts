import type { Database } from 'bun:sqlite'
import { migrations as allMigrations, type Migration } from './migrations.ts'

/** The database was written by a newer Enclave; running an older one against it could lose data. */
export class SchemaTooNewError extends Error {
  constructor(readonly found: number, readonly known: number) {
    super(`This database has schema version ${found}, but this Enclave knows versions up to ${known}. Run the newer Enclave that wrote it, or restore a backup.`)
    this.name = 'SchemaTooNewError'
  }
}

/** Reads the schema version stored in the database (0 for a new one). */
export function readSchemaVersion(db: Database): number {
  return db.query<{ user_version: number }, []>('PRAGMA user_version').get()!.user_version
}

/**
 * Applies every migration above the database's version, up to `target`, each in its own
 * transaction with the version bump, so a failure leaves the database at the last good version.
 */
export function migrate(db: Database, migrations: readonly Migration[] = allMigrations, target = migrations.length): number {
  const current = readSchemaVersion(db)
  if (current > migrations.length) throw new SchemaTooNewError(current, migrations.length)
  for (const migration of migrations) {
    if (migration.version <= current || migration.version > target) continue
    db.transaction(() => {
      db.run(migration.sql)
      db.run(`PRAGMA user_version = ${migration.version}`)
    }).immediate()
  }
  return readSchemaVersion(db)
}
