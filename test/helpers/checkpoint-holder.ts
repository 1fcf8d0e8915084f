/**
 * A thread that checkpoints a store's WAL on a connection of its own, as the WAL checkpointer's worker
 * does (src/db/wal-checkpoint-worker.ts), for tests of what meets that checkpoint. Told a path and a
 * shared word; once the word is set it runs `wal_checkpoint(FULL)`, which holds SQLite's checkpoint
 * lock while it waits (busy_timeout) for a reader the test keeps open, asks again while another
 * connection holds the lock, and posts its answer when done.
 */
import { Database } from 'bun:sqlite'

declare const self: Worker

type Answer = { busy: number; log: number; checkpointed: number }

self.onmessage = (event: MessageEvent<{ path: string; words: SharedArrayBuffer }>) => {
  const go = new Int32Array(event.data.words)
  const db = new Database(event.data.path, { readwrite: true, create: false })
  db.run('PRAGMA busy_timeout = 20000')
  db.query('SELECT count(*) FROM sqlite_schema').get()
  self.postMessage('ready')
  Atomics.wait(go, 0, 0)
  let answer: Answer
  // note: log -1 is a lock that was not had (the test's probe held it a moment); the wait for the reader answers a count.
  do answer = db.query<Answer, []>('PRAGMA wal_checkpoint(FULL)').get()!
  while (answer.log === -1)
  db.close()
  self.postMessage(answer)
}
