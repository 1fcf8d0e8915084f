/**
 * The errors an engine (sqlite-engine.ts, postgres-engine.ts) raises in place of its driver's, so callers
 * can tell an unreachable database (answered 503 and retried later) from a refused statement.
 *
 * Threat: drivers put values in their errors (PostgreSQL's `detail` holds the conflicting key,
 * its data errors quote the input) and a connection error may carry the URL. These classes keep
 * only fixed text and codes; the driver's error is never attached, as callers log errors whole.
 */

/** The database cannot be reached (down, restarting, network lost): nothing was written by the call that got it. */
export class DatabaseUnavailableError extends Error {
  constructor(
    /** The driver's or server's code (ERR_POSTGRES_CONNECTION_REFUSED, 57P01), for the log. */
    readonly code: string,
  ) {
    super(`The database is unavailable (${code}).`)
    this.name = 'DatabaseUnavailableError'
  }
}

/** The database refused a statement; `sqlState` is PostgreSQL's SQLSTATE (23505 for a unique key taken). */
export class DatabaseStatementError extends Error {
  constructor(readonly sqlState: string, message: string) {
    super(message)
    this.name = 'DatabaseStatementError'
  }
}

/** SQLSTATEs of a transaction the database ended because of a concurrent one: running it again may succeed. */
const CONFLICT_STATES = new Set(['40001', '40P01'])

/** True when a transaction failed only because a concurrent transaction conflicted with it. */
export function isTransactionConflict(error: unknown): boolean {
  return error instanceof DatabaseStatementError && CONFLICT_STATES.has(error.sqlState)
}
