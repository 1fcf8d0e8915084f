/**
 * Ollama's REST API (https://github.com/ollama/ollama/blob/main/docs/api.md): chat and pull as
 * async iterables of typed chunks, and the model list, delete and version calls.
 *
 * Every call has two deadlines: `firstByteMs` from the request to the first byte of the body (a
 * model may load in between), then `idleMs` for each later read. Only time spent waiting on Ollama
 * counts, not time the caller spends on a chunk. The caller's `AbortSignal`, a deadline, or the
 * caller stopping its loop early all close the upstream request, so Ollama stops generating.
 *
 * Threat: an Ollama URL may carry credentials and an answer may be hostile or huge. Credentials go
 * in an Authorization header, never in a URL that could surface in an error. Redirects are refused,
 * so a prompt never travels to another host. Lines are capped (`ndjson.ts`), every chunk is checked
 * before use, and an error message quotes at most a short excerpt of what Ollama said.
 */
import { CHAT_LINES } from './chat-line.ts'
import { chatRequestBody } from './chat-request-body.ts'
import { NdjsonError, readNdjsonBatches, readNdjsonValues } from './ndjson.ts'
import {
  excerpt, isRecord, toEmbeddings, toOllamaModel, toPullProgress, type ChatChunk, type Embeddings, type OllamaModel, type PullProgress, type ToolCall,
} from './ollama-chunks.ts'
import { OllamaError } from './ollama-error.ts'

export type { ChatChunk, ChatStats, Embeddings, OllamaModel, PullProgress, ToolCall } from './ollama-chunks.ts'
export { OllamaError, type OllamaFailureReason } from './ollama-error.ts'

/** How long to wait for the first byte of an answer, and then between reads, in milliseconds. */
/** What POST /api/show tells about a model; null where Ollama did not say. */
export type ModelDetails = {
  family: string | null
  parameterSize: string | null
  parameterCount: number | null
  quantizationLevel: string | null
  format: string | null
  contextLength: number | null
  capabilities: string[]
  modifiedAt: string | null
}

export type OllamaTimeouts = { firstByteMs: number; idleMs: number }
/** The part of `fetch` the client uses. */
export type Fetch = (url: string, init: RequestInit) => Promise<Response>
/** One message of a conversation, as /api/chat takes it; `images` are base64, `tool_name` names the tool a `tool` message answers. */
export type ChatMessage = {
  role: 'system' | 'user' | 'assistant' | 'tool'
  content: string
  images?: string[]
  tool_calls?: { function: ToolCall }[]
  tool_name?: string
}
/** Model parameters as the Modelfile names them (`temperature`, `num_ctx`, `seed`, ...). */
export type ModelOptions = Readonly<Record<string, unknown>>
/**
 * One /api/chat request; aborting `signal` closes it. `tools` are function definitions in Ollama's
 * (and OpenAI's) shape; `format` is `"json"` or a JSON schema the answer must follow; `keepAlive`
 * (Ollama's `keep_alive`: seconds, or a duration such as `"5m"`) how long the model stays loaded
 * after it; `think` whether (or how hard, `"low"`-`"high"`) a thinking model thinks first.
 */
export type ChatRequest = {
  model: string; messages: readonly ChatMessage[]; options?: ModelOptions; tools?: readonly unknown[]; format?: unknown
  keepAlive?: string | number; think?: boolean | 'low' | 'medium' | 'high'; signal: AbortSignal
}
/** One /api/embed request: the texts to embed, in order. */
export type EmbedRequest = { model: string; input: readonly string[]; dimensions?: number; signal?: AbortSignal }


export type OllamaClient = ReturnType<typeof createOllamaClient>

const MAX_JSON_BODY_BYTES = 8 * 1024 * 1024 // a model list with thousands of entries still fits
const MAX_ERROR_BODY_BYTES = 4 * 1024

/** Hears of every call that failed other than by the caller's cancelling, with its API path (for the log). */
export type OnOllamaFailure = (error: OllamaError, path: string) => void

/** Builds a client for the Ollama at `baseUrl`; `fetch` is for tests and proxies. */
export function createOllamaClient({ baseUrl, fetch = globalThis.fetch, timeouts, onFailure }: { baseUrl: string; fetch?: Fetch; timeouts: OllamaTimeouts; onFailure?: OnOllamaFailure }) {
  const endpoint = parseBaseUrl(baseUrl)

  /** Explains a failed call, and tells `onFailure` unless the caller cancelled it. */
  function failed(error: unknown, call: Call, path: string): OllamaError {
    const explained = explainFailure(error, call, timeouts)
    if (explained.reason !== 'aborted') onFailure?.(explained, path)
    return explained
  }

  /** Sends one request; a status that is not 2xx becomes an OllamaError. The body stays unread. */
  async function send(call: Call, method: 'GET' | 'POST' | 'DELETE', path: string, body: object | Uint8Array<ArrayBuffer> | null, model: string | null) {
    const headers: Record<string, string> = { accept: 'application/json, application/x-ndjson' }
    if (body !== null) headers['content-type'] = 'application/json'
    if (endpoint.authorization !== null) headers.authorization = endpoint.authorization
    const init: RequestInit = { method, headers, redirect: 'manual', signal: call.signal }
    if (body !== null) init.body = body instanceof Uint8Array ? body : JSON.stringify(body)
    const response = await fetch(endpoint.root + path, init)
    call.hasResponse = true
    if (response.status < 200 || response.status > 299) throw await failureFor(response, call, model)
    return response
  }

  /** Runs `work` under one call's deadlines; any failure comes out as an OllamaError. */
  async function runCall<T>(path: string, signal: AbortSignal | undefined, work: (call: Call) => Promise<T>): Promise<T> {
    const call = startCall(signal, timeouts)
    try {
      return await work(call)
    } catch (error) {
      throw failed(error, call, path)
    } finally {
      call.end()
    }
  }

  /** As `runCall`, for a stream; stopping the loop early closes the request. */
  async function* streamCall<T>(path: string, signal: AbortSignal, work: (call: Call) => AsyncGenerator<T>): AsyncGenerator<T> {
    const call = startCall(signal, timeouts)
    try {
      yield* work(call)
    } catch (error) {
      throw failed(error, call, path)
    } finally {
      call.end()
    }
  }

  /** Sends a request without a streamed answer and parses its JSON body (`null` when empty). */
  function requestJson(method: 'GET' | 'POST' | 'DELETE', path: string, body: object | null, model: string | null, signal?: AbortSignal): Promise<unknown> {
    return runCall(path, signal, async (call) => {
      const response = await send(call, method, path, body, model)
      const text = await readText(response, call, MAX_JSON_BODY_BYTES)
      if (text === null) throw new OllamaError('bad_response', `Ollama's answer to ${path} was larger than ${MAX_JSON_BODY_BYTES} bytes.`)
      return text === '' ? null : parseJson(text, path)
    })
  }

  /**
   * As `chat`, a batch for each read from Ollama: the chunks that arrived together, so a caller can
   * pass a burst on at once. Nothing follows the `done` chunk. A bad chunk ends the stream with
   * its error after the batch of the good ones before it.
   */
  function chatBatches({ model, messages, options, tools, format, keepAlive, think, signal }: ChatRequest): AsyncGenerator<ChatChunk[]> {
    return streamCall('/api/chat', signal, async function* (call) {
      // note: joined from each message's kept JSON bytes (chat-request-body.ts): at 2,000 messages a turn serialised and encoded ~1 MB again each time.
      const body = chatRequestBody(model, messages, { ...(options ? { options } : {}), ...(tools?.length ? { tools } : {}), ...(format === undefined ? {} : { format }),
        ...(keepAlive === undefined ? {} : { keep_alive: keepAlive }), ...(think === undefined ? {} : { think }), stream: true })
      const response = await send(call, 'POST', '/api/chat', body, model)
      for await (const chunks of readNdjsonBatches(watchBody(response, call), undefined, CHAT_LINES)) {
        const doneAt = chunks.findIndex((chunk) => chunk.done)
        if (doneAt !== -1) {
          yield chunks.slice(0, doneAt + 1)
          return
        }
        yield chunks
      }
      throw new OllamaError('bad_response', "Ollama's answer ended before its final chunk.")
    })
  }

  return {
    /** Lists the installed models (GET /api/tags). */
    async listModels(options: { signal?: AbortSignal } = {}): Promise<OllamaModel[]> {
      const answer = await requestJson('GET', '/api/tags', null, null, options.signal)
      if (!isRecord(answer) || !Array.isArray(answer.models)) throw new OllamaError('bad_response', 'Ollama sent a model list of an unexpected shape.')
      return answer.models.map(toOllamaModel)
    },

    /**
     * Streams the next assistant message (POST /api/chat). Content chunks come first; the last
     * chunk has `done: true` and the statistics. The request starts when iteration does.
     */
    async *chat(request: ChatRequest): AsyncGenerator<ChatChunk> {
      for await (const batch of chatBatches(request)) yield* batch
    },

    chatBatches,

    /** Streams download progress for a model (POST /api/pull); the last item has status `success`. */
    pull({ name, signal }: { name: string; signal: AbortSignal }): AsyncGenerator<PullProgress> {
      return streamCall('/api/pull', signal, async function* (call) {
        const response = await send(call, 'POST', '/api/pull', { model: name, stream: true }, name)
        for await (const value of readNdjsonValues(watchBody(response, call))) {
          const progress = toPullProgress(value)
          yield progress
          if (progress.status === 'success') return
        }
        throw new OllamaError('bad_response', 'Ollama ended the pull before reporting success.')
      })
    },

    /** Deletes an installed model (DELETE /api/delete); an unknown name fails with `model_not_found`. */
    async deleteModel(name: string, options: { signal?: AbortSignal } = {}): Promise<void> {
      await requestJson('DELETE', '/api/delete', { model: name }, name, options.signal)
    },

    /**
     * Reads a model's details (POST /api/show): family, parameter count, quantisation and context
     * length; an unknown name fails with `model_not_found`.
     */
    async showModel(name: string, options: { signal?: AbortSignal } = {}): Promise<ModelDetails> {
      const answer = await requestJson('POST', '/api/show', { model: name }, name, options.signal)
      if (!isRecord(answer)) throw new OllamaError('bad_response', 'Ollama sent model details of an unexpected shape.')
      return toModelDetails(answer)
    },

    /** Embeds each text (POST /api/embed); an unknown model fails with `model_not_found`. */
    async embed({ model, input, dimensions, signal }: EmbedRequest): Promise<Embeddings> {
      const body = { model, input, ...(dimensions === undefined ? {} : { dimensions }) }
      const answer = toEmbeddings(await requestJson('POST', '/api/embed', body, model, signal))
      if (answer.embeddings.length !== input.length) throw new OllamaError('bad_response', 'Ollama sent a different number of embeddings than texts.')
      return answer
    },

    /**
     * Reads a model's context window in tokens (POST /api/show): the `num_ctx` its Modelfile sets,
     * else the length it was trained for (`<architecture>.context_length`); null when it names neither.
     */
    async contextWindow(model: string, options: { signal?: AbortSignal } = {}): Promise<number | null> {
      const answer = await requestJson('POST', '/api/show', { model }, model, options.signal)
      if (!isRecord(answer)) throw new OllamaError('bad_response', 'Ollama sent a model description of an unexpected shape.')
      return contextWindowOf(answer)
    },

    /**
     * Reads what a model can do (POST /api/show's `capabilities`: "completion", "vision", "tools",
     * ...); null when this Ollama does not say (versions before 0.6.4). An unknown model fails with `model_not_found`.
     */
    async capabilities(model: string, options: { signal?: AbortSignal } = {}): Promise<string[] | null> {
      const answer = await requestJson('POST', '/api/show', { model }, model, options.signal)
      if (!isRecord(answer)) throw new OllamaError('bad_response', 'Ollama sent model details of an unexpected shape.')
      const listed = answer.capabilities
      return Array.isArray(listed) ? listed.filter((item): item is string => typeof item === 'string') : null
    },

    /** Reads Ollama's version string (GET /api/version), e.g. "0.12.6". */
    async version(options: { signal?: AbortSignal } = {}): Promise<string> {
      const answer = await requestJson('GET', '/api/version', null, null, options.signal)
      if (!isRecord(answer) || typeof answer.version !== 'string') throw new OllamaError('bad_response', 'Ollama sent a version of an unexpected shape.')
      return answer.version
    },
  }
}

/** The context window an /api/show answer names: the Modelfile's `num_ctx`, else the model's trained length; null when neither. */
export function contextWindowOf(answer: Record<string, unknown>): number | null {
  const parameter = typeof answer.parameters === 'string' ? /^num_ctx\s+(\d+)\s*$/m.exec(answer.parameters)?.[1] : undefined
  if (parameter !== undefined) return positiveOrNull(Number(parameter))
  const info = answer.model_info
  if (!isRecord(info)) return null
  const architecture = info['general.architecture']
  return typeof architecture === 'string' ? positiveOrNull(info[`${architecture}.context_length`]) : null
}

const positiveOrNull = (value: unknown) => (typeof value === 'number' && Number.isSafeInteger(value) && value > 0 ? value : null)

type Call = ReturnType<typeof startCall>

/** One request's deadlines and abort wiring; `end()` releases them and closes the request. */
function startCall(callerSignal: AbortSignal | undefined, timeouts: OllamaTimeouts) {
  const controller = new AbortController()
  let timer: ReturnType<typeof setTimeout> | undefined
  const abort = () => controller.abort()
  const call = {
    signal: controller.signal,
    callerSignal,
    hasResponse: false,
    expired: null as 'timeout_first_byte' | 'timeout_idle' | null,
    /** Starts the deadline for the next wait on Ollama. */
    arm(reason: 'timeout_first_byte' | 'timeout_idle') {
      clearTimeout(timer)
      timer = setTimeout(() => {
        call.expired = reason
        controller.abort()
      }, reason === 'timeout_first_byte' ? timeouts.firstByteMs : timeouts.idleMs)
    },
    disarm: () => clearTimeout(timer),
    end() {
      clearTimeout(timer)
      callerSignal?.removeEventListener('abort', abort)
      controller.abort() // note: harmless after a complete answer; closes the connection after an early exit
    },
  }
  if (callerSignal?.aborted) controller.abort()
  else callerSignal?.addEventListener('abort', abort, { once: true })
  call.arm('timeout_first_byte')
  return call
}

/** The body's chunks, with the deadline running only while waiting on Ollama. */
async function* watchBody(response: Response, call: Call): AsyncGenerator<Uint8Array> {
  if (response.body === null) return
  const reader = response.body.getReader()
  let isFirstRead = true
  try {
    for (;;) {
      if (!isFirstRead) call.arm('timeout_idle') // the first read still runs on the first-byte deadline
      const { done, value } = await reader.read()
      call.disarm()
      if (done) return
      isFirstRead = false
      yield value
    }
  } finally {
    await reader.cancel().catch(() => {})
  }
}

/** Reads the body as text, or `null` when it is longer than `maxBytes`. */
async function readText(response: Response, call: Call, maxBytes: number): Promise<string | null> {
  const chunks: Uint8Array[] = []
  let length = 0
  for await (const chunk of watchBody(response, call)) {
    length += chunk.length
    if (length > maxBytes) return null
    chunks.push(chunk)
  }
  return new TextDecoder().decode(Buffer.concat(chunks))
}

/** Explains a status that is not 2xx, quoting at most a short excerpt of Ollama's `error`. */
async function failureFor(response: Response, call: Call, model: string | null): Promise<OllamaError> {
  const { status } = response
  if (status >= 300 && status < 400) {
    await response.body?.cancel()
    return new OllamaError('bad_response', `Ollama answered with a redirect (${status}), which is not followed.`, status)
  }
  const text = await readText(response, call, MAX_ERROR_BODY_BYTES)
  const answer = text === null ? null : parseJsonOrNull(text)
  const detail = isRecord(answer) && typeof answer.error === 'string' ? answer.error : null
  if (status === 404 && detail !== null && model !== null) {
    return new OllamaError('model_not_found', `Ollama has no model named ${JSON.stringify(excerpt(model))}.`, status)
  }
  return new OllamaError('ollama_error', `Ollama answered ${status}${detail === null ? '.' : `: ${JSON.stringify(excerpt(detail))}`}`, status)
}

/** Turns whatever a call threw into an OllamaError, judging by what the call saw. */
function explainFailure(error: unknown, call: Call, timeouts: OllamaTimeouts): OllamaError {
  if (call.callerSignal?.aborted) return new OllamaError('aborted', 'The request to Ollama was cancelled.', null, { cause: error })
  if (call.expired === 'timeout_first_byte') {
    return new OllamaError('timeout_first_byte', `Ollama did not start answering within ${timeouts.firstByteMs} ms.`, null, { cause: error })
  }
  if (call.expired === 'timeout_idle') {
    return new OllamaError('timeout_idle', `Ollama sent nothing for ${timeouts.idleMs} ms in the middle of an answer.`, null, { cause: error })
  }
  if (error instanceof OllamaError) return error
  if (error instanceof NdjsonError) {
    const what = error.reason === 'line_too_long' ? 'a line that is too long' : 'a line that is not JSON'
    return new OllamaError('bad_response', `Ollama sent ${what} (line ${error.lineNumber}).`, null, { cause: error })
  }
  const message = call.hasResponse ? 'The connection to Ollama was lost in the middle of an answer.' : 'Ollama is not reachable.'
  return new OllamaError('unreachable', message, null, { cause: error })
}

/** The URL to call with credentials removed, and those credentials as a Basic Authorization header. */
export function parseBaseUrl(baseUrl: string): { root: string; authorization: string | null } {
  const url = new URL(baseUrl)
  const authorization = url.username === '' && url.password === ''
    ? null
    : 'Basic ' + Buffer.from(`${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`).toString('base64')
  return { root: url.origin + url.pathname.replace(/\/+$/, ''), authorization }
}

function parseJson(text: string, path: string): unknown {
  const value = parseJsonOrNull(text)
  if (value === null) throw new OllamaError('bad_response', `Ollama's answer to ${path} was not JSON.`)
  return value
}

function parseJsonOrNull(text: string): unknown {
  try {
    return JSON.parse(text) as unknown
  } catch {
    return null
  }
}

/** Reads the fields of /api/show the admin page shows; `model_info` keys are `<architecture>.context_length`. */
function toModelDetails(answer: Record<string, unknown>): ModelDetails {
  const details = isRecord(answer.details) ? answer.details : {}
  const info = isRecord(answer.model_info) ? answer.model_info : {}
  const text = (value: unknown) => (typeof value === 'string' && value !== '' ? value : null)
  const count = (value: unknown) => (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0 ? value : null)
  const architecture = text(info['general.architecture'])
  return {
    family: text(details.family) ?? architecture,
    parameterSize: text(details.parameter_size),
    parameterCount: count(info['general.parameter_count']),
    quantizationLevel: text(details.quantization_level),
    format: text(details.format),
    contextLength: architecture === null ? null : count(info[`${architecture}.context_length`]),
    capabilities: Array.isArray(answer.capabilities) ? answer.capabilities.filter((item): item is string => typeof item === 'string') : [],
    modifiedAt: text(answer.modified_at),
  }
}
