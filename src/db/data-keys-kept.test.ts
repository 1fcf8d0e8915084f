import { expect, test } from 'bun:test'
import { generateKey } from '../crypto/random.ts'
import { createDataKeyRepo } from './data-keys.ts'
import { type SqlEngine, type SqlTransaction } from './engine.ts'
import { createSqliteEngine } from './sqlite-engine.ts'
import { FieldOpenError } from './field-open-error.ts'
import { migrate } from './migrate.ts'
import { openDatabase } from './open-database.ts'

const SELECT_RING = 'SELECT owner_id, version, wrapped FROM data_key WHERE owner_id = ? ORDER BY version'

/** A SQLite engine that counts ring reads; `seesEveryCommit` stands in for PostgreSQL's transactions when false. */
function countingEngine(seesEveryCommit = true) {
  const db = openDatabase(':memory:')
  migrate(db)
  const inner = createSqliteEngine(db)
  const counted = { reads: 0 }
  const sql: SqlEngine = {
    ...inner,
    all<Row>(text: string, ...params: Parameters<SqlEngine['all']>[1][]) {
      if (text === SELECT_RING) counted.reads++
      return inner.all<Row>(text, ...params)
    },
    currentTransaction(): SqlTransaction | null {
      const open = inner.currentTransaction()
      return open === null ? null : { seesEveryCommit: seesEveryCommit && open.seesEveryCommit, settled: open.settled }
    },
  }
  return { sql, inner, counted, keys: createDataKeyRepo(sql, generateKey(), Date.now) }
}

test('on SQLite, a ring read inside a transaction that wrote no key is kept', async () => {
  const { inner, counted, keys } = countingEngine()
  await keys.createKey('alice')
  await inner.transaction(async () => {
    await keys.ringFor('alice')
    await keys.ringFor('alice')
  })
  await keys.ringFor('alice')
  expect(counted.reads).toBe(1)
})

test('a ring read inside the transaction that created the key is not kept, and is gone once that transaction rolls back', async () => {
  const { inner, counted, keys } = countingEngine()
  await expect(inner.transaction(async () => {
    await keys.createKey('bob')
    expect((await keys.ringFor('bob')).current.version).toBe(1)
    throw new Error('roll back')
  })).rejects.toThrow('roll back')
  await expect(keys.ringFor('bob')).rejects.toThrow(FieldOpenError)
  expect(counted.reads).toBe(2)
})

test('a ring read in a transaction while another transaction\'s key write is not committed yet is not kept', async () => {
  const { inner, counted, keys } = countingEngine()
  await keys.createKey('carol')
  let release!: () => void
  const held = new Promise<void>((resolve) => { release = resolve })
  // note: the first transaction adds a version and ends; the second joins its batch before the commit.
  const writer = inner.transaction(async () => {
    await keys.addKeyVersion('carol')
    await held
  })
  const reader = inner.transaction(async () => (await keys.ringFor('carol')).current.version)
  release()
  await writer
  expect(await reader).toBe(2)
  expect((await keys.ringFor('carol')).current.version).toBe(2)
  // note: read once inside the reader, again after, then kept.
  expect((await keys.ringFor('carol')).current.version).toBe(2)
  expect(counted.reads).toBe(2)
})

test('where a transaction may not see every commit (PostgreSQL), a ring read inside one is not kept', async () => {
  const { inner, counted, keys } = countingEngine(false)
  await keys.createKey('dave')
  await inner.transaction(async () => {
    await keys.ringFor('dave')
    await keys.ringFor('dave')
  })
  expect(counted.reads).toBe(2)
  await keys.ringFor('dave')
  await keys.ringFor('dave')
  expect(counted.reads).toBe(3)
})
