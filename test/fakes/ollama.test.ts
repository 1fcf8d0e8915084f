import { afterEach, describe, expect, test } from 'bun:test'
import { startFakeOllama, type FakeOllama } from './ollama.ts'
import { defaultFakeModels, visionFakeModel } from './ollama-replies.ts'

let fake: FakeOllama
afterEach(async () => {
  await fake.stop()
})

async function start(...args: Parameters<typeof startFakeOllama>) {
  fake = await startFakeOllama(...args)
  return fake
}

function call(method: string, path: string, body?: unknown, signal?: AbortSignal): Promise<Response> {
  return fetch(fake.url + path, { method, ...(body === undefined ? {} : { body: JSON.stringify(body) }), ...(signal ? { signal } : {}) })
}

async function ndjson(response: Response): Promise<Record<string, unknown>[]> {
  return (await response.text()).split('\n').filter((line) => line !== '').map((line) => JSON.parse(line) as Record<string, unknown>)
}

const ask = (content: string, model = 'qwen2.5:0.5b') => ({ model, messages: [{ role: 'system', content: 'be brief' }, { role: 'user', content }] })

describe('documented endpoints', () => {
  test('GET /api/tags lists two small models with every documented field', async () => {
    await start()
    const { models } = (await (await call('GET', '/api/tags')).json()) as { models: Record<string, unknown>[] }
    expect(models.map((model) => model.name)).toEqual(['qwen2.5:0.5b', 'llama3.2:1b'])
    for (const model of models) {
      expect(Object.keys(model).sort()).toEqual(['details', 'digest', 'model', 'modified_at', 'name', 'size'])
      expect(Object.keys(model.details as object).sort()).toEqual(['families', 'family', 'format', 'parameter_size', 'parent_model', 'quantization_level'])
      expect(model.digest).toMatch(/^[0-9a-f]{64}$/)
    }
  })

  test('GET /api/version answers the configured version', async () => {
    await start({ version: '0.9.0' })
    expect(await (await call('GET', '/api/version')).json()).toEqual({ version: '0.9.0' })
  })

  test('POST /api/chat streams the question back one word per NDJSON chunk, then the final chunk with statistics', async () => {
    await start()
    const response = await call('POST', '/api/chat', ask('why is the sky blue?'))
    expect(response.status).toBe(200)
    expect(response.headers.get('content-type')).toBe('application/x-ndjson')
    const chunks = await ndjson(response)
    expect(chunks.map((chunk) => (chunk.message as { content: string }).content)).toEqual(['why', ' is', ' the', ' sky', ' blue?', ''])
    expect(chunks[0]).toEqual({ model: 'qwen2.5:0.5b', created_at: expect.any(String), message: { role: 'assistant', content: 'why' }, done: false })
    expect(chunks.at(-1)).toEqual({
      model: 'qwen2.5:0.5b', created_at: expect.any(String), message: { role: 'assistant', content: '' }, done: true, done_reason: 'stop',
      total_duration: expect.any(Number), load_duration: expect.any(Number), prompt_eval_count: 7, prompt_eval_duration: expect.any(Number),
      eval_count: 5, eval_duration: expect.any(Number),
    })
    expect(fake.requests).toHaveLength(1)
    expect(fake.requests[0]).toMatchObject({ method: 'POST', path: '/api/chat', body: ask('why is the sky blue?') })
    expect(await fake.requests[0]!.settled).toBe('completed')
  })

  test('chunkCount sets how many answer chunks come before the final one; stream:false answers one object', async () => {
    await start({ behaviour: { chunkCount: 4 } })
    const chunks = await ndjson(await call('POST', '/api/chat', ask('a b')))
    expect(chunks.map((chunk) => (chunk.message as { content: string }).content)).toEqual(['a', ' b', ' a', ' b', ''])
    const single = await call('POST', '/api/chat', { ...ask('a b'), stream: false })
    expect(single.headers.get('content-type')).toStartWith('application/json')
    expect(await single.json()).toMatchObject({ message: { role: 'assistant', content: 'a b a b' }, done: true, done_reason: 'stop', eval_count: 4 })
  })

  test('POST /api/chat with no messages loads the model (done_reason "load")', async () => {
    await start()
    expect(await ndjson(await call('POST', '/api/chat', { model: 'qwen2.5:0.5b', messages: [] }))).toEqual([
      { model: 'qwen2.5:0.5b', created_at: expect.any(String), message: { role: 'assistant', content: '' }, done_reason: 'load', done: true },
    ])
  })

  test('POST /api/generate streams `response` pieces and ends with context and statistics', async () => {
    await start()
    const chunks = await ndjson(await call('POST', '/api/generate', { model: 'llama3.2:1b', prompt: 'hello there' }))
    expect(chunks.map((chunk) => chunk.response)).toEqual(['hello', ' there', ''])
    expect(chunks.at(-1)).toMatchObject({ done: true, done_reason: 'stop', context: [1, 2, 3], eval_count: 2, prompt_eval_count: 2 })
  })

  test.each([
    ['chat, unknown model', 'POST', '/api/chat', ask('hi', 'mistral'), 404, { error: 'model "mistral" not found, try pulling it first' }],
    ['generate, unknown model', 'POST', '/api/generate', { model: 'nope:7b', prompt: 'x' }, 404, { error: 'model "nope:7b" not found, try pulling it first' }],
    ['show, unknown model', 'POST', '/api/show', { model: 'nope' }, 404, { error: "model 'nope' not found" }],
    ['delete, unknown model', 'DELETE', '/api/delete', { model: 'nope' }, 404, { error: "model 'nope' not found" }],
    ['no model named', 'POST', '/api/chat', { messages: [] }, 400, { error: 'model is required' }],
    ['no body', 'POST', '/api/chat', undefined, 400, { error: 'missing request body' }],
  ])('%s: %i with an `error` body', async (_, method, path, body, status, answer) => {
    await start()
    const response = await call(method, path, body)
    expect(response.status).toBe(status)
    expect(await response.json()).toEqual(answer)
  })

  test('an unknown route is a plain-text 404, as Ollama\'s router answers', async () => {
    await start()
    const response = await call('GET', '/api/nothing')
    expect(response.status).toBe(404)
    expect(await response.text()).toBe('404 page not found')
  })

  test('a name without a tag means :latest', async () => {
    await start({ models: [{ ...defaultFakeModels[0]!, name: 'tiny:latest', model: 'tiny:latest' }] })
    expect((await call('POST', '/api/chat', ask('hi', 'tiny'))).status).toBe(200)
  })

  test('/api/show describes a model; /api/ps lists the ones a chat loaded; /api/delete removes one', async () => {
    await start()
    expect(await (await call('POST', '/api/show', { model: 'llama3.2:1b' })).json()).toMatchObject({
      details: { family: 'llama', parameter_size: '1.2B' }, model_info: { 'general.architecture': 'llama' }, template: expect.any(String),
    })
    expect(await (await call('GET', '/api/ps')).json()).toEqual({ models: [] })
    await (await call('POST', '/api/chat', ask('hi', 'llama3.2:1b'))).text()
    const { models } = (await (await call('GET', '/api/ps')).json()) as { models: Record<string, unknown>[] }
    expect(models).toEqual([expect.objectContaining({ name: 'llama3.2:1b', model: 'llama3.2:1b', expires_at: expect.any(String), size_vram: expect.any(Number) })])
    const deleted = await call('DELETE', '/api/delete', { model: 'llama3.2:1b' })
    expect(deleted.status).toBe(200)
    expect(fake.models()).toEqual(['qwen2.5:0.5b'])
  })

  test('POST /api/pull streams manifest, download progress and success, then lists the model', async () => {
    await start()
    const progress = await ndjson(await call('POST', '/api/pull', { model: 'phi3:mini' }))
    expect(progress[0]).toEqual({ status: 'pulling manifest' })
    const downloads = progress.filter((line) => String(line.status).startsWith('downloading'))
    expect(downloads[0]).toEqual({ status: expect.stringMatching(/^downloading sha256:[0-9a-f]{64}$/), digest: expect.any(String), total: 4194304 })
    expect(downloads.slice(1).map((line) => line.completed)).toEqual([1048576, 2097152, 3145728, 4194304])
    expect(progress.at(-1)).toEqual({ status: 'success' })
    expect(fake.models()).toContain('phi3:mini')
  })
})

describe('behaviours', () => {
  test('status: every route fails with the given status and error', async () => {
    await start()
    fake.setBehaviour({ fault: { kind: 'status', status: 500, error: 'out of memory' } })
    for (const path of ['/api/tags', '/api/version']) {
      const response = await call('GET', path)
      expect(response.status).toBe(500)
      expect(await response.json()).toEqual({ error: 'out of memory' })
    }
  })

  test('hang_before_first_byte: nothing arrives until the client gives up, and the fake sees it leave', async () => {
    await start({ behaviour: { fault: { kind: 'hang_before_first_byte' } } })
    const failure = await call('GET', '/api/tags', undefined, AbortSignal.timeout(100)).catch((error: unknown) => error)
    expect((failure as Error).name).toBe('TimeoutError')
    expect(await fake.requests[0]!.settled).toBe('aborted')
  })

  test('stall: the first chunks arrive, then nothing; the client leaving ends it', async () => {
    await start({ behaviour: { fault: { kind: 'stall', afterChunks: 2 } } })
    const abort = new AbortController()
    const reader = (await call('POST', '/api/chat', ask('one two three'), abort.signal)).body!.getReader()
    let text = ''
    while (text.split('\n').length < 3) text += new TextDecoder().decode((await reader.read()).value)
    expect(text.split('\n').filter((line) => line !== '')).toHaveLength(2)
    const next = reader.read()
    const stillWaiting = await Promise.race([next.then(() => false, () => false), Bun.sleep(100).then(() => true)])
    expect(stillWaiting).toBe(true)
    abort.abort()
    await next.catch(() => {})
    expect(await fake.requests[0]!.settled).toBe('aborted')
  })

  test('close: the connection drops mid-stream', async () => {
    await start({ behaviour: { fault: { kind: 'close', afterChunks: 1 } } })
    const response = await call('POST', '/api/chat', ask('one two three'))
    expect(await response.text().then(() => 'read', () => 'failed')).toBe('failed')
    expect(await fake.requests[0]!.settled).toBe('closed')
  })

  test.each([
    ['raw_line', { kind: 'raw_line', afterChunks: 1, line: '{"model": "qwen2.5:0.5b", "done": tru' } as const, '{"model": "qwen2.5:0.5b", "done": tru'],
    ['error_line', { kind: 'error_line', afterChunks: 1, error: 'model runner has unexpectedly stopped' } as const, '{"error":"model runner has unexpectedly stopped"}'],
  ])('%s: one good chunk, the line, then the end', async (_, fault, line) => {
    await start({ behaviour: { fault } })
    const lines = (await (await call('POST', '/api/chat', ask('one two three'))).text()).split('\n')
    expect(lines).toHaveLength(3)
    expect(JSON.parse(lines[0]!)).toMatchObject({ message: { content: 'one' }, done: false })
    expect(lines[1]).toBe(line)
    expect(lines[2]).toBe('')
  })

  test('faults apply to pull streams too', async () => {
    await start({ behaviour: { fault: { kind: 'error_line', afterChunks: 1, error: 'pull model manifest: file does not exist' } } })
    expect(await ndjson(await call('POST', '/api/pull', { model: 'nope' }))).toEqual([
      { status: 'pulling manifest' }, { error: 'pull model manifest: file does not exist' },
    ])
    expect(fake.models()).not.toContain('nope:latest')
  })

  test('chunkDelayMs spaces the chunks out', async () => {
    await start({ behaviour: { chunkDelayMs: 30, chunkCount: 3 } })
    const startedAt = performance.now()
    await (await call('POST', '/api/chat', ask('a'))).text()
    expect(performance.now() - startedAt).toBeGreaterThanOrEqual(4 * 30 - 5)
  })

  test('a client that leaves mid-stream stops the writing', async () => {
    await start({ behaviour: { chunkDelayMs: 20, chunkCount: 1000 } })
    const abort = new AbortController()
    const reader = (await call('POST', '/api/chat', ask('word'), abort.signal)).body!.getReader()
    await reader.read()
    abort.abort()
    expect(await fake.requests[0]!.settled).toBe('aborted')
  })

  test('setBehaviour changes later requests and keeps the fields not given', async () => {
    await start({ behaviour: { chunkCount: 2 } })
    fake.setBehaviour({ chunkDelayMs: 1 })
    expect(await ndjson(await call('POST', '/api/chat', ask('x')))).toHaveLength(3)
  })
})

describe('tools, format, embeddings and the OpenAI-compatible API', () => {
  const weather = { type: 'function', function: { name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string' }, days: { type: 'integer' } }, required: ['city'] } } }

  test('POST /api/chat with tools: a user question gets one call chunk (arguments an object), then the final chunk', async () => {
    await start()
    const lines = await ndjson(await call('POST', '/api/chat', { ...ask('Paris'), tools: [weather] }))
    expect(lines[0]!.message).toEqual({ role: 'assistant', content: '', tool_calls: [{ function: { name: 'get_weather', arguments: { city: 'Paris', days: 1 } } }] })
    expect(lines.at(-1)).toMatchObject({ done: true, done_reason: 'stop' })
    const answered = await (await call('POST', '/api/chat', {
      model: 'qwen2.5:0.5b', stream: false, tools: [weather],
      messages: [{ role: 'user', content: 'Paris' }, { role: 'assistant', content: '', tool_calls: (lines[0]!.message as { tool_calls: unknown }).tool_calls }, { role: 'tool', content: 'rain', tool_name: 'get_weather' }],
    })).json() as { message: { content: string } }
    expect(answered.message.content).toBe('The tool said: rain')
  })

  test('POST /api/chat with format: "json" or a schema answers one JSON object', async () => {
    await start()
    const json = await (await call('POST', '/api/chat', { ...ask('Oslo'), stream: false, format: 'json' })).json() as { message: { content: string } }
    expect(JSON.parse(json.message.content)).toEqual({ answer: 'Oslo' })
    const schema = { type: 'object', properties: { city: { type: 'string' }, sunny: { type: 'boolean' }, kind: { enum: ['a', 'b'] } } }
    const shaped = await (await call('POST', '/api/chat', { ...ask('Oslo'), stream: false, format: schema })).json() as { message: { content: string } }
    expect(JSON.parse(shaped.message.content)).toEqual({ city: 'Oslo', sunny: true, kind: 'a' })
  })

  test('POST /api/embed answers unit vectors, one per input, with statistics; /api/embeddings the older single vector', async () => {
    await start()
    const answer = await (await call('POST', '/api/embed', { model: 'qwen2.5:0.5b', input: ['a', 'b'] })).json() as Record<string, unknown>
    expect(Object.keys(answer).sort()).toEqual(['embeddings', 'load_duration', 'model', 'prompt_eval_count', 'total_duration'])
    const [a, b] = answer.embeddings as number[][]
    expect(Math.hypot(...a!)).toBeCloseTo(1, 6)
    expect(a).not.toEqual(b)
    const single = await (await call('POST', '/api/embeddings', { model: 'qwen2.5:0.5b', prompt: 'a' })).json() as { embedding: number[] }
    expect(single.embedding).toEqual(a!)
    expect((await call('POST', '/api/embed', { model: 'nope:1b', input: 'a' })).status).toBe(404)
  })

  test('/v1: models, a completion with a tool call, a stream ending in [DONE], embeddings, and an OpenAI-shaped 404', async () => {
    await start()
    const models = await (await call('GET', '/v1/models')).json() as { object: string; data: { id: string; owned_by: string }[] }
    expect(models.data.map((model) => [model.id, model.owned_by])).toEqual([['qwen2.5:0.5b', 'library'], ['llama3.2:1b', 'library']])
    const completion = await (await call('POST', '/v1/chat/completions', { model: 'qwen2.5:0.5b', messages: [{ role: 'user', content: 'Rome' }], tools: [weather] })).json() as { choices: { message: { tool_calls: { function: { arguments: string } }[] }; finish_reason: string }[] }
    expect(completion.choices[0]!.finish_reason).toBe('tool_calls')
    expect(JSON.parse(completion.choices[0]!.message.tool_calls[0]!.function.arguments)).toEqual({ city: 'Rome', days: 1 })
    const stream = await call('POST', '/v1/chat/completions', { model: 'qwen2.5:0.5b', stream: true, messages: [{ role: 'user', content: 'a b' }] })
    expect(stream.headers.get('content-type')).toBe('text/event-stream')
    expect((await stream.text()).trim().split('\n\n').at(-1)).toBe('data: [DONE]')
    const embedded = await (await call('POST', '/v1/embeddings', { model: 'qwen2.5:0.5b', input: 'a' })).json() as { data: { embedding: number[] }[] }
    expect(embedded.data[0]!.embedding).toHaveLength(8)
    const missing = await call('POST', '/v1/chat/completions', { model: 'nope:1b', messages: [] })
    expect(missing.status).toBe(404)
    expect(await missing.json()).toEqual({ error: { message: expect.stringContaining('not found'), type: 'api_error', param: null, code: null } })
  })
})

describe('images, as Ollama documents them', () => {
  const withImage = (model: string, image: unknown) => ({ model, stream: false, messages: [{ role: 'user', content: 'what is this?', images: [image] }] })

  test('/api/show lists capabilities: vision only for a vision model', async () => {
    await start({ models: [...defaultFakeModels, visionFakeModel] })
    const show = async (model: string) => ((await (await call('POST', '/api/show', { model })).json()) as { capabilities: string[] }).capabilities
    expect(await show('qwen2.5:0.5b')).toEqual(['completion'])
    expect(await show(visionFakeModel.name)).toEqual(['completion', 'vision'])
  })

  test.each([
    ['base64 images to a vision model are answered', visionFakeModel.name, Buffer.from('image bytes').toString('base64'), 200],
    ['images to a model without vision are refused', 'qwen2.5:0.5b', Buffer.from('image bytes').toString('base64'), 400],
    ['an image that is not base64 is refused', visionFakeModel.name, 'not base64!', 400],
    ['an image that is not a string is refused', visionFakeModel.name, 42, 400],
  ])('%s', async (_, model, image, status) => {
    await start({ models: [...defaultFakeModels, visionFakeModel] })
    const res = await call('POST', '/api/chat', withImage(model, image))
    expect(res.status).toBe(status)
    if (status !== 200) expect(typeof ((await res.json()) as { error: unknown }).error).toBe('string')
    expect((fake.requests.at(-1)!.body as { messages: { images: unknown[] }[] }).messages[0]!.images).toEqual([image])
  })
})
