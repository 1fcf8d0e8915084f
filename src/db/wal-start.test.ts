import { afterAll, afterEach, describe, expect, test } from 'bun:test'
import { Database } from 'bun:sqlite'
import { copyFileSync, existsSync, mkdtempSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { SqlEngine } from './engine.ts'
import { closeDatabase, openDatabase } from './open-database.ts'
import { DATABASE_FILE, openStore } from './open-store.ts'
import { createSqliteEngine } from './sqlite-engine.ts'
import { startEmptyWal, startWal } from './wal-start.ts'

let root = ''
afterEach(() => rmSync(root, { recursive: true, force: true }))

const walBytes = (dataDir: string) => {
  const wal = join(dataDir, `${DATABASE_FILE}-wal`)
  return existsSync(wal) ? statSync(wal).size : 0
}

test('after a start, startWal writes the WAL its first frame and changes nothing the store reads', async () => {
  root = mkdtempSync(join(tmpdir(), 'enclave-wal-start-'))
  const dataDir = join(root, 'data')
  const open = () => openStore({ dataDir, masterKey: { kind: 'generated', path: join(dataDir, '.encryption_key') }, now: Date.now })
  const first = open()
  await first.users.createUser({ email: 'ada@example.com', name: 'Ada', role: 'admin' })
  await first.close()
  // note: a clean stop checkpoints the WAL to nothing, so the next start's first write begins it again.
  const store = open()
  try {
    expect(walBytes(dataDir)).toBe(0)
    const version = await store.sql.get<{ user_version: number }>('PRAGMA user_version')
    await startWal(store.sql)
    expect(walBytes(dataDir)).toBeGreaterThan(0)
    expect(await store.sql.get('PRAGMA user_version')).toEqual(version)
    expect(await store.sql.get('SELECT total_changes() AS changes')).toEqual({ changes: 0 })
    expect(await store.users.countUsers()).toBe(1)
    // note: a second call finds the WAL begun: one more frame, still nothing changed.
    await startWal(store.sql)
    expect(await store.sql.get('PRAGMA user_version')).toEqual(version)
  } finally {
    await store.close()
  }
})

test('on PostgreSQL it does nothing', async () => {
  const untouched = () => Promise.reject(new Error('not to be called'))
  const engine = { dialect: 'postgresql', get: untouched, run: untouched, transaction: untouched } as unknown as SqlEngine
  await startWal(engine)
})

const dirs: string[] = []
const tempDir = () => {
  const dir = mkdtempSync(join(tmpdir(), 'enclave-wal-start-'))
  dirs.push(dir)
  return dir
}
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true })
})

const FRAME_BYTES = 8192 + 24
const walSize = (path: string) => (existsSync(`${path}-wal`) ? statSync(`${path}-wal`).size : null)
const level = (db: Database) => db.query<{ synchronous: number }, []>('PRAGMA synchronous').get()!.synchronous
const version = (db: Database) => db.query<{ user_version: number }, []>('PRAGMA user_version').get()!.user_version

/** A database with a table, a row and user_version 7, closed cleanly (its WAL checkpointed away), then opened again. */
function reopened(): { path: string; db: Database } {
  const path = join(tempDir(), 'store.db')
  const first = openDatabase(path)
  first.run('CREATE TABLE row (id INTEGER PRIMARY KEY, content TEXT NOT NULL)')
  first.run("INSERT INTO row (content) VALUES ('before')")
  first.run('PRAGMA user_version = 7')
  closeDatabase(first)
  const db = openDatabase(path)
  db.query('SELECT count(*) FROM row').get()
  return { path, db }
}

describe('startEmptyWal', () => {
  test('writes one frame into the empty WAL of a database opened after a clean stop, and puts the sync level back', () => {
    const { path, db } = reopened()
    expect(walSize(path)).toBe(0)
    expect(startEmptyWal(db, `${path}-wal`)).toBe(true)
    expect(walSize(path)).toBe(32 + FRAME_BYTES)
    expect(level(db)).toBe(1)
    expect(version(db)).toBe(7)
    expect(db.inTransaction).toBe(false)
    closeDatabase(db)
  })

  test('the WAL it starts is read back: what is written after it is there for a connection that opens the files as a killed process left them', () => {
    const { path, db } = reopened()
    expect(startEmptyWal(db, `${path}-wal`)).toBe(true)
    db.run("INSERT INTO row (content) VALUES ('after')")
    const copy = join(tempDir(), 'copy.db')
    copyFileSync(path, copy)
    copyFileSync(`${path}-wal`, `${copy}-wal`)
    const other = new Database(copy, { strict: true })
    expect(other.query<{ content: string }, []>('SELECT content FROM row ORDER BY id').all().map((row) => row.content)).toEqual(['before', 'after'])
    expect(version(other)).toBe(7)
    expect(other.query<{ integrity_check: string }, []>('PRAGMA integrity_check').get()!.integrity_check).toBe('ok')
    other.close()
    closeDatabase(db)
  })

  test('leaves a WAL that holds frames alone (after a crash: its first frame is written with its fsync, after the listen)', () => {
    const { path, db } = reopened()
    db.run("INSERT INTO row (content) VALUES ('uncheckpointed')")
    const size = walSize(path)
    expect(size).toBeGreaterThan(0)
    expect(startEmptyWal(db, `${path}-wal`)).toBe(false)
    expect(walSize(path)).toBe(size)
    expect(level(db)).toBe(1)
    closeDatabase(db)
  })

  test('leaves a connection inside a transaction alone', () => {
    const { path, db } = reopened()
    db.run('BEGIN')
    db.run("INSERT INTO row (content) VALUES ('open')")
    expect(startEmptyWal(db, `${path}-wal`)).toBe(false)
    expect(db.inTransaction).toBe(true)
    db.run('ROLLBACK')
    expect(walSize(path)).toBe(0)
    expect(level(db)).toBe(1)
    closeDatabase(db)
  })

  test('does nothing without a WAL file (an in-memory database)', () => {
    const db = openDatabase(':memory:')
    expect(startEmptyWal(db, join(tempDir(), 'none.db-wal'))).toBe(false)
    db.close()
  })

  test('puts back whatever sync level the connection had', () => {
    const { path, db } = reopened()
    db.run('PRAGMA synchronous = FULL')
    expect(startEmptyWal(db, `${path}-wal`)).toBe(true)
    expect(level(db)).toBe(2)
    closeDatabase(db)
  })

  test('after it, startWal (the fallback after the listen) still works and the store reads the same', async () => {
    const { path, db } = reopened()
    expect(startEmptyWal(db, `${path}-wal`)).toBe(true)
    await startWal(createSqliteEngine(db))
    expect(version(db)).toBe(7)
    expect(db.query<{ n: number }, []>('SELECT count(*) AS n FROM row').get()!.n).toBe(1)
    closeDatabase(db)
  })

  test("a store opened again on its data directory starts its WAL through the store's connection", async () => {
    const dataDir = tempDir()
    const open = () => openStore({ dataDir, masterKey: { kind: 'generated', path: join(dataDir, '.encryption_key') }, now: Date.now })
    await open().close()
    const store = open()
    const path = join(dataDir, DATABASE_FILE)
    expect(walSize(path)).toBe(0)
    expect(startEmptyWal(store.db, `${store.info.databasePath}-wal`)).toBe(true)
    expect(walSize(path)).toBe(32 + FRAME_BYTES)
    expect(await store.users.countUsers()).toBe(0)
    await store.close()
  })
})
