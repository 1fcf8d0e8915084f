import { describe, expect, test } from 'bun:test'
import { createHash } from 'node:crypto'
import { isPathWithin } from '../../src/auth/authenticate.ts'
import type { App } from '../../src/http/create-app.ts'
import { apiKeyHeader, bearer, signUp, startClockedApp, statusOf } from '../helpers/accounts.ts'
import { req, startTestApp } from '../helpers/test-app.ts'

const KEYS = '/api/v1/auths/api_key'
const ME = '/api/v1/auths/'
const USERS = '/api/v1/users/'
const ON = { ENABLE_API_KEYS: 'true', DEFAULT_USER_ROLE: 'user' }

type Created = { api_key: string; id: string; name: string; expires_at: number | null }
async function createKey(app: App, token: string, body?: unknown): Promise<Created> {
  const res = await app.handle(req('POST', KEYS, body, bearer(token)))
  expect(res.status).toBe(200)
  return (await res.json()) as Created
}
const both = (key: string) => [bearer(key), apiKeyHeader(key)]

test('with ENABLE_API_KEYS unset, creating a key → 403', async () => {
  const { app } = startTestApp()
  const admin = await signUp(app, 'admin@example.com')
  const res = await app.handle(req('POST', KEYS, undefined, bearer(admin.token)))
  expect(res.status).toBe(403)
  expect(admin.permissions.features.api_keys).toBe(false)
})

describe('who may create keys', () => {
  test('an admin may; a normal user may not', async () => {
    const { app } = startTestApp(ON)
    const admin = await signUp(app, 'admin@example.com')
    const user = await signUp(app, 'user@example.com')
    expect([admin.permissions.features.api_keys, user.permissions.features.api_keys]).toEqual([true, false])
    const created = await createKey(app, admin.token, { name: 'ci' })
    expect(created.api_key).toMatch(/^sk-[A-Za-z0-9_-]{43,}$/)
    expect(created.name).toBe('ci')
    expect(await statusOf(app, 'POST', KEYS, bearer(user.token))).toBe(403)
  })

  test('USER_PERMISSIONS_FEATURES_API_KEYS=true lets users, but not pending accounts', async () => {
    const { app } = startTestApp({ ...ON, USER_PERMISSIONS_FEATURES_API_KEYS: 'true' })
    const admin = await signUp(app, 'admin@example.com')
    const user = await signUp(app, 'user@example.com')
    await createKey(app, user.token)
    await app.handle(req('POST', `/api/v1/users/${user.id}/update`, { role: 'pending' }, bearer(admin.token)))
    expect(await statusOf(app, 'POST', KEYS, bearer(user.token))).toBe(403)
  })
})

describe('using and managing a key', async () => {
  const { app, deps } = startTestApp(ON)
  const admin = await signUp(app, 'admin@example.com')
  const key = (await createKey(app, admin.token)).api_key

  test('the key works as Bearer and as x-api-key alike', async () => {
    for (const headers of both(key)) {
      const res = await app.handle(req('GET', ME, undefined, headers))
      expect(res.status).toBe(200)
      expect((await res.json()).id).toBe(admin.id)
      expect(await statusOf(app, 'GET', USERS, headers)).toBe(200)
    }
  })

  test('a wrong or altered key → 401', async () => {
    for (const bad of [`${key}x`, key.slice(0, -1), 'sk-', `sk-${'A'.repeat(43)}`, key.toUpperCase()]) {
      for (const headers of both(bad)) expect(await statusOf(app, 'GET', ME, headers)).toBe(401)
    }
  })

  test('GET /api_key lists metadata, never a key', async () => {
    const res = await app.handle(req('GET', KEYS, undefined, bearer(admin.token)))
    const text = await res.text()
    expect(res.status).toBe(200)
    expect(text).not.toContain(key)
    expect(text).not.toContain(key.slice(3))
    expect(text).not.toContain('"sk-')
    expect(JSON.parse(text).keys).toHaveLength(1)
  })

  test('an API key may not create keys, delete keys, or change the password', async () => {
    for (const headers of both(key)) {
      expect(await statusOf(app, 'POST', KEYS, headers)).toBe(403)
      expect(await statusOf(app, 'GET', KEYS, headers)).toBe(403)
      expect(await statusOf(app, 'DELETE', KEYS, headers)).toBe(403)
      expect(await statusOf(app, 'DELETE', `${KEYS}/${crypto.randomUUID()}`, headers)).toBe(403)
      expect(await statusOf(app, 'POST', '/api/v1/auths/update/password', headers, { password: 'correct horse battery', new_password: 'taken over!!' })).toBe(403)
    }
    expect(await statusOf(app, 'GET', ME, apiKeyHeader(key))).toBe(200)
  })

  test('only the SHA-256 of the key is stored', () => {
    const sha = createHash('sha256').update(key).digest()
    const rows = deps.store.db!.query('SELECT * FROM api_key').all() as Record<string, unknown>[]
    expect(rows.some((row) => row.key_hash instanceof Uint8Array && Buffer.from(row.key_hash).equals(sha))).toBe(true)
    const tables = deps.store.db!.query("SELECT name FROM sqlite_master WHERE type = 'table'").all() as { name: string }[]
    for (const { name } of tables) {
      for (const row of deps.store.db!.query(`SELECT * FROM "${name}"`).all() as Record<string, unknown>[]) {
        for (const value of Object.values(row)) {
          const text = value instanceof Uint8Array ? Buffer.from(value).toString('latin1') : String(value)
          expect(text).not.toContain(key.slice(3))
        }
      }
    }
  })

  test('DELETE /api_key/:id stops that key at once; another\'s id → 404', async () => {
    const second = await createKey(app, admin.token)
    expect(await statusOf(app, 'GET', ME, apiKeyHeader(second.api_key))).toBe(200)
    expect(await statusOf(app, 'DELETE', `${KEYS}/${crypto.randomUUID()}`, bearer(admin.token))).toBe(404)
    expect(await statusOf(app, 'DELETE', `${KEYS}/${second.id}`, bearer(admin.token))).toBe(200)
    for (const headers of both(second.api_key)) expect(await statusOf(app, 'GET', ME, headers)).toBe(401)
    expect(await statusOf(app, 'GET', ME, apiKeyHeader(key))).toBe(200)
  })

  test('DELETE /api_key stops every key of the user', async () => {
    const second = await createKey(app, admin.token)
    expect(await statusOf(app, 'DELETE', KEYS, bearer(admin.token))).toBe(200)
    for (const k of [key, second.api_key]) for (const headers of both(k)) expect(await statusOf(app, 'GET', ME, headers)).toBe(401)
  })
})

describe('the owner\'s standing governs the key', async () => {
  const { app } = startTestApp({ ...ON, USER_PERMISSIONS_FEATURES_API_KEYS: 'true' })
  const admin = await signUp(app, 'admin@example.com')
  const demoted = await signUp(app, 'demoted@example.com')
  const deleted = await signUp(app, 'deleted@example.com')
  const demotedKey = (await createKey(app, demoted.token)).api_key
  const deletedKey = (await createKey(app, deleted.token)).api_key

  test('demoting the owner to pending stops the key', async () => {
    expect(await statusOf(app, 'GET', ME, apiKeyHeader(demotedKey))).toBe(200)
    await app.handle(req('POST', `/api/v1/users/${demoted.id}/update`, { role: 'pending' }, bearer(admin.token)))
    for (const headers of both(demotedKey)) expect([401, 403]).toContain(await statusOf(app, 'GET', ME, headers))
  })

  test('deleting the owner stops the key', async () => {
    expect(await statusOf(app, 'GET', ME, apiKeyHeader(deletedKey))).toBe(200)
    expect(await statusOf(app, 'DELETE', `/api/v1/users/${deleted.id}`, bearer(admin.token))).toBe(200)
    for (const headers of both(deletedKey)) expect(await statusOf(app, 'GET', ME, headers)).toBe(401)
  })
})

describe('ENABLE_API_KEYS_ENDPOINT_RESTRICTIONS', async () => {
  const { app } = startTestApp({ ...ON, ENABLE_API_KEYS_ENDPOINT_RESTRICTIONS: 'true', API_KEYS_ALLOWED_ENDPOINTS: '/api/v1/auths' })
  const admin = await signUp(app, 'admin@example.com')
  const key = (await createKey(app, admin.token)).api_key

  test('an allowed path answers, with or without its trailing slash, and below it', async () => {
    for (const headers of both(key)) {
      expect(await statusOf(app, 'GET', ME, headers)).toBe(200)
      expect(await statusOf(app, 'GET', '/api/v1/auths', headers)).toBe(200)
      expect(await statusOf(app, 'GET', '/api/v1/auths/sessions', headers)).toBe(200)
    }
  })

  test('any other path → 403 via both headers; a session token is unaffected', async () => {
    for (const headers of both(key)) {
      const res = await app.handle(req('GET', USERS, undefined, headers))
      expect(res.status).toBe(403)
      expect((await res.json()).code).toBe('api_key_endpoint_denied')
    }
    expect(await statusOf(app, 'GET', USERS, bearer(admin.token))).toBe(200)
  })

  test('an entry matches whole path segments only', async () => {
    expect(isPathWithin('/api/v1/authsX', '/api/v1/auths')).toBe(false)
    expect(isPathWithin('/api/v1/auths/x', '/api/v1/auths')).toBe(true)
    const { app } = startTestApp({ ...ON, ENABLE_API_KEYS_ENDPOINT_RESTRICTIONS: 'true', API_KEYS_ALLOWED_ENDPOINTS: '/api/v1/user' })
    const admin = await signUp(app, 'admin@example.com')
    const key = (await createKey(app, admin.token)).api_key
    for (const headers of both(key)) expect(await statusOf(app, 'GET', USERS, headers)).toBe(403)
  })

  test('no allowed endpoint at all denies every path', async () => {
    const { app } = startTestApp({ ...ON, ENABLE_API_KEYS_ENDPOINT_RESTRICTIONS: 'true' })
    const admin = await signUp(app, 'admin@example.com')
    const key = (await createKey(app, admin.token)).api_key
    expect(await statusOf(app, 'GET', ME, apiKeyHeader(key))).toBe(403)
  })
})

test('an expiring key (expires_in: 60) stops when the clock passes it', async () => {
  const clocked = startClockedApp(ON)
  const admin = await signUp(clocked.app, 'admin@example.com')
  const created = await createKey(clocked.app, admin.token, { expires_in: 60 })
  expect(created.expires_at).toBe(Math.floor((clocked.deps.now() + 60_000) / 1000))
  clocked.advance(59_000)
  expect(await statusOf(clocked.app, 'GET', ME, apiKeyHeader(created.api_key))).toBe(200)
  clocked.advance(2_000)
  for (const headers of both(created.api_key)) expect(await statusOf(clocked.app, 'GET', ME, headers)).toBe(401)
  expect(await statusOf(clocked.app, 'POST', KEYS, bearer(admin.token), { expires_in: 59 })).toBe(422)
})
