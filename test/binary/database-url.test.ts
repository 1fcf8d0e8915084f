/**
 * DATABASE_URL from the outside: until the store runs on PostgreSQL, a URL is refused at start
 * rather than ignored (data would go to SQLite unseen), an sqlite:// URL is refused with what to do,
 * and the URL's password shows in no output. See docs/postgresql.md.
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

  test('keys and import commands are refused too: only migrate-db, backup and restore work on PostgreSQL yet', async () => {
    for (const args of [['keys', 'status'], ['users', 'list'], ['import', 'open-webui', 'webui.db']]) {
      const run = await runBinary(args, { cwd: tempDir(), env: { DATABASE_URL: `postgresql://enclave:${password}@db.internal:5432/enclave` } })
      expect(run.code).toBe(1)
      expect(run.stderr).toContain('DATABASE_URL')
      expect(run.stdout + run.stderr).not.toContain(password)
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
