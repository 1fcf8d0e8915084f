import { describe, expect, test } from 'bun:test'
import { describeEngineContract } from '../../test/helpers/engine-contract.ts'
import { createSqliteEngine } from './engine.ts'
import { openDatabase } from './open-database.ts'

describeEngineContract('SQLite', async () => createSqliteEngine(openDatabase(':memory:')))

function engine() {
  return createSqliteEngine(openDatabase(':memory:'))
}

describe('SQLite engine: group commit', () => {
  async function table() {
    const sql = engine()
    await sql.exec('CREATE TABLE t (id INTEGER PRIMARY KEY)')
    return sql
  }

  test('concurrent writes outside a transaction commit together, each resolving with its own result', async () => {
    const sql = await table()
    const writes = Array.from({ length: 50 }, (_, i) => sql.run('INSERT INTO t (id) VALUES (?)', i + 1))
    expect(sql.db.inTransaction).toBe(true)
    expect(await Promise.all(writes)).toEqual(writes.map(() => ({ changes: 1 })))
    expect(sql.db.inTransaction).toBe(false)
    expect((await sql.all('SELECT id FROM t')).length).toBe(50)
  })

  test("a write's promise settles only after its commit", async () => {
    const sql = await table()
    let settled = false
    const write = sql.run('INSERT INTO t (id) VALUES (?)', 1).then((result) => {
      settled = true
      expect(sql.db.inTransaction).toBe(false)
      return result
    })
    await Promise.resolve()
    await Promise.resolve()
    expect(settled).toBe(false)
    expect(sql.db.inTransaction).toBe(true)
    expect(await write).toEqual({ changes: 1 })
  })

  test('a lone write commits on the next turn of the event loop, without waiting for another', async () => {
    const sql = await table()
    const write = sql.run('INSERT INTO t (id) VALUES (?)', 1)
    await new Promise((resolve) => setImmediate(resolve))
    expect(sql.db.inTransaction).toBe(false)
    expect(await write).toEqual({ changes: 1 })
  })

  test('a failing statement rejects only its own promise', async () => {
    const sql = await table()
    const results = await Promise.allSettled([
      sql.run('INSERT INTO t (id) VALUES (?)', 1),
      sql.run('INSERT INTO t (id) VALUES (?)', 1),
      sql.run('INSERT INTO t (id) VALUES (?)', 2),
    ])
    expect(results.map((result) => result.status)).toEqual(['fulfilled', 'rejected', 'fulfilled'])
    expect(await sql.all('SELECT id FROM t ORDER BY id')).toEqual([{ id: 1 }, { id: 2 }])
  })

  test("a statement that rolls the whole transaction back still rejects only its own promise", async () => {
    const sql = await table()
    await sql.exec(`CREATE TABLE refused (id INTEGER);
      CREATE TRIGGER refuse BEFORE INSERT ON refused BEGIN SELECT RAISE(ROLLBACK, 'refused'); END`)
    const results = await Promise.allSettled([
      sql.run('INSERT INTO t (id) VALUES (?)', 1),
      sql.run('INSERT INTO refused (id) VALUES (?)', 1),
      sql.run('INSERT INTO t (id) VALUES (?)', 2),
    ])
    expect(results.map((result) => result.status)).toEqual(['fulfilled', 'rejected', 'fulfilled'])
    expect(await sql.all('SELECT id FROM t ORDER BY id')).toEqual([{ id: 1 }, { id: 2 }])
  })

  test('a failed COMMIT rejects every write of the batch and keeps none of them', async () => {
    const sql = await table()
    // note: a deferred foreign key is checked at COMMIT, so the batch's commit fails as a whole.
    await sql.exec(`PRAGMA foreign_keys = ON;
      CREATE TABLE child (id INTEGER PRIMARY KEY, parent INTEGER REFERENCES t (id) DEFERRABLE INITIALLY DEFERRED)`)
    const results = await Promise.allSettled([
      sql.run('INSERT INTO t (id) VALUES (?)', 1),
      sql.run('INSERT INTO child (id, parent) VALUES (?, ?)', 1, 99),
      sql.run('INSERT INTO t (id) VALUES (?)', 2),
    ])
    expect(results.map((result) => result.status)).toEqual(['rejected', 'rejected', 'rejected'])
    expect(sql.db.inTransaction).toBe(false)
    expect(await sql.all('SELECT id FROM t')).toEqual([])
    expect(await sql.run('INSERT INTO t (id) VALUES (?)', 3)).toEqual({ changes: 1 })
  })

  test('a transaction waits for an open batch, which does not join it', async () => {
    const sql = await table()
    const write = sql.run('INSERT INTO t (id) VALUES (?)', 1)
    const seen = sql.transaction(async () => {
      const rows = await sql.all<{ id: number }>('SELECT id FROM t')
      throw new Error(`saw ${rows.length}`)
    })
    await expect(seen).rejects.toThrow('saw 1')
    expect(await write).toEqual({ changes: 1 })
    expect(await sql.all('SELECT id FROM t')).toEqual([{ id: 1 }])
  })

  test('a read from outside waits for the batch to commit', async () => {
    const sql = await table()
    const write = sql.run('INSERT INTO t (id) VALUES (?)', 1)
    const read = sql.all('SELECT id FROM t').then((rows) => ({ rows, inTransaction: sql.db.inTransaction }))
    expect(await read).toEqual({ rows: [{ id: 1 }], inTransaction: false })
    await write
  })

  test('writes inside a transaction are not batched, and writes made meanwhile wait for it', async () => {
    const sql = await table()
    let release!: () => void
    const gate = new Promise<void>((resolve) => { release = resolve })
    const failing = sql.transaction(async () => {
      await sql.run('INSERT INTO t (id) VALUES (?)', 1)
      await gate
      throw new Error('stop')
    })
    const outside = [sql.run('INSERT INTO t (id) VALUES (?)', 2), sql.run('INSERT INTO t (id) VALUES (?)', 3)]
    release()
    await expect(failing).rejects.toThrow('stop')
    await Promise.all(outside)
    expect(await sql.all('SELECT id FROM t ORDER BY id')).toEqual([{ id: 2 }, { id: 3 }])
  })
})

test('SQLite engine: a transaction waiting for a batch goes before writes made after it', async () => {
  const sql = engine()
  await sql.exec('CREATE TABLE t (id INTEGER PRIMARY KEY)')
  const order: string[] = []
  // note: each write, once committed, makes another at once, as a busy server's writes keep coming.
  const chain = sql.run('INSERT INTO t (id) VALUES (?)', 1).then(async () => {
    order.push('write 1')
    await sql.run('INSERT INTO t (id) VALUES (?)', 2)
    order.push('write 2')
  })
  const waiting = sql.transaction(async () => {
    const rows = await sql.all<{ id: number }>('SELECT id FROM t')
    order.push(`transaction saw ${rows.length}`)
  })
  await Promise.all([chain, waiting])
  expect(order).toEqual(['write 1', 'transaction saw 1', 'write 2'])
  expect((await sql.all('SELECT id FROM t')).length).toBe(2)
})
