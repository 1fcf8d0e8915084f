/**
 * Takes the store's WAL checkpoints off the writing connection. SQLite's auto-checkpoint runs on the
 * connection whose commit pushed the WAL past 1,000 frames: that commit then copies the WAL into the
 * database and fsyncs both files before it returns (half the one-chat insert row's wall time on a
 * slow disk, docs/performance.md). Here the writer gets `wal_autocheckpoint = BACKSTOP_FRAMES` and a
 * worker (wal-checkpoint-worker.ts) with a connection of its own runs a PASSIVE checkpoint whenever
 * more than `thresholdFrames` (1,000, SQLite's default) wait; the writer tells it of each commit
 * through a shared word (`committed`, an atomic add and notify).
 *
 * What it keeps, and why:
 * - Durability: unchanged. `synchronous = NORMAL` fsyncs the WAL only at a checkpoint; a checkpoint
 *   still starts once about 1,000 frames wait (the worker looks at most 2 ms after a commit), and its
 *   fsync of the WAL covers every frame written before it, so a power cut risks the same stretch of
 *   commits as before. A killed process loses nothing committed (the WAL is in the file; a
 *   checkpoint cut short is taken again from the WAL at the next open).
 * - A checkpointer that falls behind, or a writer that never pauses: a PASSIVE checkpoint copies what
 *   was committed when it started, and SQLite starts the WAL over only after a checkpoint that copied
 *   all of it, so under sustained appends the WAL grows. The writer's own auto-checkpoint at
 *   BACKSTOP_FRAMES bounds it: past it the worker leaves the checkpoint to the writer (whose commit
 *   then copies the frames since the worker's last one and the WAL starts over), unless the writer
 *   has stopped committing. The bound is BACKSTOP_FRAMES plus what is committed during one of the
 *   worker's checkpoints (measured 10,500 frames at most, 86 MB, over 10,000 one-chat appends).
 * - A worker that dies or cannot start: the writer's auto-checkpoint goes back to 1,000 frames, as if
 *   there were no worker, and `onFailure` says so once.
 * - Close: stop() waits for the worker to finish a checkpoint under way and close its connection,
 *   then the writer checkpoints with TRUNCATE and closes (closeDatabase) as before, the last
 *   connection, so the -wal and -shm files go. Backups (VACUUM INTO) and key rotations read and write
 *   through the writer's connection (a committed state, wherever its pages are); a rotation's FULL
 *   checkpoint waits out one of the worker's under busy_timeout. The data-dir lock is the process's,
 *   whichever thread checkpoints.
 */
import type { Database } from 'bun:sqlite'
import type { CheckpointWorkerStart } from './wal-checkpoint-worker.ts'

/** SQLite's default auto-checkpoint threshold, kept: the stretch of commits a power cut may take. */
export const CHECKPOINT_FRAMES = 1000
// note: 8,000 frames of 8 KB = 64 MB of WAL at most before the writer checkpoints itself; under
// appends that never pause, one checkpoint in eight falls on the writer rather than every one.
export const BACKSTOP_FRAMES = 8000
// note: stop() blocks the thread for at most a checkpoint under way (a few ms; its fsyncs) and this bound.
const STOP_WAIT_MS = 10_000

// note: in the compiled binary every module shares the bundle's URL (file:///$bunfs/root/enclave) and
// the worker, an entry point of its own, sits at its path under src/ (scripts/compile-binary.ts).
const workerPath = import.meta.url.includes('/$bunfs/')
  ? new URL('./db/wal-checkpoint-worker.ts', import.meta.url).href
  : new URL('./wal-checkpoint-worker.ts', import.meta.url).href

export type WalCheckpointer = {
  /** Called after each commit of the writer: wakes the worker if it sleeps. */
  committed(): void
  /**
   * Stops the worker and waits (blocking, so a close that is not awaited still ends at once) until
   * it finished a checkpoint under way and closed its connection; the caller then checkpoints and
   * closes the writer, the last connection, so SQLite removes the -wal and -shm files as before.
   */
  stop(): { checkpoints: number }
  /** False once the worker has died (the writer checkpoints itself again). */
  readonly running: boolean
}

export type WalCheckpointerOptions = {
  /** Frames waiting that start a checkpoint (CHECKPOINT_FRAMES); tests set fewer. */
  thresholdFrames?: number
  /** The writer's own auto-checkpoint while the worker runs (BACKSTOP_FRAMES). */
  backstopFrames?: number
  /** Told once if the worker dies or cannot start (the writer then checkpoints itself). */
  onFailure?: (reason: string) => void
}

/** Starts the checkpointer of the WAL database `db` at `path` (a file, not ':memory:'). */
export function startWalCheckpointer(db: Database, path: string, options: WalCheckpointerOptions = {}): WalCheckpointer {
  const { thresholdFrames = CHECKPOINT_FRAMES, backstopFrames = BACKSTOP_FRAMES, onFailure } = options
  const words = new SharedArrayBuffer(16)
  const shared = new Int32Array(words)
  let running = true
  db.run(`PRAGMA wal_autocheckpoint = ${backstopFrames}`)
  const worker = new Worker(workerPath, { smol: true })
  let stopping = false
  const fallBack = (event?: Event): void => {
    if (!running) return
    running = false
    if (!stopping) onFailure?.(event instanceof ErrorEvent ? event.message : 'the worker ended')
    try {
      db.run(`PRAGMA wal_autocheckpoint = ${thresholdFrames}`)
    } catch {
      // note: the writer is already closed.
    }
  }
  worker.onerror = fallBack
  worker.addEventListener('close', fallBack)
  worker.postMessage({ path, words, thresholdFrames, backstopFrames } satisfies CheckpointWorkerStart)
  // note: the worker must not keep the process alive on its own.
  ;(worker as unknown as { unref(): void }).unref()
  return {
    committed(): void {
      Atomics.add(shared, 0, 1)
      Atomics.notify(shared, 0)
    },
    stop() {
      stopping = true
      Atomics.store(shared, 1, 1)
      Atomics.add(shared, 0, 1)
      Atomics.notify(shared, 0)
      Atomics.notify(shared, 2)
      if (running) Atomics.wait(shared, 3, 0, STOP_WAIT_MS)
      const closedWith = Atomics.load(shared, 3)
      running = false
      worker.terminate()
      return { checkpoints: Math.max(0, closedWith - 1) }
    },
    get running() {
      return running
    },
  }
}
