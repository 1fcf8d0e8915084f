/**
 * The SQLite engine (DATA_DIR, the default) behind the one contract every repository talks to
 * (engine.ts: SQL with `?` placeholders, every call a Promise, transactions implicit in the async
 * context), through bun:sqlite, with its statements prepared once and kept.
 *
 * Group commit (SQLite): a `run` made outside any transaction, while none is open, joins a batch:
 * the first opens a write transaction, each statement runs in it at once, and the batch commits
 * on the next turn of the event loop (setImmediate: well within a millisecond unless the loop is
 * busy), so concurrent writes share one commit instead of paying one each. Each write's promise
 * settles only after that commit. A statement that fails rejects its own promise only (SQLite
 * undoes the failed statement alone; should it have rolled the whole transaction back, the batch's
 * earlier writes are run again in a new one, and the transactions in it are rejected); a failed
 * COMMIT rejects every write and transaction of the batch.
 *
 * A transaction joins the open batch too, rather than waiting for its commit: it runs straight in
 * the batch's write transaction, with no savepoint, and its promise settles after the batch's
 * commit (one that finds no batch opens one, alone in it while it runs). Transactions still run
 * one at a time (each holds the batch while it runs; writes and reads from outside wait for it).
 * When a transaction ends, the batch commits at once unless another transaction waits for its
 * turn and the batch is less than a millisecond old: then that one joins, and the commit comes
 * when the last of them ends. So a lone transaction commits as it ends, and concurrent ones share
 * one commit. Should a transaction fail (throw, or have a statement roll the whole transaction
 * back) while the batch holds others' work, the batch is rolled back and run again: its writes
 * together, then each of its transactions alone (its own BEGIN to COMMIT) in the order they
 * joined, the failing one last. Every caller gets what running alone gave, and only the attempt
 * that committed runs its afterCommit callbacks; so a transaction's fn may run twice, as it may on
 * PostgreSQL after a conflict (fn keeps its effects in the database, or in afterCommit). Reads and
 * `exec` from outside wait for an open batch to commit, as they wait for another context's
 * transaction, so nothing outside sees a write before it is committed.
 *
 * Threat: none of its own; it carries ciphertext and blind indexes the repositories made. It keeps
 * SQL text and values out of its errors, which callers may log.
 */
import type { Database, Statement } from 'bun:sqlite'
import { AsyncLocalStorage } from 'node:async_hooks'
import { runCommitted, type RunResult, type SqlEngine, type SqlTransaction, type SqlValue } from './engine.ts'

/** A transaction attempt running now: `done` settles when it stops holding the batch (others may go), `settled` after its commit or rollback. */
type OpenTransaction = SqlTransaction & {
  readonly done: Promise<void>
  readonly committed: (() => void)[]
  readonly finish: () => void
  readonly settle: () => void
}

/** A write waiting for its batch's commit. */
type BatchedWrite = {
  readonly kind: 'write'
  readonly sql: string
  readonly params: SqlValue[]
  changes: number
  readonly resolve: (result: RunResult) => void
  readonly reject: (error: unknown) => void
}

/** What a transaction's caller gets once it committed: fn's result, and the attempt whose afterCommit callbacks are to run. */
type Committed = { readonly value: unknown; readonly attempt: OpenTransaction }

/** A transaction that ended well inside the batch, waiting for its commit (or to run again alone, should the batch roll back). */
type JoinedTransaction = {
  readonly kind: 'transaction'
  readonly fn: () => Promise<unknown>
  /** Runs what it is given in the async context the transaction was made in (its caller's). */
  readonly inCaller: InCaller
  readonly attempt: OpenTransaction
  readonly value: unknown
  readonly resolve: (committed: Committed) => void
  readonly reject: (error: unknown) => void
}

/** The open group-commit transaction: its writes and transactions in the order they joined, when it opened, and a promise that settles (never rejects) once it has ended. */
type Batch = {
  readonly members: (BatchedWrite | JoinedTransaction)[]
  readonly openedMs: number
  readonly done: Promise<void>
  readonly end: () => void
}

/** How long a batch may wait for transactions queued behind each other before it commits. */
const BATCH_MAX_MS = 1

export type SqliteEngineOptions = {
  /** How long transactions queued behind each other may keep the batch open (default 1 ms); tests set it longer. */
  batchMaxMs?: number
  /** Called after each COMMIT the engine runs (the WAL checkpointer's wake-up, wal-checkpointer.ts). */
  onCommit?: () => void
}

type InCaller = <R>(run: () => R) => R

/** A new attempt of a transaction (or the engine's own hold while it runs a failed batch again). */
function newAttempt(): OpenTransaction {
  let finish!: () => void
  let settle!: () => void
  const done = new Promise<void>((resolve) => { finish = resolve })
  const settled = new Promise<void>((resolve) => { settle = resolve })
  return { seesEveryCommit: true, done, settled, committed: [], finish, settle }
}

/** SQLite through bun:sqlite: statements run at once unless a transaction of another context (or a batch, for reads) is open; a write or transaction settles at its batch's commit. */
export function createSqliteEngine(db: Database, { batchMaxMs = BATCH_MAX_MS, onCommit }: SqliteEngineOptions = {}): SqlEngine & { readonly db: Database } {
  const statements = new Map<string, Statement>()
  const context = new AsyncLocalStorage<OpenTransaction>()
  let open: OpenTransaction | null = null
  let batch: Batch | null = null
  /**
   * Transactions waiting for the one open to end, first come first served, each woken alone (not
   * all of them at every end); while any waits, the one ending leaves the commit to them.
   */
  const turns: (() => void)[] = []

  const statement = (sql: string): Statement => {
    let found = statements.get(sql)
    if (found === undefined) {
      // note: prepared straight from the database, not through its query cache nor the lazy stand-in (lazy-statements.ts): the engine keeps each statement itself.
      found = db.prepare(sql)
      statements.set(sql, found)
    }
    return found
  }
  /** Resolves once no other context's transaction and no batch is open; null when the call may run now. */
  const mustWait = (): Promise<void> | null =>
    (open === null ? batch === null : context.getStore() === open) ? null : waitForNone()
  const waitForNone = async (): Promise<void> => {
    for (;;) {
      if (open !== null && context.getStore() !== open) await open.done
      else if (open === null && batch !== null) await batch.done
      else return
    }
  }

  /**
   * Opens a batch: BEGIN IMMEDIATE. One opened by a write has its commit set for the next turn of
   * the loop; one opened by a transaction is committed when the last transaction in it ends.
   */
  const openBatch = (byWrite: boolean): Batch => {
    statement('BEGIN IMMEDIATE').run()
    let end!: () => void
    const opened: Batch = { members: [], openedMs: performance.now(), done: new Promise<void>((resolve) => { end = resolve }), end }
    batch = opened
    if (byWrite) setImmediate(commitBatch, opened)
    return opened
  }

  /** Runs a write in the batch (opening one if none is), its promise settled at the batch's commit. */
  const runBatched = (sql: string, params: SqlValue[]): Promise<RunResult> => {
    let current = batch
    if (current === null) {
      try {
        current = openBatch(true)
      } catch (error) {
        return Promise.reject(error)
      }
    }
    try {
      const changes = statement(sql).run(...(params as never[])).changes
      const joined = current
      return new Promise<RunResult>((resolve, reject) => { joined.members.push({ kind: 'write', sql, params, changes, resolve, reject }) })
    } catch (error) {
      if (!db.inTransaction) replayBatch(current, error)
      return Promise.reject(error)
    }
  }
  /**
   * After a failed statement rolled the whole batch back: rejects its transactions (their work is
   * gone), opens it again and runs its writes again; a write failing now is rejected.
   */
  const replayBatch = (current: Batch, cause: unknown): void => {
    const members = current.members.splice(0)
    for (const member of members) if (member.kind === 'transaction') member.reject(cause)
    const writes = members.filter((member): member is BatchedWrite => member.kind === 'write')
    for (let i = 0; i < writes.length; i++) {
      const write = writes[i]!
      try {
        if (!db.inTransaction) statement('BEGIN IMMEDIATE').run()
        write.changes = statement(write.sql).run(...(write.params as never[])).changes
        current.members.push(write)
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
  /** Rejects every write and transaction of a batch that can no longer commit, and ends it. */
  const failBatch = (current: Batch, error: unknown): void => {
    if (db.inTransaction) db.run('ROLLBACK')
    for (const member of current.members.splice(0)) member.reject(error)
    if (batch === current) batch = null
    current.end()
  }
  /** Commits the batch, unless a transaction runs in it now (that one commits it when it ends). */
  const commitBatch = (current: Batch): void => {
    if (batch !== current || open !== null) return
    try {
      statement('COMMIT').run()
    } catch (error) {
      failBatch(current, error)
      return
    }
    onCommit?.()
    batch = null
    for (const member of current.members) {
      if (member.kind === 'write') member.resolve({ changes: member.changes })
      else member.resolve({ value: member.value, attempt: member.attempt })
    }
    current.end()
  }

  /** Stops holding the batch, and commits it unless a transaction waits to join it (and it is young); then wakes the next in line. */
  const release = (attempt: OpenTransaction, current: Batch | null): void => {
    open = null
    attempt.finish()
    if (current !== null && batch === current && (turns.length === 0 || performance.now() - current.openedMs >= batchMaxMs)) commitBatch(current)
    turns.shift()?.()
  }

  type Alone = { ok: true; value: unknown; attempt: OpenTransaction } | { ok: false; error: unknown }
  /** Runs fn in a transaction of its own (BEGIN to COMMIT, nothing else in it), while `hold` keeps everyone else waiting. */
  const runAlone = async (fn: () => Promise<unknown>, inCaller: InCaller, hold: OpenTransaction): Promise<Alone> => {
    const attempt = newAttempt()
    try {
      statement('BEGIN IMMEDIATE').run()
    } catch (error) {
      attempt.settle()
      return { ok: false, error }
    }
    open = attempt
    let value: unknown
    try {
      value = await inCaller(() => context.run(attempt, fn))
      statement('COMMIT').run()
    } catch (error) {
      if (db.inTransaction) db.run('ROLLBACK')
      open = hold
      attempt.finish()
      attempt.settle()
      return { ok: false, error }
    }
    onCommit?.()
    open = hold
    attempt.finish()
    return { ok: true, value, attempt }
  }

  /**
   * A transaction failed in a batch holding others' work (or its statements' failure rolled the
   * whole batch back): rolls the batch back, runs its writes again together, then each of its
   * transactions again alone, in the order they joined, and this one last, alone too. Each caller
   * gets what running alone gave. The first attempts' afterCommit callbacks never run.
   */
  const runBatchAgain = async (current: Batch, failed: OpenTransaction, fn: () => Promise<unknown>, inCaller: InCaller): Promise<Alone> => {
    const hold = newAttempt()
    open = hold
    failed.finish()
    if (db.inTransaction) db.run('ROLLBACK')
    if (batch === current) batch = null
    const members = current.members.splice(0)
    current.end()
    failed.settle()
    for (const member of members) if (member.kind === 'transaction') member.attempt.settle()
    const writes = members.filter((member): member is BatchedWrite => member.kind === 'write')
    if (writes.length > 0) {
      try {
        const again = openBatch(false)
        again.members.push(...writes)
        replayBatch(again, null)
        if (batch === again) {
          // note: commitBatch leaves a batch alone while a transaction holds it: this hold is the engine's own.
          open = null
          commitBatch(again)
          open = hold
        }
      } catch (error) {
        for (const write of writes) write.reject(error)
      }
    }
    for (const member of members) {
      if (member.kind !== 'transaction') continue
      const alone = await runAlone(member.fn, member.inCaller, hold)
      if (alone.ok) member.resolve({ value: alone.value, attempt: alone.attempt })
      else member.reject(alone.error)
    }
    const mine = await runAlone(fn, inCaller, hold)
    release(hold, null)
    hold.settle()
    return mine
  }

  /**
   * Runs fn in the batch (opened if none is), with no savepoint; resolves with its result after the
   * batch's commit. Should fn throw while the batch holds others' work, the batch runs again
   * (runBatchAgain), so fn's failure undoes its own work only.
   */
  const runTransaction = async <T>(fn: () => Promise<T>): Promise<T> => {
    const mine = newAttempt()
    open = mine
    let last = mine
    // note: should fn run again, it runs in its caller's async context, as it would alone: a snapshot of
    // that context, 0.02 µs a transaction against 0.2-0.3 µs for the AsyncResource bound before.
    const inCaller: InCaller = AsyncLocalStorage.snapshot()
    try {
      let current: Batch
      try {
        current = batch ?? openBatch(false)
      } catch (error) {
        release(mine, null)
        throw error
      }
      let value!: T
      let failure: { error: unknown } | null = null
      try {
        value = await context.run(mine, fn)
      } catch (error) {
        failure = { error }
      }
      // note: a statement that rolled the whole transaction back (RAISE(ROLLBACK), a full disk), its error caught by fn, took the batch's other work with it.
      if (failure !== null || (!db.inTransaction && current.members.length > 0)) {
        if (current.members.length === 0) {
          if (db.inTransaction) db.run('ROLLBACK')
          if (batch === current) batch = null
          current.end()
          release(mine, null)
          throw failure!.error
        }
        // note: the batch holds others' work, which a ROLLBACK takes too: rare, and paid here rather than by a savepoint per transaction (15-30% of an append under load).
        const alone = await runBatchAgain(current, mine, fn, inCaller)
        if (!alone.ok) throw alone.error
        last = alone.attempt
        runCommitted(last.committed)
        return alone.value as T
      }
      const outcome = new Promise<Committed>((resolve, reject) => {
        current.members.push({ kind: 'transaction', fn, inCaller, attempt: mine, value, resolve, reject })
      })
      release(mine, current)
      const committed = await outcome
      last = committed.attempt
      runCommitted(last.committed)
      return committed.value as T
    } finally {
      mine.settle()
      last.settle()
    }
  }

  /** Runs fn as a transaction once its turn came (first come first served) and nothing holds the batch. */
  const runInTurn = async <T>(fn: () => Promise<T>): Promise<T> => {
    await new Promise<void>((resolve) => { turns.push(resolve) })
    // note: checked again, in the same turn as taking it: one that came meanwhile may have taken it; then this one waits first in line.
    while (open !== null) await new Promise<void>((resolve) => { turns.unshift(resolve) })
    return runTransaction(fn)
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
      if (open === null) return runBatched(sql, params)
      if (context.getStore() !== open) return open.done.then(() => engine.run(sql, ...params))
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
    transaction<T>(fn: () => Promise<T>): Promise<T> {
      if (open !== null && context.getStore() === open) {
        try {
          return fn()
        } catch (error) {
          return Promise.reject(error)
        }
      }
      // note: not an async function: the promise runTransaction returns is handed back as it is, without another wrapped around it.
      if (open === null) return runTransaction(fn)
      return runInTurn(fn)
    },
    inTransaction(): boolean {
      return open !== null && context.getStore() === open
    },
    afterCommit(fn: () => void): void {
      if (open !== null && context.getStore() === open) open.committed.push(fn)
      else fn()
    },
    currentTransaction(): SqlTransaction | null {
      return open !== null && context.getStore() === open ? open : null
    },
    statementTexts(): string[] {
      return [...statements.keys()]
    },
    prepare(texts: Iterable<string>): void {
      for (const text of texts) {
        if (statements.has(text)) continue
        try {
          // note: as statement() does: compiled now, straight from the database (never the lazy stand-in).
          statements.set(text, db.prepare(text))
        } catch {
          // note: left to its first run, which reports it as before.
        }
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
