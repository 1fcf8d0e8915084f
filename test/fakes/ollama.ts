/**
 * An Ollama stand-in: a real HTTP server on 127.0.0.1 speaking Ollama's documented API (NDJSON
 * streams, `{ "error": "..." }` bodies, 404 for an unknown model), with faults a test can switch
 * on: a slow stream, a hang before the first byte, a stall or a dropped connection mid-stream, a
 * raw line (malformed, wrongly shaped or huge), an error line, or a failure status. It stops
 * writing when its client goes away, and records each request and how it ended.
 */
import { listV1Models, openAiError, v1ChatCompletion, v1Completion, v1Embeddings, type SseEvents } from './ollama-openai.ts'
import {
  bagOfWordsEmbedding, chatReply, defaultFakeModels, embeddingDimensions, embedReply, embeddingOf, fullModelName, generateReply, layerDigest, pulledModel, pullProgress, runningModel, showReply,
  type FakeMessage, type FakeModel,
} from './ollama-replies.ts'

export type { FakeModel } from './ollama-replies.ts'
export { embeddingModel } from './ollama-replies.ts'

/** Faults; `afterChunks` counts the lines written first. Stream faults apply to chat, generate and pull. */
export type FakeFault =
  | { kind: 'hang_before_first_byte' } // every route: no status line, no byte, until the client leaves
  | { kind: 'status'; status: number; error: string } // every route: `{ "error": error }` with this status
  | { kind: 'stall'; afterChunks: number } // headers and some chunks, then silence
  | { kind: 'close'; afterChunks: number } // the connection drops without the stream's end
  | { kind: 'raw_line'; afterChunks: number; line: string } // this text and a newline, then the end
  | { kind: 'error_line'; afterChunks: number; error: string } // Ollama's mid-stream `{ "error": ... }`, then the end

/** How the fake answers; change it with `setBehaviour`. */
export type FakeBehaviour = {
  chunkDelayMs: number // before each streamed line
  chunkCount: number | null // answer chunks before the final one; null: one per word of the question
  fault: FakeFault | null
  replyChunks: readonly string[] | null // the answer's chunks, verbatim; null: echo the question
  tagsBody?: unknown // when set, GET /api/tags answers this JSON instead of the models (a broken list, say)
}

/** One request the fake received. */
export type FakeRequest = {
  method: string
  path: string
  body: unknown // parsed JSON, or null
  headers: Record<string, string>
  /** `aborted`: the client went away before the response was over. `closed`: the fake dropped it. */
  settled: Promise<FakeOutcome>
}

/** How a request ended, as the fake saw it. */
export type FakeOutcome = 'completed' | 'aborted' | 'closed'
type Settle = (outcome: FakeOutcome) => void

/** A running stand-in. */
export type FakeOllama = Awaited<ReturnType<typeof startFakeOllama>>

const encoder = new TextEncoder()
const pullBytes = 4 * 1024 * 1024

/** Starts the stand-in on a free port; `stop()` it when done. */
export async function startFakeOllama(options: { models?: readonly FakeModel[]; version?: string; behaviour?: Partial<FakeBehaviour> } = {}) {
  let behaviour: FakeBehaviour = { chunkDelayMs: 0, chunkCount: null, fault: null, replyChunks: null, ...options.behaviour }
  const models: FakeModel[] = structuredClone([...(options.models ?? defaultFakeModels)])
  const loaded = new Set<string>()
  const requests: FakeRequest[] = []
  const findModel = (name: unknown) => (typeof name === 'string' ? models.find((model) => model.name === fullModelName(name)) ?? null : null)

  async function handle(request: Request): Promise<Response> {
    const { pathname } = new URL(request.url)
    const text = await request.text()
    const body = parseJson(text)
    let settle!: Settle
    const settled = new Promise<FakeOutcome>((resolve) => (settle = resolve))
    requests.push({ method: request.method, path: pathname, body, headers: Object.fromEntries(request.headers), settled })
    const current = behaviour
    const fault = current.fault

    if (fault?.kind === 'hang_before_first_byte') return hangUntilAbort(request.signal, () => settle('aborted'))
    const route = `${request.method} ${pathname}`
    const response = fault?.kind === 'status'
      ? errorResponse(fault.status, fault.error)
      : answer(route, text, body, request.signal, current, settle)
    if (!isStreamed(response)) settle('completed')
    return response
  }

  function answer(route: string, text: string, body: unknown, signal: AbortSignal, current: FakeBehaviour, settle: Settle): Response {
    const stream = (lines: object[], onAllWritten = () => {}) => streamLines(lines, current, signal, settle, onAllWritten)
    switch (route) {
      case 'GET /api/version': return Response.json({ version: options.version ?? '0.12.6' })
      case 'GET /api/tags': return Response.json(current.tagsBody === undefined ? { models } : current.tagsBody)
      case 'GET /api/ps': return Response.json({ models: models.filter((model) => loaded.has(model.name)).map(runningModel) })
      case 'GET /v1/models': return Response.json(listV1Models(models))
    }
    if (route.startsWith('POST /v1/')) {
      const answered = answerOpenAi(route, body, current.chunkCount)
      return answered instanceof Response ? answered : streamLines(answered.sse, current, signal, settle, () => {}, 'text/event-stream')
    }
    if (!['POST /api/chat', 'POST /api/generate', 'POST /api/show', 'POST /api/pull', 'POST /api/create', 'DELETE /api/delete', 'POST /api/embed', 'POST /api/embeddings'].includes(route)) {
      return new Response('404 page not found', { status: 404, headers: { 'content-type': 'text/plain' } }) // as Go's router says it
    }
    if (text === '') return errorResponse(400, 'missing request body')
    if (!isRecord(body)) return errorResponse(400, 'invalid request body')
    const name = body.model ?? body.name // note: `name` is the older spelling some clients still send
    if (typeof name !== 'string' || name === '') return errorResponse(400, 'model is required')
    const isStreamRequested = body.stream !== false

    if (route === 'POST /api/pull') {
      const pulled = pulledModel(fullModelName(name), pullBytes)
      const addModel = () => {
        if (findModel(name) === null) models.push(pulled)
      }
      if (isStreamRequested) return stream(pullProgress(layerDigest(pulled.name), pullBytes), addModel)
      addModel()
      return Response.json({ status: 'success' })
    }
    if (route === 'POST /api/create') {
      // note: as Ollama, a model made `from` another (a system prompt, parameters) under a new name.
      const base = findModel(body.from)
      if (base === null) return errorResponse(400, "neither 'from' or 'files' was specified")
      const made = { ...structuredClone(base), name: fullModelName(name) }
      const addModel = () => void (findModel(name) === null && models.push(made))
      if (isStreamRequested) return stream([{ status: 'using existing layer' }, { status: 'writing manifest' }, { status: 'success' }], addModel)
      addModel()
      return Response.json({ status: 'success' })
    }
    const model = findModel(name)
    if (route === 'POST /api/show') return model === null ? errorResponse(404, `model '${name}' not found`) : Response.json(showReply(model))
    if (route === 'DELETE /api/delete') {
      if (model === null) return errorResponse(404, `model '${name}' not found`)
      models.splice(models.indexOf(model), 1)
      loaded.delete(model.name)
      return new Response(null, { status: 200 })
    }
    if (model === null) return errorResponse(404, `model ${JSON.stringify(name)} not found, try pulling it first`)
    if (route === 'POST /api/generate' && body.keep_alive === 0 && (body.prompt ?? '') === '') {
      // note: as Ollama, a generate with no prompt and keep_alive 0 unloads the model.
      loaded.delete(model.name)
      return Response.json({ model: name, created_at: new Date().toISOString(), response: '', done: true, done_reason: 'unload' })
    }
    loaded.add(model.name)
    if (route === 'POST /api/embed') {
      const input = typeof body.input === 'string' ? [body.input] : Array.isArray(body.input) ? body.input.map(String) : null
      return input === null ? errorResponse(400, 'invalid input type') : Response.json(embedReply(name, input, embeddingDimensions(model)))
    }
    if (route === 'POST /api/embeddings') {
      const prompt = typeof body.prompt === 'string' ? body.prompt : ''
      const dimensions = embeddingDimensions(model)
      return Response.json({ embedding: dimensions === null ? embeddingOf(prompt) : bagOfWordsEmbedding(prompt, dimensions) })
    }
    const imageRefusal = checkImages(route === 'POST /api/chat' ? body.messages : [{ images: body.images }], model)
    if (imageRefusal !== null) return imageRefusal
    const asked = { ...(Array.isArray(body.tools) ? { tools: body.tools } : {}), ...(body.format === undefined ? {} : { format: body.format }) }
    const lines = route === 'POST /api/chat'
      ? chatReply(name, messagesOf(body.messages), current.chunkCount, isStreamRequested, current.replyChunks, asked)
      : generateReply(name, typeof body.prompt === 'string' ? body.prompt : '', current.chunkCount, isStreamRequested)
    return isStreamRequested ? stream(lines) : Response.json(lines[0])
  }

  /**
   * Ollama's documented `images`: a list of base64 strings on a message (chat) or the request
   * (generate). Not base64 is 400 as Go's decoder words it; images for a model without the
   * "vision" capability are refused.
   */
  function checkImages(messages: unknown, model: FakeModel): Response | null {
    const lists = Array.isArray(messages) ? messages.map((message) => (isRecord(message) ? message.images : undefined)).filter((images) => images !== undefined && images !== null) : []
    if (lists.length === 0) return null
    for (const images of lists) {
      if (!Array.isArray(images)) return errorResponse(400, 'json: cannot unmarshal into images')
      for (const image of images) {
        if (typeof image !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(image) || image.length % 4 !== 0) return errorResponse(400, 'illegal base64 data at input byte 0')
      }
    }
    if (!(model.capabilities ?? ['completion']).includes('vision')) return errorResponse(400, `${model.name} does not support images`)
    return null
  }

  /** Ollama's OpenAI-compatible routes, for a model it has. */
  function answerOpenAi(route: string, body: unknown, chunkCount: number | null): Response | SseEvents {
    if (!isRecord(body)) return openAiError(400, 'invalid request body')
    const model = findModel(body.model)
    if (model === null) return openAiError(404, `model ${JSON.stringify(String(body.model))} not found, try pulling it first`, 'api_error')
    switch (route) {
      case 'POST /v1/chat/completions': return v1ChatCompletion(String(body.model), body, chunkCount)
      case 'POST /v1/completions': return v1Completion(String(body.model), body)
      case 'POST /v1/embeddings': return v1Embeddings(String(body.model), body)
    }
    return new Response('404 page not found', { status: 404, headers: { 'content-type': 'text/plain' } })
  }

  const server = Bun.serve({
    hostname: '127.0.0.1',
    port: 0,
    development: false, // note: keeps Bun from printing the error a `close` fault ends its stream with
    fetch: handle,
    error: () => errorResponse(500, 'internal error in the Ollama stand-in'),
  })

  return {
    url: `http://127.0.0.1:${server.port}`,
    requests,
    /** Changes what later requests get; fields not given keep their value. */
    setBehaviour(change: Partial<FakeBehaviour>) {
      behaviour = { ...behaviour, ...change }
    },
    /** The models /api/tags lists now (pulls add, deletes remove). */
    models: () => models.map((model) => model.name),
    async stop() {
      await server.stop(true)
    },
  }
}

/**
 * Writes `lines` as NDJSON (a string goes out as it is: a Server-Sent Event), as the behaviour says;
 * stops writing as soon as the client leaves.
 */
function streamLines(lines: (object | string)[], behaviour: FakeBehaviour, clientSignal: AbortSignal, settle: Settle, onAllWritten: () => void, contentType = 'application/x-ndjson'): Response {
  const gone = new AbortController()
  const leave = () => {
    gone.abort()
    settle('aborted')
  }
  clientSignal.addEventListener('abort', leave, { once: true })
  const script = writeScript(lines, behaviour, gone.signal)
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        const step = await script.next()
        if (gone.signal.aborted) return
        if (step.done) {
          controller.close()
          if (step.value) onAllWritten()
          settle('completed')
        } else controller.enqueue(encoder.encode(step.value))
      } catch (error) {
        settle('closed')
        controller.error(error)
      }
    },
    cancel: leave,
  })
  return new Response(body, { headers: { 'content-type': contentType } })
}

/** Yields the text to write; returns whether every line was written (no fault, no client leaving). */
async function* writeScript(lines: (object | string)[], { chunkDelayMs, fault }: FakeBehaviour, gone: AbortSignal): AsyncGenerator<string, boolean> {
  const faultAt = fault !== null && 'afterChunks' in fault ? Math.min(fault.afterChunks, lines.length) : -1
  for (let i = 0; i <= lines.length; i++) {
    if (i === faultAt && fault !== null) {
      switch (fault.kind) {
        case 'stall':
          await untilAborted(gone)
          return false
        case 'close':
          await new Promise((resolve) => setImmediate(resolve)) // note: lets Bun flush what was written, so the drop is mid-stream
          throw new Error('fake Ollama: connection closed mid-stream')
        case 'raw_line':
          yield fault.line + '\n'
          return false
        case 'error_line':
          yield JSON.stringify({ error: fault.error }) + '\n'
          return false
      }
    }
    const line = lines[i]
    if (line === undefined) break
    if (chunkDelayMs > 0) await sleepUnlessAborted(chunkDelayMs, gone)
    if (gone.aborted) return false
    yield typeof line === 'string' ? line : JSON.stringify(line) + '\n'
  }
  return true
}

function hangUntilAbort(signal: AbortSignal, onAbort: () => void): Promise<Response> {
  return untilAborted(signal).then(() => {
    onAbort()
    return new Response(null, { status: 499 })
  })
}

function untilAborted(signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => (signal.aborted ? resolve() : signal.addEventListener('abort', () => resolve(), { once: true })))
}

function sleepUnlessAborted(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms)
    signal.addEventListener('abort', () => (clearTimeout(timer), resolve()), { once: true })
  })
}

function errorResponse(status: number, error: string): Response {
  return Response.json({ error }, { status })
}

const isStreamed = (response: Response) => ['application/x-ndjson', 'text/event-stream'].includes(response.headers.get('content-type') ?? '')

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

function parseJson(text: string): unknown {
  try {
    return text === '' ? null : (JSON.parse(text) as unknown)
  } catch {
    return null
  }
}

function messagesOf(value: unknown): FakeMessage[] {
  if (!Array.isArray(value)) return []
  return value.filter(isRecord).map((message) => ({ role: String(message.role), content: typeof message.content === 'string' ? message.content : '' }))
}
