/**
 * The smaller Open WebUI routes its page and Conduit call around the chats: groups, presence,
 * running tasks, shared chats, all users, empty workspace lists, model defaults and prompt
 * suggestions, connection switches, task completions. Who may call each (401 anonymous, 403 pending
 * or not admin, 404 for another user's ids), what each answers, and refusals of malformed,
 * oversized and non-JSON bodies.
 */
import { afterAll, describe, expect, test } from 'bun:test'
import { bearer, signUp, statusOf } from '../helpers/accounts.ts'
import { call, newChat, startWithThreeAccounts } from '../helpers/organisation.ts'
import { req, startTestApp } from '../helpers/test-app.ts'
import { startFakeOllama } from '../fakes/ollama.ts'
import type { UserId } from '../../src/db/ids.ts'

const ollama = await startFakeOllama()
afterAll(() => ollama.stop())
const { app, deps, ada, bob, pat, bobId } = await startWithThreeAccounts({ OLLAMA_BASE_URL: ollama.url, ENABLE_COMMUNITY_SHARING: 'true' })
const MODEL = 'qwen2.5:0.5b'
const unknownId = crypto.randomUUID()
const TASK_BODY = { model: MODEL, messages: [{ role: 'user', content: 'Plan a trip to Lisbon' }] }

const ACTIVE_ROUTES: [string, string, unknown?][] = [
  ['GET', '/api/v1/groups/'], ['GET', '/api/v1/users/groups'], ['GET', '/api/usage'], ['GET', `/api/v1/users/${unknownId}/active`],
  ['GET', '/api/tasks'], ['POST', '/api/v1/tasks/active/chats', { chat_ids: [] }], ['GET', '/api/v1/chats/shared'],
  ['GET', '/api/v1/models/list'], ['GET', '/openai/models'], ['GET', '/api/v1/models/tags'], ['GET', '/api/v1/models/model/profile/image?id=x'],
  ['GET', '/api/v1/prompts/'], ['GET', '/api/v1/prompts/list'], ['POST', '/api/v1/tasks/title/completions', TASK_BODY],
]
const ADMIN_ROUTES: [string, string, unknown?][] = [
  ['GET', '/api/v1/users/all'], ['GET', `/api/v1/users/${unknownId}/groups`], ['GET', '/api/v1/configs/models'],
  ['POST', '/api/v1/configs/models', { DEFAULT_MODELS: MODEL }], ['POST', '/api/v1/configs/suggestions', { suggestions: [] }],
  ['GET', '/api/v1/configs/connections'], ['POST', '/api/v1/configs/connections', { ENABLE_DIRECT_CONNECTIONS: false }], ['GET', '/api/v1/tasks/config'], ['GET', '/openai/config'], ['POST', '/ollama/api/unload', { model: MODEL }],
  ['POST', '/ollama/verify', { url: 'http://127.0.0.1:9', key: '' }],
]

describe('who may call', () => {
  test('anonymous: 401 everywhere', async () => {
    for (const [method, path, body] of [...ACTIVE_ROUTES, ...ADMIN_ROUTES]) expect([method, path, await statusOf(app, method, path, {}, body)]).toEqual([method, path, 401])
  })
  test('a pending user: 403 everywhere', async () => {
    for (const [method, path, body] of [...ACTIVE_ROUTES, ...ADMIN_ROUTES]) expect([method, path, await statusOf(app, method, path, pat, body)]).toEqual([method, path, 403])
  })
  test('a user: 403 on the admin routes', async () => {
    for (const [method, path, body] of ADMIN_ROUTES) expect([method, path, await statusOf(app, method, path, bob, body)]).toEqual([method, path, 403])
  })
  test('an API key limited to other paths: 403 everywhere, and /api/config keeps the admin defaults from it', async () => {
    const limited = startTestApp({ ENABLE_API_KEYS: 'true', ENABLE_API_KEYS_ENDPOINT_RESTRICTIONS: 'true', API_KEYS_ALLOWED_ENDPOINTS: '/api/v1/auths' })
    const admin = await signUp(limited.app, 'admin@example.com')
    const key = { authorization: `Bearer ${(await call<{ api_key: string }>(limited.app, 'POST', '/api/v1/auths/api_key', bearer(admin.token))).api_key}` }
    for (const [method, path, body] of [...ACTIVE_ROUTES, ...ADMIN_ROUTES]) expect([method, path, await statusOf(limited.app, method, path, key, body)]).toEqual([method, path, 403])
    expect(await call(limited.app, 'GET', '/api/config', key)).not.toHaveProperty('default_models')
    expect(await call(limited.app, 'GET', '/api/config', bearer(admin.token))).toHaveProperty('default_models')
  })

  test('an unknown user id: 404', async () => {
    expect(await statusOf(app, 'GET', `/api/v1/users/${unknownId}/active`, bob)).toBe(404)
    expect(await statusOf(app, 'GET', `/api/v1/users/${unknownId}/groups`, ada)).toBe(404)
    expect(await statusOf(app, 'GET', '/api/v1/users/not-a-uuid/groups', ada)).toBe(404)
  })
})

describe('what each answers', () => {
  test('groups: an admin sees every group with members, a user only their own, without the other members', async () => {
    const staff = await deps.store.groups.ensureGroup('staff', 'oidc')
    const board = await deps.store.groups.ensureGroup('board', 'oidc')
    await deps.store.groups.addMember(staff.id, bobId as UserId, 'oidc')
    const all = await call<{ id: string; name: string; user_ids: string[] }[]>(app, 'GET', '/api/v1/groups/', ada)
    expect(all.map((group) => group.name).sort()).toEqual(['board', 'staff'])
    expect(all.find((group) => group.id === staff.id)!.user_ids).toEqual([bobId])
    const own = await call<{ id: string; user_ids: string[] }[]>(app, 'GET', '/api/v1/groups/', bob)
    expect(own.map((group) => group.id)).toEqual([staff.id])
    expect(own[0]!.user_ids).toEqual([])
    expect((await call<{ id: string }[]>(app, 'GET', '/api/v1/users/groups', bob)).map((group) => group.id)).toEqual([staff.id])
    expect((await call<{ id: string }[]>(app, 'GET', `/api/v1/users/${bobId}/groups`, ada)).map((group) => group.id)).toEqual([staff.id])
    expect(board.id).not.toBe(staff.id)
  })

  test('presence: nobody has a socket open, so nobody is active', async () => {
    expect(await call(app, 'GET', `/api/v1/users/${bobId}/active`, ada)).toEqual({ active: false })
    expect(await call(app, 'GET', '/api/usage', bob)).toEqual({ model_ids: [], user_ids: [] })
  })

  test('running tasks: none, and another user\'s chat is never reported active', async () => {
    const chat = await newChat(app, ada, 'Mine')
    expect(await call(app, 'GET', '/api/tasks', bob)).toEqual({ tasks: [] })
    expect(await call(app, 'POST', '/api/v1/tasks/active/chats', bob, { chat_ids: [chat] })).toEqual({ active_chat_ids: [] })
    expect(await statusOf(app, 'POST', '/api/v1/tasks/active/chats', bob, { chat_ids: 'all' })).toBe(422)
    expect(await statusOf(app, 'POST', '/api/v1/tasks/active/chats', bob, { chat_ids: Array.from({ length: 1001 }, () => unknownId) })).toBe(422)
  })

  test('shared chats: only the caller\'s, with the link id', async () => {
    const chat = await newChat(app, bob, 'Recipe')
    const share = await call<{ id: string }>(app, 'POST', `/api/v1/chats/${chat}/share`, bob)
    await call(app, 'POST', `/api/v1/chats/${await newChat(app, ada, 'Hers')}/share`, ada)
    const listed = await call<{ id: string; title: string; share_id: string }[]>(app, 'GET', '/api/v1/chats/shared?page=1', bob)
    expect(listed.map(({ id, title, share_id }) => ({ id, title, share_id }))).toEqual([{ id: chat, title: 'Recipe', share_id: share.id }])
  })

  test('all users: every account, admin only', async () => {
    const all = await call<{ users: { email: string }[]; total: number }>(app, 'GET', '/api/v1/users/all', ada)
    expect(all.total).toBe(3)
    expect(all.users.map((user) => user.email).sort()).toEqual(['ada@example.com', 'bob@example.com', 'pat@example.com'])
  })

  test('workspace lists are empty; a model picture is an image', async () => {
    expect(await call(app, 'GET', '/api/v1/models/tags', bob)).toEqual([])
    expect(await call(app, 'GET', '/openai/models', bob)).toEqual({ data: [] })
    expect(await call(app, 'GET', '/openai/config', ada)).toEqual({ ENABLE_OPENAI_API: false, OPENAI_API_BASE_URLS: [], OPENAI_API_KEYS: [], OPENAI_API_CONFIGS: {} })
    expect(await call(app, 'GET', '/api/v1/prompts/list', bob)).toEqual({ items: [], total: 0 })
    const picture = await app.handle(req('GET', `/api/v1/models/model/profile/image?id=${encodeURIComponent(MODEL)}`, undefined, bob))
    expect(picture.headers.get('content-type')).toBe('image/svg+xml')
  })

  test('model defaults and prompt suggestions are kept, and refused when malformed or oversized', async () => {
    expect(await call(app, 'GET', '/api/v1/configs/models', ada)).toEqual({ DEFAULT_MODELS: null, MODEL_ORDER_LIST: [] })
    expect(await call(app, 'POST', '/api/v1/configs/models', ada, { DEFAULT_MODELS: MODEL, MODEL_ORDER_LIST: [MODEL] })).toEqual({ DEFAULT_MODELS: MODEL, MODEL_ORDER_LIST: [MODEL] })
    expect(await call(app, 'GET', '/api/v1/configs/models', ada)).toEqual({ DEFAULT_MODELS: MODEL, MODEL_ORDER_LIST: [MODEL] })
    const suggestion = { title: ['Help me', 'plan a trip'], content: 'Help me plan a trip' }
    expect(await call(app, 'POST', '/api/v1/configs/suggestions', ada, { suggestions: [suggestion] })).toEqual([suggestion])
    expect(await statusOf(app, 'POST', '/api/v1/configs/suggestions', ada, { suggestions: [{ title: 'x' }] })).toBe(422)
    expect(await statusOf(app, 'POST', '/api/v1/configs/suggestions', ada, { suggestions: [{ title: [], content: 'x'.repeat(5001) }] })).toBe(422)
    expect(await statusOf(app, 'POST', '/api/v1/configs/models', ada, { MODEL_ORDER_LIST: 'all' })).toBe(422)
    const config = await call<Record<string, unknown>>(app, 'GET', '/api/config', bob)
    expect({ models: config.default_models, suggestions: config.default_prompt_suggestions }).toEqual({ models: MODEL, suggestions: [suggestion] })
    for (const caller of [{}, pat]) expect(await call<Record<string, unknown>>(app, 'GET', '/api/config', caller)).not.toHaveProperty('default_models')
    const form = await app.handle(req('POST', '/api/v1/configs/models', 'DEFAULT_MODELS=x', { ...ada, 'content-type': 'application/x-www-form-urlencoded' }))
    expect(form.status).toBe(415)
  })

  test('connections: both switches read off; turning one on is refused', async () => {
    expect(await call(app, 'GET', '/api/v1/configs/connections', ada)).toEqual({ ENABLE_DIRECT_CONNECTIONS: false, ENABLE_BASE_MODELS_CACHE: false })
    expect(await statusOf(app, 'POST', '/api/v1/configs/connections', ada, { ENABLE_DIRECT_CONNECTIONS: true })).toBe(400)
    expect(await statusOf(app, 'POST', '/api/v1/configs/connections', ada, { ENABLE_DIRECT_CONNECTIONS: false, ENABLE_BASE_MODELS_CACHE: true })).toBe(400)
  })

  test('user settings and info never saved: JSON null, as Open WebUI', async () => {
    for (const path of ['/api/v1/users/user/settings', '/api/v1/users/user/info']) {
      const res = await app.handle(req('GET', path, undefined, bob))
      expect(res.headers.get('content-type')).toContain('application/json')
      expect(await res.text()).toBe('null')
    }
  })

  test('a title task answers as a chat completion; an unknown model is 404; a malformed body 422', async () => {
    const answer = await call<{ object: string; choices: { message: { role: string; content: string } }[] }>(app, 'POST', '/api/v1/tasks/title/completions', bob, TASK_BODY)
    expect(answer.object).toBe('chat.completion')
    expect(answer.choices[0]!.message.role).toBe('assistant')
    expect(typeof answer.choices[0]!.message.content).toBe('string')
    expect(await statusOf(app, 'POST', '/api/v1/tasks/tags/completions', bob, { ...TASK_BODY, model: 'nope:1b' })).toBe(404)
    expect(await statusOf(app, 'POST', '/api/v1/tasks/follow_up/completions', bob, { model: MODEL })).toBe(422)
  })

  test('unload: the model leaves Ollama\'s memory; an unknown model is 404', async () => {
    await call(app, 'POST', '/ollama/api/generate', bob, { model: MODEL, prompt: 'Hello', stream: false })
    const loaded = async () => (await call<{ models: { name: string }[] }>(app, 'GET', '/ollama/api/ps', ada)).models.map((model) => model.name)
    expect(await loaded()).toContain(MODEL)
    expect(await call(app, 'POST', '/ollama/api/unload', ada, { model: MODEL })).toEqual({ status: true })
    expect(await loaded()).not.toContain(MODEL)
    expect(await statusOf(app, 'POST', '/ollama/api/unload', ada, { model: 'nope:1b' })).toBe(404)
  })

  test('verify: the version of the Ollama at the URL; an unreachable one or a URL that is not http(s) is 400', async () => {
    expect(await call(app, 'POST', '/ollama/verify', ada, { url: ollama.url, key: 'k' })).toEqual({ version: expect.any(String) })
    expect(ollama.requests.at(-1)?.headers.authorization).toBe('Bearer k')
    const closed = Bun.serve({ port: 0, hostname: '127.0.0.1', fetch: () => new Response('nope', { status: 500 }) })
    expect(await statusOf(app, 'POST', '/ollama/verify', ada, { url: `http://127.0.0.1:${closed.port}` })).toBe(400)
    await closed.stop(true)
    for (const url of ['file:///etc/passwd', 'not a url', 'ftp://127.0.0.1/']) expect([url, await statusOf(app, 'POST', '/ollama/verify', ada, { url })]).toEqual([url, 400])
    expect(await statusOf(app, 'POST', '/ollama/verify', ada, { url: 'x'.repeat(2049) })).toBe(422)
  })
})
