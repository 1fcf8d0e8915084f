/**
 * /api/chat/completions with `params`, as Open WebUI's page (Chat.svelte) and Conduit send the
 * user's chat controls: the options reach Ollama (`max_tokens` as `num_predict`; `format`,
 * `keep_alive` and `think` at the request's top level), Open WebUI's own settings and the load
 * settings do not; `params` wins over a top-level field except `stop`; a value of the wrong type
 * is a 400 naming it and Ollama is never asked; without a credential it is 401.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { startFakeOllama, type FakeOllama } from '../fakes/ollama.ts'
import { bearer, signUp } from '../helpers/accounts.ts'
import { startTestApp } from '../helpers/test-app.ts'
import { MAX_JSON_NESTING } from '../../src/db/json-nesting.ts'

const MODEL = 'llama3.2:1b'

let ollama: FakeOllama
let started: ReturnType<typeof startTestApp>
let url: string
let token: string

beforeAll(async () => {
  ollama = await startFakeOllama()
  started = startTestApp({ OLLAMA_BASE_URL: ollama.url, ENABLE_TITLE_GENERATION: 'false' })
  token = (await signUp(started.app, 'admin@example.com')).token
  started.app.listen({ hostname: '127.0.0.1', port: 0 })
  url = `http://127.0.0.1:${started.app.server!.port}`
})
afterAll(async () => {
  await started.app.stop(true)
  await ollama.stop()
})

const complete = (body: unknown, headers: Record<string, string> = bearer(token)) =>
  fetch(`${url}/api/chat/completions`, { method: 'POST', headers: { ...headers, 'content-type': 'application/json' }, body: JSON.stringify(body) })
const ask = (extra: Record<string, unknown>) => ({ model: MODEL, messages: [{ role: 'user', content: 'hello there' }], ...extra })
const lastChat = () => ollama.requests.findLast((request) => request.path === '/api/chat')!.body as Record<string, unknown>

describe('params reach Ollama', () => {
  test('Open WebUI\'s page: its chat controls only in params, streamed; the options arrive, max_tokens as num_predict', async () => {
    const res = await complete(ask({
      stream: true,
      params: { temperature: 0.1, top_p: 0.5, max_tokens: 42, seed: 7, num_ctx: 8192, stop: ['END'], top_k: 5, format: 'json', keep_alive: '10m', stream_response: true, function_calling: 'native', system: 'put into the messages by the page', reasoning_tags: true },
    }))
    expect(res.status).toBe(200)
    expect((await res.text()).trim().split('\n\n').at(-1)).toBe('data: [DONE]')
    const sent = lastChat()
    expect(sent.options).toEqual({ temperature: 0.1, top_p: 0.5, num_predict: 42, seed: 7, num_ctx: 8192, stop: ['END'], top_k: 5 })
    expect(sent).toMatchObject({ format: 'json', keep_alive: '10m' })
    expect(sent.messages).toEqual([{ role: 'user', content: 'hello there' }])
  })

  test('Conduit: the user\'s params with custom_params (JSON texts read) and think; reasoning_effort and load settings left out', async () => {
    const res = await complete(ask({
      stream: true,
      params: { temperature: 0.3, reasoning_effort: 'high', think: true, num_gpu: 99, use_mmap: false, num_thread: 64, logit_bias: { 1: 5 }, custom_params: { num_ctx: '4096', min_p: 0.05 } },
    }))
    expect(res.status).toBe(200)
    await res.text()
    const sent = lastChat()
    expect(sent.options).toEqual({ temperature: 0.3, num_ctx: 4096, min_p: 0.05 })
    expect(sent.think).toBe(true)
    expect('keep_alive' in sent).toBe(false)
  })

  test('params win over the same top-level field, but the top-level stop and response_format win over theirs', async () => {
    const res = await complete(ask({
      temperature: 0.9, seed: 1, stop: ['TOP'], response_format: { type: 'json_object' },
      params: { temperature: 0.2, stop: ['PARAMS'], format: { type: 'object' }, max_tokens: 10 },
    }))
    expect(res.status).toBe(200)
    expect(((await res.json()) as { object: string }).object).toBe('chat.completion')
    const sent = lastChat()
    expect(sent.options).toEqual({ temperature: 0.2, seed: 1, stop: ['TOP'], num_predict: 10 })
    expect(sent.format).toBe('json')
  })

  test('null params and null values in params are as if absent', async () => {
    expect((await complete(ask({ params: null }))).status).toBe(200)
    expect(lastChat().options).toEqual({})
    expect((await complete(ask({ params: { temperature: null, keep_alive: null, stop: 'ONE' } }))).status).toBe(200)
    expect(lastChat().options).toEqual({ stop: ['ONE'] })
    expect('keep_alive' in lastChat()).toBe(false)
  })

  test('hostile names (__proto__, constructor) and unknown ones reach nothing', async () => {
    const body = `{"model":"${MODEL}","messages":[{"role":"user","content":"hi"}],"params":{"__proto__":{"temperature":1.5},"constructor":{"prototype":{}},"toString":1,"seed":3}}`
    const res = await fetch(`${url}/api/chat/completions`, { method: 'POST', headers: { ...bearer(token), 'content-type': 'application/json' }, body })
    expect(res.status).toBe(200)
    expect(lastChat().options).toEqual({ seed: 3 })
    expect(({} as Record<string, unknown>).temperature).toBeUndefined()
  })
})

describe('refused: a 400 naming the field, and Ollama is never asked', () => {
  test.each<[string, unknown, string]>([
    ['params that are not an object', ['temperature', 1], 'params must be an object'],
    ['a temperature that is not a number', { temperature: 'hot' }, '"temperature"'],
    ['a num_ctx past its bound', { num_ctx: 1e12 }, '"num_ctx"'],
    ['a max_tokens that is not an integer', { max_tokens: 1.5 }, '"max_tokens"'],
    ['a stop list of numbers', { stop: [1, 2] }, '"stop"'],
    ['an oversized stop list', { stop: Array.from({ length: 17 }, (_, i) => `s${i}`) }, '"stop"'],
    ['an oversized stop text', { stop: 'x'.repeat(201) }, '"stop"'],
    ['an oversized keep_alive', { keep_alive: '1'.repeat(40) + 'm' }, 'keep_alive'],
    ['a keep_alive that is no duration', { keep_alive: 'forever' }, 'keep_alive'],
    ['a think level Ollama has not', { think: 'very' }, 'think'],
    ['a format that is neither "json" nor a schema', { format: 5 }, 'format'],
    ['custom_params that are not an object', { custom_params: 'num_ctx=1' }, 'custom_params'],
    ['a custom option of the wrong type', { custom_params: { top_k: '"many"' } }, '"top_k"'],
  ])('%s', async (_, params, message) => {
    const before = ollama.requests.length
    for (const stream of [false, true]) {
      const res = await complete(ask({ stream, params }))
      expect(res.status).toBe(400)
      const { error } = (await res.json()) as { error: { code: string; message: string } }
      expect(error.code).toBe('invalid_request')
      expect(error.message).toContain(message)
    }
    expect(ollama.requests.length).toBe(before)
  })

  test('JSON inside params nested past MAX_JSON_NESTING is a 400 naming the field; at the limit it passes', async () => {
    // note: `{"a":` and `levels` arrays: levels + 1 deep. 100,000 levels once passed as a format and came back 502 "not reachable".
    const nested = (levels: number) => `{"a":${'['.repeat(levels)}${']'.repeat(levels)}}`
    const res = await complete(ask({ params: { format: nested(MAX_JSON_NESTING - 1) } }))
    expect(res.status).toBe(200)
    expect(JSON.stringify(lastChat().format).length).toBe(nested(MAX_JSON_NESTING - 1).length)
    const before = ollama.requests.length
    const cases: [Record<string, unknown>, string][] = [
      [{ format: nested(MAX_JSON_NESTING) }, 'params.format'],
      [{ format: nested(100_000) }, 'params.format'],
      [{ custom_params: { format: nested(100_000) } }, 'params.custom_params."format"'],
      [{ custom_params: { top_k: nested(100_000) } }, 'params.custom_params."top_k"'],
      [{ keep_alive: nested(100_000) }, 'params.keep_alive'],
    ]
    for (const [params, field] of cases) {
      for (const stream of [false, true]) {
        const refused = await complete(ask({ stream, params, chat_id: 'local' }))
        expect(refused.status).toBe(400)
        const { error } = (await refused.json()) as { error: { type: string; code: string; message: string } }
        expect(error).toMatchObject({ type: 'invalid_request_error', code: 'invalid_request' })
        expect(error.message).toContain(`${field} is nested deeper`)
      }
    }
    expect(ollama.requests.length).toBe(before)
  })

  test('without a credential, or from another site with the session cookie only, nothing is asked', async () => {
    const before = ollama.requests.length
    expect((await complete(ask({ params: { temperature: 0.1 } }), {})).status).toBe(401)
    const crossSite = await complete(ask({ params: { temperature: 0.1 } }), { origin: 'https://evil.example', cookie: `token=${token}` })
    expect(crossSite.status).toBeGreaterThanOrEqual(400)
    expect(ollama.requests.length).toBe(before)
  })
})
