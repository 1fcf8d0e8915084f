/**
 * Compares a database's schema with the one Enclave's own migrations create at the same version.
 * Threat: a backup is a file someone could edit (a plain backup's checksum can be fixed up). A
 * trigger, view, extra table or altered table in it would run inside every later server: one trigger
 * made every new session's user an admin. So the expected schema is not a hand-kept list but a fresh
 * database migrated to that version, and every object must match it by type, name, table and SQL.
 */
import { Database } from 'bun:sqlite'
import { migrate } from './migrate.ts'
import { migrations } from './migrations.ts'

type SchemaObject = { type: string; name: string; tbl_name: string; sql: string | null }

const readSchema = (db: Database) =>
  new Map(db.query<SchemaObject, []>('SELECT type, name, tbl_name, sql FROM sqlite_master').all().map((object) => [object.name, object]))

/** Names the first object that differs from Enclave's schema at `version` (`trigger "x" is not part of it`), or null when all match. */
export function findSchemaDifference(db: Database, version: number): string | null {
  const fresh = new Database(':memory:')
  let expected: Map<string, SchemaObject>
  try {
    migrate(fresh, migrations, version)
    expected = readSchema(fresh)
  } finally {
    fresh.close()
  }
  const found = readSchema(db)
  for (const object of found.values()) {
    const own = expected.get(object.name)
    if (own === undefined) return `${object.type} "${object.name}" is not part of it`
    if (own.type !== object.type || own.tbl_name !== object.tbl_name || own.sql !== object.sql) return `${object.type} "${object.name}" is defined otherwise`
  }
  for (const own of expected.values()) {
    if (!found.has(own.name)) return `${own.type} "${own.name}" is missing`
  }
  return null
}
