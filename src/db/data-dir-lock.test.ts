import { afterAll, expect, test } from 'bun:test'
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { DataDirLockedError, LOCK_FILE, lockDataDir, readLockHolder } from './data-dir-lock.ts'

const dirs: string[] = []
afterAll(() => dirs.forEach((dir) => rmSync(dir, { recursive: true, force: true })))
const tempDir = () => {
  const dir = mkdtempSync(join(tmpdir(), 'enclave-lock-'))
  dirs.push(dir)
  return dir
}

/** A process that runs until killed, standing in for another holder. */
function startSleeper() {
  const child = Bun.spawn(['sleep', '30'], { stdout: 'ignore', stderr: 'ignore' })
  return { pid: child.pid, stop: async () => void (child.kill('SIGKILL'), await child.exited) }
}

/** The pid of a process that has exited. */
async function deadPid(): Promise<number> {
  const child = Bun.spawn(['true'])
  await child.exited
  return child.pid
}

const writeLock = (dir: string, holder: Record<string, unknown> | string) =>
  writeFileSync(join(dir, LOCK_FILE), typeof holder === 'string' ? holder : JSON.stringify(holder), { mode: 0o600 })

test('the lock holds pid and command, is private, and goes on release', () => {
  const dir = join(tempDir(), 'data')
  const lock = lockDataDir(dir, 'enclave serve', { createDirectory: true })
  expect(statSync(dir).mode & 0o777).toBe(0o700)
  expect(statSync(lock.path).mode & 0o777).toBe(0o600)
  expect(readLockHolder(lock.path)).toMatchObject({ pid: process.pid, command: 'enclave serve' })
  expect(readdirSync(dir)).toEqual([LOCK_FILE])
  lock.release()
  lock.release()
  expect(existsSync(lock.path)).toBe(false)
})

test('without createDirectory a missing directory is left alone', () => {
  const dir = join(tempDir(), 'missing')
  lockDataDir(dir, 'enclave keys rotate', { createDirectory: false }).release()
  expect(existsSync(dir)).toBe(false)
})

test('a live holder refuses the lock, named, and keeps its file', async () => {
  const dir = tempDir()
  const sleeper = startSleeper()
  try {
    const holder = { pid: sleeper.pid, command: 'enclave serve', startedAt: '2026-01-01T00:00:00.000Z', boot: null, start: null }
    writeLock(dir, holder)
    const before = readFileSync(join(dir, LOCK_FILE), 'utf8')
    expect(() => lockDataDir(dir, 'enclave keys rotate', { createDirectory: false })).toThrow(DataDirLockedError)
    expect(() => lockDataDir(dir, 'enclave keys rotate', { createDirectory: false })).toThrow(`in use by enclave serve (pid ${sleeper.pid}`)
    expect(readFileSync(join(dir, LOCK_FILE), 'utf8')).toBe(before)
    expect(readdirSync(dir)).toEqual([LOCK_FILE])
  } finally {
    await sleeper.stop()
  }
})

test.each([
  ['a dead pid', async () => ({ pid: await deadPid(), command: 'enclave serve', startedAt: 'x' })],
  ['this very pid (a container restarted as pid 1)', async () => ({ pid: process.pid, command: 'enclave serve', startedAt: 'x' })],
  ['a live pid from an earlier boot', async () => ({ pid: process.ppid, command: 'enclave serve', startedAt: 'x', boot: 'an-earlier-boot', start: null })],
  ['a live pid that started at another moment (reused)', async () => ({ pid: process.ppid, command: 'enclave serve', startedAt: 'x', boot: null, start: '1' })],
  ['an empty file', async () => ''],
  ['garbage', async () => '\u0000not json{'],
  ['a negative pid', async () => ({ pid: -1, command: 'enclave serve', startedAt: 'x' })],
  ['a pid as text', async () => ({ pid: '1', command: 'enclave serve', startedAt: 'x' })],
])('a stale lock from %s is taken over', async (_, holder) => {
  const dir = tempDir()
  writeLock(dir, await holder())
  const lock = lockDataDir(dir, 'enclave serve', { createDirectory: false })
  expect(readLockHolder(lock.path)).toMatchObject({ pid: process.pid, command: 'enclave serve' })
  expect(readdirSync(dir)).toEqual([LOCK_FILE])
  lock.release()
})

test('release leaves alone a lock another process took over meanwhile', () => {
  const dir = tempDir()
  const lock = lockDataDir(dir, 'enclave serve', { createDirectory: false })
  writeLock(dir, { pid: process.ppid, command: 'enclave serve', startedAt: 'later', boot: null, start: null })
  lock.release()
  expect(readLockHolder(join(dir, LOCK_FILE))?.startedAt).toBe('later')
})

test('a long command name in a lock file is cut short in the message', async () => {
  const dir = tempDir()
  const sleeper = startSleeper()
  try {
    writeLock(dir, { pid: sleeper.pid, command: 'x'.repeat(10_000), startedAt: 'y'.repeat(10_000) })
    let message = ''
    try {
      lockDataDir(dir, 'enclave serve', { createDirectory: false })
    } catch (error) {
      message = (error as Error).message
    }
    expect(message).toContain(`pid ${sleeper.pid}`)
    expect(message.length).toBeLessThan(400)
  } finally {
    await sleeper.stop()
  }
})

test.each([['a free directory', false], ['a stale lock', true]])('of processes racing for %s, exactly one holds it', async (_, stale) => {
  const dir = tempDir()
  if (stale) writeLock(dir, { pid: await deadPid(), command: 'enclave serve', startedAt: 'x' })
  const script = `import { lockDataDir } from ${JSON.stringify(join(import.meta.dir, 'data-dir-lock.ts'))}
try { lockDataDir(${JSON.stringify(dir)}, 'racer', { createDirectory: false }); console.log('held'); await Bun.sleep(3000) } catch (error) { console.log(error.name) }`
  const racers = Array.from({ length: 4 }, () => Bun.spawn([process.execPath, '-e', script], { stdout: 'pipe', stderr: 'inherit' }))
  const outcomes = await Promise.all(racers.map(async (racer) => (await new Response(racer.stdout).text()).trim()))
  expect(outcomes.filter((outcome) => outcome === 'held')).toHaveLength(1)
  expect(outcomes.filter((outcome) => outcome === 'DataDirLockedError')).toHaveLength(3)
  expect(readdirSync(dir)).toEqual([])
})

test('released unused, the lock removes the directories it made, and only those', () => {
  const base = tempDir()
  const dir = join(base, 'made', 'data')
  lockDataDir(dir, 'enclave serve', { createDirectory: true }).release()
  expect(readdirSync(base)).toEqual([])
  const kept = join(base, 'kept')
  const used = lockDataDir(kept, 'enclave serve', { createDirectory: true })
  writeFileSync(join(kept, 'enclave.db'), '')
  used.release()
  expect(readdirSync(kept)).toEqual(['enclave.db'])
})
