import { describe, expect, test } from 'bun:test'
import type { Database } from 'bun:sqlite'
import { migrate, readSchemaVersion, SchemaTooNewError } from './migrate.ts'
import { LATEST_SCHEMA_VERSION, migrations, type Migration } from './migrations.ts'
import { openDatabase } from './open-database.ts'

const schemaOf = (db: Database) =>
  db.query<{ type: string; name: string; sql: string | null }, []>(
    "SELECT type, name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' ORDER BY type, name").all()
const tablesOf = (db: Database) => schemaOf(db).filter((entry) => entry.type === 'table').map((entry) => entry.name)

function freshSchema() {
  const db = openDatabase(':memory:')
  migrate(db)
  return schemaOf(db)
}

describe('the migration list', () => {
  test('is numbered 1..n in order, and LATEST_SCHEMA_VERSION is n', () => {
    expect(migrations.map((migration) => migration.version)).toEqual(migrations.map((_, i) => i + 1))
    expect(LATEST_SCHEMA_VERSION).toBe(migrations.length)
    expect(LATEST_SCHEMA_VERSION).toBeGreaterThanOrEqual(1)
  })
})

describe('migrate', () => {
  test('brings an empty database to the latest version with every table', () => {
    const db = openDatabase(':memory:')
    expect(readSchemaVersion(db)).toBe(0)
    expect(migrate(db)).toBe(LATEST_SCHEMA_VERSION)
    expect(readSchemaVersion(db)).toBe(LATEST_SCHEMA_VERSION)
    expect(tablesOf(db)).toEqual(expect.arrayContaining(['chat', 'data_key', 'message', 'meta', 'setting', 'user']))
  })

  test('is idempotent: running it again changes nothing', () => {
    const db = openDatabase(':memory:')
    migrate(db)
    const before = schemaOf(db)
    expect(migrate(db)).toBe(LATEST_SCHEMA_VERSION)
    expect(schemaOf(db)).toEqual(before)
  })

  test('from every earlier version, ends at the latest with the same schema as a fresh database', () => {
    const expected = freshSchema()
    for (let version = 0; version < LATEST_SCHEMA_VERSION; version++) {
      const db = openDatabase(':memory:')
      expect(migrate(db, migrations, version)).toBe(version)
      expect(migrate(db)).toBe(LATEST_SCHEMA_VERSION)
      expect(schemaOf(db)).toEqual(expected)
    }
  })

  test('stops at the target version', () => {
    const steps: Migration[] = [
      { version: 1, name: 'one', sql: 'CREATE TABLE one (x INTEGER)' },
      { version: 2, name: 'two', sql: 'CREATE TABLE two (x INTEGER)' },
      { version: 3, name: 'three', sql: 'CREATE TABLE three (x INTEGER)' },
    ]
    const db = openDatabase(':memory:')
    expect(migrate(db, steps, 2)).toBe(2)
    expect(tablesOf(db)).toEqual(['one', 'two'])
    expect(migrate(db, steps)).toBe(3)
    expect(tablesOf(db)).toEqual(['one', 'three', 'two'])
  })

  test.each([1, 7, 1000])('refuses a database %i version(s) newer, changing nothing', (ahead) => {
    const db = openDatabase(':memory:')
    db.run(`PRAGMA user_version = ${LATEST_SCHEMA_VERSION + ahead}`)
    let thrown: unknown = null
    try {
      migrate(db)
    } catch (error) {
      thrown = error
    }
    expect(thrown).toBeInstanceOf(SchemaTooNewError)
    expect(thrown).toMatchObject({ found: LATEST_SCHEMA_VERSION + ahead, known: LATEST_SCHEMA_VERSION })
    expect((thrown as Error).message).toContain(`schema version ${LATEST_SCHEMA_VERSION + ahead}`)
    expect(readSchemaVersion(db)).toBe(LATEST_SCHEMA_VERSION + ahead)
    expect(tablesOf(db)).toEqual([])
  })

  test('a failing migration leaves the database at the last good version, and usable', () => {
    const steps: Migration[] = [
      { version: 1, name: 'good', sql: 'CREATE TABLE good (x INTEGER);' },
      { version: 2, name: 'bad', sql: 'CREATE TABLE half_done (x INTEGER);\nINSERT INTO good VALUES (1);\nTHIS IS NOT SQL;' },
      { version: 3, name: 'never', sql: 'CREATE TABLE never_reached (x INTEGER);' },
    ]
    const db = openDatabase(':memory:')
    expect(() => migrate(db, steps)).toThrow()
    expect(readSchemaVersion(db)).toBe(1)
    expect(tablesOf(db)).toEqual(['good'])
    expect(db.query('SELECT count(*) AS n FROM good').get()).toEqual({ n: 0 })
    db.run('INSERT INTO good VALUES (42)')
    expect(db.query('SELECT x FROM good').all()).toEqual([{ x: 42 }])
  })

  test('a fixed migration list can be applied after a failure', () => {
    const db = openDatabase(':memory:')
    const good: Migration = { version: 1, name: 'good', sql: 'CREATE TABLE good (x INTEGER);' }
    expect(() => migrate(db, [good, { version: 2, name: 'bad', sql: 'NOT SQL' }])).toThrow()
    expect(migrate(db, [good, { version: 2, name: 'fixed', sql: 'CREATE TABLE fixed (x INTEGER);' }])).toBe(2)
    expect(tablesOf(db)).toEqual(['fixed', 'good'])
  })
})
