/**
 * Opens an existing Enclave database for the maintenance commands (keys, backup, import): never
 * creates one, and for read-only commands opens the file read-only.
 */
import { Database } from 'bun:sqlite'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { DATABASE_FILE } from './open-store.ts'
import { openDatabase } from './open-database.ts'

/** DATA_DIR holds no Enclave database. */
export class NoDatabaseError extends Error {
  constructor(readonly databasePath: string) {
    super(`There is no Enclave database at ${databasePath}: check DATA_DIR (or --data-dir).`)
    this.name = 'NoDatabaseError'
  }
}

/** Opens DATA_DIR's database; read-only unless `writable`. Throws NoDatabaseError when it does not exist. */
export function openExistingDatabase(dataDir: string, writable: boolean): Database {
  const databasePath = join(dataDir, DATABASE_FILE)
  if (!existsSync(databasePath)) throw new NoDatabaseError(databasePath)
  if (writable) return openDatabase(databasePath)
  const db = new Database(databasePath, { readonly: true, strict: true })
  db.run('PRAGMA busy_timeout = 5000')
  return db
}
