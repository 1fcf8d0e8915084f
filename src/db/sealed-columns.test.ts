import { expect, test } from 'bun:test'
import { migrate } from './migrate.ts'
import { openDatabase } from './open-database.ts'
import { sealedPlaces, unsealedBlobColumns } from './sealed-columns.ts'

// A new encrypted column must be listed in sealed-columns.ts, or key status, verify and data key
// rotation would silently skip it.
test('every BLOB column of the schema is either a listed sealed column or a known unsealed one', () => {
  const db = openDatabase(':memory:')
  migrate(db)
  const tables = db.query<{ name: string }, []>("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'").all().map((row) => row.name)
  const blobColumns = tables.flatMap((table) =>
    db.query<{ name: string; type: string }, []>(`SELECT name, type FROM pragma_table_info('${table}')`).all()
      .filter((column) => column.type === 'BLOB' || column.type === 'ANY').map((column) => `${table}.${column.name}`))
  const listed = sealedPlaces.flatMap((place) => place.columns.map((column) => `${place.table}.${column}`))
  expect(blobColumns.filter((column) => !listed.includes(column) && !unsealedBlobColumns.includes(column))).toEqual([])
  expect(listed.filter((column) => !blobColumns.includes(column))).toEqual([])
})
