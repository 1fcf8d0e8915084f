import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import OpenAI from 'openai'
import { startFakeOllama, type FakeOllama } from '../fakes/ollama.ts'
import { bearer, signUp } from '../helpers/accounts.ts'
import { req, startTestApp } from '../helpers/test-app.ts'

const MODEL = 'llama3.2:1b'
const QUESTION = 'why is the sky blue at noon'

let ollama: FakeOllama
const servers: { stop: () => Promise<unknown> }[] = []

beforeAll(async () => {
  ollama = await startFakeOllama()
})
afterAll(async () => {
  for (const server of servers) await server.stop()
  await ollama.stop()
})

/** The real app listening on 127.0.0.1, an admin's token, and an OpenAI client holding it. */
async function startServer(urls: string[] = [ollama.url], env: Record<string, string> = {}) {
  const { app } = startTestApp({ OLLAMA_BASE_URLS: urls.join(';'), OLLAMA_TIMEOUT: '2', OLLAMA_IDLE_TIMEOUT: '2', ...env })
  const admin = await signUp(app, 'admin@example.com')
  app.listen({ hostname: '127.0.0.1', port: 0 })
  servers.push({ stop: () => app.stop(true) })
  const url = `http://127.0.0.1:${app.server!.port}`
  // note: the client insists on a key; an empty one is sent with no Authorization header at all.
  const client = (apiKey: string) => new OpenAI({ baseURL: `${url}/api`, apiKey: apiKey || 'unused', maxRetries: 0, ...(apiKey === '' ? { defaultHeaders: { authorization: null } } : {}) })
  return { app, url, token: admin.token, openai: client(admin.token), client }
}

const ask = (content = QUESTION) => ({ model: MODEL, messages: [{ role: 'user' as const, content }] })

describe('the official OpenAI client', () => {
  test('models.list() reads the Open WebUI model list', async () => {
    const { openai } = await startServer()
    const ids: string[] = []
    for await (const model of openai.models.list()) ids.push(model.id)
    expect(ids).toEqual(['qwen2.5:0.5b', 'llama3.2:1b'])
  })

  test('a non-streaming completion has the answer, finish reason and usage; options reach Ollama', async () => {
    const { openai } = await startServer()
    const completion = await openai.chat.completions.create({
      ...ask(), temperature: 0.2, top_p: 0.9, max_tokens: 64, stop: ['###'], seed: 7,
      messages: [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: [{ type: 'text', text: QUESTION }] }],
    })
    expect(completion.id).toStartWith('chatcmpl-')
    expect(completion.object).toBe('chat.completion')
    expect(completion.model).toBe(MODEL)
    expect(completion.choices).toEqual([{ index: 0, message: { role: 'assistant', content: QUESTION }, finish_reason: 'stop' }] as never)
    expect(completion.usage).toEqual({ prompt_tokens: 9, completion_tokens: 7, total_tokens: 16 })
    const sent = ollama.requests.findLast((request) => request.path === '/api/chat')!
    expect(sent.body).toMatchObject({ model: MODEL, options: { temperature: 0.2, top_p: 0.9, num_predict: 64, stop: ['###'], seed: 7 } })
    expect((sent.body as { messages: unknown }).messages).toEqual([{ role: 'system', content: 'Be brief.' }, { role: 'user', content: QUESTION }])
  })

  test('a streamed completion\'s deltas add up to the answer, then a stop chunk and usage when asked', async () => {
    const { openai } = await startServer()
    const stream = await openai.chat.completions.create({ ...ask(), stream: true, stream_options: { include_usage: true } })
    const chunks: OpenAI.Chat.Completions.ChatCompletionChunk[] = []
    for await (const chunk of stream) chunks.push(chunk)
    expect(chunks.map((chunk) => chunk.choices[0]?.delta.content ?? '').join('')).toBe(QUESTION)
    expect(chunks[0]!.choices[0]!.delta.role).toBe('assistant')
    expect(chunks.every((chunk) => chunk.object === 'chat.completion.chunk' && chunk.id === chunks[0]!.id)).toBe(true)
    expect(chunks.at(-2)!.choices[0]!.finish_reason).toBe('stop')
    expect(chunks.at(-1)!.usage).toEqual({ prompt_tokens: 7, completion_tokens: 7, total_tokens: 14 })
  })

  test('the raw stream is Server-Sent Events ending in [DONE]', async () => {
    const { url, token } = await startServer()
    const res = await fetch(`${url}/api/chat/completions`, { method: 'POST', headers: { ...bearer(token), 'content-type': 'application/json' }, body: JSON.stringify({ ...ask('hi there'), stream: true }) })
    expect(res.headers.get('content-type')).toStartWith('text/event-stream')
    const events = (await res.text()).trim().split('\n\n')
    expect(events.at(-1)).toBe('data: [DONE]')
    expect(events.every((event) => event.startsWith('data: '))).toBe(true)
    expect(JSON.parse(events.at(-2)!.slice(6)).choices[0]).toEqual({ index: 0, delta: {}, finish_reason: 'stop' })
  })

  test('an API key works the same as a session token', async () => {
    const { app, token, client } = await startServer([ollama.url], { ENABLE_API_KEYS: 'true' })
    const created = await app.handle(req('POST', '/api/v1/auths/api_key', {}, bearer(token)))
    const { api_key } = (await created.json()) as { api_key: string }
    const completion = await client(api_key).chat.completions.create(ask('hello key'))
    expect(completion.choices[0]!.message.content).toBe('hello key')
  })

  test.each<[string, string, number, string]>([
    ['no key', '', 401, 'AuthenticationError'],
    ['a wrong key', 'sk-' + 'A'.repeat(43), 401, 'AuthenticationError'],
    ['an unknown model', 'token', 404, 'NotFoundError'],
  ])('%s is an error the client raises with its status', async (name, key, status, errorName) => {
    const { token, client } = await startServer()
    const call = client(key === 'token' ? token : key).chat.completions.create(name === 'an unknown model' ? { ...ask(), model: 'nope:1b' } : ask())
    const error = await call.then(() => null, (caught: unknown) => caught)
    expect(error).toBeInstanceOf(OpenAI.APIError)
    expect((error as InstanceType<typeof OpenAI.APIError>).status).toBe(status)
    expect((error as Error).constructor.name).toBe(errorName)
    if (status === 404) expect((error as InstanceType<typeof OpenAI.APIError>).code).toBe('model_not_found')
  })

  test.each<[string, Record<string, unknown>, string]>([
    ['n = 2', { n: 2 }, 'one choice'],
    ['functions', { functions: [{ name: 'get_weather', parameters: {} }] }, 'send `tools` instead'],
    ['a tool_choice naming no offered tool', { tools: [{ type: 'function', function: { name: 'get_weather' } }], tool_choice: { type: 'function', function: { name: 'other' } } }, 'not among the tools'],
    // Conduit's and the web page's turn with the web search toggle on; Enclave has no web search
    ['features.web_search on (Conduit sendMessage)', { features: { voice: false, web_search: true, image_generation: false, code_interpreter: false } }, 'no web search'],
    ['features.image_generation on', { features: { image_generation: true } }, 'no image generation'],
    ['tool-call arguments that are not a JSON object', { messages: [{ role: 'assistant', content: null, tool_calls: [{ id: 'c1', type: 'function', function: { name: 'f', arguments: '[1' } }] }, { role: 'user', content: 'hi' }] }, 'JSON object'],
  ])('a request with %s is refused as a 400 the client raises, and Ollama is never asked', async (_, extra, message) => {
    const { token, client } = await startServer()
    const before = ollama.requests.length
    const error = await client(token).chat.completions.create({ ...ask(), ...extra } as Parameters<ReturnType<typeof client>['chat']['completions']['create']>[0])
      .then(() => null, (caught: unknown) => caught as InstanceType<typeof OpenAI.APIError>)
    expect(error?.status).toBe(400)
    expect(error?.message).toContain(message)
    expect(ollama.requests.length).toBe(before)
  })

  test('n = 1, an empty tools list and Conduit\'s features all off are fine', async () => {
    const { token, client } = await startServer()
    const features = { voice: false, web_search: false, image_generation: false, code_interpreter: false }
    const completion = await client(token).chat.completions.create({ ...ask('plain answer'), n: 1, tools: [], features } as OpenAI.ChatCompletionCreateParamsNonStreaming)
    expect(completion.choices[0]!.message.content).toBe('plain answer')
  })

  test('a connection failing before its first byte is skipped for the next one that has the model', async () => {
    const flaky = await startFakeOllama()
    const { openai } = await startServer([flaky.url, ollama.url])
    await openai.models.list() // both list the model
    flaky.setBehaviour({ fault: { kind: 'status', status: 500, error: 'out of memory' } })
    const completion = await openai.chat.completions.create(ask('fail over'))
    expect(completion.choices[0]!.message.content).toBe('fail over')
    expect(flaky.requests.some((request) => request.path === '/api/chat')).toBe(true)
    await flaky.stop()
  })

  test('an Ollama that hangs before its first byte is 504', async () => {
    const hanging = await startFakeOllama()
    const { openai } = await startServer([hanging.url], { OLLAMA_TIMEOUT: '1' })
    await openai.models.list() // lists while it still answers
    hanging.setBehaviour({ fault: { kind: 'hang_before_first_byte' } })
    const error = await openai.chat.completions.create(ask()).then(() => null, (caught: unknown) => caught)
    expect((error as InstanceType<typeof OpenAI.APIError>).status).toBe(504)
    await hanging.stop()
  })

  test('aborting a stream aborts the request to Ollama', async () => {
    const { openai } = await startServer()
    ollama.setBehaviour({ chunkDelayMs: 50 })
    try {
      const stream = await openai.chat.completions.create({ ...ask('one two three four five six seven eight nine ten'), stream: true })
      const upstream = ollama.requests.findLast((request) => request.path === '/api/chat')!
      for await (const chunk of stream) {
        if (chunk.choices[0]?.delta.content) break // note: leaving the loop aborts the client's request
      }
      expect(await Promise.race([upstream.settled, Bun.sleep(2_000).then(() => 'still running')])).toBe('aborted')
    } finally {
      ollama.setBehaviour({ chunkDelayMs: 0 })
    }
  })
})
