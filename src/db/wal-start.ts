/**
 * Starts the SQLite store's write-ahead log ahead of the first user's write. The first frame a
 * connection writes into an empty WAL (after a start: a clean stop checkpoints it to nothing) comes
 * with an fsync of the WAL's header, and of its directory the first time, which SQLite makes
 * whatever `synchronous` says (NORMAL here), so that write waits for the disk: the first turn of a
 * user who reconnected after a restart did (its question's commit took 0.7-89 ms against ~0.05 ms
 * for the next, on a disk shared with other work).
 *
 * `startEmptyWal` writes that frame before the port opens, when the WAL file is empty (0 bytes, the
 * case after a clean stop), without the two fsyncs: `synchronous = OFF` for that one transaction,
 * then the connection's own level again. What the header's fsync guards against is a WAL started
 * over on top of older frames (SQLite's ticket ff5be73dee); an empty file has none. Durability is
 * what NORMAL gives: a commit is on disk once a checkpoint has synced the WAL (its header and, the
 * first time, its directory with it) before copying it into the database, and nothing is copied
 * before that. A WAL that is not empty (after a crash) is left to `startWal`, which writes its frame
 * in the background after the listen with SQLite's own syncs, as before.
 * Both set `user_version` to the value it holds, in one write transaction, which changes nothing the
 * store reads. PostgreSQL: nothing to do.
 * Format: SQLite's `PRAGMA user_version` (the schema's version, migrate.ts), read and written back.
 * Threat: none; no row is read or written, and the version is the one the store already had.
 */
import type { Database } from 'bun:sqlite'
import { statSync } from 'node:fs'
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

/** The size of the WAL file at `walPath`, or null when it cannot be read. */
function walBytes(walPath: string): number | null {
  try {
    return statSync(walPath).size
  } catch {
    return null
  }
}

/**
 * Writes the first frame of an empty WAL (`walPath`, the database's path and `-wal`) through `db`,
 * synchronously and without its header's fsync; for the start, before anything else uses the
 * connection. True when it wrote it; false when it left everything as it was (a transaction open on
 * `db`, a WAL that is missing or not empty, a version that is not a whole number, or an error).
 */
export function startEmptyWal(db: Pick<Database, 'run' | 'query' | 'inTransaction'>, walPath: string): boolean {
  if (db.inTransaction || walBytes(walPath) !== 0) return false
  const level = Number(db.query<{ synchronous: number }, []>('PRAGMA synchronous').get()?.synchronous)
  const version = Number(db.query<{ user_version: number }, []>('PRAGMA user_version').get()?.user_version)
  if (!Number.isSafeInteger(level) || !Number.isSafeInteger(version)) return false
  // note: SQLite refuses to change the level inside a transaction, so it is set around it.
  db.run('PRAGMA synchronous = OFF')
  try {
    db.run('BEGIN IMMEDIATE')
    // note: looked at again under the write lock: no other connection can add a frame until the commit.
    if (walBytes(walPath) !== 0) {
      db.run('ROLLBACK')
      return false
    }
    db.run(`PRAGMA user_version = ${version}`)
    db.run('COMMIT')
    return true
  } catch {
    if (db.inTransaction) db.run('ROLLBACK')
    return false
  } finally {
    db.run(`PRAGMA synchronous = ${level}`)
  }
}
