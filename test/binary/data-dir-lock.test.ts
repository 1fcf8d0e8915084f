/**
 * One process per data directory and one server per port, against the compiled binary. A second
 * server on a used port used to start beside the first (Bun's reusePort) and take half its
 * requests; `keys rotate` beside a server on another port used to run, leaving accounts made
 * afterwards unreadable at the next start.
 */
import { describe, expect, test } from 'bun:test'
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { generateKey } from '../../src/crypto/random.ts'
import { runBinary, startBinary, tempDirsRemovedAfterAll, type RunningBinary } from '../helpers/binary.ts'
import { writeOpenWebUiDatabase } from '../helpers/open-webui-fixture.ts'

const tempDir = tempDirsRemovedAfterAll()
// note: port 1 has no listener, so the commands' own "is a server on my port?" probe says no: only the lock can refuse.
const OTHER_PORT = { PORT: '1' }

function newKeyFile(dir: string): string {
  const path = join(dir, 'new.key')
  writeFileSync(path, `${Buffer.from(generateKey()).toString('hex')}\n`)
  chmodSync(path, 0o600)
  return path
}

const signUp = (server: RunningBinary, email: string) =>
  fetch(`${server.url}/api/v1/auths/signup`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'N', email, password: 'correct horse battery' }) })

const portOf = (server: RunningBinary) => new URL(server.url).port

describe('while `enclave serve` holds the data directory', async () => {
  const cwd = tempDir()
  const dataDir = join(cwd, 'data')
  const server = await startBinary({ cwd })
  expect((await signUp(server, 'admin@example.com')).status).toBe(200)
  const holder = `enclave serve (pid ${server.pid}`
  const lockText = readFileSync(join(dataDir, 'enclave.lock'), 'utf8')
  const keyText = readFileSync(join(dataDir, '.encryption_key'), 'utf8')
  const openWebUi = join(cwd, 'webui.db')
  await writeOpenWebUiDatabase(openWebUi, [{ id: 'u1', name: 'Imported', email: 'imported@example.com', role: 'user', password: null }], [])
  const backupFile = join(cwd, 'before.bak')

  test('the lock names the server', () => {
    expect(JSON.parse(lockText)).toMatchObject({ pid: server.pid, command: 'enclave serve' })
  })

  test('backup still runs beside it: a consistent snapshot, read-only', async () => {
    const run = await runBinary(['backup', backupFile], { cwd, env: OTHER_PORT })
    expect(run.output).toContain('Backup written')
    expect(run.code).toBe(0)
  })

  test.each([
    ['keys status', ['keys', 'status'], 0],
    ['keys verify', ['keys', 'verify'], 0],
    ['config', ['config'], 0],
  ])('%s still runs beside it', async (_, args, code) => {
    const run = await runBinary(args, { cwd, env: OTHER_PORT })
    expect(run.output).not.toContain('in use by')
    expect(run.code).toBe(code)
  })

  test.each([
    ['a second server on another port', () => ['serve', '--port', '0']],
    ['keys rotate', () => ['keys', 'rotate', '--new-key-file', newKeyFile(cwd)]],
    ['keys rotate-data', () => ['keys', 'rotate-data']],
    ['import open-webui', () => ['import', 'open-webui', openWebUi]],
    ['restore --force', () => ['restore', backupFile, '--data-dir', dataDir, '--force']],
  ])('%s is refused, naming the holder', async (_, args) => {
    const run = await runBinary(args(), { cwd, env: OTHER_PORT })
    expect(run.code).toBe(1)
    expect(run.stderr).toContain(`in use by ${holder}`)
    expect(run.stdout).not.toContain('listening on')
  })

  test('nothing was changed: same lock, same key, the server still answers', async () => {
    expect(readFileSync(join(dataDir, 'enclave.lock'), 'utf8')).toBe(lockText)
    expect(readFileSync(join(dataDir, '.encryption_key'), 'utf8')).toBe(keyText)
    expect(existsSync(join(dataDir, '.encryption_key.previous'))).toBe(false)
    expect((await signUp(server, 'second@example.com')).status).toBe(200)
  })

  test('once it stops (SIGINT), the lock is gone and the writers run', async () => {
    expect(await server.stop('SIGINT')).toBe(0)
    expect(existsSync(join(dataDir, 'enclave.lock'))).toBe(false)
    const rotated = await runBinary(['keys', 'rotate', '--new-key-file', newKeyFile(cwd)], { cwd, env: OTHER_PORT })
    expect(rotated.output).toContain('Rotated the master key')
    expect(rotated.code).toBe(0)
    const rotatedData = await runBinary(['keys', 'rotate-data'], { cwd, env: OTHER_PORT })
    expect(rotatedData.code).toBe(0)
    expect(existsSync(join(dataDir, 'enclave.lock'))).toBe(false)
    // The rotated store opens and serves: the old sign-in still works.
    const again = await startBinary({ cwd })
    try {
      const signin = await fetch(`${again.url}/api/v1/auths/signin`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email: 'second@example.com', password: 'correct horse battery' }) })
      expect(signin.status).toBe(200)
    } finally {
      expect(await again.stop('SIGTERM')).toBe(0)
    }
    expect(existsSync(join(dataDir, 'enclave.lock'))).toBe(false)
  })
})

describe('a stale lock is taken over', () => {
  test.each([
    ['a pid that has exited', async () => {
      const gone = Bun.spawn(['true'])
      await gone.exited
      return JSON.stringify({ pid: gone.pid, command: 'enclave serve', startedAt: '2026-01-01T00:00:00.000Z' })
    }],
    ['a file cut short', async () => '{"pid":'],
  ])('left by %s', async (_, content) => {
    const cwd = tempDir()
    const first = await startBinary({ cwd })
    await first.stop()
    writeFileSync(join(cwd, 'data', 'enclave.lock'), await content(), { mode: 0o600 })
    const server = await startBinary({ cwd })
    try {
      expect(JSON.parse(readFileSync(join(cwd, 'data', 'enclave.lock'), 'utf8'))).toMatchObject({ pid: server.pid, command: 'enclave serve' })
    } finally {
      await server.stop()
    }
    const run = await runBinary(['keys', 'rotate-data'], { cwd, env: OTHER_PORT })
    expect(run.code).toBe(0)
  })
})

describe('one server per port', () => {
  test('a second start on a used port fails, naming the port; the first keeps serving', async () => {
    const first = await startBinary({ cwd: tempDir() })
    try {
      const port = portOf(first)
      const second = await runBinary(['serve', '--port', port], { cwd: tempDir() })
      expect(second.stderr).toContain(`port ${port} is already in use`)
      expect(second.code).toBe(1)
      expect(second.output).not.toContain('listening on')
      expect((await fetch(`${first.url}/health`)).status).toBe(200)
    } finally {
      await first.stop()
    }
  })
})
