/**
 * Open WebUI's /ollama settings and per-connection routes, replayed as its admin panel sends them:
 * the connection config and URL list, one connection's models, version, pull and delete, the
 * /ollama/v1 model list, and GET /ollama/. Admin routes are 401 without a credential and 403 for
 * users and pending accounts; a refused update changes nothing.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { CONNECTIONS_SETTING } from '../../src/chat/connections.ts'
import { startFakeOllama, type FakeOllama } from '../fakes/ollama.ts'
import { bearer, signUp, statusOf } from '../helpers/accounts.ts'
import { req, startTestApp } from '../helpers/test-app.ts'

let first: FakeOllama
let second: FakeOllama
let started: ReturnType<typeof startTestApp>
let admin: Record<string, string>
let user: Record<string, string>
let pending: Record<string, string>

beforeAll(async () => {
  first = await startFakeOllama({ version: '0.12.6' })
  second = await startFakeOllama({ version: '0.13.0', models: [] })
  started = startTestApp({ OLLAMA_BASE_URL: first.url, OLLAMA_TIMEOUT: '2', OLLAMA_IDLE_TIMEOUT: '2', MAX_REQUEST_BODY_SIZE: '1mb' })
  const { app } = started
  admin = bearer((await signUp(app, 'admin@example.com')).token)
  pending = bearer((await signUp(app, 'pending@example.com')).token)
  const member = await signUp(app, 'user@example.com')
  expect(await statusOf(app, 'POST', `/api/v1/users/${member.id}/update`, admin, { role: 'user' })).toBe(200)
  user = bearer(member.token)
})
afterAll(async () => {
  await first.stop()
  await second.stop()
})

const call = async (method: string, path: string, headers: Record<string, string>, body?: unknown) => {
  const res = await started.app.handle(req(method, path, body, headers))
  const text = await res.text()
  return { status: res.status, text, json: () => JSON.parse(text) as Record<string, unknown> }
}
/** Open WebUI's admin panel adding a connection: default settings for each one. */
const panelUpdate = (urls: string[]) => ({
  ENABLE_OLLAMA_API: true, OLLAMA_BASE_URLS: urls,
  OLLAMA_API_CONFIGS: Object.fromEntries(urls.map((_, i) => [String(i), { enable: true, tags: [], prefix_id: '', model_ids: [], connection_type: 'local' }])),
})

describe('/ollama/config and /ollama/urls', () => {
  test('the config reads and updates the connection list, which is what Enclave uses from then on', async () => {
    expect((await call('GET', '/ollama/config', admin)).json()).toEqual({ ENABLE_OLLAMA_API: true, OLLAMA_BASE_URLS: [first.url], OLLAMA_API_CONFIGS: {} })
    const updated = await call('POST', '/ollama/config/update', admin, panelUpdate([first.url, second.url]))
    expect(updated.status).toBe(200)
    expect(updated.json()).toEqual({ ENABLE_OLLAMA_API: true, OLLAMA_BASE_URLS: [first.url, second.url], OLLAMA_API_CONFIGS: {} })
    expect((await call('GET', '/api/v1/ollama/connections', admin)).json()).toEqual({ urls: [first.url, second.url], source: 'settings', disabled: [] })
    expect(await started.deps.store.settings.readSetting(CONNECTIONS_SETTING)).toEqual([first.url, second.url])
    expect((await call('GET', '/ollama/urls', admin)).json()).toEqual({ OLLAMA_BASE_URLS: [first.url, second.url] })
    expect((await call('POST', '/ollama/urls/update', admin, { urls: [first.url] })).json()).toEqual({ OLLAMA_BASE_URLS: [first.url] })
    expect((await call('POST', '/ollama/config/update', admin, panelUpdate([first.url, second.url]))).status).toBe(200)
  })

  test('a connection the panel turns off (enable: false, by index or by URL) stays in the list, unasked, until it is turned on', async () => {
    const off = await call('POST', '/ollama/config/update', admin, { ...panelUpdate([first.url, second.url]), OLLAMA_API_CONFIGS: { 0: { enable: true }, 1: { enable: false } } })
    expect(off.json()).toEqual({ ENABLE_OLLAMA_API: true, OLLAMA_BASE_URLS: [first.url, second.url], OLLAMA_API_CONFIGS: { 1: { enable: false } } })
    expect((await call('GET', '/api/v1/ollama/connections', admin)).json()).toMatchObject({ disabled: [second.url] })
    const byUrl = await call('POST', '/ollama/config/update', admin, { OLLAMA_BASE_URLS: [first.url, second.url], OLLAMA_API_CONFIGS: { [first.url + '/']: { enable: false } } })
    expect(byUrl.json()).toMatchObject({ OLLAMA_API_CONFIGS: { 0: { enable: false } } })
    const on = await call('POST', '/ollama/config/update', admin, panelUpdate([first.url, second.url]))
    expect(on.json()).toMatchObject({ OLLAMA_API_CONFIGS: {} })
  })

  test.each<[string, object, number]>([
    ['Ollama switched off', { ...panelUpdate([first?.url ?? 'http://127.0.0.1:1']), ENABLE_OLLAMA_API: false }, 400],
    ['a per-connection key', { OLLAMA_BASE_URLS: ['http://127.0.0.1:11434'], OLLAMA_API_CONFIGS: { 0: { key: 'sk-something' } } }, 400],
    ['a model prefix', { OLLAMA_BASE_URLS: ['http://127.0.0.1:11434'], OLLAMA_API_CONFIGS: { 0: { prefix_id: 'local' } } }, 400],
    ['a file URL', { OLLAMA_BASE_URLS: ['file:///etc/passwd'], OLLAMA_API_CONFIGS: {} }, 400],
    ['a URL with credentials', { OLLAMA_BASE_URLS: ['http://user:secret@127.0.0.1:11434'], OLLAMA_API_CONFIGS: {} }, 400],
    ['no URL list', { OLLAMA_API_CONFIGS: {} }, 422],
    ['a URL list that is not a list', { OLLAMA_BASE_URLS: 'http://127.0.0.1:11434' }, 422],
    ['a huge URL', { OLLAMA_BASE_URLS: ['http://' + 'a'.repeat(5000)] }, 422],
  ])('an update with %s is refused and changes nothing', async (_, body, status) => {
    const before = (await call('GET', '/ollama/config', admin)).text
    const refused = await call('POST', '/ollama/config/update', admin, body)
    expect(refused.status).toBe(status)
    expect(refused.text).not.toContain('secret')
    expect((await call('GET', '/ollama/config', admin)).text).toBe(before)
  })

  test.each<[string, string, unknown]>([
    ['GET', '/ollama/config', undefined],
    ['POST', '/ollama/config/update', panelUpdate(['http://127.0.0.1:11434'])],
    ['GET', '/ollama/urls', undefined],
    ['POST', '/ollama/urls/update', { urls: ['http://127.0.0.1:11434'] }],
    ['DELETE', '/ollama/api/delete/0', { name: 'qwen2.5:0.5b' }],
    ['POST', '/ollama/api/pull/0', { name: 'tinyllama' }],
  ])('%s %s: 401 without a credential, 403 for users and pending accounts', async (method, path, body) => {
    expect((await call(method, path, {}, body)).status).toBe(401)
    expect((await call(method, path, user, body)).status).toBe(403)
    expect((await call(method, path, pending, body)).status).toBe(403)
  })
})

describe('refused before any route', () => {
  test.each<[string, string, unknown]>([
    ['POST', '/ollama/config/update', { OLLAMA_BASE_URLS: ['http://127.0.0.1:9'], OLLAMA_API_CONFIGS: {} }],
    ['POST', '/ollama/urls/update', { urls: ['http://127.0.0.1:9'] }],
    ['DELETE', '/ollama/api/delete/0', { name: 'qwen2.5:0.5b' }],
    ['POST', '/ollama/v1/chat/completions', { model: 'qwen2.5:0.5b', messages: [{ role: 'user', content: 'x' }] }],
    ['POST', '/api/v1/embeddings', { model: 'qwen2.5:0.5b', input: 'x' }],
  ])('%s %s from another site is 403 and changes nothing', async (method, path, body) => {
    const before = (await call('GET', '/ollama/config', admin)).text
    const requests = first.requests.length + second.requests.length
    const res = await started.app.handle(req(method, path, body, { ...admin, origin: 'https://evil.example' }))
    expect(res.status).toBe(403)
    expect((await call('GET', '/ollama/config', admin)).text).toBe(before)
    expect(first.requests.length + second.requests.length).toBe(requests)
  })

  test.each(['/ollama/config/update', '/ollama/v1/chat/completions', '/api/embeddings'])('%s: a body that is not JSON is 415, one over MAX_REQUEST_BODY_SIZE 413', async (path) => {
    expect((await started.app.handle(req('POST', path, 'urls=x', { ...admin, 'content-type': 'application/x-www-form-urlencoded' }))).status).toBe(415)
    const huge = JSON.stringify({ model: 'qwen2.5:0.5b', input: 'x'.repeat(2 * 1024 * 1024) })
    expect((await started.app.handle(req('POST', path, huge, { ...admin, 'content-type': 'application/json' }))).status).toBe(413)
  })
})

describe('one connection by index', () => {
  test('tags and version of each connection; an index past the list is 404, a non-number 422', async () => {
    expect((await call('POST', '/ollama/config/update', admin, panelUpdate([first.url, second.url]))).status).toBe(200)
    const tags = (await call('GET', '/ollama/api/tags/0', admin)).json() as { models: { name: string; details: { family: string } }[] }
    expect(tags.models.map((model) => model.name)).toEqual(['qwen2.5:0.5b', 'llama3.2:1b'])
    expect(tags.models[0]!.details.family).toBe('qwen2')
    // note: a user's list holds the models they may use, as /ollama/api/tags (all of them here, under the suite's
    // BYPASS_MODEL_ACCESS_CONTROL; test/binary/access-matrix.test.ts and access-model-names.test.ts check grants and keys).
    expect((await call('GET', '/ollama/api/tags/0', user)).json()).toEqual((await call('GET', '/ollama/api/tags', user)).json())
    expect((await call('GET', '/ollama/api/tags/1', user)).json()).toEqual({ models: [] })
    expect((await call('GET', '/ollama/api/version/1', user)).json()).toEqual({ version: '0.13.0' })
    expect((await call('GET', '/ollama/api/tags/2', user)).status).toBe(404)
    expect((await call('GET', '/ollama/api/version/7', user)).status).toBe(404)
    expect((await call('GET', '/ollama/api/tags/abc', user)).status).toBe(422)
    expect((await call('GET', '/ollama/api/tags/-1', user)).status).toBe(422)
    expect((await call('GET', '/ollama/api/tags/0', pending)).status).toBe(403)
    expect((await call('GET', '/ollama/api/tags/0', {})).status).toBe(401)
  })

  test('pull and delete on one connection, as the admin panel sends them', async () => {
    const pulled = await call('POST', '/ollama/api/pull/1', admin, { name: 'tinyllama' })
    expect(pulled.status).toBe(200)
    expect(pulled.text.trim().split('\n').at(-1)).toBe('{"status":"success"}')
    expect(second.models()).toEqual(['tinyllama:latest'])
    const deleted = await call('DELETE', '/ollama/api/delete/1', admin, { name: 'tinyllama:latest' })
    expect(deleted.status).toBe(200)
    expect(deleted.json()).toBe(true as never)
    expect(second.models()).toEqual([])
    expect((await call('DELETE', '/ollama/api/delete/1', admin, { name: 'tinyllama:latest' })).status).toBe(404)
    expect((await call('DELETE', '/ollama/api/delete/1', admin, {})).status).toBe(400)
    expect((await call('DELETE', '/ollama/api/delete/5', admin, { name: 'x' })).status).toBe(404)
  })
})

describe('/ollama/v1 and /ollama/', () => {
  test('the /v1 model list is in Ollama\'s OpenAI shape', async () => {
    const listed = (await call('GET', '/ollama/v1/models', user)).json() as { object: string; data: { id: string; object: string; owned_by: string; created: number }[] }
    expect(listed.object).toBe('list')
    expect(listed.data[0]).toEqual({ id: 'qwen2.5:0.5b', object: 'model', created: Math.floor(Date.parse('2025-01-15T10:21:07.318473922+01:00') / 1000), owned_by: 'library' })
  })

  test('GET /ollama/ says Ollama is running, without a credential', async () => {
    const res = await started.app.handle(req('GET', '/ollama/'))
    expect(res.status).toBe(200)
    expect(await res.text()).toBe('Ollama is running')
  })
})
