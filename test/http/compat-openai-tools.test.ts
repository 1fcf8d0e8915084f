/**
 * The OpenAI-compatible routes as clients send them, in-process: tools, tool_choice, tool results
 * and response_format reach Ollama as its `tools`, `tool_name` and `format`; tool calls come back
 * in OpenAI's shape, whole and streamed; embeddings as floats or base64; and every failure on these
 * paths is `{ error: { message, type, code } }` with Open WebUI's status.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { startFakeOllama, type FakeOllama } from '../fakes/ollama.ts'
import { embeddingOf } from '../fakes/ollama-replies.ts'
import { bearer, signUp } from '../helpers/accounts.ts'
import { req, startTestApp } from '../helpers/test-app.ts'
import { MAX_JSON_NESTING } from '../../src/db/json-nesting.ts'

const MODEL = 'llama3.2:1b'
const TOOL = { type: 'function', function: { name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] } } }
const OTHER_TOOL = { type: 'function', function: { name: 'get_time', parameters: { type: 'object', properties: {} } } }

let ollama: FakeOllama
let app: ReturnType<typeof startTestApp>['app']
let admin: Record<string, string>
let pending: Record<string, string>

beforeAll(async () => {
  ollama = await startFakeOllama()
  app = startTestApp({ OLLAMA_BASE_URL: ollama.url, OLLAMA_TIMEOUT: '2', OLLAMA_IDLE_TIMEOUT: '2' }).app
  admin = bearer((await signUp(app, 'admin@example.com')).token)
  pending = bearer((await signUp(app, 'pending@example.com')).token)
})
afterAll(() => ollama.stop())

const post = (path: string, body: unknown, headers = admin) => app.handle(req('POST', path, body, headers))
const lastChat = () => ollama.requests.findLast((request) => request.path === '/api/chat')!.body as Record<string, unknown>
const ask = (content: string, extra: object = {}) => ({ model: MODEL, messages: [{ role: 'user', content }], ...extra })

describe('tools and formats reach Ollama in its shape', () => {
  test.each<[string, object, unknown]>([
    ['tools, tool_choice auto', { tools: [TOOL, OTHER_TOOL], tool_choice: 'auto' }, [TOOL, OTHER_TOOL]],
    ['tools, tool_choice required', { tools: [TOOL], tool_choice: 'required' }, [TOOL]],
    ['a named tool_choice offers only that tool', { tools: [TOOL, OTHER_TOOL], tool_choice: { type: 'function', function: { name: 'get_time' } } }, [OTHER_TOOL]],
    ['tool_choice none offers none', { tools: [TOOL], tool_choice: 'none' }, undefined],
    ['an empty list offers none', { tools: [] }, undefined],
  ])('%s', async (_, extra, sent) => {
    expect((await post('/api/chat/completions', ask('Paris', extra))).status).toBe(200)
    expect(lastChat().tools).toEqual(sent)
  })

  test.each<[string, object, unknown]>([
    ['json_object', { type: 'json_object' }, 'json'],
    ['json_schema', { type: 'json_schema', json_schema: { name: 'city', schema: { type: 'object', properties: { city: { type: 'string' } } } } }, { type: 'object', properties: { city: { type: 'string' } } }],
    ['text', { type: 'text' }, undefined],
  ])('response_format %s', async (_, format, sent) => {
    const res = await post('/api/v1/chat/completions', ask('Oslo', { response_format: format }))
    expect(res.status).toBe(200)
    expect(lastChat().format).toEqual(sent)
    const content = ((await res.json()) as { choices: { message: { content: string } }[] }).choices[0]!.message.content
    if (sent !== undefined) expect(JSON.parse(content)).toBeObject()
  })

  test('an assistant\'s tool calls and the tool\'s answer go to Ollama as objects and tool_name', async () => {
    const res = await post('/api/chat/completions', {
      model: MODEL, tools: [TOOL],
      messages: [
        { role: 'user', content: 'Paris' },
        { role: 'assistant', content: null, tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } }] },
        { role: 'tool', tool_call_id: 'call_1', content: 'rain' },
        { role: 'tool', tool_call_id: 'unknown', content: 'orphan' },
      ],
    })
    expect(res.status).toBe(200)
    expect(lastChat().messages).toEqual([
      { role: 'user', content: 'Paris' },
      { role: 'assistant', content: '', tool_calls: [{ function: { name: 'get_weather', arguments: { city: 'Paris' } } }] },
      { role: 'tool', content: 'rain', tool_name: 'get_weather' },
      { role: 'tool', content: 'orphan' },
    ])
  })
})

describe('tool calls come back in OpenAI\'s shape', () => {
  test('whole: content null, tool_calls with a call id and JSON-string arguments, finish_reason tool_calls', async () => {
    const body = (await (await post('/api/chat/completions', ask('Paris', { tools: [TOOL] }))).json()) as { choices: [{ message: Record<string, unknown>; finish_reason: string }] }
    const [choice] = body.choices
    expect(choice.finish_reason).toBe('tool_calls')
    expect(choice.message.content).toBeNull()
    expect(choice.message.tool_calls).toEqual([{ id: expect.stringMatching(/^call_[0-9a-f]{24}$/), type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } }])
  })

  test('streamed: one delta with index, id, type and function, then finish_reason tool_calls', async () => {
    const res = await post('/api/v1/chat/completions', ask('Rome', { tools: [TOOL], stream: true }))
    const events = (await res.text()).trim().split('\n\n').filter((event) => event !== 'data: [DONE]').map((event) => JSON.parse(event.slice(6)))
    const deltas = events.map((event) => event.choices[0])
    expect(deltas.flatMap((choice) => choice.delta.tool_calls ?? [])).toEqual([
      { index: 0, id: expect.stringMatching(/^call_/), type: 'function', function: { name: 'get_weather', arguments: '{"city":"Rome"}' } },
    ])
    expect(deltas.at(-1).finish_reason).toBe('tool_calls')
  })
})

describe('embeddings', () => {
  test.each(['/api/embeddings', '/api/v1/embeddings'])('%s: floats by default, base64 float32 when asked, usage counted', async (path) => {
    const floats = (await (await post(path, { model: MODEL, input: 'hello world' })).json()) as { object: string; model: string; data: { object: string; index: number; embedding: number[] }[]; usage: object }
    expect(floats.object).toBe('list')
    expect(floats.data).toEqual([{ object: 'embedding', index: 0, embedding: embeddingOf('hello world') }])
    expect(floats.usage).toEqual({ prompt_tokens: 2, total_tokens: 2 })
    expect(ollama.requests.findLast((request) => request.path === '/api/embed')!.body).toEqual({ model: MODEL, input: ['hello world'] })
    const packed = (await (await post(path, { model: MODEL, input: ['a', 'b'], encoding_format: 'base64' })).json()) as { data: { embedding: string }[] }
    const decoded = packed.data.map((item) => Array.from(new Float32Array(Buffer.from(item.embedding, 'base64').buffer.slice(0))))
    expect(decoded[1]!.map((x) => Math.round(x * 1e5))).toEqual(embeddingOf('b').map((x) => Math.round(x * 1e5)))
  })

  test.each<[string, object, number, string]>([
    ['token arrays', { model: MODEL, input: [[1, 2, 3]] }, 400, 'invalid_request'],
    ['an unknown model', { model: 'nope:1b', input: 'x' }, 404, 'model_not_found'],
    ['no input', { model: MODEL }, 422, 'invalid_request'],
    ['an empty list', { model: MODEL, input: [] }, 422, 'invalid_request'],
    ['a wrong type', { model: MODEL, input: { text: 'x' } }, 422, 'invalid_request'],
  ])('%s is refused in OpenAI\'s shape', async (_, body, status, code) => {
    const res = await post('/api/embeddings', body)
    expect(res.status).toBe(status)
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe(code)
  })
})

describe('failures on OpenAI paths are OpenAI-shaped', () => {
  const paths = ['/api/chat/completions', '/api/v1/chat/completions', '/api/embeddings', '/api/v1/embeddings', '/ollama/v1/chat/completions', '/ollama/v1/embeddings']
  const bodyFor = (path: string) => (path.endsWith('embeddings') ? { model: MODEL, input: 'x' } : ask('x'))

  test.each(paths)('%s: 401 without a credential, 403 for a pending account', async (path) => {
    const anonymous = await post(path, bodyFor(path), {})
    expect(anonymous.status).toBe(401)
    expect(await anonymous.json()).toEqual({ error: { message: 'Not authenticated.', type: 'authentication_error', code: 'not_authenticated' } })
    const waiting = await post(path, bodyFor(path), pending)
    expect(waiting.status).toBe(403)
    expect(((await waiting.json()) as { error: { type: string } }).error.type).toBe('permission_error')
  })

  test.each(paths)('%s: an unknown model is 404 model_not_found; a body that is not JSON is a 400 in OpenAI\'s shape', async (path) => {
    const missing = await post(path, { ...bodyFor(path), model: 'nope:1b' })
    expect(missing.status).toBe(404)
    expect(((await missing.json()) as { error: { code: string } }).error.code).toBe('model_not_found')
    const malformed = await app.handle(req('POST', path, '{"model":', { ...admin, 'content-type': 'application/json' }))
    expect(malformed.status).toBe(400)
    expect(((await malformed.json()) as { error: { type: string } }).error.type).toBe('invalid_request_error')
  })

  test('hostile and oversized fields are refused before Ollama is asked', async () => {
    const before = ollama.requests.length
    for (const body of [
      ask('x', { tools: Array.from({ length: 129 }, () => TOOL) }),
      ask('x', { tools: [{ type: 'function', function: { name: '' } }] }),
      ask('x', { response_format: { type: 'xml' } }),
      ask('x', { tool_choice: 'sometimes' }),
      { model: MODEL, messages: [{ role: 'tool', content: 'x', tool_call_id: 'c'.repeat(201) }] },
    ]) {
      const res = await post('/api/chat/completions', body)
      expect(res.status).toBe(422)
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe('invalid_request')
    }
    expect(ollama.requests.length).toBe(before)
  })

  test('a tool call\'s arguments nested past MAX_JSON_NESTING are a 400 before Ollama is asked; at the limit they pass', async () => {
    // note: `{"a":` and `levels` arrays: levels + 1 deep. 200,000 levels once reached Ollama's request and came back 502 "not reachable".
    const withArguments = (levels: number) => ({
      model: MODEL, tools: [TOOL],
      messages: [
        { role: 'user', content: 'Weather?' },
        { role: 'assistant', content: null, tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: `{"a":${'['.repeat(levels)}${']'.repeat(levels)}}` } }] },
        { role: 'tool', tool_call_id: 'call_1', content: 'Sunny' },
      ],
    })
    expect((await post('/api/chat/completions', withArguments(MAX_JSON_NESTING - 1))).status).toBe(200)
    const before = ollama.requests.length
    for (const levels of [MAX_JSON_NESTING, 200_000]) {
      const res = await post('/api/chat/completions', withArguments(levels))
      expect(res.status).toBe(400)
      expect(((await res.json()) as { error: { type: string; message: string } }).error).toMatchObject({ type: 'invalid_request_error', message: expect.stringContaining('nested deeper') })
    }
    expect(ollama.requests.length).toBe(before)
  })
})

test('API key restrictions hold on the new paths: a key limited to /api/v1/embeddings embeds and is refused elsewhere in OpenAI\'s shape', async () => {
  const { app: keyed } = startTestApp({ OLLAMA_BASE_URL: ollama.url, ENABLE_API_KEYS: 'true', ENABLE_API_KEYS_ENDPOINT_RESTRICTIONS: 'true', API_KEYS_ALLOWED_ENDPOINTS: '/api/v1/embeddings' })
  const owner = await signUp(keyed, 'keys@example.com')
  const created = await keyed.handle(req('POST', '/api/v1/auths/api_key', {}, bearer(owner.token)))
  const key = bearer(((await created.json()) as { api_key: string }).api_key)
  expect((await keyed.handle(req('POST', '/api/v1/embeddings', { model: MODEL, input: 'x' }, key))).status).toBe(200)
  for (const path of ['/api/embeddings', '/api/v1/chat/completions', '/ollama/v1/chat/completions']) {
    const refused = await keyed.handle(req('POST', path, path.endsWith('embeddings') ? { model: MODEL, input: 'x' } : ask('x'), key))
    expect(refused.status).toBe(403)
    expect(((await refused.json()) as { error: { type: string } }).error.type).toBe('permission_error')
  }
})
