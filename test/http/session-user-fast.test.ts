/**
 * GET /api/v1/auths/ answered by Bun's router (src/http/session-user.ts) must be the answer the app
 * gives: the same status, body and headers (all but Date) for the same request, over real sockets,
 * for every credential shape and refusal. "Before" is a second app over the same store, served
 * without the fast routes, so every request goes through Elysia. Each request is sent twice to
 * each (the first admits the credential, the second may take the fast path) and the second answers
 * are compared; the fast path must also be taken when it can, and never serve a revoked or deleted user.
 */
import { afterAll, describe, expect, test } from 'bun:test'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { ClusterBus } from '../../src/cluster/cluster-bus.ts'
import { connectRevocationRelay } from '../../src/cluster/revocation-relay.ts'
import type { MasterKeySource } from '../../src/config/load-config.ts'
import { generateKey } from '../../src/crypto/random.ts'
import { openStore } from '../../src/db/open-store.ts'
import type { UserId } from '../../src/db/ids.ts'
import { createApp, type App } from '../../src/http/create-app.ts'
import { listen } from '../../src/http/listen.ts'
import { apiKeyHeader, bearer, signIn, signUp } from '../helpers/accounts.ts'
import { req, startTestApp } from '../helpers/test-app.ts'

const ME = '/api/v1/auths/'

type Shape = [name: string, method: string, path: string, headers: Record<string, string>, body?: string]
type Answer = { status: string; body: string; headers: string[][] }

/** The answer as comparable data: status, body, and every header but the date (raw HTTP/1.1, so the Host and a GET's body are as written). */
async function answerOf(base: string, [, method, path, headers, body]: Shape): Promise<Answer> {
  const { hostname, port } = new URL(base)
  const head = { host: `${hostname}:${port}`, connection: 'close', ...headers }
  const text = `${method} ${path} HTTP/1.1\r\n${Object.entries(head).map(([name, value]) => `${name}: ${value}\r\n`).join('')}\r\n${body ?? ''}`
  const chunks: Uint8Array[] = []
  const { promise: closed, resolve } = Promise.withResolvers<void>()
  const socket = await Bun.connect({ hostname, port: Number(port), socket: { data: (_, chunk) => void chunks.push(new Uint8Array(chunk)), close: () => resolve(), error: () => resolve() } })
  socket.write(text)
  await closed
  const raw = Buffer.concat(chunks).toString('utf8')
  const [top = '', ...rest] = raw.split('\r\n\r\n')
  const [statusLine = '', ...lines] = top.split('\r\n')
  const entries = lines.map((line) => [line.slice(0, line.indexOf(':')).toLowerCase(), line.slice(line.indexOf(':') + 1).trim()]).filter(([name]) => name !== 'date').sort(([a = ''], [b = '']) => a.localeCompare(b))
  return { status: statusLine, body: rest.join('\r\n\r\n'), headers: entries }
}

/** One store, two apps: one served with the fast routes, one without (every request through Elysia); `asked` counts requests Elysia saw on the fast one. */
function servePair(env: Record<string, string>, now?: () => number) {
  const started = startTestApp(env, now)
  const fast = started.app
  const before = createApp(started.deps)
  ;(before.config as { serve?: unknown }).serve = undefined
  const counter = { asked: 0 }
  fast.onRequest(() => void counter.asked++)
  // note: the fast app is served as `enclave serve` serves it (http/listen.ts), the other by Elysia's listen.
  listen(fast, { hostname: '127.0.0.1', port: 0, maxRequestBodySize: 128 * 1024 * 1024, reusePort: false })
  before.listen({ hostname: '127.0.0.1', port: 0 })
  return {
    app: fast, counter, deps: started.deps,
    fast: `http://127.0.0.1:${fast.server!.port}`,
    before: `http://127.0.0.1:${before.server!.port}`,
    stop: () => Promise.all([fast.stop(), before.stop()]),
  }
}

type Pair = ReturnType<typeof servePair>

/** Sends the shape twice to each server; returns the second answers. */
async function bothAnswers(pair: Pair, shape: Shape): Promise<[Answer, Answer]> {
  await Promise.all([answerOf(pair.fast, shape), answerOf(pair.before, shape)])
  return Promise.all([answerOf(pair.fast, shape), answerOf(pair.before, shape)])
}

/** An admin, a user, a pending account, an API key, and credentials that must be refused: a signed-out session, a deleted user's. */
async function accountsOn(app: App) {
  const admin = await signUp(app, 'admin@example.com', undefined, 'Admin')
  const user = await signUp(app, 'user@example.com', undefined, 'User')
  const pending = await signUp(app, 'pending@example.com', undefined, 'Pending')
  const gone = await signUp(app, 'gone@example.com', undefined, 'Gone')
  const signedOut = await signUp(app, 'signed-out@example.com', undefined, 'Out')
  // note: with MFA_REQUIRED covering admins the admin may do nothing yet; those accounts stay pending then.
  for (const id of [user.id, gone.id, signedOut.id]) await app.handle(req('POST', `/api/v1/users/${id}/update`, { role: 'user' }, bearer(admin.token)))
  const key = await app.handle(req('POST', '/api/v1/auths/api_key', {}, bearer(admin.token)))
  const apiKey = key.status === 200 ? ((await key.json()) as { api_key: string }).api_key : 'sk-' + 'A'.repeat(43)
  return { admin, user, pending, gone, signedOut, apiKey }
}

type Accounts = Awaited<ReturnType<typeof accountsOn>>

function shapesFor(a: Accounts): Shape[] {
  const cookie = (token: string) => ({ cookie: `theme=dark; token=${token}` })
  return [
    ['an admin, Bearer session', 'GET', ME, bearer(a.admin.token)],
    ['a user, Bearer session', 'GET', ME, bearer(a.user.token)],
    ['a user, session cookie', 'GET', ME, cookie(a.user.token)],
    ['a user, Bearer and another cookie', 'GET', ME, { ...bearer(a.user.token), cookie: `token=${a.admin.token}` }],
    ['a pending account', 'GET', ME, bearer(a.pending.token)],
    ['an API key, x-api-key', 'GET', ME, apiKeyHeader(a.apiKey)],
    ['an API key, Bearer', 'GET', ME, bearer(a.apiKey)],
    ['a query string', 'GET', `${ME}?x=1&y=%20`, bearer(a.user.token)],
    ['without the trailing slash', 'GET', '/api/v1/auths', bearer(a.user.token)],
    ['HEAD', 'HEAD', ME, bearer(a.user.token)],
    ['HEAD with a cookie', 'HEAD', ME, cookie(a.admin.token)],
    ['HTTPS behind the trusted proxy', 'GET', ME, { ...bearer(a.user.token), 'x-forwarded-proto': 'https', 'x-forwarded-for': '203.0.113.9' }],
    ['HTTP behind the trusted proxy', 'GET', ME, { ...bearer(a.user.token), 'x-forwarded-proto': 'http' }],
    ['no credential', 'GET', ME, {}],
    ['an empty Bearer', 'GET', ME, { authorization: 'Bearer ' }],
    ['Basic, not ours', 'GET', ME, { authorization: 'Basic YTpi' }],
    ['a made-up token', 'GET', ME, bearer('not.a.token')],
    ['a session token with one character changed', 'GET', ME, bearer(a.user.token.slice(0, -2) + (a.user.token.endsWith('A') ? 'BB' : 'AA'))],
    ['a token over 4096 characters', 'GET', ME, bearer('x'.repeat(5000))],
    ['a wrong API key', 'GET', ME, apiKeyHeader('sk-' + 'B'.repeat(43))],
    ['a malformed cookie', 'GET', ME, { cookie: 'token=%E0%A4%A' }],
    ['a signed-out session', 'GET', ME, bearer(a.signedOut.token)],
    ['a deleted user\'s session', 'GET', ME, bearer(a.gone.token)],
    ['a Host outside ALLOWED_HOSTS', 'GET', ME, { ...bearer(a.user.token), host: 'rebound.example' }],
    ['an allowed Host with a port', 'GET', ME, { ...bearer(a.user.token), host: 'localhost:3000' }],
    ['a GET with a body', 'GET', ME, { ...bearer(a.user.token), 'content-type': 'application/json', 'content-length': '2' }, '{}'],
    ['a chunked GET', 'GET', ME, { ...bearer(a.user.token), 'content-type': 'application/json', 'transfer-encoding': 'chunked' }, '2\r\n{}\r\n0\r\n\r\n'],
    ['POST', 'POST', ME, { ...bearer(a.user.token), 'content-type': 'application/json' }, '{}'],
    ['DELETE', 'DELETE', ME, bearer(a.user.token)],
    ['an Origin from another site', 'GET', ME, { ...bearer(a.user.token), origin: 'https://evil.example', 'sec-fetch-site': 'cross-site' }],
    ['an oversized header', 'GET', ME, { ...bearer(a.user.token), 'x-padding': 'p'.repeat(20_000) }],
    ['another route under /api/v1/auths/', 'GET', '/api/v1/auths/sessions', bearer(a.user.token)],
  ]
}

/** Signs the one account out through the app and deletes the other (as the admin's delete does, which MFA_REQUIRED may hold back). */
async function refuseSome(pair: Pair, a: Accounts) {
  expect((await pair.app.handle(req('POST', '/api/v1/auths/signout', undefined, bearer(a.signedOut.token)))).status).toBe(200)
  await pair.deps.store.users.deleteUser(a.gone.id as UserId)
}

const settings: [string, Record<string, string>][] = [
  ['defaults', { ENABLE_API_KEYS: 'true' }],
  ['HSTS and CACHE_CONTROL off, API keys off', { HSTS: '', CACHE_CONTROL: '' }],
  ['custom header values, any host', { ENABLE_API_KEYS: 'true', HOST: '0.0.0.0', X_FRAME_OPTIONS: 'SAMEORIGIN', HSTS: 'max-age=600', CACHE_CONTROL: 'no-cache' }],
  ['no trusted proxy', { ENABLE_API_KEYS: 'true', FORWARDED_ALLOW_IPS: '' }],
  ['ALLOWED_HOSTS set', { ENABLE_API_KEYS: 'true', ALLOWED_HOSTS: 'chat.example,*.corp.example' }],
  ['API keys limited to other endpoints', { ENABLE_API_KEYS: 'true', ENABLE_API_KEYS_ENDPOINT_RESTRICTIONS: 'true', API_KEYS_ALLOWED_ENDPOINTS: '/api/models' }],
  ['MFA required of admins', { ENABLE_API_KEYS: 'true', MFA_REQUIRED: 'admins' }],
  ['CORS allowed origins (no fast path)', { ENABLE_API_KEYS: 'true', CORS_ALLOW_ORIGIN: 'https://app.example' }],
]

describe.each(settings)('%s', async (_, env) => {
  const pair = servePair(env)
  const accounts = await accountsOn(pair.app)
  await refuseSome(pair, accounts)
  afterAll(() => pair.stop())

  // note: a rest parameter, so bun:test passes no done callback (a shape without a body has four elements).
  test.each(shapesFor(accounts))('%s: the same answer as through the app', async (...each: unknown[]) => {
    const [fast, before] = await bothAnswers(pair, each as Shape)
    expect(fast).toEqual(before)
  })
})

describe.each(settings)('%s, a credential neither server has seen (the first request after a start)', async (_, env) => {
  const pair = servePair(env)
  // note: the accounts are made through a third app over the same store, so neither served app remembers a credential.
  const maker = createApp(pair.deps)
  const accounts = await accountsOn(maker)
  expect((await maker.handle(req('POST', '/api/v1/auths/signout', undefined, bearer(accounts.signedOut.token)))).status).toBe(200)
  await pair.deps.store.users.deleteUser(accounts.gone.id as UserId)
  afterAll(() => pair.stop())

  test.each(shapesFor(accounts))('%s: the same first answer as through the app', async (...each: unknown[]) => {
    const shape = each as Shape
    const [fast, before] = await Promise.all([answerOf(pair.fast, shape), answerOf(pair.before, shape)])
    expect(fast).toEqual(before)
  })
})

describe('the fast path', async () => {
  const pair = servePair({ ENABLE_API_KEYS: 'true' })
  const a = await accountsOn(pair.app)
  afterAll(() => pair.stop())

  test('answers a remembered session (cookie or Bearer) and API key without the app being asked', async () => {
    for (const headers of [bearer(a.user.token), { cookie: `token=${a.user.token}` }, apiKeyHeader(a.apiKey), bearer(a.admin.token)]) {
      const shape: Shape = ['', 'GET', ME, headers]
      expect((await answerOf(pair.fast, shape)).status).toBe('HTTP/1.1 200 OK')
      const asked = pair.counter.asked
      const again = await answerOf(pair.fast, shape)
      expect(again.status).toBe('HTTP/1.1 200 OK')
      expect(pair.counter.asked).toBe(asked)
    }
  })

  test('answers a session no request has admitted yet without the app being asked; a new API key goes to the app', async () => {
    const fresh = await signUp(createApp(pair.deps), 'first-request@example.com', undefined, 'First')
    const asked = pair.counter.asked
    expect((await answerOf(pair.fast, ['', 'GET', ME, bearer(fresh.token)])).status).toBe('HTTP/1.1 200 OK')
    expect(pair.counter.asked).toBe(asked)
    const other = createApp(pair.deps)
    await signIn(other, 'admin@example.com')
    const keyRes = await other.handle(req('POST', '/api/v1/auths/api_key', {}, bearer(a.admin.token)))
    expect(keyRes.status).toBe(200)
    const apiKey = ((await keyRes.json()) as { api_key: string }).api_key
    expect((await answerOf(pair.fast, ['', 'GET', ME, apiKeyHeader(apiKey)])).status).toBe('HTTP/1.1 200 OK')
    expect(pair.counter.asked).toBe(asked + 1)
  })

  test('a session revoked after it was remembered is refused at the next request', async () => {
    const shape: Shape = ['', 'GET', ME, bearer(a.signedOut.token)]
    expect((await answerOf(pair.fast, shape)).status).toBe('HTTP/1.1 200 OK')
    expect((await answerOf(pair.fast, shape)).status).toBe('HTTP/1.1 200 OK')
    expect((await pair.app.handle(req('POST', '/api/v1/auths/signout', undefined, bearer(a.signedOut.token)))).status).toBe(200)
    expect((await answerOf(pair.fast, shape)).status).toBe('HTTP/1.1 401 Unauthorized')
  })

  test('a signed-out session the fast route has not seen is read once: the app takes the fast route\'s refusal', async () => {
    const other = createApp(pair.deps)
    const out = await signUp(other, 'read-once@example.com', undefined, 'Once')
    expect((await other.handle(req('POST', '/api/v1/auths/signout', undefined, bearer(out.token)))).status).toBe(200)
    const sessions = pair.deps.store.sessions
    const findLiveSession = sessions.findLiveSession
    let reads = 0
    sessions.findLiveSession = (...args: Parameters<typeof findLiveSession>) => (reads++, findLiveSession.apply(sessions, args))
    try {
      const asked = pair.counter.asked
      const shape: Shape = ['', 'GET', ME, bearer(out.token)]
      const [fast, before] = [await answerOf(pair.fast, shape), await answerOf(pair.before, shape)]
      expect(fast).toEqual(before)
      expect(fast.status).toBe('HTTP/1.1 401 Unauthorized')
      expect(pair.counter.asked).toBe(asked + 1)
      // note: one read on the fast server (its route, then the app with that refusal), one on the server without fast routes.
      expect(reads).toBe(2)
    } finally {
      sessions.findLiveSession = findLiveSession
    }
  })

  test('a user deleted after they were remembered is refused at the next request, their key too', async () => {
    const shape: Shape = ['', 'GET', ME, bearer(a.gone.token)]
    const keyRes = await pair.app.handle(req('POST', '/api/v1/auths/api_key', {}, bearer(a.admin.token)))
    expect(keyRes.status).toBe(200)
    expect((await answerOf(pair.fast, shape)).status).toBe('HTTP/1.1 200 OK')
    expect((await answerOf(pair.fast, shape)).status).toBe('HTTP/1.1 200 OK')
    expect((await pair.app.handle(req('DELETE', `/api/v1/users/${a.gone.id}`, undefined, bearer(a.admin.token)))).status).toBe(200)
    const after = await answerOf(pair.fast, shape)
    expect(after.status).toBe('HTTP/1.1 401 Unauthorized')
    expect(after.body).not.toContain('gone@example.com')
  })

  test('a role change after a user was remembered is in the next answer', async () => {
    const shape: Shape = ['', 'GET', ME, bearer(a.user.token)]
    expect(JSON.parse((await answerOf(pair.fast, shape)).body).role).toBe('user')
    expect((await pair.app.handle(req('POST', `/api/v1/users/${a.user.id}/update`, { role: 'pending' }, bearer(a.admin.token)))).status).toBe(200)
    expect(JSON.parse((await answerOf(pair.fast, shape)).body).role).toBe('pending')
  })

  test('a revocation announced by another instance (an account change arriving from outside) is honoured at the next request', async () => {
    const fresh = await signUp(pair.app, 'remote@example.com', undefined, 'Remote')
    const shape: Shape = ['', 'GET', ME, bearer(fresh.token)]
    expect((await answerOf(pair.fast, shape)).status).toBe('HTTP/1.1 200 OK')
    const asked = pair.counter.asked
    expect((await answerOf(pair.fast, shape)).status).toBe('HTTP/1.1 200 OK')
    expect(pair.counter.asked).toBe(asked)
    // note: what the revocation relay does with a notice from another instance (cluster/revocation-relay.ts):
    // the session is gone from the shared database and the change is announced here.
    await pair.deps.store.sessions.revokeOtherSessions(fresh.id as UserId, null)
    expect((await answerOf(pair.fast, shape)).status).toBe('HTTP/1.1 401 Unauthorized')
  })
})

describe('an expired session', async () => {
  // note: one clock for both apps and the store, moved by the test past JWT_EXPIRES_IN.
  let at = Date.now()
  const pair = servePair({ JWT_EXPIRES_IN: '1h' }, () => at)
  await signUp(pair.app, 'admin@example.com', undefined, 'Admin')
  const user = await signUp(pair.app, 'expiring@example.com', undefined, 'Expiring')
  afterAll(() => pair.stop())

  test.each<[string, Record<string, string>]>([
    ['Bearer', bearer(user.token)],
    ['cookie', { cookie: `token=${user.token}` }],
  ])('%s: served while live, then the app\'s own refusal once expired', async (_, headers) => {
    const shape: Shape = ['', 'GET', ME, headers]
    const [live, liveBefore] = await bothAnswers(pair, shape)
    expect(live.status).toBe('HTTP/1.1 200 OK')
    expect(live).toEqual(liveBefore)
    at += 3_600_000 + 1000
    const [expired, expiredBefore] = await bothAnswers(pair, shape)
    expect(expired.status).toBe('HTTP/1.1 401 Unauthorized')
    expect(expired).toEqual(expiredBefore)
    at -= 3_600_000 + 1000
  })
})

describe('two instances on one database', async () => {
  // note: two stores over one SQLite file, each its own account changes and caches, joined by an
  // in-memory stand-in for the Redis bus that carries what cluster/revocation-relay.ts publishes.
  const dir = mkdtempSync(join(tmpdir(), 'enclave-session-user-'))
  const masterKey: MasterKeySource = { kind: 'env', value: Buffer.from(generateKey()).toString('hex') }
  const sessionSecret = 'two-instances-secret-' + crypto.randomUUID()
  const handlers = new Map<string, ((body: unknown) => void)[]>()
  const busFor = (instanceId: string) => ({
    instanceId,
    publish: async (topic: string, body: unknown) => {
      for (const handler of handlers.get(topic) ?? []) queueMicrotask(() => handler({ from: instanceId, body }))
      return true
    },
    subscribe: async (topic: string, handler: (body: unknown) => void) => {
      const list = handlers.get(topic) ?? []
      list.push((envelope) => {
        const { from, body } = envelope as { from: string; body: unknown }
        if (from !== instanceId) handler(body)
      })
      handlers.set(topic, list)
    },
  }) as unknown as ClusterBus
  const instance = async (name: string) => {
    const base = startTestApp({ ENABLE_API_KEYS: 'true' })
    const store = openStore({ dataDir: dir, masterKey, now: Date.now })
    await connectRevocationRelay(busFor(name), store.accountChanges)
    const app = createApp({ ...base.deps, store, sessionSecret })
    app.listen({ hostname: '127.0.0.1', port: 0 })
    return { app, store, url: `http://127.0.0.1:${app.server!.port}` }
  }
  const one = await instance('one')
  const two = await instance('two')
  afterAll(async () => {
    await Promise.all([one.app.stop(), two.app.stop()])
    await Promise.all([one.store.close(), two.store.close()])
    rmSync(dir, { recursive: true, force: true })
  })

  test('a session signed out on one instance is refused by the other\'s fast path within a second', async () => {
    await signUp(one.app, 'admin@example.com', undefined, 'Admin')
    const user = await signUp(one.app, 'user@example.com', undefined, 'User')
    const shape: Shape = ['', 'GET', ME, bearer(user.token)]
    expect((await answerOf(two.url, shape)).status).toBe('HTTP/1.1 200 OK')
    expect((await answerOf(two.url, shape)).status).toBe('HTTP/1.1 200 OK')
    expect((await answerOf(one.url, ['', 'POST', '/api/v1/auths/signout', bearer(user.token)])).status).toBe('HTTP/1.1 200 OK')
    const deadline = Date.now() + 1000
    let answer = await answerOf(two.url, shape)
    while (answer.status !== 'HTTP/1.1 401 Unauthorized' && Date.now() < deadline) {
      await Bun.sleep(20)
      answer = await answerOf(two.url, shape)
    }
    expect(answer.status).toBe('HTTP/1.1 401 Unauthorized')
  })

  test('a user deleted on one instance is refused by the other\'s fast path within a second, and not shown', async () => {
    const admin = await signIn(one.app, 'admin@example.com')
    const user = await signUp(one.app, 'deleted@example.com', undefined, 'Deleted')
    const shape: Shape = ['', 'GET', ME, { cookie: `token=${user.token}` }]
    expect((await answerOf(two.url, shape)).status).toBe('HTTP/1.1 200 OK')
    expect((await answerOf(two.url, shape)).body).toContain('deleted@example.com')
    expect((await one.app.handle(req('DELETE', `/api/v1/users/${user.id}`, undefined, bearer(admin.token)))).status).toBe(200)
    const deadline = Date.now() + 1000
    let answer = await answerOf(two.url, shape)
    while (answer.status !== 'HTTP/1.1 401 Unauthorized' && Date.now() < deadline) {
      await Bun.sleep(20)
      answer = await answerOf(two.url, shape)
    }
    expect(answer.status).toBe('HTTP/1.1 401 Unauthorized')
    expect(answer.body).not.toContain('deleted@example.com')
  })
})
