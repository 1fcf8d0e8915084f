/**
 * DATABASE_URL from the outside: until the store runs on PostgreSQL, a URL is refused at start
 * rather than ignored (data would go to SQLite unseen), while the commands that open the store take
 * it; an sqlite:// URL is refused with what to do, and the URL's password shows in no output. See
 * docs/postgresql.md.
 */
import { describe, expect, test } from 'bun:test'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { runBinary, tempDirsRemovedAfterAll } from '../helpers/binary.ts'

const tempDir = tempDirsRemovedAfterAll()
const password = `pw-${crypto.randomUUID()}`

describe('DATABASE_URL', () => {
  test.each([
    ['serve', ['serve', '--port', '0']],
    ['config', ['config']],
  ])('%s with a PostgreSQL URL is refused, naming the variable and not the password', async (_, args) => {
    const cwd = tempDir()
    const run = await runBinary(args, { cwd, env: { DATABASE_URL: `postgresql://enclave:${password}@db.internal:5432/enclave`, DATABASE_POOL_SIZE: '5' } })
    expect(run.code).toBe(1)
    expect(run.stderr).toContain('DATABASE_URL="postgresql://enclave:***@db.internal:5432/enclave"')
    expect(run.stdout + run.stderr).not.toContain(password)
    expect(run.stdout + run.stderr).not.toMatch(/^\s+at /m)
    expect(existsSync(join(cwd, 'data', 'enclave.db'))).toBe(false)
  })

  test('the commands that open the store take DATABASE_URL whatever the server does, and name an unreachable database without its password', async () => {
    for (const args of [['keys', 'status'], ['keys', 'verify'], ['users', 'list'], ['users', 'reset-mfa', 'ada@example.com'], ['keys', 'rotate-data']]) {
      const cwd = tempDir()
      const run = await runBinary(args, { cwd, env: { PORT: '1', ENCRYPTION_KEY: 'ab'.repeat(32), DATABASE_URL: `postgresql://enclave:${password}@127.0.0.1:1/enclave` } })
      expect(run.code).toBe(1)
      expect(run.stderr).toContain('PostgreSQL at postgresql://enclave:***@127.0.0.1:1/enclave cannot be reached')
      expect(run.stdout + run.stderr).not.toContain(password)
      expect(run.stdout + run.stderr).not.toMatch(/^\s+at /m)
      expect(existsSync(join(cwd, 'data', 'enclave.db'))).toBe(false)
    }
  })

  test("Open WebUI's sqlite:/// URL is refused with what to do instead", async () => {
    const run = await runBinary(['config'], { cwd: tempDir(), env: { DATABASE_URL: 'sqlite:////app/backend/data/webui.db' } })
    expect(run.code).toBe(1)
    expect(run.stderr).toContain('unset DATABASE_URL')
  })

  test('a bad pool setting is refused by name', async () => {
    const run = await runBinary(['config'], { cwd: tempDir(), env: { DATABASE_POOL_RECYCLE: 'soon' } })
    expect(run.code).toBe(1)
    expect(run.stderr).toContain('DATABASE_POOL_RECYCLE="soon"')
  })
})
