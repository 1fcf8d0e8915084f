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
 *   worker's checkpoints (the WAL file reached 67.6-68.3 MB over 10,000 one-chat appends, against
 *   8.3 MB before).
 * - A worker that dies or cannot start: the writer's auto-checkpoint goes back to 1,000 frames, as if
 *   there were no worker, and `onFailure` says so once.
 * - Memory: the worker (a JavaScript thread, about 5 MB of RSS measured in the compiled server) starts
 *   only once the WAL holds half the threshold, and ends itself after IDLE_MS without a commit; an
 *   idle server has none. Until it is ready, and after it ends, the writer checkpoints itself at
 *   1,000 frames as before.
 * - Close: stop() waits for the worker to finish a checkpoint under way and close its connection,
 *   then the writer checkpoints with TRUNCATE and closes (closeDatabase) as before, the last
 *   connection, so the -wal and -shm files go. Backups (VACUUM INTO) and key rotations read and write
 *   through the writer's connection (a committed state, wherever its pages are). A checkpoint asked on
 *   the writer while the worker's runs answers busy at once (SQLite does not wait on the checkpoint
 *   lock, whatever busy_timeout says): a rotation's FULL one and a deletion's TRUNCATE one (the
 *   erasure of the deleted pages from the WAL) ask again until done (wal-erasure.ts). The data-dir
 *   lock is the process's, whichever thread checkpoints.
 */
import type { Database } from 'bun:sqlite'
import { closeSync, openSync } from 'node:fs'
import type { CheckpointWorkerStart } from './wal-checkpoint-worker.ts'
import { walFramesPending, walIndexBuffer } from './wal-index.ts'

/** SQLite's default auto-checkpoint threshold, kept: the stretch of commits a power cut may take. */
export const CHECKPOINT_FRAMES = 1000
// note: 8,000 frames of 8 KB = 64 MB of WAL before the writer checkpoints itself; under appends
// that never pause, one checkpoint in eight falls on the writer rather than every one.
export const BACKSTOP_FRAMES = 8000
// note: stop() blocks the thread for at most a checkpoint under way (a few ms; its fsyncs) and this bound.
const STOP_WAIT_MS = 10_000
/** Without a worker, the writer looks at the wal-index every this many commits (a 100-byte read). */
const LOOK_EVERY_COMMITS = 8
/** The worker ends itself after this long without a commit (its memory goes with it). */
export const IDLE_MS = 10_000
// note: the shared words, as the worker reads them (wal-checkpoint-worker.ts).
const COMMITS = 0
const STOP = 1
const GAP = 2
const CLOSED = 3
const READY = 4

// note: in the compiled binary every module shares the bundle's URL (file:///$bunfs/root/enclave) and
// the worker, an entry point of its own, sits at its path under src/ (scripts/compile-binary.ts).
const workerPath = import.meta.url.includes('/$bunfs/')
  ? new URL('./db/wal-checkpoint-worker.ts', import.meta.url).href
  : new URL('./wal-checkpoint-worker.ts', import.meta.url).href

export type WalCheckpointer = {
  /** Called after each commit of the writer: wakes the worker, or now and then looks whether one is needed. */
  committed(): void
  /**
   * Stops the worker and waits (blocking, so a close that is not awaited still ends at once) until
   * it finished a checkpoint under way and closed its connection; the caller then checkpoints and
   * closes the writer, the last connection, so SQLite removes the -wal and -shm files as before.
   * Answers the checkpoints the workers took.
   */
  stop(): { checkpoints: number }
  /** True while a worker is started (or starting). */
  readonly working: boolean
  /** True once a worker died (the writer checkpoints itself from then on). */
  readonly failed: boolean
}

export type WalCheckpointerOptions = {
  /** Frames waiting that start a checkpoint (CHECKPOINT_FRAMES); tests set fewer. */
  thresholdFrames?: number
  /** The writer's own auto-checkpoint while the worker runs (BACKSTOP_FRAMES). */
  backstopFrames?: number
  /** How long the worker waits for a commit before it ends itself (IDLE_MS). */
  idleMs?: number
  /** Told once if a worker dies or cannot start (the writer then checkpoints itself). */
  onFailure?: (reason: string) => void
  /** The worker's module; tests give one that does not exist. */
  workerUrl?: string
}

type Running = { worker: Worker; shared: Int32Array; raised: boolean }

/** The checkpointer of the WAL database `db` at `path` (a file, not ':memory:'); its worker starts when first needed. */
export function startWalCheckpointer(db: Database, path: string, options: WalCheckpointerOptions = {}): WalCheckpointer {
  const { thresholdFrames = CHECKPOINT_FRAMES, backstopFrames = BACKSTOP_FRAMES, idleMs = IDLE_MS, onFailure, workerUrl = workerPath } = options
  let current: Running | null = null
  let failed = false
  let stopping = false
  let checkpoints = 0
  let sinceLook = 0
  let shm: number | null = null
  const buffer = walIndexBuffer()
  const autoCheckpoint = (frames: number): void => {
    try {
      db.run(`PRAGMA wal_autocheckpoint = ${frames}`)
    } catch {
      // note: the writer is already closed.
    }
  }
  db.run(`PRAGMA wal_autocheckpoint = ${thresholdFrames}`)
  /** The WAL file's size limit the writer was opened with (open-database.ts), put back whenever no worker runs. */
  const sizeLimit = db.query<{ journal_size_limit: number }, []>('PRAGMA journal_size_limit').get()!.journal_size_limit
  // note: while a worker runs, the writer's WAL file is not cut back when the WAL starts over. Under
  // writes that never pause the WAL grows to the backstop, starts over, and the limit cut the file from
  // ~64 MB to 16 MiB each time, so the next 48 MB of frames were written into newly allocated blocks,
  // and the cut freed them again: 11-12 µs of the writer's CPU an append one at a time into one chat
  // (73 against 62 µs of its thread over 10,000 appends), 3.5 µs under load (docs/performance.md, "An
  // append's allocations"). The file is no larger at its peak (the backstop bounds the WAL); it is cut
  // back at the first WAL start-over after the worker has ended (IDLE_MS without a commit).
  const setSizeLimit = (bytes: number): void => {
    try {
      db.run(`PRAGMA journal_size_limit = ${bytes}`)
    } catch {
      // note: the writer is already closed.
    }
  }

  /** Lets go of a worker that ended (idle, stopped or dead): the writer checkpoints itself again. */
  const retire = (running: Running): void => {
    if (current !== running) return
    current = null
    autoCheckpoint(thresholdFrames)
    setSizeLimit(sizeLimit)
    checkpoints += Math.max(0, Atomics.load(running.shared, CLOSED) - 1)
    running.worker.terminate()
  }
  const launch = (): Running => {
    const shared = new Int32Array(new SharedArrayBuffer(4 * 5))
    const worker = new Worker(workerUrl, { smol: true })
    const running: Running = { worker, shared, raised: false }
    const died = (event?: Event): void => {
      if (current !== running) return
      retire(running)
      if (stopping || Atomics.load(shared, CLOSED) !== 0) return
      failed = true
      onFailure?.(event instanceof ErrorEvent ? event.message : 'the worker ended')
    }
    worker.onerror = (event) => {
      // note: an error ends the thread's work even when the worker itself stays: never started again.
      if (current === running && !stopping) {
        failed = true
        retire(running)
        onFailure?.(event.message)
      }
    }
    worker.addEventListener('close', died)
    worker.postMessage({ path, words: shared.buffer as SharedArrayBuffer, thresholdFrames, backstopFrames, idleMs } satisfies CheckpointWorkerStart)
    // note: the worker must not keep the process alive on its own.
    ;(worker as unknown as { unref(): void }).unref()
    return running
  }

  return {
    committed(): void {
      const running = current
      if (running !== null) {
        if (Atomics.load(running.shared, CLOSED) !== 0) {
          retire(running)
          return
        }
        if (!running.raised && Atomics.load(running.shared, READY) !== 0) {
          running.raised = true
          autoCheckpoint(backstopFrames)
          setSizeLimit(-1)
        }
        Atomics.add(running.shared, COMMITS, 1)
        Atomics.notify(running.shared, COMMITS)
        return
      }
      if (failed || stopping || ++sinceLook < LOOK_EVERY_COMMITS) return
      sinceLook = 0
      try {
        shm ??= openSync(`${path}-shm`, 'r')
        const wal = walFramesPending(shm, buffer)
        if (wal !== null && wal.pending >= thresholdFrames / 2) current = launch()
      } catch (error) {
        failed = true
        onFailure?.(error instanceof Error ? error.message : String(error))
      }
    },
    stop() {
      stopping = true
      const running = current
      if (running !== null) {
        Atomics.store(running.shared, STOP, 1)
        Atomics.add(running.shared, COMMITS, 1)
        Atomics.notify(running.shared, COMMITS)
        Atomics.notify(running.shared, GAP)
        Atomics.wait(running.shared, CLOSED, 0, STOP_WAIT_MS)
        retire(running)
      }
      if (shm !== null) closeSync(shm)
      shm = null
      return { checkpoints }
    },
    get working() {
      return current !== null
    },
    get failed() {
      return failed
    },
  }
}
