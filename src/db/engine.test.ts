/**
 * The SQLite engine (sqlite-engine.ts): the engine contract every engine keeps, group commit and
 * preparing ahead. A batch whose transaction fails, run again: engine-batch-rerun.test.ts.
 */
import { describe, expect, test } from 'bun:test'
import { describeEngineContract } from '../../test/helpers/engine-contract.ts'
import { createSqliteEngine } from './sqlite-engine.ts'
import { withLazyStatements } from './lazy-statements.ts'
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

  test('a transaction joins an open batch: it commits with it, and settles after that commit', async () => {
    const sql = await table()
    let writeSettled = false
    const write = sql.run('INSERT INTO t (id) VALUES (?)', 1).then((result) => {
      writeSettled = true
      return result
    })
    let insideBatch = false
    const joined = sql.transaction(async () => {
      insideBatch = !writeSettled && sql.db.inTransaction
      await sql.run('INSERT INTO t (id) VALUES (?)', 2)
      return (await sql.all<{ id: number }>('SELECT id FROM t ORDER BY id')).map((row) => row.id)
    }).then((seen) => ({ seen, inTransaction: sql.db.inTransaction }))
    expect(await joined).toEqual({ seen: [1, 2], inTransaction: false })
    expect(insideBatch).toBe(true)
    expect(await write).toEqual({ changes: 1 })
    expect(await sql.all('SELECT id FROM t ORDER BY id')).toEqual([{ id: 1 }, { id: 2 }])
  })

  test("a transaction that fails inside a batch undoes its own writes only, not the batch's nor other transactions'", async () => {
    const sql = await table()
    const write = sql.run('INSERT INTO t (id) VALUES (?)', 1)
    const results = await Promise.allSettled([
      sql.transaction(async () => {
        await sql.run('INSERT INTO t (id) VALUES (?)', 2)
      }),
      sql.transaction(async () => {
        await sql.run('INSERT INTO t (id) VALUES (?)', 3)
        await sql.run('INSERT INTO t (id) VALUES (?)', 4)
        throw new Error('stop')
      }),
      sql.transaction(async () => {
        await sql.run('INSERT INTO t (id) VALUES (?)', 5)
      }),
      write,
    ])
    expect(results.map((result) => result.status)).toEqual(['fulfilled', 'rejected', 'fulfilled', 'fulfilled'])
    expect(await sql.all('SELECT id FROM t ORDER BY id')).toEqual([{ id: 1 }, { id: 2 }, { id: 5 }])
  })

  test('a lone transaction commits as it ends, without waiting for the next turn of the loop', async () => {
    const sql = await table()
    let committedAtEnd = null as boolean | null
    const done = sql.transaction(async () => {
      await sql.run('INSERT INTO t (id) VALUES (?)', 1)
    }).then(() => {
      committedAtEnd = !sql.db.inTransaction
    })
    // note: resolved by microtasks alone: no setImmediate had to run for the commit.
    for (let i = 0; i < 20 && committedAtEnd === null; i++) await Promise.resolve()
    expect(committedAtEnd).toBe(true)
    await done
    expect(await sql.all('SELECT id FROM t')).toEqual([{ id: 1 }])
  })

  test('transactions queued behind each other share one commit, the first settling after the last ended', async () => {
    // note: given a second to keep the batch open, so a slow machine cannot split it at the millisecond.
    const sql = createSqliteEngine(openDatabase(':memory:'), { batchMaxMs: 1000 })
    await sql.exec('CREATE TABLE t (id INTEGER PRIMARY KEY)')
    const order: string[] = []
    const transactions = [1, 2, 3].map((id) => sql.transaction(async () => {
      await sql.run('INSERT INTO t (id) VALUES (?)', id)
      order.push(`ran ${id}`)
    }).then(() => order.push(`settled ${id}`)))
    await Promise.all(transactions)
    expect(order.slice(0, 3)).toEqual(['ran 1', 'ran 2', 'ran 3'])
    expect(order.slice(3).sort()).toEqual(['settled 1', 'settled 2', 'settled 3'])
    expect(sql.db.inTransaction).toBe(false)
  })

  test('transactions waiting for their turn run in the order they were made, a failing one not stopping the rest', async () => {
    const sql = await table()
    const order: number[] = []
    const results = await Promise.allSettled(Array.from({ length: 8 }, (_, i) => sql.transaction(async () => {
      await Promise.resolve()
      order.push(i)
      await sql.run('INSERT INTO t (id) VALUES (?)', i + 1)
      if (i === 3) throw new Error('stop')
    })))
    // note: the failing one made its batch run again, each of its transactions alone: a transaction's fn may run twice, never out of order.
    expect([...new Set(order)]).toEqual([0, 1, 2, 3, 4, 5, 6, 7])
    expect(results.filter((result) => result.status === 'rejected').length).toBe(1)
    expect((await sql.all<{ id: number }>('SELECT id FROM t ORDER BY id')).map((row) => row.id)).toEqual([1, 2, 3, 5, 6, 7, 8])
  })

  test('a failed COMMIT rejects every transaction of the batch', async () => {
    const sql = await table()
    await sql.exec(`PRAGMA foreign_keys = ON;
      CREATE TABLE child (id INTEGER PRIMARY KEY, parent INTEGER REFERENCES t (id) DEFERRABLE INITIALLY DEFERRED)`)
    const results = await Promise.allSettled([
      sql.transaction(async () => { await sql.run('INSERT INTO t (id) VALUES (?)', 1) }),
      sql.transaction(async () => { await sql.run('INSERT INTO child (id, parent) VALUES (?, ?)', 1, 99) }),
    ])
    expect(results.map((result) => result.status)).toEqual(['rejected', 'rejected'])
    expect(await sql.all('SELECT id FROM t')).toEqual([])
  })

  test('currentTransaction: the same object for every call in one transaction, null outside; it sees every commit and settles after its own', async () => {
    const sql = await table()
    expect(sql.currentTransaction()).toBeNull()
    let seen: ReturnType<typeof sql.currentTransaction>[] = []
    let settledEarly = false
    await sql.transaction(async () => {
      const first = sql.currentTransaction()
      await sql.run('INSERT INTO t (id) VALUES (?)', 1)
      seen = [first, sql.currentTransaction()]
      void first!.settled.then(() => { settledEarly = sql.db.inTransaction })
    })
    expect(seen[0]).not.toBeNull()
    expect(seen[0]).toBe(seen[1]!)
    expect(seen[0]!.seesEveryCommit).toBe(true)
    await seen[0]!.settled
    expect(settledEarly).toBe(false)
    expect(sql.currentTransaction()).toBeNull()
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

test('SQLite engine: a transaction made while a batch is open joins it, before writes made after it', async () => {
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
  expect(order).toEqual(['transaction saw 1', 'write 1', 'write 2'])
  expect((await sql.all('SELECT id FROM t')).length).toBe(2)
})

describe('SQLite engine: preparing ahead', () => {
  async function lazyTable() {
    const sql = createSqliteEngine(withLazyStatements(openDatabase(':memory:')))
    await sql.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)')
    return sql
  }
  const insert = 'INSERT INTO t (id, v) VALUES (?, ?)'
  const select = 'SELECT v FROM t WHERE id = ?'

  test('prepared statements are held, nothing is run or written, and they run as they would have', async () => {
    const sql = await lazyTable()
    sql.prepare([insert, select])
    expect(sql.statementTexts()).toEqual([insert, select])
    expect(sql.db.inTransaction).toBe(false)
    expect(await sql.all('SELECT count(*) AS n, total_changes() AS changes FROM t')).toEqual([{ n: 0, changes: 0 }])
    await sql.run(insert, 1, 'one')
    expect(await sql.get(select, 1)).toEqual({ v: 'one' })
  })

  test('a text that does not prepare is left to its first run, which fails as it would have; preparing again changes nothing', async () => {
    const sql = await lazyTable()
    sql.prepare(['SELECT nothing FROM missing', select])
    sql.prepare([select])
    expect(sql.statementTexts()).toEqual([select])
    await expect(sql.get('SELECT nothing FROM missing')).rejects.toThrow()
  })
})
