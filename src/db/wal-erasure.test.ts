import { afterAll, describe, expect, test } from 'bun:test'
import { Database } from 'bun:sqlite'
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { generateKey } from '../crypto/random.ts'
import { createAccountChanges } from './account-changes.ts'
import type { SqlEngine } from './engine.ts'
import { createFileBlobs, FILES_DIRECTORY } from './file-blobs.ts'
import { createFileRepo } from './files.ts'
import { rotateMasterKeyOn } from './master-key-rotation.ts'
import { DATABASE_FILE, openStore, type Store } from './open-store.ts'
import { createUserRepo } from './users.ts'
import { walFramesPending, walIndexBuffer } from './wal-index.ts'
import { eraseDeletedPagesFromWal, WalNotErasedError } from './wal-erasure.ts'

const dirs: string[] = []
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true })
})

function storeOnFile(): { store: Store; path: string; dataDir: string } {
  const dataDir = mkdtempSync(join(tmpdir(), 'enclave-erase-'))
  dirs.push(dataDir)
  const store = openStore({ dataDir, masterKey: { kind: 'generated', path: join(dataDir, '.encryption_key') }, now: Date.now })
  return { store, path: join(dataDir, DATABASE_FILE), dataDir }
}

/** The database file and its WAL, as they are on disk now. */
const onDisk = (path: string): Buffer =>
  Buffer.concat([readFileSync(path), existsSync(`${path}-wal`) ? readFileSync(`${path}-wal`) : Buffer.alloc(0)])

/** 32 bytes of ciphertext from inside each sealed value (past its header), to look for on disk. */
const sealedBytes = (rows: { b: Uint8Array }[]): Buffer[] => rows.map((row) => Buffer.from(row.b).subarray(5, 37))

/**
 * Another connection's checkpoint (a thread of its own, as the checkpointer's worker) holding SQLite's
 * checkpoint lock when the repository's checkpoint comes: `collide()`, called just before it, keeps a
 * reader open on an older state, starts the thread's FULL checkpoint (which holds the lock while it
 * waits for that reader), and returns once the lock is seen held; the reader lets go `holdMs` later.
 */
async function checkpointHolder(path: string, holdMs: number) {
  const words = new Int32Array(new SharedArrayBuffer(4))
  const worker = new Worker(new URL('../../test/helpers/checkpoint-holder.ts', import.meta.url).href)
  const answers: unknown[] = []
  let ready!: () => void
  const isReady = new Promise<void>((resolve) => { ready = resolve })
  let finished!: (answer: unknown) => void
  const done = new Promise<unknown>((resolve) => { finished = resolve })
  worker.onmessage = (event) => {
    if (event.data === 'ready') ready()
    else {
      answers.push(event.data)
      finished(event.data)
    }
  }
  worker.postMessage({ path, words: words.buffer as SharedArrayBuffer })
  await isReady
  // note: the reader's state is older than the deletion's commit, so a checkpoint cannot finish while it reads.
  const reader = new Database(path, { readonly: true })
  reader.run('BEGIN')
  reader.query('SELECT count(*) FROM sqlite_schema').get()
  const probe = new Database(path, { readwrite: true })
  let collided = false
  const collide = () => {
    collided = true
    Atomics.store(words, 0, 1)
    Atomics.notify(words, 0)
    // note: a PASSIVE checkpoint answers busy exactly while another connection holds the checkpoint lock.
    const deadline = Date.now() + 20_000
    while (probe.query<{ busy: number }, []>('PRAGMA wal_checkpoint(PASSIVE)').get()!.busy === 0) {
      if (Date.now() > deadline) throw new Error('the other checkpoint never held the lock')
      Bun.sleepSync(1)
    }
    setTimeout(() => reader.run('COMMIT'), holdMs)
  }
  const finish = async () => {
    if (!collided) {
      reader.run('COMMIT')
      Atomics.store(words, 0, 1)
      Atomics.notify(words, 0)
    }
    const answer = await done
    reader.close()
    probe.close()
    worker.terminate()
    return answer
  }
  return { collide, finish, answers }
}

/** The engine, with `before()` run once just before the first WAL checkpoint asked through it. */
function beforeFirstCheckpoint(sql: SqlEngine, before: () => void): SqlEngine {
  let armed = true
  return new Proxy(sql, {
    get(target, property, receiver) {
      if (property !== 'get' && property !== 'exec') return Reflect.get(target, property, receiver)
      return (text: string, ...params: never[]) => {
        if (armed && text.startsWith('PRAGMA wal_checkpoint')) {
          armed = false
          before()
        }
        return (target[property] as (text: string, ...params: never[]) => unknown)(text, ...params)
      }
    },
  })
}

describe('erasure from the WAL after a deletion, when another checkpoint holds the lock', () => {
  test('a deleted user: their sealed bytes and wrapped data key are in neither the WAL nor the database file afterwards', async () => {
    const { store, path } = storeOnFile()
    const created = await store.users.createUser({ email: 'bob@example.com', name: 'Bob Marker', role: 'user' })
    if (!created.ok) throw new Error(created.reason)
    const id = created.user.id
    const captured = sealedBytes([
      ...store.db!.query<{ b: Uint8Array }, [string]>('SELECT wrapped AS b FROM data_key WHERE owner_id = ?').all(id),
      ...store.db!.query<{ b: Uint8Array }, [string]>('SELECT email AS b FROM "user" WHERE id = ?').all(id),
    ])
    expect(captured.length).toBe(2)
    for (const bytes of captured) expect(onDisk(path).indexOf(bytes)).toBeGreaterThan(-1)
    const holder = await checkpointHolder(path, 30)
    const users = createUserRepo(beforeFirstCheckpoint(store.sql, holder.collide), store.dataKeys, Date.now, createAccountChanges())
    await users.deleteUser(id)
    expect(await holder.finish()).toMatchObject({ busy: 0 })
    const disk = onDisk(path)
    for (const bytes of captured) expect(disk.indexOf(bytes)).toBe(-1)
    expect(existsSync(`${path}-wal`) ? readFileSync(`${path}-wal`).length : 0).toBe(0)
    await store.close()
  })

  test('a deleted file: its sealed row and its blob are gone from the WAL, the database file and the blob directory', async () => {
    const { store, path, dataDir } = storeOnFile()
    const created = await store.users.createUser({ email: 'ada@example.com', name: 'Ada', role: 'user' })
    if (!created.ok) throw new Error(created.reason)
    const owner = created.user.id
    async function* content() {
      yield new TextEncoder().encode('the plaintext marker of a file to delete')
    }
    const stored = await store.files.create(owner, { name: 'marker-notes.txt', contentType: 'text/plain' }, content(), { maxFileBytes: 1 << 20, quotaBytes: 1 << 24 })
    if (!stored.ok) throw new Error(stored.reason)
    const file = stored.file
    const captured = sealedBytes(store.db!.query<{ b: Uint8Array }, [string, string]>('SELECT name AS b FROM file WHERE id = ? UNION ALL SELECT file_key FROM file WHERE id = ?').all(file.id, file.id))
    expect(captured.length).toBe(2)
    for (const bytes of captured) expect(onDisk(path).indexOf(bytes)).toBeGreaterThan(-1)
    const holder = await checkpointHolder(path, 30)
    const files = createFileRepo(beforeFirstCheckpoint(store.sql, holder.collide), store.dataKeys, createFileBlobs(join(dataDir, FILES_DIRECTORY)), Date.now)
    expect(await files.delete(owner, file.id)).toBe(true)
    expect(await holder.finish()).toMatchObject({ busy: 0 })
    const disk = onDisk(path)
    for (const bytes of captured) expect(disk.indexOf(bytes)).toBe(-1)
    expect(existsSync(join(dataDir, FILES_DIRECTORY, file.id))).toBe(false)
    await store.close()
  })

  test('a lock held past the bound: a clear error, not a silent success', async () => {
    const { store, path } = storeOnFile()
    const holder = await checkpointHolder(path, 400)
    await store.users.createUser({ email: 'cy@example.com', name: 'Cy', role: 'user' })
    holder.collide()
    const error = await eraseDeletedPagesFromWal(store.sql, 50).catch((caught: unknown) => caught)
    expect(error).toBeInstanceOf(WalNotErasedError)
    expect((error as Error).message).toContain('the deletion committed')
    expect((error as Error).message).toContain('busy 1')
    await holder.finish()
    // once the other checkpoint is done, the erasure goes through
    await eraseDeletedPagesFromWal(store.sql)
    expect(existsSync(`${path}-wal`) ? readFileSync(`${path}-wal`).length : 0).toBe(0)
    await store.close()
  })

  test('a master key rotation: its FULL checkpoint is asked again, and the WAL is all in the database file when it returns', async () => {
    const { store, path } = storeOnFile()
    const holder = await checkpointHolder(path, 30)
    await store.users.createUser({ email: 'di@example.com', name: 'Di', role: 'user' })
    const sql = beforeFirstCheckpoint(store.sql, holder.collide)
    await rotateMasterKeyOn(sql, store.dataKeys, store.info.keyFingerprint, { kind: 'raw', key: generateKey() })
    const shm = openSync(`${path}-shm`, 'r')
    expect(walFramesPending(shm, walIndexBuffer())!.pending).toBe(0)
    closeSync(shm)
    await holder.finish()
    await store.close()
  })

  test('PostgreSQL: nothing to erase, nothing asked', async () => {
    const asked: string[] = []
    const postgres = { dialect: 'postgresql', inTransaction: () => false, get: async (text: string) => { asked.push(text); return null } } as unknown as SqlEngine
    await eraseDeletedPagesFromWal(postgres)
    expect(asked).toEqual([])
  })
})
