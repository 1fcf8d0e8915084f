import { afterEach, beforeEach, describe, expect, test } from 'bun:test'
import { startFakeOllama, type FakeBehaviour, type FakeOllama } from '../../test/fakes/ollama.ts'
import { createOllamaClient, OllamaError, type ChatChunk, type ChatMessage, type Fetch, type OllamaFailureReason } from './ollama-client.ts'

// note: generous enough that a loaded machine (other suites, other servers) does not trip them by accident.
const timeouts = { firstByteMs: 600, idleMs: 400 }
const question: ChatMessage[] = [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'why is the sky blue?' }]

let fake: FakeOllama
beforeEach(async () => {
  fake = await startFakeOllama()
})
afterEach(async () => {
  await fake.stop()
})

const clientFor = (baseUrl = fake.url, fetch?: Fetch) => createOllamaClient({ baseUrl, timeouts, ...(fetch ? { fetch } : {}) })

async function collect<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const items: T[] = []
  for await (const item of iterable) items.push(item)
  return items
}

async function failureOf(work: Promise<unknown>): Promise<OllamaError> {
  const error = await work.then(() => null, (caught: unknown) => caught)
  if (!(error instanceof OllamaError)) throw new Error(`expected an OllamaError, got ${String(error)}`)
  return error
}

const chatWith = (behaviour: Partial<FakeBehaviour>, model = 'qwen2.5:0.5b') => {
  fake.setBehaviour(behaviour)
  return collect(clientFor().chat({ model, messages: question, signal: new AbortController().signal }))
}

/** A port nothing listens on: one the OS just handed out and took back. */
async function closedPort(): Promise<number> {
  const server = Bun.serve({ hostname: '127.0.0.1', port: 0, fetch: () => new Response() })
  const port = server.port!
  await server.stop(true)
  return port
}

describe('chat', () => {
  test('streams the answer as typed chunks; the final one carries the statistics', async () => {
    const chunks = await collect(clientFor().chat({ model: 'qwen2.5:0.5b', messages: question, options: { temperature: 0 }, signal: new AbortController().signal }))
    expect(chunks.map((chunk) => chunk.content).join('')).toBe('why is the sky blue?')
    expect(chunks.slice(0, -1).every((chunk) => !chunk.done)).toBe(true)
    expect(chunks[0]).toEqual({ done: false, content: 'why', thinking: null })
    expect(chunks.at(-1)).toEqual({
      done: true, content: '', thinking: null, doneReason: 'stop',
      stats: {
        totalDurationNs: expect.any(Number), loadDurationNs: expect.any(Number), promptEvalCount: 7,
        promptEvalDurationNs: expect.any(Number), evalCount: 5, evalDurationNs: expect.any(Number),
      },
    })
    expect(fake.requests[0]).toMatchObject({
      method: 'POST', path: '/api/chat', body: { model: 'qwen2.5:0.5b', messages: question, options: { temperature: 0 }, stream: true },
    })
    expect(await fake.requests[0]!.settled).toBe('completed')
  })

  test('a slow stream within the idle deadline completes, and time the caller spends on a chunk does not count', async () => {
    fake.setBehaviour({ chunkDelayMs: 60, chunkCount: 3 })
    const chunks: ChatChunk[] = []
    for await (const chunk of clientFor().chat({ model: 'qwen2.5:0.5b', messages: question, signal: new AbortController().signal })) {
      chunks.push(chunk)
      await Bun.sleep(500) // longer than idleMs, but Ollama isn't the one being slow
    }
    expect(chunks).toHaveLength(4)
  })

  test('the caller aborting mid-stream ends the iteration with `aborted` and closes the upstream request', async () => {
    fake.setBehaviour({ chunkDelayMs: 20, chunkCount: 1000 })
    const abort = new AbortController()
    const seen: ChatChunk[] = []
    const error = await failureOf((async () => {
      for await (const chunk of clientFor().chat({ model: 'qwen2.5:0.5b', messages: question, signal: abort.signal })) {
        seen.push(chunk)
        if (seen.length === 2) abort.abort()
      }
    })())
    expect(error.reason).toBe('aborted')
    expect(seen).toHaveLength(2)
    expect(await fake.requests[0]!.settled).toBe('aborted')
  })

  test('the caller leaving the loop early closes the upstream request too', async () => {
    fake.setBehaviour({ chunkDelayMs: 20, chunkCount: 1000 })
    for await (const chunk of clientFor().chat({ model: 'qwen2.5:0.5b', messages: question, signal: new AbortController().signal })) {
      expect(chunk.content).toBe('why')
      break
    }
    expect(await fake.requests[0]!.settled).toBe('aborted')
  })

  test('a signal aborted before the start fails with `aborted`', async () => {
    const abort = new AbortController()
    abort.abort()
    const error = await failureOf(collect(clientFor().chat({ model: 'qwen2.5:0.5b', messages: question, signal: abort.signal })))
    expect(error.reason).toBe('aborted')
  })

  test('first-byte timeout: Ollama never answers', async () => {
    const startedAt = performance.now()
    const error = await failureOf(chatWith({ fault: { kind: 'hang_before_first_byte' } }))
    expect(error.reason).toBe('timeout_first_byte')
    expect(error.message).toBe('Ollama did not start answering within 600 ms.')
    expect(performance.now() - startedAt).toBeLessThan(3000)
    expect(await fake.requests[0]!.settled).toBe('aborted')
  })

  test('idle timeout: Ollama stalls mid-answer; the chunks before it still arrive', async () => {
    fake.setBehaviour({ fault: { kind: 'stall', afterChunks: 2 } })
    const seen: string[] = []
    const error = await failureOf((async () => {
      for await (const chunk of clientFor().chat({ model: 'qwen2.5:0.5b', messages: question, signal: new AbortController().signal })) seen.push(chunk.content)
    })())
    expect(error.reason).toBe('timeout_idle')
    expect(seen).toEqual(['why', ' is'])
    expect(await fake.requests[0]!.settled).toBe('aborted')
  })

  test.each([
    ['stream ends without the final chunk', { kind: 'raw_line', afterChunks: 5, line: '' }, 'bad_response', "Ollama's answer ended before its final chunk."],
    ['malformed NDJSON', { kind: 'raw_line', afterChunks: 1, line: '{"model":"qwen2.5:0.5b","done":fal' }, 'bad_response', 'Ollama sent a line that is not JSON (line 2).'],
    ['a line over 1 MiB', { kind: 'raw_line', afterChunks: 1, line: 'x'.repeat(1536 * 1024) }, 'bad_response', 'Ollama sent a line that is too long (line 2).'],
    ['an error line mid-stream', { kind: 'error_line', afterChunks: 2, error: 'model runner has unexpectedly stopped' }, 'ollama_error', 'Ollama reported an error mid-stream: "model runner has unexpectedly stopped"'],
    ['the connection drops', { kind: 'close', afterChunks: 2 }, 'unreachable', 'The connection to Ollama was lost in the middle of an answer.'],
    ['a failing status', { kind: 'status', status: 500, error: 'llama runner process has terminated' }, 'ollama_error', 'Ollama answered 500: "llama runner process has terminated"'],
  ] as const)('%s', async (_, fault, reason: OllamaFailureReason, message) => {
    const error = await failureOf(chatWith({ fault }))
    expect(error.reason).toBe(reason)
    expect(error.message).toBe(message)
  })

  test.each([
    ['`done` missing', '{"model":"m","created_at":"t","message":{"role":"assistant","content":"a"}}', '`done`'],
    ['`done` a string', '{"model":"m","created_at":"t","message":{"role":"assistant","content":"a"},"done":"false"}', '`done`'],
    ['`model` missing', '{"created_at":"t","message":{"role":"assistant","content":"a"},"done":false}', '`model`'],
    ['`created_at` a number', '{"model":"m","created_at":1,"message":{"role":"assistant","content":"a"},"done":false}', '`created_at`'],
    ['`message` missing mid-stream', '{"model":"m","created_at":"t","done":false}', '`message`'],
    ['`content` a number', '{"model":"m","created_at":"t","message":{"role":"assistant","content":7},"done":false}', '`content`'],
    ['`role` missing', '{"model":"m","created_at":"t","message":{"content":"a"},"done":false}', '`role`'],
    ['a negative count', '{"model":"m","created_at":"t","done":true,"eval_count":-1}', '`eval_count`'],
    ['a duration as text', '{"model":"m","created_at":"t","done":true,"total_duration":"5s"}', '`total_duration`'],
    ['an array', '[1,2]', 'not a JSON object'],
    ['a bare string', '"done"', 'not a JSON object'],
  ])('a chunk of the wrong shape (%s) is `bad_response`', async (_, line, named) => {
    const error = await failureOf(chatWith({ fault: { kind: 'raw_line', afterChunks: 1, line } }))
    expect(error.reason).toBe('bad_response')
    expect(error.message).toContain(named)
  })

  test('chatBatches: the chunks of each read together, the first chunk alone, nothing after `done`', async () => {
    const line = (content: string, done = false) => JSON.stringify({ model: 'm', created_at: 't', message: { role: 'assistant', content }, done }) + '\n'
    const reads = [line('a') + line('b') + line('c'), line('d') + line('', true) + line('after the end')]
    const answer = () => new Response(new ReadableStream<Uint8Array>({
      start(controller) {
        for (const read of reads) controller.enqueue(new TextEncoder().encode(read))
        controller.close()
      },
    }))
    const batches = await collect(clientFor(fake.url, async () => answer()).chatBatches({ model: 'm', messages: question, signal: new AbortController().signal }))
    expect(batches.map((batch) => batch.map((chunk) => (chunk.done ? 'done' : chunk.content)))).toEqual([['a'], ['b', 'c'], ['d', 'done']])
  })

  test('chatBatches: a chunk of the wrong shape ends the stream after the good chunks of its read', async () => {
    const good = JSON.stringify({ model: 'm', created_at: 't', message: { role: 'assistant', content: 'ok' }, done: false })
    const body = `${good}\n${good}\n${good}\n{"model":"m","done":false}\n${good}\n`
    const seen: string[][] = []
    const error = await failureOf((async () => {
      for await (const batch of clientFor(fake.url, async () => new Response(body)).chatBatches({ model: 'm', messages: question, signal: new AbortController().signal })) {
        seen.push(batch.map((chunk) => chunk.content))
      }
    })())
    expect(seen).toEqual([['ok'], ['ok', 'ok']])
    expect(error.reason).toBe('bad_response')
  })

  test('a final chunk without `message`, as older versions send it, is accepted', async () => {
    const chunks = await chatWith({ fault: { kind: 'raw_line', afterChunks: 1, line: '{"model":"m","created_at":"t","done":true,"eval_count":1}' } })
    expect(chunks.at(-1)).toMatchObject({ done: true, content: '', doneReason: null, stats: { evalCount: 1, totalDurationNs: null } })
  })

  test('an unknown model is `model_not_found` with status 404', async () => {
    const error = await failureOf(chatWith({}, 'mistral:7b'))
    expect(error.reason).toBe('model_not_found')
    expect(error.status).toBe(404)
    expect(error.message).toBe('Ollama has no model named "mistral:7b".')
  })

  test('a long error body is quoted only as a short excerpt', async () => {
    const error = await failureOf(chatWith({ fault: { kind: 'status', status: 500, error: 'PROMPT-ECHO '.repeat(1000) } }))
    expect(error.reason).toBe('ollama_error')
    expect(error.message.length).toBeLessThan(200)
  })

  test('connection refused is `unreachable`', async () => {
    const client = createOllamaClient({ baseUrl: `http://127.0.0.1:${await closedPort()}`, timeouts })
    const error = await failureOf(collect(client.chat({ model: 'qwen2.5:0.5b', messages: question, signal: new AbortController().signal })))
    expect(error.reason).toBe('unreachable')
    expect(error.message).toBe('Ollama is not reachable.')
  })
})

describe('pull', () => {
  test('yields progress through to success, and the model is then listed', async () => {
    const progress = await collect(clientFor().pull({ name: 'phi3:mini', signal: new AbortController().signal }))
    expect(progress[0]).toEqual({ status: 'pulling manifest', digest: null, totalBytes: null, completedBytes: null })
    const downloads = progress.filter((line) => line.digest !== null)
    expect(downloads.map((line) => line.completedBytes)).toEqual([null, 1048576, 2097152, 3145728, 4194304])
    expect(downloads.every((line) => line.totalBytes === 4194304 && line.digest!.startsWith('sha256:'))).toBe(true)
    expect(progress.at(-1)!.status).toBe('success')
    expect(fake.requests[0]!.body).toEqual({ model: 'phi3:mini', stream: true })
    expect((await clientFor().listModels()).map((model) => model.name)).toContain('phi3:mini')
  })

  test('an error line is `ollama_error`; a stream that stops short of success is `bad_response`', async () => {
    fake.setBehaviour({ fault: { kind: 'error_line', afterChunks: 1, error: 'pull model manifest: file does not exist' } })
    expect((await failureOf(collect(clientFor().pull({ name: 'nope', signal: new AbortController().signal })))).reason).toBe('ollama_error')
    fake.setBehaviour({ fault: { kind: 'raw_line', afterChunks: 3, line: '' } })
    expect((await failureOf(collect(clientFor().pull({ name: 'nope', signal: new AbortController().signal })))).reason).toBe('bad_response')
  })

  test('cancelling a pull closes the upstream request', async () => {
    fake.setBehaviour({ chunkDelayMs: 30 })
    const abort = new AbortController()
    const error = await failureOf((async () => {
      for await (const line of clientFor().pull({ name: 'phi3:mini', signal: abort.signal })) if (line.status.startsWith('downloading')) abort.abort()
    })())
    expect(error.reason).toBe('aborted')
    expect(await fake.requests[0]!.settled).toBe('aborted')
    expect(fake.models()).not.toContain('phi3:mini')
  })
})

describe('models, delete and version', () => {
  test('listModels maps /api/tags to typed models', async () => {
    const models = await clientFor().listModels()
    expect(models[0]).toEqual({
      name: 'qwen2.5:0.5b', model: 'qwen2.5:0.5b', modifiedAt: '2025-01-15T10:21:07.318473922+01:00', sizeBytes: 397821319,
      digest: 'a8b0c51577010a279d933d14c2a8ab4b268079d44c5c8830c0a93900f1827c67',
      details: { parentModel: '', format: 'gguf', family: 'qwen2', families: ['qwen2'], parameterSize: '494.03M', quantizationLevel: 'Q4_K_M' },
    })
  })

  test('version answers the version string', async () => {
    expect(await clientFor().version()).toBe('0.12.6')
  })

  test('deleteModel removes a model; an unknown one is `model_not_found`', async () => {
    await clientFor().deleteModel('llama3.2:1b')
    expect(fake.models()).toEqual(['qwen2.5:0.5b'])
    expect(fake.requests[0]).toMatchObject({ method: 'DELETE', path: '/api/delete', body: { model: 'llama3.2:1b' } })
    expect((await failureOf(clientFor().deleteModel('llama3.2:1b'))).reason).toBe('model_not_found')
  })

  test('a hanging /api/tags times out on the first-byte deadline', async () => {
    fake.setBehaviour({ fault: { kind: 'hang_before_first_byte' } })
    expect((await failureOf(clientFor().listModels())).reason).toBe('timeout_first_byte')
  })

  test.each([
    ['models not a list', '{"models":{}}'],
    ['an entry without a size', '{"models":[{"name":"a","modified_at":"t","digest":"d"}]}'],
    ['not JSON', '<html>proxy error</html>'],
  ])('a model list of the wrong shape (%s) is `bad_response`', async (_, body) => {
    const answering: Fetch = async () => new Response(body, { headers: { 'content-type': 'application/json' } })
    expect((await failureOf(clientFor(fake.url, answering).listModels())).reason).toBe('bad_response')
  })

  test('a 404 that is not Ollama\'s (a wrong base URL) is `ollama_error`, not a missing model', async () => {
    const error = await failureOf(clientFor(fake.url + '/wrong/prefix').deleteModel('llama3.2:1b'))
    expect(error.reason).toBe('ollama_error')
    expect(error.message).toBe('Ollama answered 404.')
  })
})

describe('tools, format and embeddings', () => {
  const weather = { type: 'function', function: { name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string' } } } } }

  test('tools and format go in the request; a tool call comes back as a typed chunk with object arguments', async () => {
    const chunks = await collect(clientFor().chat({ model: 'qwen2.5:0.5b', messages: question, tools: [weather], format: 'json', signal: new AbortController().signal }))
    expect(fake.requests[0]!.body).toMatchObject({ tools: [weather], format: 'json' })
    expect(chunks[0]).toEqual({ done: false, content: '', thinking: null, toolCalls: [{ name: 'get_weather', arguments: { city: 'why is the sky blue?' } }] })
    expect(chunks.at(-1)!.done).toBe(true)
  })

  test('a call id, which newer Ollama versions send, is kept', async () => {
    const lines = '{"model":"m","created_at":"t","message":{"role":"assistant","content":"","tool_calls":[{"id":"call_abc","function":{"index":0,"name":"f","arguments":{"a":1}}}]},"done":false}\n'
      + '{"model":"m","created_at":"t","message":{"role":"assistant","content":""},"done_reason":"stop","done":true}\n'
    const answering: Fetch = async () => new Response(lines, { headers: { 'content-type': 'application/x-ndjson' } })
    const chunks = await collect(clientFor(fake.url, answering).chat({ model: 'm', messages: question, signal: new AbortController().signal }))
    expect(chunks[0]!.toolCalls).toEqual([{ id: 'call_abc', name: 'f', arguments: { a: 1 } }])
  })

  test('no tools and no format leave both out of the request', async () => {
    await collect(clientFor().chat({ model: 'qwen2.5:0.5b', messages: question, tools: [], signal: new AbortController().signal }))
    expect(Object.keys(fake.requests[0]!.body as object).sort()).toEqual(['messages', 'model', 'stream'])
  })

  test.each([
    ['a call without a function', '{"model":"m","created_at":"t","message":{"role":"assistant","content":"","tool_calls":[{}]},"done":false}\n'],
    ['a call whose arguments are a string', '{"model":"m","created_at":"t","message":{"role":"assistant","content":"","tool_calls":[{"function":{"name":"f","arguments":"{}"}}]},"done":false}\n'],
    ['tool_calls that are not a list', '{"model":"m","created_at":"t","message":{"role":"assistant","content":"","tool_calls":{}},"done":false}\n'],
  ])('%s is `bad_response`', async (_, line) => {
    const answering: Fetch = async () => new Response(line, { headers: { 'content-type': 'application/x-ndjson' } })
    const error = await failureOf(collect(clientFor(fake.url, answering).chat({ model: 'm', messages: question, signal: new AbortController().signal })))
    expect(error.reason).toBe('bad_response')
  })

  test('embed returns one vector per text and the tokens read; an unknown model is `model_not_found`', async () => {
    const answer = await clientFor().embed({ model: 'qwen2.5:0.5b', input: ['one', 'two words'] })
    expect(answer.embeddings.map((vector) => vector.length)).toEqual([8, 8])
    expect(answer.promptEvalCount).toBe(3)
    expect(fake.requests[0]!.body).toEqual({ model: 'qwen2.5:0.5b', input: ['one', 'two words'] })
    expect((await failureOf(clientFor().embed({ model: 'nope:1b', input: ['x'] }))).reason).toBe('model_not_found')
  })

  test.each([
    ['a vector count that differs from the inputs', '{"embeddings":[[0.1]]}'],
    ['a vector with a string in it', '{"embeddings":[[0.1,"x"]]}'],
    ['no embeddings', '{"embedding":[0.1]}'],
  ])('an embed answer with %s is `bad_response`', async (_, body) => {
    const answering: Fetch = async () => new Response(body, { headers: { 'content-type': 'application/json' } })
    expect((await failureOf(clientFor(fake.url, answering).embed({ model: 'm', input: ['a', 'b'] }))).reason).toBe('bad_response')
  })
})

describe('the base URL', () => {
  test('a trailing slash and an injected fetch are honoured', async () => {
    const urls: string[] = []
    const recording: Fetch = (url, init) => (urls.push(url), fetch(url, init))
    expect(await clientFor(fake.url + '/', recording).version()).toBe('0.12.6')
    expect(urls).toEqual([`${fake.url}/api/version`])
  })

  test('credentials in the URL travel as a Basic header, and never appear in an error', async () => {
    const withCredentials = fake.url.replace('http://', 'http://ada:s3cr%40t@')
    await clientFor(withCredentials).version()
    expect(fake.requests[0]!.headers.authorization).toBe('Basic ' + btoa('ada:s3cr@t'))

    fake.setBehaviour({ fault: { kind: 'status', status: 401, error: 'unauthorized' } })
    const refused = `http://ada:s3cr%40t@127.0.0.1:${await closedPort()}`
    for (const error of [await failureOf(clientFor(withCredentials).version()), await failureOf(clientFor(refused).version())]) {
      expect(error.message).not.toContain('s3cr')
      expect(String(error.cause ?? '')).not.toContain('s3cr')
      expect(JSON.stringify(error.cause ?? null)).not.toContain('s3cr')
    }
  })

  test('a redirect is refused, so the request never reaches the other host', async () => {
    const redirecting = Bun.serve({
      hostname: '127.0.0.1', port: 0,
      fetch: (request) => Response.redirect(fake.url + new URL(request.url).pathname, 307),
    })
    try {
      const error = await failureOf(collect(clientFor(`http://127.0.0.1:${redirecting.port}`).chat({ model: 'qwen2.5:0.5b', messages: question, signal: new AbortController().signal })))
      expect(error.reason).toBe('bad_response')
      expect(error.status).toBe(307)
      expect(fake.requests).toHaveLength(0)
    } finally {
      await redirecting.stop(true)
    }
  })
})

describe('onFailure hears of failed calls, not of cancelled ones', () => {
  test('a cut stream, a failing status and a cancelled call', async () => {
    const heard: [OllamaFailureReason, string][] = []
    const client = createOllamaClient({ baseUrl: fake.url, timeouts, onFailure: (error, path) => heard.push([error.reason, path]) })
    fake.setBehaviour({ fault: { kind: 'close', afterChunks: 1 } })
    await failureOf(collect(client.chat({ model: 'qwen2.5:0.5b', messages: question, signal: new AbortController().signal })))
    fake.setBehaviour({ fault: { kind: 'status', status: 500, error: 'boom' } })
    await failureOf(client.listModels())
    fake.setBehaviour({ fault: { kind: 'hang_before_first_byte' } })
    const cancel = new AbortController()
    const cancelled = failureOf(client.listModels({ signal: cancel.signal }))
    cancel.abort()
    expect((await cancelled).reason).toBe('aborted')
    expect(heard).toEqual([['unreachable', '/api/chat'], ['ollama_error', '/api/tags']])
  })
})
