import { expect, test } from 'bun:test'
import { Database } from 'bun:sqlite'
import { migrate } from './migrate.ts'
import { LATEST_SCHEMA_VERSION, migrations } from './migrations.ts'
import { openDatabase } from './open-database.ts'
import { findSchemaDifference } from './schema-match.ts'

test('a database migrated to each version matches that version, and no other', () => {
  for (let version = 1; version <= LATEST_SCHEMA_VERSION; version++) {
    const db = openDatabase(':memory:')
    migrate(db, migrations, version)
    expect(findSchemaDifference(db, version)).toBeNull()
    if (version < LATEST_SCHEMA_VERSION) expect(findSchemaDifference(db, version + 1)).not.toBeNull()
    db.close()
  }
})

test.each([
  ['CREATE TEMP TRIGGER t AFTER INSERT ON user BEGIN SELECT 1; END', null],
  ['CREATE TRIGGER t AFTER INSERT ON user BEGIN SELECT 1; END', 'trigger "t" is not part of it'],
  ['CREATE VIEW v AS SELECT 1', 'view "v" is not part of it'],
  ['ALTER TABLE chat ADD COLUMN x TEXT', 'table "chat" is defined otherwise'],
  ['DROP INDEX chat_by_user_listing', 'index "chat_by_user_listing" is missing'],
])('%s -> %p', (edit, difference) => {
  const db = new Database(':memory:')
  migrate(db)
  db.run(edit)
  expect(findSchemaDifference(db, LATEST_SCHEMA_VERSION)).toBe(difference)
  db.close()
})
