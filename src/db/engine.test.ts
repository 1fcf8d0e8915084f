import { describe, expect, test } from 'bun:test'
import fc from 'fast-check'
import { AsyncLocalStorage } from 'node:async_hooks'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
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

describe('SQLite engine: a batch whose transaction fails runs again, each transaction alone', () => {
  async function table(batchMaxMs = 1000) {
    // note: given a second to keep the batch open, so a slow machine cannot split it at the millisecond.
    const sql = createSqliteEngine(openDatabase(':memory:'), { batchMaxMs })
    await sql.exec('CREATE TABLE t (id INTEGER PRIMARY KEY)')
    return sql
  }
  const ids = async (sql: ReturnType<typeof engine>) => (await sql.all<{ id: number }>('SELECT id FROM t ORDER BY id')).map((row) => row.id)

  test('no savepoint is taken: the transactions of a batch run straight in its write transaction', async () => {
    const sql = await table()
    const seen: string[] = []
    const original = sql.db.prepare.bind(sql.db)
    sql.db.prepare = ((text: string) => {
      seen.push(text)
      return original(text)
    }) as typeof sql.db.prepare
    await Promise.all([1, 2, 3].map((id) => sql.transaction(async () => { await sql.run('INSERT INTO t (id) VALUES (?)', id) })))
    expect(seen).toContain('INSERT INTO t (id) VALUES (?)')
    expect(seen.filter((text) => /SAVEPOINT|RELEASE/i.test(text))).toEqual([])
    expect(await ids(sql)).toEqual([1, 2, 3])
  })

  test('the callers of the others get what their run again gave; the first attempts leave no afterCommit behind', async () => {
    const sql = await table()
    const runs: number[] = []
    const seen: string[] = []
    const results = await Promise.allSettled([1, 2, 3].map((id) => sql.transaction(async () => {
      runs.push(id)
      const attempt = runs.filter((ran) => ran === id).length
      await sql.run('INSERT INTO t (id) VALUES (?)', id)
      sql.afterCommit(() => seen.push(`${id} attempt ${attempt}`))
      if (id === 3) throw new Error('stop')
      return `${id} attempt ${attempt}`
    })))
    expect(runs).toEqual([1, 2, 3, 1, 2, 3])
    expect(results.map((result) => result.status === 'fulfilled' ? result.value : (result.reason as Error).message)).toEqual(['1 attempt 2', '2 attempt 2', 'stop'])
    expect(seen).toEqual(['1 attempt 2', '2 attempt 2'])
    expect(await ids(sql)).toEqual([1, 2])
  })

  test("writes of the batch are run again and kept; each first attempt's transaction object settles at the rollback", async () => {
    const sql = await table()
    const writes = [sql.run('INSERT INTO t (id) VALUES (?)', 100), sql.run('INSERT INTO t (id) VALUES (?)', 101)]
    const firstAttempts: Promise<void>[] = []
    const results = await Promise.allSettled([
      sql.transaction(async () => {
        firstAttempts.push(sql.currentTransaction()!.settled)
        await sql.run('INSERT INTO t (id) VALUES (?)', 1)
      }),
      sql.transaction(async () => {
        await sql.run('INSERT INTO t (id) VALUES (?)', 2)
        throw new Error('stop')
      }),
    ])
    await Promise.all(firstAttempts)
    expect(firstAttempts.length).toBe(2)
    expect(results.map((result) => result.status)).toEqual(['fulfilled', 'rejected'])
    expect(await Promise.all(writes)).toEqual([{ changes: 1 }, { changes: 1 }])
    expect(await ids(sql)).toEqual([1, 100, 101])
  })

  test('a statement that rolled the whole batch back, its error caught by the transaction, makes the batch run again', async () => {
    const sql = await table()
    await sql.exec(`CREATE TABLE refused (id INTEGER);
      CREATE TRIGGER refuse BEFORE INSERT ON refused BEGIN SELECT RAISE(ROLLBACK, 'refused'); END`)
    const results = await Promise.allSettled([
      sql.transaction(async () => { await sql.run('INSERT INTO t (id) VALUES (?)', 1) }),
      sql.transaction(async () => {
        await sql.run('INSERT INTO t (id) VALUES (?)', 2)
        await sql.run('INSERT INTO refused (id) VALUES (?)', 1).catch(() => {})
      }),
      sql.transaction(async () => { await sql.run('INSERT INTO t (id) VALUES (?)', 3) }),
    ])
    expect(results.map((result) => result.status)).toEqual(['fulfilled', 'rejected', 'fulfilled'])
    expect(await ids(sql)).toEqual([1, 3])
  })

  test('a write made while the batch runs again waits for it, then commits on its own', async () => {
    const sql = await table()
    let reached!: () => void
    const failingRuns = new Promise<void>((resolve) => { reached = resolve })
    let gate!: () => void
    const opened = new Promise<void>((resolve) => { gate = resolve })
    const transactions = Promise.allSettled([
      sql.transaction(async () => { await sql.run('INSERT INTO t (id) VALUES (?)', 1) }),
      sql.transaction(async () => {
        await sql.run('INSERT INTO t (id) VALUES (?)', 2)
        reached()
        await opened
        throw new Error('stop')
      }),
    ])
    await failingRuns
    // note: made from outside the transactions' context, while the failing one holds the batch.
    const late = sql.run('INSERT INTO t (id) VALUES (?)', 50)
    gate()
    expect((await transactions).map((result) => result.status)).toEqual(['fulfilled', 'rejected'])
    expect(await late).toEqual({ changes: 1 })
    expect(await ids(sql)).toEqual([1, 50])
  })

  test("a transaction run again runs in its own caller's async context, not the failing one's", async () => {
    const sql = await table()
    const caller = new AsyncLocalStorage<string>()
    const seen: string[] = []
    const results = await Promise.allSettled(['first', 'failing'].map((name) => caller.run(name, () => sql.transaction(async () => {
      await sql.run('INSERT INTO t (id) VALUES (?)', name === 'first' ? 1 : 2)
      seen.push(`${name} in ${caller.getStore()}`)
      if (name === 'failing') throw new Error('stop')
    }))))
    expect(results.map((result) => result.status)).toEqual(['fulfilled', 'rejected'])
    expect(seen).toEqual(['first in first', 'failing in failing', 'first in first', 'failing in failing'])
  })

  test('a batch older than its bound takes no more transactions: the one queued commits separately, so the first is not held for it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'enclave-engine-'))
    try {
      const seenFromOutside = async (batchMaxMs: number) => {
        const file = join(dir, `bound-${batchMaxMs}.db`)
        const sql = createSqliteEngine(openDatabase(file), { batchMaxMs })
        await sql.exec('CREATE TABLE t (id INTEGER PRIMARY KEY)')
        const outside = openDatabase(file)
        let seen = -1
        await Promise.all([
          sql.transaction(async () => { await sql.run('INSERT INTO t (id) VALUES (?)', 1) }),
          sql.transaction(async () => {
            // note: another connection sees only what has committed: the first transaction's row, if its batch committed before this one ran.
            seen = outside.query<{ n: number }, []>('SELECT count(*) AS n FROM t').get()!.n
            await sql.run('INSERT INTO t (id) VALUES (?)', 2)
          }),
        ])
        outside.close()
        await sql.close()
        return seen
      }
      expect(await seenFromOutside(0)).toBe(1)
      expect(await seenFromOutside(60_000)).toBe(0)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  test('a lone transaction that fails rolls back without running again', async () => {
    const sql = await table()
    let runs = 0
    await expect(sql.transaction(async () => {
      runs++
      await sql.run('INSERT INTO t (id) VALUES (?)', 1)
      throw new Error('stop')
    })).rejects.toThrow('stop')
    expect(runs).toBe(1)
    expect(await ids(sql)).toEqual([])
  })

  // One transaction of a generated batch: rows it inserts (a taken id fails the statement), a nested transaction, and whether it throws after writing (or catches a failed statement).
  type Plan = { inserts: number[]; nested: number[]; throwsAfter: boolean; catchesFailure: boolean }
  const plan = fc.record({
    inserts: fc.array(fc.integer({ min: 1, max: 12 }), { maxLength: 3 }),
    nested: fc.array(fc.integer({ min: 1, max: 12 }), { maxLength: 2 }),
    throwsAfter: fc.boolean(),
    catchesFailure: fc.boolean(),
  })
  /** Runs a plan as transaction `index`: returns the ids it saw at its end; logs its afterCommit callbacks. */
  const run = (sql: ReturnType<typeof engine>, log: string[], index: number, { inserts, nested, throwsAfter, catchesFailure }: Plan) => sql.transaction(async () => {
    for (const id of inserts) {
      const insert = sql.run('INSERT INTO t (id) VALUES (?)', id)
      await (catchesFailure ? insert.catch(() => null) : insert)
    }
    sql.afterCommit(() => log.push(`outer ${index}`))
    await sql.transaction(async () => {
      for (const id of nested) await sql.run('INSERT INTO t (id) VALUES (?)', id + 100)
      sql.afterCommit(() => log.push(`nested ${index}`))
    })
    if (throwsAfter) throw new Error(`stop ${index}`)
    return (await sql.all<{ id: number }>('SELECT id FROM t ORDER BY id')).map((row) => row.id)
  })
  const outcome = (settled: PromiseSettledResult<number[]>) => settled.status === 'fulfilled' ? settled.value : `${(settled.reason as Error).message.slice(0, 40)}`

  test('property: concurrent transactions give each caller, the table and the afterCommit log what running them one at a time, alone, gives', async () => {
    await fc.assert(fc.asyncProperty(fc.array(plan, { minLength: 1, maxLength: 8 }), async (plans) => {
      const batched = await table()
      const batchedLog: string[] = []
      const together = await Promise.allSettled(plans.map((each, index) => run(batched, batchedLog, index, each)))
      const alone = await table()
      const aloneLog: string[] = []
      const oneByOne: PromiseSettledResult<number[]>[] = []
      for (const [index, each] of plans.entries()) {
        oneByOne.push((await Promise.allSettled([run(alone, aloneLog, index, each)]))[0]!)
      }
      expect(together.map(outcome)).toEqual(oneByOne.map(outcome))
      expect(batchedLog).toEqual(aloneLog)
      expect(await ids(batched)).toEqual(await ids(alone))
      expect(batched.db.inTransaction).toBe(false)
    }), { numRuns: 200 })
  })
})
