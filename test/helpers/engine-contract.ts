/**
 * The SqlEngine contract (src/db/engine.ts) as one set of tests, run on each engine: SQLite in
 * src/db/engine.test.ts, PostgreSQL in src/db/postgres-engine.test.ts. A repository that passes on
 * one engine must find the same values, the same errors and the same transactions on the other.
 */
import { describe, expect, test } from 'bun:test'
import type { SqlEngine } from '../../src/db/engine.ts'

/** Runs the contract; `open` gives a new engine on an empty database for each test. */
export function describeEngineContract(name: string, open: () => Promise<SqlEngine>) {
  const blob = (sql: SqlEngine) => (sql.dialect === 'postgresql' ? 'BYTEA' : 'BLOB')
  const bigint = (sql: SqlEngine) => (sql.dialect === 'postgresql' ? 'BIGINT' : 'INTEGER')

  describe(`${name}: the engine contract`, () => {
    test('binds values and returns rows as plain values, null for none', async () => {
      const sql = await open()
      await sql.exec(`CREATE TABLE t (id ${bigint(sql)} PRIMARY KEY, name TEXT NOT NULL, body ${blob(sql)}, at ${bigint(sql)} NOT NULL, flag INTEGER NOT NULL)`)
      expect(await sql.run('INSERT INTO t (id, name, body, at, flag) VALUES (?, ?, ?, ?, ?)', 1, 'a', new Uint8Array([1, 2]), 1_764_000_000_123, true)).toEqual({ changes: 1 })
      await sql.run('INSERT INTO t (id, name, body, at, flag) VALUES (?, ?, ?, ?, ?)', 2, 'b', null, 5, false)
      expect(await sql.get<{ name: string }>('SELECT name FROM t WHERE id = ?', 1)).toEqual({ name: 'a' })
      expect(await sql.get('SELECT name FROM t WHERE id = ?', 3)).toBeNull()
      const row = await sql.get<{ body: Uint8Array; at: number; flag: number }>('SELECT body, at, flag FROM t WHERE id = ?', 1)
      expect(row!.body).toBeInstanceOf(Uint8Array)
      expect(row!.body.constructor).toBe(Uint8Array)
      expect([...row!.body]).toEqual([1, 2])
      expect(row!.at).toBe(1_764_000_000_123)
      expect(row!.flag).toBe(1)
      expect(await sql.get('SELECT count(*) AS n, sum(at) AS total, max(id) AS top FROM t')).toEqual({ n: 2, total: 1_764_000_000_128, top: 2 })
      expect(await sql.get('SELECT EXISTS (SELECT 1 FROM t WHERE id = ?) AS found', 2)).toEqual({ found: 1 })
      expect(await sql.all('SELECT id FROM t WHERE body IS NULL')).toEqual([{ id: 2 }])
      expect(await sql.all('SELECT id FROM t WHERE id > ? ORDER BY id', 5)).toEqual([])
      await sql.close()
    })

    // note: the field cipher hands out sealed values as views into shared arrays (src/crypto/field-cipher.ts);
    // each must be stored as its own bytes, not its array's, in a batch or alone.
    test('a Uint8Array viewing part of a larger array binds as the bytes it views', async () => {
      const sql = await open()
      await sql.exec(`CREATE TABLE t (id ${bigint(sql)} PRIMARY KEY, body ${blob(sql)} NOT NULL)`)
      const shared = new Uint8Array(64).map((_, i) => i)
      const views = [shared.subarray(0, 3), shared.subarray(5, 6), shared.subarray(40, 64), new Uint8Array(shared.buffer, 10, 0)]
      await sql.run('INSERT INTO t (id, body) VALUES (?, ?)', 1, views[0]!)
      await Promise.all(views.slice(1).map((view, i) => sql.run('INSERT INTO t (id, body) VALUES (?, ?)', i + 2, view)))
      const rows = await sql.all<{ id: number; body: Uint8Array }>('SELECT id, body FROM t ORDER BY id')
      expect(rows.map(({ body }) => [...body])).toEqual(views.map((view) => [...view]))
      await sql.close()
    })

    test('numbered placeholders, and a question mark inside a literal is text', async () => {
      const sql = await open()
      await sql.exec('CREATE TABLE t (a INTEGER NOT NULL, b TEXT NOT NULL)')
      await sql.run('INSERT INTO t (a, b) VALUES (?2, ?1)', 'x', 7)
      expect(await sql.get("SELECT a, b, 'why?' AS q FROM t WHERE a = ?1 AND (b = ?2 OR ?1 > 100)", 7, 'x')).toEqual({ a: 7, b: 'x', q: 'why?' })
      await sql.close()
    })

    test('run reports the rows it changed', async () => {
      const sql = await open()
      await sql.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, n INTEGER NOT NULL); INSERT INTO t (id, n) VALUES (1, 0), (2, 0), (3, 5)')
      expect(await sql.run('UPDATE t SET n = n + 1 WHERE n = ?', 0)).toEqual({ changes: 2 })
      expect(await sql.run('DELETE FROM t WHERE id = ?', 9)).toEqual({ changes: 0 })
      await sql.close()
    })

    test('an error rejects the promise and names no value', async () => {
      const sql = await open()
      await expect(sql.get('SELECT * FROM missing WHERE x = ?', 'secret-value')).rejects.toThrow(/missing/)
      await sql.exec('CREATE TABLE t (name TEXT NOT NULL UNIQUE)')
      await sql.run('INSERT INTO t (name) VALUES (?)', 'secret-value')
      const error = await sql.run('INSERT INTO t (name) VALUES (?)', 'secret-value').catch((caught: unknown) => caught)
      expect(error).toBeInstanceOf(Error)
      expect(`${String(error)} ${(error as Error).stack} ${JSON.stringify(error)} ${Bun.inspect(error)}`).not.toContain('secret-value')
      await sql.close()
    })

    test('a failing transaction leaves nothing behind', async () => {
      const sql = await open()
      await sql.exec('CREATE TABLE t (id INTEGER PRIMARY KEY)')
      await expect(sql.transaction(async () => {
        await sql.run('INSERT INTO t (id) VALUES (?)', 1)
        throw new Error('stop')
      })).rejects.toThrow('stop')
      expect(await sql.all('SELECT id FROM t')).toEqual([])
      expect(await sql.transaction(async () => {
        await sql.run('INSERT INTO t (id) VALUES (?)', 2)
        return 'done'
      })).toBe('done')
      expect(await sql.all('SELECT id FROM t')).toEqual([{ id: 2 }])
      await sql.close()
    })

    test('inTransaction tells a call inside a transaction (and what it awaits) from one outside', async () => {
      const sql = await open()
      await sql.exec('CREATE TABLE t (id INTEGER PRIMARY KEY)')
      expect(sql.inTransaction()).toBe(false)
      let release!: () => void
      let enter!: () => void
      const held = new Promise<void>((resolve) => { release = resolve })
      const entered = new Promise<void>((resolve) => { enter = resolve })
      const seen: boolean[] = []
      const running = sql.transaction(async () => {
        seen.push(sql.inTransaction())
        await sql.transaction(async () => { seen.push(sql.inTransaction()) })
        enter()
        await held
        await sql.run('INSERT INTO t (id) VALUES (?)', 1)
        seen.push(sql.inTransaction())
      })
      await entered
      // note: another context while that transaction is open is outside it.
      seen.push(sql.inTransaction())
      release()
      await running
      expect(seen).toEqual([true, true, false, true])
      expect(sql.inTransaction()).toBe(false)
      await sql.close()
    })

    test('currentTransaction: one object through a transaction and the ones it nests, null elsewhere, settled once it has ended', async () => {
      const sql = await open()
      await sql.exec('CREATE TABLE t (id INTEGER PRIMARY KEY)')
      expect(sql.currentTransaction()).toBeNull()
      const seen: (ReturnType<SqlEngine['currentTransaction']>)[] = []
      let settled = false
      let settledWhileOpen = true
      await sql.transaction(async () => {
        seen.push(sql.currentTransaction())
        await sql.run('INSERT INTO t (id) VALUES (?)', 1)
        await sql.transaction(async () => { seen.push(sql.currentTransaction()) })
        void sql.currentTransaction()!.settled.then(() => { settled = true })
        await Bun.sleep(1)
        settledWhileOpen = settled
      })
      expect(seen[0]).not.toBeNull()
      expect(seen[1]).toBe(seen[0]!)
      expect(typeof seen[0]!.seesEveryCommit).toBe('boolean')
      await seen[0]!.settled
      expect(settledWhileOpen).toBe(false)
      expect(await sql.all('SELECT id FROM t')).toEqual([{ id: 1 }])
      expect(sql.currentTransaction()).toBeNull()
      await sql.close()
    })

    test('a write from another context is not rolled back with an open transaction', async () => {
      const sql = await open()
      await sql.exec('CREATE TABLE t (id INTEGER PRIMARY KEY)')
      let release!: () => void
      const gate = new Promise<void>((resolve) => { release = resolve })
      let inserted!: () => void
      const insertedFirst = new Promise<void>((resolve) => { inserted = resolve })
      const failing = sql.transaction(async () => {
        await sql.run('INSERT INTO t (id) VALUES (?)', 1)
        inserted()
        await gate
        throw new Error('stop')
      })
      await insertedFirst
      const outside = sql.run('INSERT INTO t (id) VALUES (?)', 2)
      release()
      await expect(failing).rejects.toThrow('stop')
      await outside
      expect(await sql.all('SELECT id FROM t')).toEqual([{ id: 2 }])
      await sql.close()
    })

    test('nested transactions join the open one, and fail with it', async () => {
      const sql = await open()
      await sql.exec('CREATE TABLE t (id INTEGER PRIMARY KEY)')
      await sql.transaction(async () => {
        await sql.run('INSERT INTO t (id) VALUES (?)', 1)
        await sql.transaction(async () => { await sql.run('INSERT INTO t (id) VALUES (?)', 2) })
      })
      expect((await sql.all('SELECT id FROM t')).length).toBe(2)
      await expect(sql.transaction(async () => {
        await sql.transaction(async () => { await sql.run('INSERT INTO t (id) VALUES (?)', 3) })
        throw new Error('stop')
      })).rejects.toThrow('stop')
      expect((await sql.all('SELECT id FROM t')).length).toBe(2)
      await sql.close()
    })

    test('concurrent transactions run one after the other', async () => {
      const sql = await open()
      await sql.exec('CREATE TABLE n (v INTEGER NOT NULL)')
      await sql.run('INSERT INTO n (v) VALUES (0)')
      await Promise.all(Array.from({ length: 20 }, () => sql.transaction(async () => {
        const row = await sql.get<{ v: number }>('SELECT v FROM n')
        await Promise.resolve()
        await sql.run('UPDATE n SET v = ?', row!.v + 1)
      })))
      expect(await sql.get('SELECT v FROM n')).toEqual({ v: 20 })
      await sql.close()
    })

    test('afterCommit runs once the outermost transaction committed, at once outside one, never after a rollback', async () => {
      const sql = await open()
      await sql.exec(`CREATE TABLE c (v INTEGER NOT NULL)`)
      const seen: string[] = []
      sql.afterCommit(() => seen.push('outside'))
      expect(seen).toEqual(['outside'])
      await sql.transaction(async () => {
        await sql.run('INSERT INTO c (v) VALUES (1)')
        sql.afterCommit(() => seen.push('outer'))
        await sql.transaction(async () => {
          sql.afterCommit(() => seen.push('nested'))
          sql.afterCommit(() => { throw new Error('a listener that throws') })
        })
        expect(seen).toEqual(['outside'])
      })
      expect(seen).toEqual(['outside', 'outer', 'nested'])
      // note: what runs after the commit sees the write from a call of its own.
      let countSeen = -1
      await sql.transaction(async () => {
        await sql.run('INSERT INTO c (v) VALUES (2)')
        sql.afterCommit(() => void sql.get<{ n: number }>('SELECT count(*) AS n FROM c').then((row) => { countSeen = Number(row!.n) }))
      })
      await Bun.sleep(20)
      expect(countSeen).toBe(2)
      await expect(sql.transaction(async () => {
        sql.afterCommit(() => seen.push('rolled back'))
        throw new Error('nope')
      })).rejects.toThrow('nope')
      expect(seen).toEqual(['outside', 'outer', 'nested'])
      await sql.close()
    })

    test('concurrent transactions, one failing after it wrote: the others commit with their own results, and each committed one runs its afterCommit callbacks once', async () => {
      const sql = await open()
      await sql.exec('CREATE TABLE t (id INTEGER PRIMARY KEY)')
      const seen: string[] = []
      const results = await Promise.allSettled([1, 2, 3, 4, 5].map((id) => sql.transaction(async () => {
        await sql.run('INSERT INTO t (id) VALUES (?)', id)
        sql.afterCommit(() => seen.push(`committed ${id}`))
        await sql.transaction(async () => {
          await sql.run('INSERT INTO t (id) VALUES (?)', id * 10)
          sql.afterCommit(() => seen.push(`nested ${id}`))
        })
        if (id === 3) throw new Error('stop')
        return Number((await sql.get<{ n: number }>('SELECT count(*) AS n FROM t'))!.n)
      })))
      expect(results.map((result) => result.status === 'fulfilled' ? result.value : (result.reason as Error).message)).toEqual([2, 4, 'stop', 6, 8])
      expect(seen).toEqual(['committed 1', 'nested 1', 'committed 2', 'nested 2', 'committed 4', 'nested 4', 'committed 5', 'nested 5'])
      expect((await sql.all<{ id: number }>('SELECT id FROM t ORDER BY id')).map((row) => Number(row.id))).toEqual([1, 2, 4, 5, 10, 20, 40, 50])
      await sql.close()
    })

    test('a statement failing inside a transaction rolls all of it back', async () => {
      const sql = await open()
      await sql.exec('CREATE TABLE t (id INTEGER PRIMARY KEY)')
      await expect(sql.transaction(async () => {
        await sql.run('INSERT INTO t (id) VALUES (?)', 1)
        await sql.run('INSERT INTO t (id) VALUES (?)', 1)
      })).rejects.toThrow()
      expect(await sql.all('SELECT id FROM t')).toEqual([])
      await sql.close()
    })
  })
}
