/**
 * The one contract every repository talks to: SQL text with `?` placeholders, values in, plain rows
 * out, every call a Promise. Two engines implement it: SQLite in DATA_DIR (the default, this file)
 * and PostgreSQL through Bun.SQL (postgres-engine.ts). Repositories never see which one runs.
 *
 * Transactions are implicit in the async context: inside `transaction(fn)` every call made by fn
 * (and whatever fn awaits) runs in that transaction, without a handle to pass down. Outside it, a
 * call made while another context's transaction is open waits for it to end, so a write reported
 * as done is never rolled back with somebody else's transaction. Nested `transaction` calls join
 * the open one.
 *
 * Threat: none of its own; it carries ciphertext and blind indexes the repositories made. It keeps
 * SQL text and values out of its errors, which callers may log.
 */
import type { Database, Statement } from 'bun:sqlite'
import { AsyncLocalStorage } from 'node:async_hooks'

/** What a placeholder may be bound to. Sealed fields are Uint8Array; times are milliseconds. */
export type SqlValue = string | number | bigint | boolean | null | Uint8Array

export type RunResult = { readonly changes: number }

export interface SqlEngine {
  readonly dialect: 'sqlite' | 'postgresql'
  /** The first row, or null. */
  get<Row>(sql: string, ...params: SqlValue[]): Promise<Row | null>
  all<Row>(sql: string, ...params: SqlValue[]): Promise<Row[]>
  run(sql: string, ...params: SqlValue[]): Promise<RunResult>
  /** Several statements without parameters (schema scripts). */
  exec(script: string): Promise<void>
  /** Runs fn in one write transaction: all of it commits, or none of it (fn's error is rethrown). */
  transaction<T>(fn: () => Promise<T>): Promise<T>
  close(): Promise<void>
}

type OpenTransaction = { readonly done: Promise<void> }

/** SQLite through bun:sqlite: statements run at once (the promise is already settled) unless a transaction of another context is open. */
export function createSqliteEngine(db: Database): SqlEngine & { readonly db: Database } {
  const statements = new Map<string, Statement>()
  const context = new AsyncLocalStorage<OpenTransaction>()
  let open: OpenTransaction | null = null

  const statement = (sql: string): Statement => {
    let found = statements.get(sql)
    if (found === undefined) {
      found = db.query(sql)
      statements.set(sql, found)
    }
    return found
  }
  /** Resolves once no other context's transaction is open; null when the call may run now. */
  const mustWait = (): Promise<void> | null => (open === null || context.getStore() === open ? null : waitForNone())
  const waitForNone = async (): Promise<void> => {
    while (open !== null && context.getStore() !== open) await open.done
  }

  const engine = {
    dialect: 'sqlite' as const,
    db,
    get<Row>(sql: string, ...params: SqlValue[]): Promise<Row | null> {
      const wait = mustWait()
      if (wait !== null) return wait.then(() => engine.get<Row>(sql, ...params))
      try {
        return Promise.resolve((statement(sql).get(...(params as never[])) as Row | undefined) ?? null)
      } catch (error) {
        return Promise.reject(error)
      }
    },
    all<Row>(sql: string, ...params: SqlValue[]): Promise<Row[]> {
      const wait = mustWait()
      if (wait !== null) return wait.then(() => engine.all<Row>(sql, ...params))
      try {
        return Promise.resolve(statement(sql).all(...(params as never[])) as Row[])
      } catch (error) {
        return Promise.reject(error)
      }
    },
    run(sql: string, ...params: SqlValue[]): Promise<RunResult> {
      const wait = mustWait()
      if (wait !== null) return wait.then(() => engine.run(sql, ...params))
      try {
        return Promise.resolve({ changes: statement(sql).run(...(params as never[])).changes })
      } catch (error) {
        return Promise.reject(error)
      }
    },
    async exec(script: string): Promise<void> {
      await mustWait()
      db.run(script)
    },
    async transaction<T>(fn: () => Promise<T>): Promise<T> {
      if (open !== null && context.getStore() === open) return fn()
      // note: checked again after every wait, in the same turn as taking it, as several wait for one.
      while (open !== null) await open.done
      let finish!: () => void
      const mine: OpenTransaction = { done: new Promise<void>((resolve) => { finish = resolve }) }
      open = mine
      try {
        db.run('BEGIN IMMEDIATE')
        let result: T
        try {
          result = await context.run(mine, fn)
        } catch (error) {
          db.run('ROLLBACK')
          throw error
        }
        try {
          db.run('COMMIT')
        } catch (error) {
          if (db.inTransaction) db.run('ROLLBACK')
          throw error
        }
        return result
      } finally {
        open = null
        finish()
      }
    },
    async close(): Promise<void> {
      await waitForNone()
      for (const found of statements.values()) found.finalize()
      statements.clear()
      db.close()
    },
  }
  return engine
}
