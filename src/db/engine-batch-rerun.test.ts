/**
 * The SQLite engine's group commit when a transaction of a batch fails: the batch is rolled back and
 * run again, its writes together, then each transaction alone, so every caller gets what running alone
 * gives (sqlite-engine.ts). Split from engine.test.ts, which holds the engine's other behaviour.
 */
import { describe, expect, test } from 'bun:test'
import fc from 'fast-check'
import { AsyncLocalStorage } from 'node:async_hooks'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createSqliteEngine } from './sqlite-engine.ts'
import { openDatabase } from './open-database.ts'

function engine() {
  return createSqliteEngine(openDatabase(':memory:'))
}

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
