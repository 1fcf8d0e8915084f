/**
 * Erasure from SQLite's WAL after a deletion. `secure_delete` zeroes the pages a deleted row held,
 * but the WAL keeps the older copies of those pages (the row's sealed bytes, a wrapped data key)
 * until a checkpoint copies the WAL back and the WAL file is cut to nothing: `PRAGMA
 * wal_checkpoint(TRUNCATE)`, which answers one row (busy, log, checkpointed).
 *
 * SQLite takes the checkpoint lock without waiting, whatever busy_timeout says: a TRUNCATE asked
 * while another connection checkpoints (the WAL checkpointer's worker, wal-checkpointer.ts) answers
 * `busy = 1` at once and leaves the WAL as it is. So the checkpoint is asked again until it answers
 * `busy = 0, log = 0` (the WAL emptied and truncated), within ERASE_WAIT_MS; past that the deletion
 * stays committed and WalNotErasedError says the older copies may remain. A master key rotation's
 * FULL checkpoint (master-key-rotation.ts) is asked again the same way (checkpointWal).
 *
 * Threat: a deleted user's or file's ciphertext (and the user's wrapped data key) left readable in
 * the -wal file after the deletion was answered. Nothing here logs or names what was deleted.
 */
import type { SqlEngine } from './engine.ts'

// note: asking again rather than having the worker stand aside: the worker's PASSIVE checkpoint holds
// the lock for one copy of at most the backstop's frames (a few ms at the usual 1,000 frames), the
// repository does not know the checkpointer (the engine is all it is given, as on PostgreSQL), and a
// lock held by anything else (another process's checkpoint, a reader blocking the truncation) is
// waited out the same way. The bound is the checkpointer's own stop wait.
export const ERASE_WAIT_MS = 10_000
const ASK_AGAIN_MS = 5

/** The deletion committed, but older copies of its pages could not be erased from the WAL within the bound. */
export class WalNotErasedError extends Error {
  constructor(busy: number, log: number) {
    super(`the deletion committed, but the WAL could not be checkpointed and truncated within ${ERASE_WAIT_MS / 1000} s (SQLite answered busy ${busy}, log ${log}): older copies of the deleted pages may remain in the -wal file until its next truncation`)
    this.name = 'WalNotErasedError'
  }
}

type CheckpointAnswer = { busy: number; log: number; checkpointed: number }

/**
 * Asks `PRAGMA wal_checkpoint(mode)` until it answers not busy with the whole WAL copied back (and,
 * for TRUNCATE, the WAL emptied: `log = 0`), within `waitMs`; false when it did not. Also used by a
 * master key rotation (FULL: the rotation in the database file before the old key file is retired).
 */
export async function checkpointWal(sql: SqlEngine, mode: 'FULL' | 'TRUNCATE', waitMs = ERASE_WAIT_MS): Promise<CheckpointAnswer & { done: boolean }> {
  const deadline = performance.now() + waitMs
  for (;;) {
    const answer = (await sql.get<CheckpointAnswer>(`PRAGMA wal_checkpoint(${mode})`))!
    // note: `busy = 0, log = -1` is a database not in WAL mode (an in-memory store): no WAL to copy or erase.
    const done = answer.busy === 0 && (answer.log === -1 || (mode === 'TRUNCATE' ? answer.log === 0 : answer.checkpointed === answer.log))
    if (done || performance.now() >= deadline) return { ...answer, done }
    await Bun.sleep(ASK_AGAIN_MS)
  }
}

/**
 * Erases the older copies of deleted pages from the WAL (SQLite, outside a transaction: inside one,
 * the caller's commit is still to come and the caller erases after it). Nothing to do on PostgreSQL.
 */
export async function eraseDeletedPagesFromWal(sql: SqlEngine, waitMs = ERASE_WAIT_MS): Promise<void> {
  if (sql.dialect !== 'sqlite' || sql.inTransaction()) return
  const answer = await checkpointWal(sql, 'TRUNCATE', waitMs)
  if (!answer.done) throw new WalNotErasedError(answer.busy, answer.log)
}
