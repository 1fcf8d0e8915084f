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
 * Group commit (SQLite): a `run` made outside any transaction, while none is open, joins a batch:
 * the first opens a write transaction, each statement runs in it at once, and the batch commits
 * on the next turn of the event loop (setImmediate: well within a millisecond unless the loop is
 * busy), so concurrent writes share one commit instead of paying one each. Each write's promise
 * settles only after that commit. A statement that fails rejects its own promise only (SQLite
 * undoes the failed statement alone; should it have rolled the whole transaction back, the batch's
 * earlier statements are run again in a new one); a failed COMMIT rejects every write of the batch.
 * Reads and `exec` from outside, and `transaction`, wait for an open batch to commit, as they wait
 * for another context's transaction, so nothing outside sees a write before it is committed; a
 * transaction that waits for a batch goes next, before any batch of writes made meanwhile.
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
  /**
   * Whether this async context runs inside a transaction: a write made now commits or rolls back
   * with it, so what a caller keeps in memory of that write waits for, or forgets, the outcome.
   */
  inTransaction(): boolean
  /**
   * Runs fn once the transaction this async context runs in has committed, or at once outside one
   * (a write awaited there has committed); never when it rolls back. For what tells others of a
   * write (another instance must not read the rows before they hold it). fn must not throw.
   */
  afterCommit(fn: () => void): void
  close(): Promise<void>
}

type OpenTransaction = { readonly done: Promise<void>; readonly committed: (() => void)[] }

/** A write waiting for its batch's commit. */
type BatchedWrite = {
  readonly sql: string
  readonly params: SqlValue[]
  changes: number
  readonly resolve: (result: RunResult) => void
  readonly reject: (error: unknown) => void
}

/** The open group-commit transaction: its writes, and a promise that settles (never rejects) once it has ended. */
type Batch = { readonly writes: BatchedWrite[]; readonly done: Promise<void>; readonly end: () => void }

/** SQLite through bun:sqlite: statements run at once unless a transaction of another context (or a batch, for reads) is open; a write outside a transaction settles at its batch's commit. */
export function createSqliteEngine(db: Database): SqlEngine & { readonly db: Database } {
  const statements = new Map<string, Statement>()
  const context = new AsyncLocalStorage<OpenTransaction>()
  let open: OpenTransaction | null = null
  let batch: Batch | null = null
  /** Set while a transaction waits for a batch to end: writes from outside queue behind that transaction rather than open the next batch. */
  let claim: Promise<void> | null = null

  const statement = (sql: string): Statement => {
    let found = statements.get(sql)
    if (found === undefined) {
      found = db.query(sql)
      statements.set(sql, found)
    }
    return found
  }
  /** Resolves once no other context's transaction and no batch is open; null when the call may run now. */
  const mustWait = (): Promise<void> | null =>
    (open === null ? batch === null : context.getStore() === open) ? null : waitForNone()
  const waitForNone = async (): Promise<void> => {
    for (;;) {
      if (batch !== null) await batch.done
      else if (open !== null && context.getStore() !== open) await open.done
      else return
    }
  }

  /** Runs a write in the batch (opening one if none is), its promise settled at the batch's commit. */
  const runBatched = (sql: string, params: SqlValue[]): Promise<RunResult> => {
    let current = batch
    if (current === null) {
      try {
        statement('BEGIN IMMEDIATE').run()
      } catch (error) {
        return Promise.reject(error)
      }
      let end!: () => void
      current = batch = { writes: [], done: new Promise<void>((resolve) => { end = resolve }), end }
      setImmediate(commitBatch, current)
    }
    try {
      const changes = statement(sql).run(...(params as never[])).changes
      return new Promise<RunResult>((resolve, reject) => { current.writes.push({ sql, params, changes, resolve, reject }) })
    } catch (error) {
      if (!db.inTransaction) replayBatch(current)
      return Promise.reject(error)
    }
  }
  /** After a failed statement rolled the whole batch back: opens it again and runs its writes again; a write failing now is rejected. */
  const replayBatch = (current: Batch): void => {
    const writes = current.writes.splice(0)
    for (let i = 0; i < writes.length; i++) {
      const write = writes[i]!
      try {
        if (!db.inTransaction) statement('BEGIN IMMEDIATE').run()
        write.changes = statement(write.sql).run(...(write.params as never[])).changes
        current.writes.push(write)
      } catch (error) {
        write.reject(error)
        if (!db.inTransaction) {
          for (const rest of writes.slice(i + 1)) rest.reject(error)
          failBatch(current, error)
          return
        }
      }
    }
    try {
      if (!db.inTransaction) statement('BEGIN IMMEDIATE').run()
    } catch (error) {
      failBatch(current, error)
    }
  }
  /** Rejects every write of a batch that can no longer commit, and ends it. */
  const failBatch = (current: Batch, error: unknown): void => {
    if (db.inTransaction) db.run('ROLLBACK')
    for (const write of current.writes) write.reject(error)
    current.writes.length = 0
    if (batch === current) batch = null
    current.end()
  }
  const commitBatch = (current: Batch): void => {
    if (batch !== current) return
    try {
      statement('COMMIT').run()
    } catch (error) {
      failBatch(current, error)
      return
    }
    batch = null
    for (const write of current.writes) write.resolve({ changes: write.changes })
    current.end()
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
      if (open === null) return claim === null ? runBatched(sql, params) : claim.then(() => engine.run(sql, ...params))
      if (context.getStore() !== open) return waitForNone().then(() => engine.run(sql, ...params))
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
      // note: one that finds a batch open claims the next turn, so writes that keep coming cannot hold it off.
      const claimed = { release: null as (() => void) | null }
      if (batch !== null && claim === null) claim = new Promise<void>((resolve) => { claimed.release = resolve })
      try {
        // note: checked again after every wait, in the same turn as taking it, as several wait for one.
        while (open !== null || batch !== null) await (batch ?? open)!.done
        let finish!: () => void
        const mine: OpenTransaction = { done: new Promise<void>((resolve) => { finish = resolve }), committed: [] }
        open = mine
        let hasCommitted = false
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
          hasCommitted = true
          return result
        } finally {
          open = null
          finish()
          if (hasCommitted) runCommitted(mine.committed)
        }
      } finally {
        if (claimed.release !== null) {
          claim = null
          claimed.release()
        }
      }
    },
    inTransaction(): boolean {
      return open !== null && context.getStore() === open
    },
    afterCommit(fn: () => void): void {
      if (open !== null && context.getStore() === open) open.committed.push(fn)
      else fn()
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

/** Runs what waited for a commit; one that throws does not keep the others from running, nor fail the committed write. */
export function runCommitted(waiting: readonly (() => void)[]): void {
  for (const fn of waiting) {
    try {
      fn()
    } catch {
      // note: the write has committed; a listener's failure must not report it as failed.
    }
  }
}
