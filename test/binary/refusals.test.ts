import { describe, expect, test } from 'bun:test'
import { chmodSync, existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { tempDirsRemovedAfterAll, runBinary, startBinary } from '../helpers/binary.ts'

const tempDir = tempDirsRemovedAfterAll()

/** Every file under dir with its bytes, to prove a refused start wrote nothing. */
function snapshot(dir: string): Record<string, string> {
  const files: Record<string, string> = {}
  for (const name of readdirSync(dir, { recursive: true }) as string[]) {
    const path = join(dir, name)
    try {
      files[name] = Bun.hash(readFileSync(path)).toString()
    } catch {
      files[name] = 'directory'
    }
  }
  return files
}

/** Starts once so the data directory holds a database written under a generated key. */
async function initialisedDir(): Promise<string> {
  const cwd = tempDir()
  const server = await startBinary({ cwd })
  await server.stop()
  return cwd
}

describe('refused starts say what to do and write nothing', () => {
  test('another ENCRYPTION_KEY than the database was written with', async () => {
    const cwd = await initialisedDir()
    const before = snapshot(cwd)
    const otherKey = 'ab'.repeat(32)
    const run = await runBinary(['serve', '--port', '0'], { cwd, env: { ENCRYPTION_KEY: otherKey } })
    expect(run.code).toBe(1)
    expect(run.stderr).toMatch(/does not match this database \(database key fingerprint [0-9a-f-]{19}, given key fingerprint [0-9a-f-]{19}\)/)
    expect(run.output).not.toContain(otherKey)
    expect(run.output).not.toContain(readFileSync(join(cwd, 'data', '.encryption_key'), 'utf8').trim())
    expect(snapshot(cwd)).toEqual(before)
  })

  test('the generated key file is gone but the database is there', async () => {
    const cwd = await initialisedDir()
    rmSync(join(cwd, 'data', '.encryption_key'))
    const before = snapshot(cwd)
    const run = await runBinary(['serve', '--port', '0'], { cwd })
    expect(run.code).toBe(1)
    expect(run.stderr).toContain('is missing. Restore it from your backup')
    expect(snapshot(cwd)).toEqual(before)
  })

  test('a key file that group or others may read', async () => {
    const cwd = await initialisedDir()
    chmodSync(join(cwd, 'data', '.encryption_key'), 0o644)
    const before = snapshot(cwd)
    const run = await runBinary(['serve', '--port', '0'], { cwd })
    expect(run.code).toBe(1)
    expect(run.stderr).toContain('chmod 600')
    expect(snapshot(cwd)).toEqual(before)
  })

  test('a group-readable session secret file', async () => {
    const cwd = await initialisedDir()
    chmodSync(join(cwd, 'data', '.webui_secret_key'), 0o640)
    const run = await runBinary(['serve', '--port', '0'], { cwd })
    expect(run.code).toBe(1)
    expect(run.stderr).toContain('chmod 600')
  })

  test.each([
    ['too short', 'short-key'],
    ['hex of the wrong length', 'ab'.repeat(31)],
    ['a 31-character passphrase', 'x'.repeat(31)],
  ])('ENCRYPTION_KEY %s, on a first start: nothing is created', async (_, key) => {
    const cwd = tempDir()
    const run = await runBinary(['serve', '--port', '0'], { cwd, env: { ENCRYPTION_KEY: key } })
    expect(run.code).toBe(1)
    expect(run.stderr).toContain('ENCRYPTION_KEY')
    expect(run.output).not.toContain(key)
    expect(existsSync(join(cwd, 'data'))).toBe(false)
  })

  test('ENCRYPTION_KEY_FILE readable by others, on a first start: nothing is created', async () => {
    const cwd = tempDir()
    writeFileSync(join(cwd, 'master.key'), `${'cd'.repeat(32)}\n`, { mode: 0o604 })
    chmodSync(join(cwd, 'master.key'), 0o604)
    const run = await runBinary(['serve', '--port', '0'], { cwd, env: { ENCRYPTION_KEY_FILE: 'master.key' } })
    expect(run.code).toBe(1)
    expect(run.stderr).toContain('chmod 600')
    expect(run.output).not.toContain('cd'.repeat(32))
    expect(existsSync(join(cwd, 'data'))).toBe(false)
  })

  test('a key given by ENCRYPTION_KEY_FILE (0600) works across restarts', async () => {
    const cwd = tempDir()
    writeFileSync(join(cwd, 'master.key'), `${'ef'.repeat(32)}\n`, { mode: 0o600 })
    for (let start = 0; start < 2; start++) {
      const server = await startBinary({ cwd, env: { ENCRYPTION_KEY_FILE: 'master.key' } })
      expect(await server.stop()).toBe(0)
      expect(server.output()).not.toContain('ef'.repeat(32))
    }
    expect(existsSync(join(cwd, 'data', '.encryption_key'))).toBe(false)
  })
})

describe('configuration and command line', () => {
  test.each([
    [{ PORT: '80a' }, 'PORT="80a": expected an integer from 0 to 65535'],
    [{ OLLAMA_BASE_URL: 'ftp://x' }, 'OLLAMA_BASE_URL="ftp://x": expected an absolute http:// or https:// URL'],
    [{ GLOBAL_LOG_LEVEL: 'loud' }, 'GLOBAL_LOG_LEVEL="loud": expected one of DEBUG, INFO, WARNING, ERROR, CRITICAL'],
  ])('bad setting %p refuses the start naming it', async (env, message) => {
    const cwd = tempDir()
    const run = await runBinary(['serve'], { cwd, env })
    expect(run.code).toBe(1)
    expect(run.stderr).toContain(message)
    expect(existsSync(join(cwd, 'data'))).toBe(false)
  })

  test('a malformed .env line is reported by number, not content', async () => {
    const cwd = tempDir()
    writeFileSync(join(cwd, '.env'), 'PORT=9000\nthis line holds sk-not-a-real-secret\n')
    const run = await runBinary(['config'], { cwd })
    expect(run.code).toBe(1)
    expect(run.stderr).toContain('.env line 2')
    expect(run.output).not.toContain('sk-not-a-real-secret')
  })

  test.each([
    [['bogus'], 'unknown command "bogus"'],
    [['serve', '--bogus'], 'unknown option "--bogus"'],
    [['serve', '--port'], '--port needs a value'],
    [['--version', 'extra'], 'unexpected argument'],
  ])('%p prints usage and exits 2', async (args, message) => {
    const run = await runBinary(args, { cwd: tempDir() })
    expect(run.code).toBe(2)
    expect(run.stderr).toContain(message)
    expect(run.stderr).toContain('Usage: enclave')
  })

  test('--version and help', async () => {
    const cwd = tempDir()
    expect((await runBinary(['--version'], { cwd })).stdout).toMatch(/^enclave \d+\.\d+\.\d+/)
    expect((await runBinary(['help'], { cwd })).stdout).toContain('Usage: enclave')
  })

  test('config shows every setting with secrets masked', async () => {
    const key = '12'.repeat(32)
    const run = await runBinary(['config'], { cwd: tempDir(), env: { ENCRYPTION_KEY: key, WEBUI_SECRET_KEY: 'session-secret-value', PORT: '9001' } })
    expect(run.code).toBe(0)
    expect(run.stdout).toMatch(/ENCRYPTION_KEY\s+\*\*\*\s+\[env\]/)
    expect(run.stdout).toMatch(/PORT\s+9001\s+\[env\]/)
    expect(run.output).not.toContain(key)
    expect(run.output).not.toContain('session-secret-value')
  })
})
