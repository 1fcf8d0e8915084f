/**
 * API keys and access control: the features.api_keys permission may come from a group, and a key
 * may be limited to models (`allowed_models`, beyond Open WebUI), refused when malformed.
 */
import { describe, expect, test } from 'bun:test'
import { bearer, signUp } from '../helpers/accounts.ts'
import { req, startTestApp } from '../helpers/test-app.ts'

const KEYS = '/api/v1/auths/api_key'

async function setUp() {
  const { app, deps } = startTestApp({ ENABLE_API_KEYS: 'true', DEFAULT_USER_ROLE: 'user', BYPASS_MODEL_ACCESS_CONTROL: 'false' })
  const admin = await signUp(app, 'admin@example.com')
  const ada = await signUp(app, 'ada@example.com')
  const send = (method: string, path: string, token: string, body?: unknown) => app.handle(req(method, path, body, bearer(token)))
  return { app, deps, admin, ada, send }
}

describe('features.api_keys from a group', () => {
  test('off by default for users; a group granting it lets its members make and use keys; leaving it stops the keys', async () => {
    const { admin, ada, send } = await setUp()
    expect((await send('POST', KEYS, ada.token, { name: 'mine' })).status).toBe(403)
    const group = (await (await send('POST', '/api/v1/groups/create', admin.token, { name: 'Automation', permissions: { features: { api_keys: true } } })).json()) as { id: string }
    await send('POST', `/api/v1/groups/id/${group.id}/users/add`, admin.token, { user_ids: [ada.id] })
    expect(((await (await send('GET', '/api/v1/auths/', ada.token)).json()) as { permissions: { features: { api_keys: boolean } } }).permissions.features.api_keys).toBe(true)
    const made = await send('POST', KEYS, ada.token, { name: 'mine' })
    expect(made.status).toBe(200)
    const key = ((await made.json()) as { api_key: string }).api_key
    expect((await send('GET', '/api/models', key)).status).toBe(200)
    await send('POST', `/api/v1/groups/id/${group.id}/users/remove`, admin.token, { user_ids: [ada.id] })
    expect((await send('GET', '/api/models', key)).status).toBe(403)
  })
})

describe('allowed_models', () => {
  test('is stored with the key and listed; keys without it are unrestricted', async () => {
    const { admin, send } = await setUp()
    const limited = await send('POST', KEYS, admin.token, { name: 'ci', allowed_models: ['llama3.2:1b', ' llama3.2:1b '] })
    expect(await limited.json()).toMatchObject({ name: 'ci', allowed_models: ['llama3.2:1b'] })
    await send('POST', KEYS, admin.token, { name: 'all' })
    const listed = (await (await send('GET', KEYS, admin.token)).json()) as { keys: { name: string; allowed_models: string[] | null }[] }
    expect(listed.keys.map((key) => [key.name, key.allowed_models])).toEqual([['ci', ['llama3.2:1b']], ['all', null]])
  })

  test.each([
    ['an empty list', []],
    ['only blanks', ['  ']],
    ['not a list', 'llama3.2:1b'],
    ['a number', [5]],
    ['too many', Array.from({ length: 101 }, (_, i) => `m${i}`)],
    ['a huge name', ['x'.repeat(201)]],
  ])('refuses %s with 422, making no key', async (_, allowed) => {
    const { admin, send } = await setUp()
    expect((await send('POST', KEYS, admin.token, { name: 'bad', allowed_models: allowed })).status).toBe(422)
    expect(((await (await send('GET', KEYS, admin.token)).json()) as { keys: unknown[] }).keys).toEqual([])
  })

  test('an API key can not mint a key, limited or not; anonymous callers get 401', async () => {
    const { app, admin, send } = await setUp()
    const key = ((await (await send('POST', KEYS, admin.token, { name: 'k' })).json()) as { api_key: string }).api_key
    expect((await send('POST', KEYS, key, { name: 'escalated', allowed_models: ['x'] })).status).toBe(403)
    expect((await app.handle(req('POST', KEYS, { allowed_models: ['x'] }))).status).toBe(401)
  })
})
