/**
 * Empties a store's WAL for a bench figure: `wal_checkpoint(TRUNCATE)` asked again until it reports
 * neither a busy lock nor a frame left. The store's checkpoints run on a worker's connection
 * (src/db/wal-checkpointer.ts); a TRUNCATE asked while the worker holds the checkpoint lock answers
 * busy at once (SQLite does not wait on that lock, whatever busy_timeout says) and leaves the WAL as
 * it is, so a figure read after it would count the WAL too.
 */
import type { Database } from 'bun:sqlite'

/** Resolves once the WAL is empty and its file truncated; throws after about 2 s of busy answers. */
export async function emptyWal(db: Database): Promise<void> {
  for (let attempt = 0; attempt < 400; attempt++) {
    const { busy, log } = db.query('PRAGMA wal_checkpoint(TRUNCATE)').get() as { busy: number; log: number }
    if (busy === 0 && log === 0) return
    await Bun.sleep(5)
  }
  throw new Error('the WAL could not be emptied')
}
