import { afterAll, describe, expect, test } from 'bun:test'
import { Database } from 'bun:sqlite'
import { mkdtempSync, openSync, closeSync, rmSync, statSync, existsSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { closeDatabase, openDatabase, WAL_SIZE_LIMIT_BYTES } from './open-database.ts'
import { DATABASE_FILE, openStore } from './open-store.ts'
import { startWalCheckpointer } from './wal-checkpointer.ts'
import { walFramesPending, walIndexBuffer } from './wal-index.ts'

const dirs: string[] = []
const tempDir = () => {
  const dir = mkdtempSync(join(tmpdir(), 'enclave-wal-'))
  dirs.push(dir)
  return dir
}
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true })
})

const FRAME_BYTES = 8192 + 24
const walFrames = (path: string) => (existsSync(`${path}-wal`) ? Math.max(0, statSync(`${path}-wal`).size - 32) / FRAME_BYTES : 0)

/** Waits (not a timing assertion: the test fails only if it never happens) until `done` holds. */
async function eventually(done: () => boolean, limitMs = 20_000): Promise<boolean> {
  const deadline = Date.now() + limitMs
  while (!done()) {
    if (Date.now() > deadline) return false
    await Bun.sleep(5)
  }
  return true
}

function tableOn(path: string): { db: Database; insert: () => void } {
  const db = openDatabase(path)
  db.run('CREATE TABLE IF NOT EXISTS row (id INTEGER PRIMARY KEY, content BLOB NOT NULL)')
  const blob = new Uint8Array(6000)
  const statement = db.query('INSERT INTO row (content) VALUES (?)')
  return { db, insert: () => void statement.run(blob) }
}

describe('wal-index', () => {
  test('reads the frames waiting as SQLite counts them', () => {
    const path = join(tempDir(), 'a.db')
    const { db, insert } = tableOn(path)
    db.run('PRAGMA wal_autocheckpoint = 0')
    const shm = openSync(`${path}-shm`, 'r')
    const buffer = walIndexBuffer()
    for (let i = 0; i < 40; i++) insert()
    const before = walFramesPending(shm, buffer)
    const counted = db.query<{ busy: number; log: number; checkpointed: number }, []>('PRAGMA wal_checkpoint(PASSIVE)').get()!
    expect(before).toEqual({ pending: counted.log, frames: counted.log })
    expect(walFramesPending(shm, buffer)).toEqual({ pending: 0, frames: counted.log })
    for (let i = 0; i < 3; i++) insert()
    // the WAL started over after a complete checkpoint
    expect(walFramesPending(shm, buffer)!.frames).toBeLessThan(counted.log)
    closeSync(shm)
    closeDatabase(db)
  })
})

describe('WAL checkpointer', () => {
  test('checkpoints on its own connection once the threshold is passed, and keeps the WAL bounded under sustained commits', async () => {
    const path = join(tempDir(), 'a.db')
    const { db, insert } = tableOn(path)
    const failures: string[] = []
    const checkpointer = startWalCheckpointer(db, path, { thresholdFrames: 100, backstopFrames: 400, onFailure: (reason) => failures.push(reason) })
    const shm = openSync(`${path}-shm`, 'r')
    const buffer = walIndexBuffer()
    // below the threshold: nothing copied
    for (let i = 0; i < 20; i++) {
      insert()
      checkpointer.committed()
    }
    await Bun.sleep(50)
    expect(walFramesPending(shm, buffer)!.pending).toBeGreaterThan(0)
    let largest = 0
    for (let i = 0; i < 30_000; i++) {
      insert()
      checkpointer.committed()
      if (i % 50 === 0) largest = Math.max(largest, walFrames(path))
      if (i % 1000 === 0) await Bun.sleep(1)
    }
    // 30,000 commits of a frame or more each, never pausing: without a bound the WAL would hold them all.
    // The bound is the backstop plus what is committed while one of the worker's checkpoints runs
    // (measured 1,641-3,010 frames here); a third of the unbounded size leaves room for a slow fsync.
    expect(largest).toBeLessThan(10_000)
    expect(await eventually(() => walFramesPending(shm, buffer)!.pending < 100 + 1)).toBe(true)
    const { checkpoints } = checkpointer.stop()
    expect(checkpoints).toBeGreaterThan(0)
    expect(failures).toEqual([])
    expect(db.query<{ n: number }, []>('SELECT count(*) AS n FROM row').get()!.n).toBe(30_020)
    closeSync(shm)
    closeDatabase(db)
    expect(walFrames(path)).toBe(0)
  })

  test('a worker that cannot start hands the checkpoints back to the writer', async () => {
    const path = join(tempDir(), 'a.db')
    const { db, insert } = tableOn(path)
    const failures: string[] = []
    const checkpointer = startWalCheckpointer(db, path, { thresholdFrames: 100, workerUrl: new URL('./no-such-worker.ts', import.meta.url).href, onFailure: (reason) => failures.push(reason) })
    for (let i = 0; i < 80; i++) {
      insert()
      checkpointer.committed()
    }
    expect(await eventually(() => checkpointer.failed)).toBe(true)
    expect(failures.length).toBe(1)
    expect(checkpointer.working).toBe(false)
    expect(db.query<{ wal_autocheckpoint: number }, []>('PRAGMA wal_autocheckpoint').get()!.wal_autocheckpoint).toBe(100)
    checkpointer.stop()
    closeDatabase(db)
  })

  test('starts only once the WAL fills, and ends itself when the writer goes idle', async () => {
    const path = join(tempDir(), 'a.db')
    const { db, insert } = tableOn(path)
    const checkpointer = startWalCheckpointer(db, path, { thresholdFrames: 100, backstopFrames: 400, idleMs: 200 })
    for (let i = 0; i < 10; i++) {
      insert()
      checkpointer.committed()
    }
    expect(checkpointer.working).toBe(false)
    for (let i = 0; i < 60; i++) {
      insert()
      checkpointer.committed()
    }
    expect(checkpointer.working).toBe(true)
    // the writer leaves its checkpoints to the worker once it is ready
    expect(await eventually(() => {
      insert()
      checkpointer.committed()
      return db.query<{ wal_autocheckpoint: number }, []>('PRAGMA wal_autocheckpoint').get()!.wal_autocheckpoint === 400
    })).toBe(true)
    for (let i = 0; i < 300; i++) {
      insert()
      checkpointer.committed()
    }
    // no commit for idleMs: it ends, and the writer checkpoints itself again
    expect(await eventually(() => !checkpointer.working)).toBe(true)
    expect(db.query<{ wal_autocheckpoint: number }, []>('PRAGMA wal_autocheckpoint').get()!.wal_autocheckpoint).toBe(100)
    expect(checkpointer.stop().checkpoints).toBeGreaterThan(0)
    expect(checkpointer.failed).toBe(false)
    closeDatabase(db)
  })
})

describe('a store on a file', () => {
  test('its worker checkpoints appends, and a clean close leaves the WAL checkpointed', async () => {
    const dataDir = tempDir()
    const store = openStore({ dataDir, masterKey: { kind: 'generated', path: join(dataDir, 'master.key') }, now: Date.now })
    const created = await store.users.createUser({ email: 'wal@example.com', name: 'Wal', role: 'user' })
    if (!created.ok) throw new Error(created.reason)
    const chat = await store.chats.createChat(created.user.id, 'wal')
    const path = join(dataDir, DATABASE_FILE)
    const text = 'x'.repeat(1024)
    const sizeBefore = statSync(path).size
    for (let i = 0; i < 600; i++) await store.chats.addMessage(created.user.id, chat.id, { role: 'user', content: `${text} ${i}` })
    // over 2,000 frames written: the worker copied them into the database file while the store stayed open
    expect(store.db.query<{ wal_autocheckpoint: number }, []>('PRAGMA wal_autocheckpoint').get()!.wal_autocheckpoint).toBe(8000)
    expect(await eventually(() => statSync(path).size > sizeBefore + 600 * 1024)).toBe(true)
    await store.close()
    expect(walFrames(path)).toBe(0)
    const reopened = openStore({ dataDir, masterKey: { kind: 'generated', path: join(dataDir, 'master.key') }, now: Date.now })
    expect((await reopened.chats.listMessagesInChat(created.user.id, chat.id))?.length).toBe(600)
    await reopened.close()
  })

  test('a WAL grown by a burst keeps its file while the worker runs, and is cut back to the size limit once it starts over after the worker ended', async () => {
    const path = join(tempDir(), 'a.db')
    const { db, insert } = tableOn(path)
    const sizeLimit = () => db.query<{ journal_size_limit: number }, []>('PRAGMA journal_size_limit').get()!.journal_size_limit
    expect(sizeLimit()).toBe(WAL_SIZE_LIMIT_BYTES)
    // note: the limit scaled down with the thresholds, so the burst passes it in a test-sized run.
    const limit = 1024 * 1024
    db.run(`PRAGMA journal_size_limit = ${limit}`)
    const checkpointer = startWalCheckpointer(db, path, { thresholdFrames: 100, backstopFrames: 400, idleMs: 300 })
    let largest = 0
    let raised = false
    for (let i = 0; i < 5_000; i++) {
      insert()
      checkpointer.committed()
      if (i % 50 === 0) largest = Math.max(largest, walFrames(path) * FRAME_BYTES)
      raised ||= sizeLimit() === -1
    }
    expect(largest).toBeGreaterThan(limit)
    // while the worker ran, the file was not cut back at each start-over
    expect(raised).toBe(true)
    // the writer pauses longer than idleMs: the worker ends, the limit is the caller's again
    expect(await eventually(() => !checkpointer.working)).toBe(true)
    expect(sizeLimit()).toBe(limit)
    // once everything is copied, the next commit starts the WAL over and cuts the file. note: the
    // writer copies it here itself; a commit told to the checkpointer would start a worker again (the
    // WAL still holds the burst), which raises the limit, and under load it could stay up past the wait.
    expect((db.query('PRAGMA wal_checkpoint(PASSIVE)').get() as { busy: number; log: number; checkpointed: number }).busy).toBe(0)
    insert()
    expect(statSync(`${path}-wal`).size).toBeLessThanOrEqual(limit)
    checkpointer.stop()
    closeDatabase(db)
  })
})
