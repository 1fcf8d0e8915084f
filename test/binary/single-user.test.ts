/**
 * Single-user mode in the compiled binary: it starts only on loopback and on a data directory with
 * at most one account; the browser on this machine gets the admin's session from the server's own
 * page; other sites, foreign Host names (DNS rebinding) and proxies get nothing; API keys still work.
 */
import { describe, expect, test } from 'bun:test'
import { join } from 'node:path'
import { runBinary, startBinary, tempDirsRemovedAfterAll } from '../helpers/binary.ts'
import { writeLibreWebUiDatabase } from '../helpers/libre-webui-fixture.ts'
import { seedDataDir } from '../helpers/seed-store.ts'

const tempDir = tempDirsRemovedAfterAll()
const SINGLE = { SINGLE_USER_MODE: 'true' }

function expectRefusedStart(run: { code: number; stderr: string; output: string }) {
  expect(run.code).toBe(1)
  expect(run.stderr).toContain('enclave: cannot start: ')
  expect(run.output).not.toContain('listening')
}

describe('where single-user mode may start', () => {
  test.each([['0.0.0.0'], ['::'], ['192.168.1.5']])('HOST=%s is refused, saying why', async (host) => {
    const run = await runBinary(['serve', '--host', host, '--port', '0'], { cwd: tempDir(), env: SINGLE })
    expectRefusedStart(run)
    expect(run.stderr).toContain('SINGLE_USER_MODE="true": expected HOST to be a loopback address')
    expect(run.stderr).toContain('whoever reaches the server would be its admin')
  })

  test('WEBUI_AUTH=False on 0.0.0.0 is refused under its own name', async () => {
    const run = await runBinary(['serve', '--host', '0.0.0.0', '--port', '0'], { cwd: tempDir(), env: { WEBUI_AUTH: 'False' } })
    expectRefusedStart(run)
    expect(run.stderr).toContain('WEBUI_AUTH="false"')
  })

  test('a data directory with two accounts is refused, as Open WebUI does', async () => {
    const cwd = tempDir()
    await seedDataDir(join(cwd, 'data'), { users: 2 })
    const run = await runBinary(['serve', '--port', '0'], { cwd, env: SINGLE })
    expectRefusedStart(run)
    expect(run.stderr).toContain('a data directory with at most one account')
    expect(run.stderr).toContain('has 2')
  })

  test('SINGLE_USER_MODE and WEBUI_AUTH disagreeing is refused, naming both', async () => {
    const run = await runBinary(['serve', '--port', '0'], { cwd: tempDir(), env: { SINGLE_USER_MODE: 'true', WEBUI_AUTH: 'true' } })
    expectRefusedStart(run)
    expect(run.stderr).toContain('SINGLE_USER_MODE')
    expect(run.stderr).toContain('WEBUI_AUTH')
  })
})

describe('a single-user server', () => {
  test('gives its own page the admin session, refuses other sites, foreign names and proxies, and still takes API keys', async () => {
    const cwd = tempDir()
    const server = await startBinary({ cwd, env: { ...SINGLE, ENABLE_API_KEYS: 'true' } })
    try {
      expect(server.output()).toContain('Single-user mode: no sign-in')
      const port = new URL(server.url).port
      const own = `http://localhost:${port}`
      const post = (path: string, headers: Record<string, string>, body?: unknown) =>
        fetch(`${server.url}${path}`, { method: 'POST', headers: { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers }, ...(body === undefined ? {} : { body: JSON.stringify(body) }) })

      const config = await (await fetch(`${server.url}/api/config`, { headers: { host: `localhost:${port}` } })).json() as { features: { auth: boolean } }
      expect(config.features.auth).toBe(false)

      const hostile: [string, Record<string, string>][] = [
        ['another site', { host: `localhost:${port}`, origin: 'https://evil.example' }],
        ['no Origin', { host: `localhost:${port}` }],
        ['DNS rebinding', { host: `rebind.attacker.example:${port}`, origin: `http://rebind.attacker.example:${port}` }],
        ['a proxy', { host: `localhost:${port}`, origin: own, 'x-forwarded-for': '203.0.113.7' }],
      ]
      for (const [, headers] of hostile) {
        const res = await post('/api/v1/auths/single-user', headers)
        // note: 421 where the general Host check (ALLOWED_HOSTS) refuses a foreign name first, else 403 from the single-user fence.
        expect([403, 421]).toContain(res.status)
        expect(res.headers.get('set-cookie')).toBeNull()
      }

      const entered = await post('/api/v1/auths/single-user', { host: `localhost:${port}`, origin: own })
      expect(entered.status).toBe(200)
      expect(await entered.json()).toMatchObject({ email: 'admin@localhost', role: 'admin' })
      const cookie = /token=[^;]+/.exec(entered.headers.get('set-cookie') ?? '')![0]
      const rebound = await fetch(`${server.url}/api/v1/chats/`, { headers: { host: `rebind.attacker.example:${port}`, cookie } })
      expect([403, 421]).toContain(rebound.status)

      const created = await post('/api/v1/auths/api_key', { host: `localhost:${port}`, origin: own, cookie })
      expect(created.status).toBe(200)
      const { api_key: key } = await created.json() as { api_key: string }
      const tool = await fetch(`${server.url}/api/v1/chats/`, { headers: { authorization: `Bearer ${key}` } })
      expect(tool.status).toBe(200)
    } finally {
      await server.stop()
    }
  })

  test('turned off later, the account signs in with the password it set in single-user mode', async () => {
    const cwd = tempDir()
    const password = `pw-${crypto.randomUUID()}`
    const single = await startBinary({ cwd, env: SINGLE })
    try {
      const own = `http://localhost:${new URL(single.url).port}`
      const headers = { host: new URL(own).host, origin: own }
      const entered = await fetch(`${single.url}/api/v1/auths/single-user`, { method: 'POST', headers })
      const cookie = /token=[^;]+/.exec(entered.headers.get('set-cookie') ?? '')![0]
      const set = await fetch(`${single.url}/api/v1/auths/update/password`, { method: 'POST', headers: { ...headers, cookie, 'content-type': 'application/json' }, body: JSON.stringify({ password: '', new_password: password }) })
      expect(set.status).toBe(200)
    } finally {
      await single.stop()
    }
    const normal = await startBinary({ cwd })
    try {
      const signIn = (body: unknown) => fetch(`${normal.url}/api/v1/auths/signin`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })
      expect((await signIn({ email: 'admin@localhost', password })).status).toBe(200)
      expect((await signIn({ email: 'admin@localhost', password: '' })).status).toBe(400)
      expect((await fetch(`${normal.url}/api/v1/auths/single-user`, { method: 'POST', headers: { origin: normal.url } })).status).toBe(404)
    } finally {
      await normal.stop()
    }
  })

  test("after a Libre WebUI import, its default user is the single user, with its chats", async () => {
    const cwd = tempDir()
    const key = Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString('hex')
    await writeLibreWebUiDatabase(join(cwd, 'data.sqlite'), key, {
      users: [{ id: 'default', username: 'admin', email: null, password: null, role: 'admin' }],
      sessions: [{ id: 's1', userId: 'default', title: 'From Libre', messages: [{ role: 'user', content: 'hi' }] }],
    })
    const imported = await runBinary(['import', 'libre-webui', '--from', join(cwd, 'data.sqlite')], { cwd, env: { PORT: '1', LIBRE_WEBUI_ENCRYPTION_KEY: key } })
    expect(imported.code).toBe(0)
    const server = await startBinary({ cwd, env: SINGLE })
    try {
      const port = new URL(server.url).port
      const entered = await fetch(`${server.url}/api/v1/auths/single-user`, { method: 'POST', headers: { host: `127.0.0.1:${port}`, origin: `http://127.0.0.1:${port}` } })
      const session = await entered.json() as { token: string; email: string }
      expect(session.email).toBe('admin@localhost')
      const chats = await (await fetch(`${server.url}/api/v1/chats/`, { headers: { authorization: `Bearer ${session.token}`, host: `127.0.0.1:${port}` } })).json() as { title: string }[]
      expect(chats.map((chat) => chat.title)).toEqual(['From Libre'])
    } finally {
      await server.stop()
    }
  })
})

test('`enclave config` names the Libre WebUI variable a value came from', async () => {
  const run = await runBinary(['config'], { cwd: tempDir(), env: { JWT_SECRET: 'a-libre-secret-value', CORS_ORIGIN: 'http://localhost:5173' } })
  expect(run.code).toBe(0)
  expect(run.stdout).toMatch(/WEBUI_SECRET_KEY\s+\*\*\*\s+\[env as JWT_SECRET\]/)
  expect(run.stdout).toMatch(/CORS_ALLOW_ORIGIN\s+http:\/\/localhost:5173\s+\[env as CORS_ORIGIN\]/)
  expect(run.output).not.toContain('a-libre-secret-value')
})

test('JWT_SECRET and WEBUI_SECRET_KEY disagreeing refuses the start, naming both', async () => {
  const run = await runBinary(['serve', '--port', '0'], { cwd: tempDir(), env: { JWT_SECRET: 'one-secret-value', WEBUI_SECRET_KEY: 'other-secret-value' } })
  expectRefusedStart(run)
  expect(run.stderr).toContain('JWT_SECRET')
  expect(run.stderr).toContain('WEBUI_SECRET_KEY')
  expect(run.output).not.toContain('one-secret-value')
  expect(run.output).not.toContain('other-secret-value')
})
