/**
 * The one contract every repository talks to: SQL text with `?` placeholders, values in, plain rows
 * out, every call a Promise. Two engines implement it: SQLite in DATA_DIR (the default, sqlite-engine.ts,
 * with group commit) and PostgreSQL through Bun.SQL (postgres-engine.ts). Repositories never see which one runs.
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
  /** The transaction this async context runs in (the same object for each call made in it), or null. */
  currentTransaction(): SqlTransaction | null
  /** The texts of the statements this engine holds prepared (SQLite); none on PostgreSQL, whose server prepares per connection. */
  statementTexts(): string[]
  /**
   * Prepares these statements ahead of their first run: nothing is run, read or written. A text
   * that does not prepare is left to its first run, which fails as it would have. PostgreSQL: nothing to do.
   */
  prepare(texts: Iterable<string>): void
  close(): Promise<void>
}

/** An open transaction, as a caller keeping what it read in memory needs to know it. */
export type SqlTransaction = {
  /**
   * Whether its reads see every commit made before them (and nobody else's commit while it runs):
   * true on SQLite, where it holds the one write lock from its start; false on PostgreSQL, whose
   * snapshot may be older than another transaction's commit. Writes not committed yet that it can
   * see (its own, or its batch's on SQLite) are the caller's to track, through `settled`.
   */
  readonly seesEveryCommit: boolean
  /** Settles (never rejects) once the transaction has committed or rolled back. */
  readonly settled: Promise<void>
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
