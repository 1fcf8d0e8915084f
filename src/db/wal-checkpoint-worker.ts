/**
 * The WAL checkpointer's thread (wal-checkpointer.ts starts it): its own bun:sqlite connection to the
 * store's file, which copies the WAL back into the database (`PRAGMA wal_checkpoint(PASSIVE)`, which
 * never blocks the writer nor waits for it) whenever the frames waiting pass the threshold. It sleeps
 * in Atomics.wait on the shared words: [0] counts the writer's commits, [1] is set to stop, [3] is set
 * once its connection is closed (the parent waits on it, then closes the writer), [4] once it is
 * open. It ends itself after `idleMs` without a commit. After a
 * look it waits at least LOOK_GAP_MS before the next, so a busy writer wakes it a few hundred times a
 * second at most, and an idle one not at all. Compiled into the binary as an entry point
 * (scripts/compile-binary.ts). Threat: none beyond the store's; it reads and writes only that file.
 */
import { Database } from 'bun:sqlite'
import { closeSync, openSync } from 'node:fs'
import { walFramesPending, walIndexBuffer } from './wal-index.ts'

declare const self: Worker

export type CheckpointWorkerStart = { path: string; words: SharedArrayBuffer; thresholdFrames: number; backstopFrames: number; idleMs: number }

// note: 2 ms lets ~80 frames past the threshold at 40,000 frames a second (10,000 one-chat appends).
const LOOK_GAP_MS = 2
const COMMITS = 0
const STOP = 1
const GAP = 2
/** Set (to 1 + the checkpoints taken) once this thread's connection is closed; its parent waits on it. */
const CLOSED = 3
/** Set once the connection is open: the writer then leaves its checkpoints to this thread. */
const READY = 4

self.onmessage = (event: MessageEvent<CheckpointWorkerStart>) => {
  const shared = new Int32Array(event.data.words)
  const taken = { checkpoints: 0 }
  try {
    if (Atomics.load(shared, STOP) === 0) checkpointUntilStopped(event.data, shared, taken)
  } finally {
    // note: also when the file could not be opened, so a parent stopping at once never waits long.
    Atomics.store(shared, CLOSED, 1 + taken.checkpoints)
    Atomics.notify(shared, CLOSED)
    // note: the thread ends here (its memory goes); the parent sees CLOSED set and lets it go.
    process.exit(0)
  }
}

function checkpointUntilStopped({ path, thresholdFrames, backstopFrames, idleMs }: CheckpointWorkerStart, shared: Int32Array, taken: { checkpoints: number }): void {
  const db = new Database(path, { readwrite: true, create: false })
  try {
    // note: the WAL mode and the wal-index live in the file; this read makes sure the -shm is there.
    db.run('PRAGMA busy_timeout = 5000')
    db.query('SELECT count(*) FROM sqlite_schema').get()
    const shm = openSync(`${path}-shm`, 'r')
    const buffer = walIndexBuffer()
    const checkpoint = db.query('PRAGMA wal_checkpoint(PASSIVE)')
    Atomics.store(shared, READY, 1)
    try {
      let lastSeen = -1
      for (;;) {
        const seen = Atomics.load(shared, COMMITS)
        if (Atomics.load(shared, STOP) !== 0) break
        const wal = walFramesPending(shm, buffer)
        let deferred = false
        if (wal !== null && wal.pending >= thresholdFrames) {
          // note: past the backstop the writer's own auto-checkpoint starts the WAL over; one here would
          // hold the checkpoint lock and make the writer's fail (measured: 4.6x the backstop, not 1.x).
          // Once the writer has made no commit for a look, it will not, so this one takes it.
          if (wal.frames < backstopFrames || seen === lastSeen) {
            checkpoint.get()
            taken.checkpoints++
          } else deferred = true
        }
        lastSeen = seen
        Atomics.wait(shared, GAP, 0, LOOK_GAP_MS)
        if (Atomics.load(shared, STOP) !== 0) break
        if (deferred || Atomics.wait(shared, COMMITS, seen, idleMs) !== 'timed-out') continue
        // note: no commit for idleMs: a last look, then this thread ends (the parent lets it go).
        if ((walFramesPending(shm, buffer)?.pending ?? 0) >= thresholdFrames) {
          checkpoint.get()
          taken.checkpoints++
        }
        break
      }
    } finally {
      checkpoint.finalize()
      closeSync(shm)
    }
  } finally {
    db.close()
  }
}
