/**
 * What the server and the commands that copy a store to or from PostgreSQL (migrate-db, backup,
 * restore) share: their small pool, and PostgreSQL's failures as sentences that name the database
 * without its password (the engine's errors carry no URL and no values).
 */
import { withoutPassword, type PostgresConfig } from '../config/database-variables.ts'
import { DatabaseStatementError, DatabaseUnavailableError } from '../db/database-errors.ts'

/** A small pool for one copy: a few connections, none kept after it. */
export const COPY_POOL: PostgresConfig['pool'] = { maxConnections: 2, idleTimeoutSeconds: 30, connectionTimeoutSeconds: 10, maxLifetimeSeconds: 0 }

/** A URL for a message: without its password, and cut short so a huge one is not echoed whole. */
export function showUrl(url: string): string {
  const shown = withoutPassword(url)
  return shown.length > 200 ? `${shown.slice(0, 200)}…` : shown
}

/** What went wrong with PostgreSQL at `shown` (a URL without its password), as a sentence; null for other errors. */
export function describePostgresFailure(error: unknown, shown: string): string | null {
  if (error instanceof DatabaseUnavailableError) return `PostgreSQL at ${shown} cannot be reached (${error.code}): check the host, port and that the server runs.`
  if (error instanceof DatabaseStatementError) return `PostgreSQL at ${shown} refused: ${error.message}`
  return null
}

/** PostgreSQL failed the server's start (unreachable, or it refused the schema); the message names it without its password. */
export class PostgresStartError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'PostgresStartError'
  }
}
