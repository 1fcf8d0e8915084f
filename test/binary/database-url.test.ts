/**
 * DATABASE_URL from the outside: the server runs on the PostgreSQL it names (a real one,
 * test/helpers/postgres.ts) and writes nothing to SQLite in DATA_DIR; a first start without a
 * configured key generates one and says to copy it to every other instance; a second instance
 * with another key, generated or given, is refused before anything is written; an unreachable
 * server is named without its password; an sqlite:// URL is refused with what to do; the URL's
 * password shows in no output. See docs/postgresql.md.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { existsSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import { runBinary, startBinary, tempDirsRemovedAfterAll } from '../helpers/binary.ts'
import { startPostgres, type PostgresServer } from '../helpers/postgres.ts'
import { signInRemote, signUpRemote } from '../helpers/remote-session.ts'

const tempDir = tempDirsRemovedAfterAll()
const password = `pw-${crypto.randomUUID()}`
const hexKey = () => Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString('hex')

let server: PostgresServer
beforeAll(async () => { server = await startPostgres() }, 60_000)
afterAll(async () => { await server?.remove() })

/** Rows of what a wrong key must not touch: the schema version, the key check, the data keys, the accounts. */
async function snapshot(url: string): Promise<unknown> {
  return server.asSuperuser(url, async (sql) => {
    const tables = await sql.unsafe("SELECT count(*)::int AS n FROM information_schema.tables WHERE table_schema = 'public'")
    if (tables[0].n === 0) return { tables: 0 }
    return {
      tables: tables[0].n,
      meta: await sql.unsafe('SELECT name, value FROM meta ORDER BY name'),
      dataKeys: await sql.unsafe('SELECT owner_id, version FROM data_key ORDER BY owner_id, version'),
      users: await sql.unsafe('SELECT id FROM "user" ORDER BY id'),
    }
  })
}

describe('DATABASE_URL', () => {
  test('the server runs on PostgreSQL: a first start generates the key and says to copy it to every instance, sign-ups land there, nothing goes to DATA_DIR/enclave.db, a restart signs in', async () => {
    const url = await server.createDatabase()
    const cwd = tempDir()
    const env = { DATABASE_URL: url }
    const first = await startBinary({ cwd, env })
    try {
      const output = await first.outputWith('BACK UP THE MASTER KEY')
      expect(output).toContain('Every other instance on this PostgreSQL database needs the same key')
      expect(output).toContain(`Data in PostgreSQL at ${url.replace(server.appPassword, '***')}`)
      expect(output).not.toContain(server.appPassword)
      await signUpRemote(first.url, 'ada@example.com')
    } finally {
      await first.stop()
    }
    expect(existsSync(join(cwd, 'data', '.encryption_key'))).toBe(true)
    expect(existsSync(join(cwd, 'data', 'enclave.db'))).toBe(false)
    expect(readdirSync(join(cwd, 'data')).filter((name) => name.startsWith('enclave.db'))).toEqual([])
    const rows = await server.asSuperuser(url, (sql) => sql.unsafe('SELECT email, role FROM "user"'))
    expect(rows).toHaveLength(1)
    expect(rows[0].role).toBe('admin')
    // note: sealed: PostgreSQL holds the email's ciphertext, never the address.
    expect(Buffer.from(rows[0].email).includes(Buffer.from('ada@example.com'))).toBe(false)

    const again = await startBinary({ cwd, env })
    try {
      expect(again.output()).not.toContain('BACK UP THE MASTER KEY')
      expect(await signInRemote(again.url, 'ada@example.com')).not.toBe('')
    } finally {
      await again.stop()
    }
  }, 60_000)

  test('a second instance with a key of its own is refused before anything is written: generated (its key file is not kept) or given', async () => {
    const url = await server.createDatabase()
    const first = await startBinary({ cwd: tempDir(), env: { DATABASE_URL: url } })
    try {
      await signUpRemote(first.url, 'ada@example.com')
    } finally {
      await first.stop()
    }
    const before = await snapshot(url)

    const generated = tempDir()
    const refused = await runBinary(['serve', '--port', '0'], { cwd: generated, env: { DATABASE_URL: url } })
    expect(refused.code).toBe(1)
    expect(refused.stderr).toContain('The encryption key does not match this database')
    expect(refused.stderr).toContain("copy that instance's key file")
    expect(refused.stdout + refused.stderr).not.toContain(server.appPassword)
    expect(refused.stdout + refused.stderr).not.toMatch(/^\s+at /m)
    expect(existsSync(join(generated, 'data', '.encryption_key'))).toBe(false)

    const given = await runBinary(['serve', '--port', '0'], { cwd: tempDir(), env: { DATABASE_URL: url, ENCRYPTION_KEY: hexKey() } })
    expect(given.code).toBe(1)
    expect(given.stderr).toContain('The encryption key does not match this database')
    expect(await snapshot(url)).toEqual(before)
  }, 60_000)

  test('two instances without a key starting together on one empty database: one key is generated and used, the other instance is refused and keeps no key file', async () => {
    const url = await server.createDatabase()
    const dirs = [tempDir(), tempDir()]
    const starts = await Promise.allSettled(dirs.map((cwd) => startBinary({ cwd, env: { DATABASE_URL: url } })))
    const started = starts.flatMap((start) => (start.status === 'fulfilled' ? [start.value] : []))
    const refused = starts.flatMap((start) => (start.status === 'rejected' ? [String(start.reason)] : []))
    try {
      expect(started).toHaveLength(1)
      expect(refused).toHaveLength(1)
      expect(refused[0]).toContain('The encryption key does not match this database')
      expect(dirs.filter((cwd) => existsSync(join(cwd, 'data', '.encryption_key')))).toHaveLength(1)
      await signUpRemote(started[0]!.url, 'ada@example.com')
    } finally {
      for (const each of started) await each.stop()
    }
  }, 60_000)

  test('single-user mode, a data key rotation and chat retention run on PostgreSQL', async () => {
    const url = await server.createDatabase()
    const cwd = tempDir()
    const env = { DATABASE_URL: url, ENCRYPTION_KEY: hexKey(), SINGLE_USER_MODE: 'true' }
    const first = await startBinary({ cwd, env })
    let kept = ''
    try {
      expect(first.output()).toContain('Single-user mode: no sign-in')
      const own = `http://localhost:${new URL(first.url).port}`
      const headers = { host: own.slice('http://'.length), origin: own, 'content-type': 'application/json' }
      const entered = await fetch(`${first.url}/api/v1/auths/single-user`, { method: 'POST', headers })
      expect(entered.status).toBe(200)
      const cookie = /token=[^;]+/.exec(entered.headers.get('set-cookie') ?? '')![0]
      const post = (path: string, body: unknown) => fetch(`${first.url}${path}`, { method: 'POST', headers: { ...headers, cookie }, body: JSON.stringify(body) })
      const ids: string[] = []
      for (const title of ['old chat', 'kept chat']) {
        const res = await post('/api/v1/chats/new', { chat: { title, messages: [] } })
        expect(res.status).toBe(200)
        ids.push(((await res.json()) as { id: string }).id)
      }
      kept = ids[1]!
      expect((await post('/api/v1/admin/keys/rotate-data', {})).status).toBe(202)
      for (let i = 0; i < 250; i++) {
        const progress = (await (await fetch(`${first.url}/api/v1/admin/keys/rotate-data`, { headers: { ...headers, cookie } })).json()) as { state: string }
        if (progress.state !== 'running') {
          expect(progress.state).toBe('finished')
          break
        }
        await Bun.sleep(20)
      }
      await server.asSuperuser(url, (sql) => sql.unsafe(`UPDATE chat SET updated_at = 0 WHERE id = '${ids[0]}'`))
    } finally {
      await first.stop()
    }
    const dataKeys = await server.asSuperuser(url, (sql) => sql.unsafe("SELECT DISTINCT version FROM data_key WHERE owner_id != 'email-index'"))
    expect(dataKeys.map((row: { version: number }) => Number(row.version))).toEqual([2])

    const again = await startBinary({ cwd, env: { ...env, CHAT_RETENTION_DAYS: '30' } })
    try {
      const own = `http://localhost:${new URL(again.url).port}`
      const headers = { host: own.slice('http://'.length), origin: own }
      const entered = await fetch(`${again.url}/api/v1/auths/single-user`, { method: 'POST', headers })
      const cookie = /token=[^;]+/.exec(entered.headers.get('set-cookie') ?? '')![0]
      for (let i = 0; i < 250 && (await server.asSuperuser(url, (sql) => sql.unsafe('SELECT id FROM chat'))).length > 1; i++) await Bun.sleep(20)
      const chats = (await (await fetch(`${again.url}/api/v1/chats/`, { headers: { ...headers, cookie } })).json()) as { id: string; title: string }[]
      expect(chats.map((chat) => [chat.id, chat.title])).toEqual([[kept, 'kept chat']])
    } finally {
      await again.stop()
    }
  }, 60_000)

  test('an unreachable PostgreSQL is named without its password, and nothing is written to DATA_DIR', async () => {
    const cwd = tempDir()
    const run = await runBinary(['serve', '--port', '0'], { cwd, env: { DATABASE_URL: `postgresql://enclave:${password}@127.0.0.1:1/enclave`, ENCRYPTION_KEY: hexKey() } })
    expect(run.code).toBe(1)
    expect(run.stderr).toContain('PostgreSQL at postgresql://enclave:***@127.0.0.1:1/enclave cannot be reached')
    expect(run.stdout + run.stderr).not.toContain(password)
    expect(run.stdout + run.stderr).not.toMatch(/^\s+at /m)
    expect(existsSync(join(cwd, 'data', 'enclave.db'))).toBe(false)
  }, 30_000)

  test('config prints the URL without its password', async () => {
    const run = await runBinary(['config'], { cwd: tempDir(), env: { DATABASE_URL: `postgresql://enclave:${password}@db.internal:5432/enclave`, DATABASE_POOL_SIZE: '5' } })
    expect(run.code).toBe(0)
    expect(run.stdout).toContain('postgresql://enclave:***@db.internal:5432/enclave')
    expect(run.stdout + run.stderr).not.toContain(password)
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
