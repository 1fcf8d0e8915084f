/**
 * A workspace model named like an Ollama model, against the compiled binary. Bob's public preset
 * `phi3` (on qwen, which everyone may use) is made before the admin pulls Ollama's `phi3`, which
 * nobody is granted (admins only). Every route that sends Ollama the name as it is (the /ollama
 * routes and embeddings) decides by Ollama's model of that name, `phi3` being `phi3:latest` and case
 * aside, for users and for API keys limited to the preset's name: 404, and Ollama hears nothing. Only
 * /api/chat/completions runs the preset, on qwen with its system prompt. A preset can no longer be
 * made under a base model's name, however it is spelt.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { startFakeOllama, type FakeOllama } from '../fakes/ollama.ts'
import { bearer, signUp, type SessionBody } from '../helpers/accounts.ts'
import { binaryAppStarter, type BinaryApp } from '../helpers/binary-app.ts'
import { req } from '../helpers/test-app.ts'

const QWEN = 'qwen2.5:0.5b'
const SYSTEM = 'PresetSystemMarker'
const startApp = binaryAppStarter()
let ollama: FakeOllama
let started: BinaryApp
let admin: SessionBody
let bob: SessionBody
let carol: SessionBody
let carolKey: string
let carolPhi3Key: string

const call = async (method: string, path: string, headers: Record<string, string>, body?: unknown) => {
  const res = await started.app.handle(req(method, path, body, headers))
  const text = await res.text()
  if (res.status >= 500) throw new Error(`${method} ${path} answered ${res.status}: ${text}`)
  return { status: res.status, text, json: () => JSON.parse(text) as unknown }
}
const preset = (id: string) => ({ id, name: id, base_model_id: QWEN, params: { system: SYSTEM }, meta: {}, access_control: null })

async function makeKey(who: SessionBody, allowedModels?: string[]): Promise<string> {
  const res = await call('POST', '/api/v1/auths/api_key', bearer(who.token), { name: 'names', ...(allowedModels ? { allowed_models: allowedModels } : {}) })
  expect(res.status).toBe(200)
  return (res.json() as { api_key: string }).api_key
}

beforeAll(async () => {
  ollama = await startFakeOllama()
  started = await startApp({
    OLLAMA_BASE_URL: ollama.url, ENABLE_API_KEYS: 'true', USER_PERMISSIONS_FEATURES_API_KEYS: 'true', USER_PERMISSIONS_WORKSPACE_MODELS_ACCESS: 'true',
    BYPASS_MODEL_ACCESS_CONTROL: 'false', DEFAULT_USER_ROLE: 'user', ENABLE_TITLE_GENERATION: 'false',
  })
  admin = await signUp(started.app, 'admin@example.com')
  bob = await signUp(started.app, 'bob@example.com')
  carol = await signUp(started.app, 'carol@example.com')
  expect((await call('POST', '/api/v1/models/model/access/update', bearer(admin.token), { id: QWEN, access_control: null })).status).toBe(200)
  // note: Open WebUI's workspace page's request, before Ollama has a phi3; the second spelling shadows `phi3:latest` exactly, case aside.
  for (const id of ['phi3', 'PHI3:latest']) expect((await call('POST', '/api/v1/models/create', bearer(bob.token), preset(id))).status).toBe(200)
  const pulled = await call('POST', '/ollama/api/pull', bearer(admin.token), { model: 'phi3', stream: false })
  expect(pulled.status).toBe(200)
  expect(ollama.models()).toContain('phi3:latest')
  carolKey = await makeKey(carol)
  carolPhi3Key = await makeKey(carol, ['phi3'])
})
afterAll(() => ollama?.stop())

/** Every route that sends Ollama the model's name as it is given. */
const RAW: [string, (model: string) => unknown][] = [
  ['/ollama/api/chat', (model) => ({ model, messages: [{ role: 'user', content: 'hi there' }], stream: false })],
  ['/ollama/api/generate', (model) => ({ model, prompt: 'hi there', stream: false })],
  ['/ollama/api/show', (model) => ({ model })],
  ['/ollama/api/show', (name) => ({ name })],
  ['/ollama/api/embed', (model) => ({ model, input: 'hello' })],
  ['/ollama/api/embeddings', (model) => ({ model, prompt: 'hello' })],
  ['/ollama/v1/chat/completions', (model) => ({ model, messages: [{ role: 'user', content: 'hi there' }] })],
  ['/ollama/v1/completions', (model) => ({ model, prompt: 'hi there' })],
  ['/ollama/v1/embeddings', (model) => ({ model, input: 'hello' })],
  ['/api/embeddings', (model) => ({ model, input: 'hello' })],
  ['/api/v1/embeddings', (model) => ({ model, input: ['hello'] })],
]
const NAMES = ['phi3', 'phi3:latest', 'PHI3:latest', 'Phi3']

describe('a preset named like an Ollama model does not open it', () => {
  test('every raw route, every spelling, for a user, their API key and a key limited to the preset\'s name: 404, and Ollama hears nothing', async () => {
    const outcomes: string[] = []
    for (const [label, headers] of [['carol', bearer(carol.token)], ['bob (the preset\'s owner)', bearer(bob.token)], ['carol\'s key', bearer(carolKey)], ['carol\'s phi3 key', bearer(carolPhi3Key)]] as const) {
      for (const [path, body] of RAW) {
        for (const name of NAMES) {
          const before = ollama.requests.length
          const res = await call('POST', path, headers, body(name))
          outcomes.push(`${label} ${path} ${name}: ${res.status} ${ollama.requests.length - before}`)
        }
      }
    }
    expect(outcomes.filter((line) => !line.endsWith(': 404 0'))).toEqual([])
  }, 60_000)

  test('the admin, who may use Ollama\'s phi3, reaches it by its own name on the raw routes', async () => {
    const before = ollama.requests.length
    const res = await call('POST', '/ollama/api/chat', bearer(admin.token), RAW[0]![1]('phi3'))
    expect(res.status).toBe(200)
    const sent = ollama.requests.slice(before).find((request) => request.path === '/api/chat')!.body as { model: string; messages: { content: string }[] }
    expect(sent.model).toBe('phi3')
    expect(JSON.stringify(sent.messages)).not.toContain(SYSTEM)
  })

  test('/api/chat/completions runs the preset on qwen with its system prompt; phi3:latest there is 404', async () => {
    for (const headers of [bearer(carol.token), bearer(carolPhi3Key)]) {
      const before = ollama.requests.length
      const res = await call('POST', '/api/chat/completions', headers, { model: 'phi3', messages: [{ role: 'user', content: 'hi' }], stream: false })
      expect(res.status).toBe(200)
      const sent = ollama.requests.slice(before).find((request) => request.path === '/api/chat')!.body as { model: string; messages: { role: string; content: string }[] }
      expect(sent.model).toBe(QWEN)
      expect(sent.messages[0]).toEqual({ role: 'system', content: SYSTEM })
    }
    const before = ollama.requests.length
    expect((await call('POST', '/api/chat/completions', bearer(carol.token), { model: 'phi3:latest', messages: [{ role: 'user', content: 'hi' }], stream: false })).status).toBe(404)
    expect(ollama.requests.length).toBe(before)
  })

  test('the listings of Ollama\'s models leave phi3:latest out for carol; /api/models lists the presets by their own ids', async () => {
    for (const headers of [bearer(carol.token), bearer(carolKey)]) {
      const tags = (await call('GET', '/ollama/api/tags', headers)).json() as { models: { name: string }[] }
      const tagsAt = (await call('GET', '/ollama/api/tags/0', headers)).json() as { models: { name: string }[] }
      const v1 = (await call('GET', '/ollama/v1/models', headers)).json() as { data: { id: string }[] }
      expect(tags.models.map((model) => model.name)).toEqual([QWEN])
      expect(tagsAt.models.map((model) => model.name)).toEqual([QWEN])
      expect(v1.data.map((model) => model.id)).toEqual([QWEN])
      const models = (await call('GET', '/api/models', headers)).json() as { data: { id: string; owned_by?: string }[] }
      expect(models.data.map((model) => model.id).sort()).toEqual(['PHI3:latest', 'phi3', QWEN].sort())
    }
    const adminTags = (await call('GET', '/ollama/api/tags/0', bearer(admin.token))).json() as { models: { name: string }[] }
    expect(adminTags.models.map((model) => model.name)).toContain('phi3:latest')
  })
})

describe('a preset can not be made under a base model\'s name', () => {
  test('any spelling of a listed model, or of one with access set, is 409 and nothing is made', async () => {
    expect((await call('POST', '/api/v1/models/model/access/update', bearer(admin.token), { id: 'mistral:7b', access_control: {} })).status).toBe(200)
    for (const id of ['Phi3', 'phi3:latest', 'Phi3:Latest', 'QWEN2.5:0.5b', 'Qwen2.5:0.5B', 'mistral:7b', 'MISTRAL:7B']) {
      const res = await call('POST', '/api/v1/models/create', bearer(carol.token), preset(id))
      expect([id, res.status]).toEqual([id, 409])
      expect((await call('GET', `/api/v1/models/model?id=${encodeURIComponent(id)}`, bearer(carol.token))).status).toBe(404)
    }
    expect((await call('POST', '/api/v1/models/create', bearer(carol.token), preset('carols-helper'))).status).toBe(200)
  })
})
