/**
 * API keys against the compiled binary: the endpoint allow-list, and a refused key answering 403,
 * never 500. A minified build once kept the request path from the auth hook, so every key request
 * failed there while the same scenarios passed in process.
 */
import { afterAll, describe, expect, test } from 'bun:test'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { apiKeyHeader, bearer, signUp } from '../helpers/accounts.ts'
import { binaryAppStarter, type BinaryApp } from '../helpers/binary-app.ts'
import { req } from '../helpers/test-app.ts'
import { startFakeOllama, type FakeOllama } from '../fakes/ollama.ts'

const startApp = binaryAppStarter()
const ollama: FakeOllama = await startFakeOllama()
afterAll(() => ollama.stop())

const KEYS = '/api/v1/auths/api_key'
const keysOn = (allowed: string | null, extra: Record<string, string> = {}) => ({
  OLLAMA_BASE_URL: ollama.url, ENABLE_API_KEYS: 'true', DEFAULT_USER_ROLE: 'user', USER_PERMISSIONS_FEATURES_API_KEYS: 'true',
  ...(allowed === null ? {} : { ENABLE_API_KEYS_ENDPOINT_RESTRICTIONS: 'true', API_KEYS_ALLOWED_ENDPOINTS: allowed }),
  ...extra,
})

async function createKey(app: BinaryApp['app'], token: string): Promise<string> {
  const res = await app.handle(req('POST', KEYS, { name: 'ci' }, bearer(token)))
  expect(res.status).toBe(200)
  return ((await res.json()) as { api_key: string }).api_key
}

/** Sends a request and returns status and body text, failing loudly on any 500. */
async function call(app: BinaryApp['app'], method: string, path: string, headers: Record<string, string>, body?: unknown) {
  const res = await app.handle(req(method, path, body, headers))
  const text = await res.text()
  if (res.status >= 500) throw new Error(`${method} ${path} answered ${res.status}: ${text}`)
  return { status: res.status, text }
}

/** Sends a GET with a raw Host header (one fetch would refuse) and returns the status code. */
function rawGet(baseUrl: string, path: string, host: string, headers: Record<string, string>): Promise<number> {
  const { port } = new URL(baseUrl)
  const lines = Object.entries(headers).map(([name, value]) => `${name}: ${value}\r\n`).join('')
  return new Promise((resolve, reject) => {
    let answer = ''
    void Bun.connect({
      hostname: '127.0.0.1', port: Number(port), socket: {
        open: (socket) => void socket.write(`GET ${path} HTTP/1.1\r\nHost: ${host}\r\n${lines}Connection: close\r\n\r\n`),
        data: (_, chunk) => void (answer += chunk.toString()),
        close: () => resolve(Number(/^HTTP\/1\.1 (\d{3})/.exec(answer)?.[1] ?? 0)),
        error: (_, error) => reject(error),
      },
    })
  })
}

const auditEvents = (cwd: string) =>
  readFileSync(join(cwd, 'data', 'audit.log'), 'utf8').split('\n').filter(Boolean).map((line) => JSON.parse(line) as Record<string, unknown>)

describe('API_KEYS_ALLOWED_ENDPOINTS=/api/models,/api/chat/completions', async () => {
  // note: ALLOWED_HOSTS=* lets the odd Host headers below past the Host check, to the routing they test.
  const binary = await startApp({ ...keysOn('/api/models,/api/chat/completions'), ALLOWED_HOSTS: '*' })
  const admin = await signUp(binary.app, 'admin@example.com')
  const key = await createKey(binary.app, admin.token)

  test.each([
    ['x-api-key', apiKeyHeader],
    ['Bearer', bearer],
  ])('an allowed path answers 200 with the key as %s', async (_, header) => {
    const models = await call(binary.app, 'GET', '/api/models', header(key))
    expect(models.status).toBe(200)
    expect(JSON.parse(models.text).data.length).toBeGreaterThan(0)
    const completion = await call(binary.app, 'POST', '/api/chat/completions', header(key), { model: JSON.parse(models.text).data[0].id, messages: [{ role: 'user', content: 'hi' }] })
    expect(completion.status).toBe(200)
  })

  test.each([
    ['GET', '/api/v1/chats/'],
    ['GET', '/api/v1/auths/'],
    ['GET', '/api/v1/users/'],
    ['GET', '/ollama/api/tags'],
    ['GET', '/api/models/../v1/chats/'],
    ['GET', '/api/v1/ollama/connections'],
    ['GET', '/ollama/api/version'],
    ['POST', '/api/v1/chats/new'],
  ])('%s %s is refused 403 api_key_endpoint_denied', async (method, path) => {
    const res = await call(binary.app, method, path, apiKeyHeader(key), method === 'POST' ? { chat: {} } : undefined)
    expect(res.status).toBe(403)
    expect(JSON.parse(res.text).code).toBe('api_key_endpoint_denied')
  })

  // note: Bun gives a bare path as the URL for such a Host, and Elysia then routes a shifted path (404).
  test.each([['a b'], ['a/api/models'], ['ai'], ['']])('Host: %j neither opens a denied path nor fails', async (host) => {
    for (const path of ['/api/v1/users/', '/ollama/api/tags', '/api/v1/chats/api/models']) {
      // note: 421 is the Host check refusing a Host that is not a host name at all ("a b", ""), whatever ALLOWED_HOSTS says.
      expect([403, 404, 421]).toContain(await rawGet(binary.server().url, path, host, apiKeyHeader(key)))
    }
    expect([200, 404, 421]).toContain(await rawGet(binary.server().url, '/api/models', host, apiKeyHeader(key)))
  })

  test('the same paths answer a session as usual', async () => {
    expect((await call(binary.app, 'GET', '/api/v1/chats/', bearer(admin.token))).status).toBe(200)
  })

  test('a refusal is audited with the path and the client address, never the key', async () => {
    await call(binary.app, 'GET', '/api/v1/users/', apiKeyHeader(key))
    const denied = auditEvents(binary.cwd).filter((event) => event.event === 'api_key_denied')
    expect(denied.length).toBeGreaterThan(0)
    expect(denied.at(-1)).toMatchObject({ ip: '127.0.0.1', reason: 'api_key_endpoint_denied', details: { path: '/api/v1/users/' } })
    expect(readFileSync(join(binary.cwd, 'data', 'audit.log'), 'utf8')).not.toContain(key.slice(3))
    expect(binary.server().output()).not.toContain(key.slice(3))
  })
})

describe('API_KEYS_ALLOWED_ENDPOINTS=/ lets a key reach every route, none answering 500', async () => {
  const binary = await startApp(keysOn('/'))
  const admin = await signUp(binary.app, 'admin@example.com')
  const key = await createKey(binary.app, admin.token)
  const newChat = await call(binary.app, 'POST', '/api/v1/chats/new', apiKeyHeader(key), { chat: { title: 'from a key' } })
  const chatId = (JSON.parse(newChat.text) as { id: string }).id

  test.each([
    ['GET', '/api/models', 200],
    ['GET', '/api/v1/auths/', 200],
    ['GET', '/api/v1/auths/sessions', 200],
    ['GET', '/api/v1/users/', 200],
    ['GET', '/api/v1/users/?page=2&limit=10', 200],
    ['GET', '/api/v1/chats/', 200],
    ['GET', '/api/v1/chats/list?page=1', 200],
    ['GET', '/api/v1/chats/archived', 200],
    ['GET', '/api/v1/chats/pinned', 200],
    ['GET', '/api/v1/chats/search?text=key', 200],
    ['GET', '/api/v1/chats/all', 200],
    ['GET', '/api/v1/chats/:id', 200],
    ['POST', '/api/v1/chats/:id/pin', 200],
    ['GET', '/api/v1/admin/keys/status', 200],
    ['GET', '/api/v1/admin/keys/rotate-data', 200],
    ['GET', '/api/v1/ollama/connections', 200],
    ['GET', '/ollama/api/tags', 200],
    ['GET', '/ollama/api/version', 200],
    ['GET', KEYS, 403],
  ])('%s %s → %d', async (method, path, expected) => {
    const res = await call(binary.app, method, path.replace(':id', chatId), apiKeyHeader(key))
    expect(res.status).toBe(expected)
  })

  test('the created chat belongs to the key\'s owner', () => {
    expect(newChat.status).toBe(200)
  })
})

describe('a refused key answers 403, not 500', async () => {
  const binary = await startApp(keysOn('/api/models'))
  const admin = await signUp(binary.app, 'admin@example.com')
  const user = await signUp(binary.app, 'user@example.com')
  const userKey = await createKey(binary.app, user.token)
  const adminKey = await createKey(binary.app, admin.token)
  const refused = async (key: string, reason: string) => {
    const res = await call(binary.app, 'GET', '/api/models', apiKeyHeader(key))
    expect(res.status).toBe(403)
    expect(JSON.parse(res.text).code).toBe(reason)
  }

  test('the keys work to begin with', async () => {
    for (const key of [userKey, adminKey]) expect((await call(binary.app, 'GET', '/api/models', apiKeyHeader(key))).status).toBe(200)
  })

  test('an owner set back to pending', async () => {
    expect((await call(binary.app, 'POST', `/api/v1/users/${user.id}/update`, bearer(admin.token), { role: 'pending' })).status).toBe(200)
    await refused(userKey, 'api_key_not_allowed')
    expect((await call(binary.app, 'POST', `/api/v1/users/${user.id}/update`, bearer(admin.token), { role: 'user' })).status).toBe(200)
    expect((await call(binary.app, 'GET', '/api/models', apiKeyHeader(userKey))).status).toBe(200)
  })

  test('users\' permission withdrawn (USER_PERMISSIONS_FEATURES_API_KEYS=false)', async () => {
    await binary.restart(keysOn('/api/models', { USER_PERMISSIONS_FEATURES_API_KEYS: 'false' }))
    await refused(userKey, 'api_key_not_allowed')
    expect((await call(binary.app, 'GET', '/api/models', apiKeyHeader(adminKey))).status).toBe(200)
  })

  test('keys switched off (ENABLE_API_KEYS=false)', async () => {
    await binary.restart({ ...keysOn('/api/models'), ENABLE_API_KEYS: 'false' })
    await refused(userKey, 'api_key_not_allowed')
    await refused(adminKey, 'api_key_not_allowed')
  })
})
