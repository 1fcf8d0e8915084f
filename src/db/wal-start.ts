/**
 * Starts the SQLite store's write-ahead log ahead of the first user's write. The first frame a
 * connection writes into an empty WAL (after a start: a clean stop checkpoints it to nothing) comes
 * with an fsync of the WAL's header, which SQLite makes whatever `synchronous` says (NORMAL here),
 * so that write waits for the disk: the first turn of a user who reconnected after a restart did
 * (its question's commit took 0.7-89 ms against ~0.05 ms for the next, on a disk shared with other
 * work). `startWal` writes that frame once, in the background after the listen: it sets
 * `user_version` to the value it holds, in one write transaction, which changes nothing the
 * store reads. PostgreSQL: nothing to do.
 * Format: SQLite's `PRAGMA user_version` (the schema's version, migrate.ts), read and written back.
 * Threat: none; no row is read or written, and the version is the one the store already had.
 */
import type { SqlEngine } from './engine.ts'

/** Writes the WAL's first frame now (SQLite), so the first user's write does not wait for its header's fsync. */
export async function startWal(sql: Pick<SqlEngine, 'dialect' | 'get' | 'run' | 'transaction'>): Promise<void> {
  if (sql.dialect !== 'sqlite') return
  await sql.transaction(async () => {
    const row = await sql.get<{ user_version: number }>('PRAGMA user_version')
    const version = Number(row?.user_version)
    // note: written back as read; a value that is not a whole number is left alone (nothing is written).
    if (Number.isSafeInteger(version)) await sql.run(`PRAGMA user_version = ${version}`)
  })
}
