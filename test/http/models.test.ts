import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { ConfigError } from '../../src/config/config-error.ts'
import { loadConfig } from '../../src/config/load-config.ts'
import { startFakeOllama, type FakeOllama } from '../fakes/ollama.ts'
import { llama, qwen, useOllamaPair } from '../fakes/ollama-pair.ts'
import { bearer, signUp, startClockedApp, statusOf } from '../helpers/accounts.ts'
import { req } from '../helpers/test-app.ts'


type ModelsBody = { data: { id: string; name: string; object: string; created: number; owned_by: string; ollama: Record<string, unknown> }[]; errors?: unknown[] }

const pair = useOllamaPair()

/** An app over the given Ollama URLs with an admin, an active user and a pending account. */
async function startModelsApp(urls: string[]) {
  const started = startClockedApp({ OLLAMA_BASE_URLS: urls.join(';'), OLLAMA_TIMEOUT: '2', OLLAMA_IDLE_TIMEOUT: '2' })
  const { app } = started
  const admin = bearer((await signUp(app, 'admin@example.com')).token)
  const pending = await signUp(app, 'pending@example.com')
  const user = await signUp(app, 'user@example.com')
  expect(await statusOf(app, 'POST', `/api/v1/users/${user.id}/update`, admin, { role: 'user' })).toBe(200)
  return { ...started, admin, user: bearer(user.token), pending: bearer(pending.token) }
}

const modelsOf = async (app: { handle(request: Request): Promise<Response> }, headers: Record<string, string>) => {
  const res = await app.handle(req('GET', '/api/models', undefined, headers))
  expect(res.status).toBe(200)
  const text = await res.text()
  return { text, body: JSON.parse(text) as ModelsBody }
}
const tagsRequests = (fake: FakeOllama) => fake.requests.filter((request) => request.path === '/api/tags').length

describe('GET /api/models', () => {
  test('lists the union of two connections in Open WebUI\'s shape, a shared model once, with no URL', async () => {
    const { app, user } = await startModelsApp([pair.first.url, pair.second.url])
    const { text, body } = await modelsOf(app, user)
    expect(body.data.map(({ id }) => id)).toEqual(['qwen2.5:0.5b', 'llama3.2:1b', 'mistral:7b'])
    expect(body.data[1]).toMatchObject({
      id: 'llama3.2:1b', name: 'llama3.2:1b', object: 'model', owned_by: 'ollama',
      ollama: { name: 'llama3.2:1b', model: 'llama3.2:1b', size: llama.size, digest: llama.digest, modified_at: llama.modified_at, details: { family: 'llama', parameter_size: '1.2B', quantization_level: 'Q8_0' }, urls: [0, 1] },
    })
    expect(body.data[0]!.created).toBeNumber()
    expect(body.errors).toBeUndefined()
    expect(text).not.toContain('127.0.0.1')
  })

  test('with one connection down, the other\'s models are listed; admins see why, users see no URL and no error', async () => {
    const { app, admin, user } = await startModelsApp([pair.downUrl, pair.second.url])
    const asUser = await modelsOf(app, user)
    expect(asUser.body.data.map(({ id }) => id)).toEqual(['llama3.2:1b', 'mistral:7b'])
    expect(asUser.body.errors).toBeUndefined()
    expect(asUser.text).not.toContain('127.0.0.1')
    expect(asUser.text).not.toContain('reachable')

    const asAdmin = await modelsOf(app, admin)
    expect(asAdmin.body.data.map(({ id }) => id)).toEqual(['llama3.2:1b', 'mistral:7b'])
    expect(asAdmin.body.errors).toEqual([{ connection: 0, url: pair.downUrl, reason: 'unreachable', message: 'Ollama is not reachable.' }])
  })

  test('a second call within a few seconds does not ask Ollama again; once the clock moves, it does', async () => {
    const { app, user, advance } = await startModelsApp([pair.first.url])
    const before = tagsRequests(pair.first)
    await modelsOf(app, user)
    await modelsOf(app, user)
    expect(tagsRequests(pair.first)).toBe(before + 1)
    advance(5_000)
    await modelsOf(app, user)
    expect(tagsRequests(pair.first)).toBe(before + 2)
  })
})

describe('who may reach which route', () => {
  let started: Awaited<ReturnType<typeof startModelsApp>>
  beforeAll(async () => {
    started = await startModelsApp([pair.first.url])
  })
  const adminRoutes: [string, string, unknown?][] = [
    ['GET', '/api/v1/ollama/connections'],
    ['POST', '/api/v1/ollama/connections', { urls: ['http://169.254.169.254'] }],
    ['GET', '/api/v1/ollama/status'],
    ['POST', '/api/v1/ollama/pull', { name: 'tinyllama' }],
    ['DELETE', '/api/v1/ollama/models/qwen2.5:0.5b'],
  ]

  test.each(adminRoutes)('%s %s: 401 without a credential, 403 for users and pending accounts', async (method, path, body) => {
    const { app, user, pending } = started
    expect(await statusOf(app, method, path, {}, body)).toBe(401)
    expect(await statusOf(app, method, path, user, body)).toBe(403)
    expect(await statusOf(app, method, path, pending, body)).toBe(403)
  })

  test('none of those refused calls reached Ollama or changed anything', async () => {
    const { app, admin } = started
    expect(pair.first.requests.some((request) => request.path === '/api/pull' || request.path === '/api/delete')).toBe(false)
    expect(pair.first.models()).toContain('qwen2.5:0.5b')
    const res = await app.handle(req('GET', '/api/v1/ollama/connections', undefined, admin))
    expect(await res.json()).toEqual({ urls: [pair.first.url], source: 'env', disabled: [] })
  })

  test('GET /api/models: 401 without a credential, 403 while pending', async () => {
    const { app, pending } = started
    expect(await statusOf(app, 'GET', '/api/models', {})).toBe(401)
    expect(await statusOf(app, 'GET', '/api/models', pending)).toBe(403)
  })
})

describe('admin: connections', () => {
  test('an admin replaces the list at runtime; models follow at once; null goes back to the environment', async () => {
    const { app, admin, user } = await startModelsApp([pair.first.url])
    expect((await modelsOf(app, user)).body.data.map(({ id }) => id)).toEqual(['qwen2.5:0.5b', 'llama3.2:1b'])

    const saved = await app.handle(req('POST', '/api/v1/ollama/connections', { urls: [pair.second.url + '/', pair.first.url] }, admin))
    expect(saved.status).toBe(200)
    expect(await saved.json()).toEqual({ urls: [pair.second.url, pair.first.url], source: 'settings', disabled: [] })
    const { body } = await modelsOf(app, user)
    expect(body.data.map(({ id, ollama }) => [id, ollama.urls])).toEqual([['llama3.2:1b', [0, 1]], ['mistral:7b', [0]], ['qwen2.5:0.5b', [1]]])

    const reset = await app.handle(req('POST', '/api/v1/ollama/connections', { urls: null }, admin))
    expect(await reset.json()).toEqual({ urls: [pair.first.url], source: 'env', disabled: [] })
  })

  test.each<[string, unknown, number]>([
    ['another scheme', ['ftp://gpu:11434'], 400],
    ['not a URL', ['gpu'], 400],
    ['credentials', ['http://ollama:hunter2@gpu:11434'], 400],
    ['a duplicate', ['http://gpu:11434', 'http://gpu:11434/'], 400],
    ['an empty list', [], 400],
    ['a number', [11434], 422],
    ['a string instead of a list', 'http://gpu:11434', 422],
    ['more than 32', Array.from({ length: 33 }, (_, i) => `http://gpu${i}:11434`), 422],
  ])('%s is refused, and the list stays', async (_, urls, status) => {
    const { app, admin } = await startModelsApp([pair.first.url])
    const res = await app.handle(req('POST', '/api/v1/ollama/connections', { urls }, admin))
    expect(res.status).toBe(status)
    const text = await res.text()
    expect(text).not.toContain('hunter2')
    if (status === 400) expect(JSON.parse(text)).toMatchObject({ code: 'invalid_connection_urls' })
    expect(await (await app.handle(req('GET', '/api/v1/ollama/connections', undefined, admin))).json()).toEqual({ urls: [pair.first.url], source: 'env', disabled: [] })
  })

  test('status shows each connection\'s URL, reachability and version', async () => {
    const { app, admin } = await startModelsApp([pair.first.url, pair.downUrl, pair.second.url])
    const res = await app.handle(req('GET', '/api/v1/ollama/status', undefined, admin))
    expect(res.status).toBe(200)
    expect(await res.json()).toEqual({
      connections: [
        { connection: 0, url: pair.first.url, reachable: true, version: '0.12.6', enabled: true, models: { ok: true, count: 2 } },
        { connection: 1, url: pair.downUrl, reachable: false, reason: 'unreachable', message: 'Ollama is not reachable.', enabled: true, models: { ok: false, reason: 'unreachable', message: 'Ollama is not reachable.' } },
        { connection: 2, url: pair.second.url, reachable: true, version: '0.13.0', enabled: true, models: { ok: true, count: 2 } },
      ],
    })
  })
})

describe('admin: pulling and deleting models', () => {
  let own: FakeOllama
  let other: FakeOllama
  beforeAll(async () => {
    own = await startFakeOllama({ models: [qwen, llama] })
    other = await startFakeOllama({ models: [llama] })
  })
  afterAll(async () => {
    await own.stop()
    await other.stop()
  })

  test('pull progress streams to the admin as NDJSON while Ollama is still sending, then the model is listed', async () => {
    const { app, admin, user } = await startModelsApp([own.url, other.url])
    await modelsOf(app, user) // fills the cache, which the pull must drop
    other.setBehaviour({ chunkDelayMs: 30 })
    const res = await app.handle(req('POST', '/api/v1/ollama/pull', { name: 'tinyllama', connection: 1 }, admin))
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toBe('application/x-ndjson')

    const reader = res.body!.getReader()
    const firstChunk = await reader.read()
    const pullRequest = other.requests.find((request) => request.path === '/api/pull')!
    expect(await Promise.race([pullRequest.settled, Bun.sleep(5).then(() => 'still streaming')])).toBe('still streaming')
    let text = new TextDecoder().decode(firstChunk.value)
    for (let step = await reader.read(); !step.done; step = await reader.read()) text += new TextDecoder().decode(step.value)
    other.setBehaviour({ chunkDelayMs: 0 })

    const lines = text.trim().split('\n').map((line) => JSON.parse(line) as { status: string; total?: number; completed?: number })
    expect(lines.length).toBeGreaterThan(2)
    expect(lines.at(-1)).toEqual({ status: 'success' })
    expect(lines.some((line) => typeof line.completed === 'number' && typeof line.total === 'number')).toBe(true)
    expect(other.models()).toContain('tinyllama:latest')
    expect(own.models()).not.toContain('tinyllama:latest')
    expect((await modelsOf(app, user)).body.data.find(({ id }) => id === 'tinyllama:latest')?.ollama.urls).toEqual([1])
  })

  test.each<[string, unknown, number, string]>([
    ['an unknown connection', { name: 'tinyllama', connection: 5 }, 404, 'connection_not_found'],
    ['a name that is not a model name', { name: '../etc/passwd' }, 422, 'invalid_request'],
    ['an empty name', { name: '' }, 422, 'invalid_request'],
  ])('pull with %s is refused', async (_, body, status, code) => {
    const { app, admin } = await startModelsApp([own.url])
    const res = await app.handle(req('POST', '/api/v1/ollama/pull', body, admin))
    expect(res.status).toBe(status)
    expect((await res.json()).code).toBe(code)
  })

  test('pull from a connection that is down answers 502 without its URL', async () => {
    const { app, admin } = await startModelsApp([pair.downUrl])
    const res = await app.handle(req('POST', '/api/v1/ollama/pull', { name: 'tinyllama' }, admin))
    expect(res.status).toBe(502)
    const text = await res.text()
    expect(JSON.parse(text).code).toBe('ollama_unreachable')
    expect(text).not.toContain('127.0.0.1')
  })

  test('a pull that fails midway ends with an error line', async () => {
    const { app, admin } = await startModelsApp([own.url])
    own.setBehaviour({ fault: { kind: 'error_line', afterChunks: 2, error: 'disk full at /var/lib/ollama' } })
    const res = await app.handle(req('POST', '/api/v1/ollama/pull', { name: 'phi3' }, admin))
    own.setBehaviour({ fault: null })
    expect(res.status).toBe(200)
    const text = await res.text()
    const lines = text.trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>)
    expect(lines).toHaveLength(3)
    expect(lines.at(-1)).toEqual({ error: 'Ollama reported an error mid-stream: "disk full at /var/lib/ollama"', code: 'ollama_error' })
    expect(text).not.toContain(own.url)
  })

  test('delete removes a model from every connection that has it, then it is gone from the list', async () => {
    const { app, admin, user } = await startModelsApp([own.url, other.url])
    const res = await app.handle(req('DELETE', '/api/v1/ollama/models/llama3.2:1b', undefined, admin))
    expect(res.status).toBe(200)
    expect(await res.json()).toEqual({ deleted: 'llama3.2:1b', connections: [0, 1] })
    expect(own.models()).not.toContain('llama3.2:1b')
    expect(other.models()).not.toContain('llama3.2:1b')
    expect((await modelsOf(app, user)).body.data.map(({ id }) => id)).not.toContain('llama3.2:1b')

    const again = await app.handle(req('DELETE', '/api/v1/ollama/models/llama3.2:1b', undefined, admin))
    expect(again.status).toBe(404)
    expect((await again.json()).code).toBe('model_not_found')
  })

  test('delete on one connection leaves the others; a model that connection lacks is 404', async () => {
    const { app, admin } = await startModelsApp([own.url, other.url])
    const missing = await app.handle(req('DELETE', '/api/v1/ollama/models/qwen2.5:0.5b?connection=1', undefined, admin))
    expect(missing.status).toBe(404)
    expect((await missing.json()).code).toBe('model_not_found')
    const res = await app.handle(req('DELETE', '/api/v1/ollama/models/qwen2.5:0.5b?connection=0', undefined, admin))
    expect(await res.json()).toEqual({ deleted: 'qwen2.5:0.5b', connections: [0] })
    expect(own.models()).not.toContain('qwen2.5:0.5b')
  })
})

describe('environment', () => {
  const cwd = '/tmp'
  const problemsFor = (env: Record<string, string>) => {
    try {
      loadConfig({ env, cwd })
    } catch (error) {
      if (error instanceof ConfigError) return error
    }
    throw new Error('expected a ConfigError')
  }

  test('defaults: one local Ollama, 300 s to the first byte, 60 s between chunks', () => {
    expect(loadConfig({ env: {}, cwd }).ollama).toEqual({ urls: ['http://127.0.0.1:11434'], timeouts: { firstByteMs: 300_000, idleMs: 60_000 } })
  })

  test('OLLAMA_BASE_URLS replaces OLLAMA_BASE_URL; the timeouts are seconds', () => {
    const config = loadConfig({ env: { OLLAMA_BASE_URL: 'http://ignored:1', OLLAMA_BASE_URLS: ' http://a:11434/ ;https://b.example.com/ollama;', OLLAMA_TIMEOUT: '30', OLLAMA_IDLE_TIMEOUT: '5' }, cwd })
    expect(config.ollama).toEqual({ urls: ['http://a:11434', 'https://b.example.com/ollama'], timeouts: { firstByteMs: 30_000, idleMs: 5_000 } })
    expect(loadConfig({ env: { OLLAMA_BASE_URL: 'http://gpu:11434/' }, cwd }).ollama.urls).toEqual(['http://gpu:11434'])
  })

  test.each<[string, string, string]>([
    ['OLLAMA_BASE_URLS', 'http://a:1;ftp://b', 'a semicolon-separated list of an absolute http:// or https:// URL'],
    ['OLLAMA_BASE_URLS', 'http://a:1;http://A:1/', 'each URL at most once'],
    ['OLLAMA_BASE_URLS', ' ; ', 'from 1 to 32 Ollama URLs'],
    ['OLLAMA_BASE_URLS', 'http://a:1;http://user:hunter2@b:1', 'without credentials'],
    ['OLLAMA_BASE_URL', 'gpu:11434', 'an absolute http:// or https:// URL'],
    ['OLLAMA_TIMEOUT', '0', 'an integer from 1 to 86400'],
    ['OLLAMA_TIMEOUT', '5m', 'an integer from 1 to 86400'],
    ['OLLAMA_IDLE_TIMEOUT', '-1', 'an integer from 1 to 3600'],
  ])('%s=%p is refused, naming the variable', (name, raw, expected) => {
    const error = problemsFor({ [name]: raw })
    expect(error.problems).toHaveLength(1)
    expect(error.problems[0]!.variable).toBe(name)
    expect(error.problems[0]!.expected).toContain(expected)
    expect(error.message).toStartWith(`${name}=`)
    expect(error.message).not.toContain('hunter2')
  })
})
