import { Database } from 'bun:sqlite'

// note: 8 KiB pages hold seven 1 KB encrypted messages with little slack; 4 KiB pages hold three
// and waste a quarter of each page. page_size only takes effect before the first table exists.
const PAGE_SIZE_BYTES = 8192

// note: SQLite reuses its WAL file rather than shrinking it. A checkpoint starts at 1,000 frames (about
// 8 MB, and the file stays there), but a write burst that outruns the checkpointer can grow it to its
// 8,000-frame backstop (wal-checkpointer.ts, 64 MB); with this limit the first commit after the WAL
// starts over cuts the file back, so the disk holds about twice the usual WAL, not the burst's. The
// checkpointer lifts the limit while its worker runs (cutting and regrowing the file at every start-over
// of a burst cost the writer 15-20% of its CPU) and puts it back once the worker has ended.
export const WAL_SIZE_LIMIT_BYTES = 16 * 1024 * 1024

/**
 * Opens (or creates) a SQLite database with Enclave's settings: WAL, foreign keys, a busy timeout,
 * secure_delete so deleted rows are overwritten rather than left in free pages, and a bound on the
 * WAL file left on disk after a burst.
 * Use ':memory:' for a private in-memory database.
 */
export function openDatabase(path: string): Database {
  const db = new Database(path, { create: true, strict: true })
  db.run(`PRAGMA page_size = ${PAGE_SIZE_BYTES}`)
  db.run('PRAGMA journal_mode = WAL')
  db.run('PRAGMA synchronous = NORMAL')
  db.run('PRAGMA foreign_keys = ON')
  db.run('PRAGMA busy_timeout = 5000')
  db.run('PRAGMA secure_delete = ON')
  db.run(`PRAGMA journal_size_limit = ${WAL_SIZE_LIMIT_BYTES}`)
  return db
}

// note: a TRUNCATE that meets another connection's checkpoint answers busy at once (wal-erasure.ts);
// at close the checkpointer's worker has normally closed its connection already (its stop() waits),
// so this bound (blocking, as a close is) matters only when that wait ran out.
const CLOSE_CHECKPOINT_TRIES = 200
const CLOSE_CHECKPOINT_GAP_MS = 5

/** Writes the WAL back into the database file (asked again while another checkpoint holds it, at most about 1 s) and closes it. */
export function closeDatabase(db: Database): void {
  for (let tries = 1; db.query<{ busy: number }, []>('PRAGMA wal_checkpoint(TRUNCATE)').get()!.busy !== 0 && tries < CLOSE_CHECKPOINT_TRIES; tries++) {
    Bun.sleepSync(CLOSE_CHECKPOINT_GAP_MS)
  }
  db.close()
}
