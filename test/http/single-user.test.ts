import { describe, expect, test } from 'bun:test'
import { prepareSingleUser, SINGLE_USER_EMAIL } from '../../src/auth/single-user.ts'
import { startTestApp } from '../helpers/test-app.ts'

const OWN = 'localhost:8080'

/** A request as a browser on this machine sends it from the server's own page, with overrides. */
function browserRequest(method: string, path: string, headers: Record<string, string | null> = {}, body?: unknown): Request {
  const base: Record<string, string> = { host: OWN, origin: `http://${OWN}`, 'sec-fetch-site': 'same-origin', 'sec-fetch-mode': 'cors', 'sec-fetch-dest': 'empty' }
  const merged = Object.fromEntries(Object.entries({ ...base, ...headers }).filter((entry): entry is [string, string] => entry[1] !== null))
  if (body !== undefined) merged['content-type'] = 'application/json'
  return new Request(`http://${OWN}${path}`, { method, headers: merged, ...(body === undefined ? {} : { body: JSON.stringify(body) }) })
}

/**
 * A single-user app; `ALLOWED_HOSTS=*` by default turns the general Host check off, so these tests
 * show that the single-user fence holds on its own.
 */
async function singleUserApp(env: Record<string, string> = { ALLOWED_HOSTS: '*' }) {
  const started = startTestApp({ SINGLE_USER_MODE: 'true', ...env })
  const prepared = await prepareSingleUser(started.deps.store)
  if (!prepared.ok) throw new Error('expected one account')
  return { ...started, user: prepared.user }
}

async function sessionCookieOf(app: Awaited<ReturnType<typeof singleUserApp>>['app']): Promise<string> {
  const res = await app.handle(browserRequest('POST', '/api/v1/auths/single-user'))
  expect(res.status).toBe(200)
  return /token=[^;]+/.exec(res.headers.get('set-cookie') ?? '')![0]
}

describe('single-user mode', () => {
  test('/api/config tells the UI there is no sign-in', async () => {
    const { app } = await singleUserApp()
    const config = await (await app.handle(browserRequest('GET', '/api/config'))).json() as { auth: boolean; features: { auth: boolean; enable_signup: boolean }; onboarding: boolean }
    expect(config).toMatchObject({ auth: false, onboarding: false, features: { auth: false, enable_signup: false } })
    const normal = startTestApp()
    expect((await (await normal.app.handle(browserRequest('GET', '/api/config'))).json() as { features: { auth: boolean } }).features.auth).toBe(true)
  })

  test("the server's own page gets the one user's session, an admin, and uses the API with it", async () => {
    const { app, user } = await singleUserApp()
    expect(user).toMatchObject({ email: SINGLE_USER_EMAIL, role: 'admin' })
    const res = await app.handle(browserRequest('POST', '/api/v1/auths/single-user'))
    expect(res.status).toBe(200)
    expect(await res.json()).toMatchObject({ email: SINGLE_USER_EMAIL, role: 'admin' })
    const cookie = /token=[^;]+/.exec(res.headers.get('set-cookie') ?? '')![0]
    const me = await app.handle(browserRequest('GET', '/api/v1/auths/', { cookie }))
    expect(me.status).toBe(200)
    const created = await app.handle(browserRequest('POST', '/api/v1/chats/new', { cookie }, { chat: { title: 'mine', messages: [] } }))
    expect(created.status).toBe(200)
  })

  test.each([
    ['127.0.0.1 with a port', '127.0.0.1:3000'],
    ['[::1]', '[::1]:8080'],
    ['localhost without a port', 'localhost'],
  ])('a loopback host name is served: %s', async (_, host) => {
    const { app } = await singleUserApp()
    const res = await app.handle(browserRequest('POST', '/api/v1/auths/single-user', { host, origin: `http://${host}` }))
    expect(res.status).toBe(200)
  })

  test.each<[string, Record<string, string | null>, string]>([
    ['another site\'s page', { origin: 'https://evil.example' }, 'cross_site_request'],
    ['another port on this machine', { origin: 'http://localhost:3000' }, 'cross_site_request'],
    ['an opaque origin (sandboxed frame, file://)', { origin: 'null' }, 'cross_site_request'],
    ['https of the same name', { origin: `https://${OWN}` }, 'cross_site_request'],
    ['no Origin, Sec-Fetch-Site cross-site', { origin: null, 'sec-fetch-site': 'cross-site' }, 'cross_site_request'],
    ['no Origin, Sec-Fetch-Site same-site', { origin: null, 'sec-fetch-site': 'same-site' }, 'cross_site_request'],
    ['no Origin at all (a form without script, a tool)', { origin: null, 'sec-fetch-site': null }, 'cross_site_request'],
    ['a DNS-rebinding name', { host: 'attacker.example:8080', origin: 'http://attacker.example:8080' }, 'host_not_allowed'],
    ['a LAN address', { host: '192.168.1.5:8080', origin: 'http://192.168.1.5:8080' }, 'host_not_allowed'],
    ['0.0.0.0', { host: '0.0.0.0:8080', origin: 'http://0.0.0.0:8080' }, 'host_not_allowed'],
    ['localhost as a subdomain', { host: 'localhost.attacker.example', origin: 'http://localhost.attacker.example' }, 'host_not_allowed'],
    ['an out-of-range 127 address', { host: '127.0.0.256', origin: 'http://127.0.0.256' }, 'host_not_allowed'],
    ['no Host header', { host: null }, 'host_not_allowed'],
    ['through a proxy', { 'x-forwarded-for': '203.0.113.9' }, 'proxied_request'],
    ['through a proxy (Forwarded)', { forwarded: 'for=203.0.113.9' }, 'proxied_request'],
  ])('no session for %s', async (_, headers, code) => {
    const { app, audit } = await singleUserApp()
    const res = await app.handle(browserRequest('POST', '/api/v1/auths/single-user', headers))
    expect(res.status).toBe(403)
    expect((await res.json() as { code: string }).code).toBe(code)
    expect(res.headers.get('set-cookie')).toBeNull()
    expect(audit.entries.some((entry) => entry.event === 'signin_succeeded')).toBe(false)
  })

  test('a cross-site or foreign-host request with the session cookie is refused too, reads included', async () => {
    const { app } = await singleUserApp()
    const cookie = await sessionCookieOf(app)
    const hostile: Record<string, string | null>[] = [{ origin: 'https://evil.example' }, { origin: null, 'sec-fetch-site': 'cross-site' }, { host: 'attacker.example:8080', origin: 'http://attacker.example:8080' }]
    for (const headers of hostile) {
      expect((await app.handle(browserRequest('GET', '/api/v1/chats/', { cookie, ...headers }))).status).toBe(403)
      expect((await app.handle(browserRequest('POST', '/api/v1/chats/new', { cookie, ...headers }, { chat: { title: 'x', messages: [] } }))).status).toBe(403)
    }
  })

  test('following a link from another site to the UI opens it (a top-level navigation)', async () => {
    const { app } = await singleUserApp()
    const res = await app.handle(browserRequest('GET', '/', { origin: null, 'sec-fetch-site': 'cross-site', 'sec-fetch-mode': 'navigate', 'sec-fetch-dest': 'document' }))
    expect(res.status).toBe(200)
    const framed = await app.handle(browserRequest('GET', '/', { origin: null, 'sec-fetch-site': 'cross-site', 'sec-fetch-mode': 'navigate', 'sec-fetch-dest': 'iframe' }))
    expect(framed.status).toBe(403)
  })

  test('sign-up is closed, so the data directory keeps one account', async () => {
    const { app, deps } = await singleUserApp()
    const res = await app.handle(browserRequest('POST', '/api/v1/auths/signup', {}, { name: 'Eve', email: 'eve@example.com', password: 'a long enough password' }))
    expect(res.status).toBe(403)
    expect(await deps.store.users.countUsers()).toBe(1)
  })

  test('the single user sets a first password without a current one, for when the mode is turned off', async () => {
    const { app, deps, user } = await singleUserApp()
    const cookie = await sessionCookieOf(app)
    const res = await app.handle(browserRequest('POST', '/api/v1/auths/update/password', { cookie }, { password: '', new_password: 'my new long password' }))
    expect(res.status).toBe(200)
    expect(await deps.store.credentials.findPasswordHash(user.id)).toMatch(/^\$argon2id\$/)
    // once set, changing it needs it
    const again = await app.handle(browserRequest('POST', '/api/v1/auths/update/password', { cookie }, { password: 'wrong', new_password: 'another long password' }))
    expect(again.status).toBe(400)
  })

  test('with the general Host check on too, a foreign name is refused by it first', async () => {
    const { app } = await singleUserApp({})
    const res = await app.handle(browserRequest('POST', '/api/v1/auths/single-user', { host: 'attacker.example:8080', origin: 'http://attacker.example:8080' }))
    expect(res.status).toBe(421)
    expect(res.headers.get('set-cookie')).toBeNull()
    expect((await app.handle(browserRequest('POST', '/api/v1/auths/single-user'))).status).toBe(200)
  })

  test('off single-user mode the route does not exist and nothing is fenced', async () => {
    const { app } = startTestApp({ ALLOWED_HOSTS: '*' })
    expect((await app.handle(browserRequest('POST', '/api/v1/auths/single-user'))).status).toBe(404)
    expect((await app.handle(browserRequest('GET', '/api/config', { host: 'chat.example.com', origin: null }))).status).toBe(200)
  })
})

describe('prepareSingleUser', () => {
  test('an existing single account (an import) is that user and becomes an admin; two accounts are refused', async () => {
    const { deps } = startTestApp({ SINGLE_USER_MODE: 'true' })
    const made = await deps.store.users.createUser({ email: 'ada@example.com', name: 'Ada', role: 'user' })
    if (!made.ok) throw new Error('setup')
    expect(await prepareSingleUser(deps.store)).toMatchObject({ ok: true, created: false, user: { id: made.user.id, role: 'admin' } })
    expect((await deps.store.users.findUserById(made.user.id))!.role).toBe('admin')
    await deps.store.users.createUser({ email: 'bob@example.com', name: 'Bob', role: 'user' })
    expect(await prepareSingleUser(deps.store)).toEqual({ ok: false, accounts: 2 })
  })
})
