import { afterEach, expect, test } from 'bun:test'
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { SqlEngine } from './engine.ts'
import { DATABASE_FILE, openStore } from './open-store.ts'
import { startWal } from './wal-start.ts'

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
