/**
 * Direct connections: a user's own OpenAI-compatible endpoints, saved where Open WebUI's page saves
 * them (the user's settings, `ui.directConnections` = `{ OPENAI_API_BASE_URLS, OPENAI_API_KEYS,
 * OPENAI_API_CONFIGS }`, sealed with the rest of their preferences). The server lists their models
 * for that user alone and sends their chats, every request through outbound-address.ts. A model is
 * listed as `prefix_id.model` when the connection has a prefix, and only the `model_ids` it names
 * when it names any; a disabled connection (`enable: false`) is skipped. The API key goes in the
 * Authorization header and nowhere else: not in a log line, an error or an answer.
 */
import type { UserId } from '../db/ids.ts'
import { readNdjsonLines } from './ndjson.ts'
import type { ChatChunk, ChatRequest } from './ollama-client.ts'
import { OllamaError } from './ollama-error.ts'
import { checkOutboundUrl, OutboundError, requestChecked, type OutboundPolicy, type Resolve } from './outbound-address.ts'

/** One of the user's endpoints, in their list order. */
export type DirectConnection = { index: number; baseUrl: string; key: string; prefixId: string | null; modelIds: string[] }
/** A model one of the user's endpoints offers: `id` as listed and chosen, `remoteId` as the endpoint names it. */
export type DirectModel = { id: string; remoteId: string; connection: DirectConnection }

/** How long a user's listing is reused before their endpoints are asked again. */
export const DIRECT_LIST_TTL_MS = 30_000
const MAX_CONNECTIONS = 16
const MAX_LIST_BYTES = 2 * 1024 * 1024

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value)

/** The user's endpoints from their settings object; malformed entries are left out. */
export function readDirectConnections(settings: unknown): DirectConnection[] {
  const ui = isObject(settings) ? settings.ui : null
  const saved = isObject(ui) ? ui.directConnections : null
  if (!isObject(saved) || !Array.isArray(saved.OPENAI_API_BASE_URLS)) return []
  const keys = Array.isArray(saved.OPENAI_API_KEYS) ? saved.OPENAI_API_KEYS : []
  const configs = isObject(saved.OPENAI_API_CONFIGS) ? saved.OPENAI_API_CONFIGS : {}
  return saved.OPENAI_API_BASE_URLS.slice(0, MAX_CONNECTIONS).flatMap((baseUrl, index): DirectConnection[] => {
    if (typeof baseUrl !== 'string' || baseUrl.length > 2048) return []
    const config = isObject(configs[String(index)]) ? configs[String(index)] as Record<string, unknown> : {}
    if (config.enable === false) return []
    const key = typeof keys[index] === 'string' ? keys[index] as string : ''
    const prefixId = typeof config.prefix_id === 'string' && config.prefix_id.trim() !== '' ? config.prefix_id.trim() : null
    const modelIds = Array.isArray(config.model_ids) ? config.model_ids.filter((id): id is string => typeof id === 'string') : []
    return [{ index, baseUrl: baseUrl.trim().replace(/\/+$/, ''), key, prefixId, modelIds }]
  })
}

export type DirectConnections = ReturnType<typeof createDirectConnections>

type Options = {
  /** Null when direct connections are off: nothing is listed or sent. */
  policy: OutboundPolicy | null
  /** The user's settings object (Open WebUI's `{ ui: ... }`), or null. */
  readSettings: (userId: UserId) => Promise<unknown>
  now: () => number
  timeouts: { firstByteMs: number; idleMs: number }
  resolve?: Resolve
}

export function createDirectConnections({ policy, readSettings, now, timeouts, resolve }: Options) {
  const cache = new Map<UserId, { at: number; settings: string; models: Promise<DirectModel[]> }>()
  // note: the ids of each user's last listing that arrived, with the settings it was made from, for a decision that cannot wait.
  const arrived = new Map<UserId, { settings: string; ids: Set<string> }>()

  /** Sends one request to a connection, through the guard; rejects with an OllamaError the chat paths already map. */
  async function send(connection: DirectConnection, path: string, init: { method: 'GET' | 'POST'; body?: string; signal?: AbortSignal }) {
    if (policy === null) throw new OllamaError('model_not_found', 'Direct connections are off.')
    const checked = await checkOutboundUrl(connection.baseUrl, policy, resolve)
    if (!checked.ok) throw new OllamaError('unreachable', `The direct connection was refused: ${checked.message}`)
    const headers: Record<string, string> = { accept: 'application/json, text/event-stream', ...(init.body === undefined ? {} : { 'content-type': 'application/json' }) }
    if (connection.key !== '') headers.authorization = `Bearer ${connection.key}`
    try {
      const answer = await requestChecked(checked.target, path, { ...init, headers, timeoutMs: timeouts.firstByteMs })
      if (answer.status === 404) throw new OllamaError('model_not_found', 'The direct connection has no such model.', 404)
      if (answer.status < 200 || answer.status >= 300) throw new OllamaError('ollama_error', `The direct connection answered ${answer.status}.`, answer.status)
      return answer
    } catch (error) {
      if (error instanceof OutboundError) throw new OllamaError(error.reason === 'aborted' ? 'aborted' : error.reason === 'timeout' ? 'timeout_first_byte' : error.reason === 'redirect' ? 'bad_response' : 'unreachable', error.message, null, { cause: error })
      throw error
    }
  }

  async function listOne(connection: DirectConnection): Promise<DirectModel[]> {
    const answer = await send(connection, '/models', { method: 'GET', signal: AbortSignal.timeout(timeouts.firstByteMs) })
    let text = ''
    for await (const chunk of answer.body) {
      text += Buffer.from(chunk).toString('utf8')
      if (text.length > MAX_LIST_BYTES) throw new OllamaError('bad_response', 'The model list of the direct connection is too large.')
    }
    const data = (JSON.parse(text) as { data?: unknown }).data
    const ids = (Array.isArray(data) ? data : []).map((entry) => (isObject(entry) && typeof entry.id === 'string' ? entry.id : null)).filter((id): id is string => id !== null && id.length <= 256)
    const wanted = connection.modelIds.length === 0 ? ids : ids.filter((id) => connection.modelIds.includes(id))
    return wanted.map((remoteId) => ({ id: connection.prefixId === null ? remoteId : `${connection.prefixId}.${remoteId}`, remoteId, connection }))
  }

  async function listFresh(connections: DirectConnection[]): Promise<DirectModel[]> {
    const lists = await Promise.all(connections.map((connection) => listOne(connection).catch(() => [] as DirectModel[])))
    return lists.flat()
  }

  async function listModels(userId: UserId): Promise<DirectModel[]> {
    if (policy === null) return []
    const connections = readDirectConnections(await readSettings(userId))
    const settings = JSON.stringify(connections)
    const cached = cache.get(userId)
    if (cached !== undefined && cached.settings === settings && now() - cached.at < DIRECT_LIST_TTL_MS) return cached.models
    const models = connections.length === 0 ? Promise.resolve([]) : listFresh(connections)
    cache.set(userId, { at: now(), settings, models })
    void models.then((list) => arrived.set(userId, { settings, ids: new Set(list.map((model) => model.id)) }))
    return models
  }

  /** Streams a chat from the endpoint as the chat paths read Ollama's: content chunks, then a final one. */
  async function* chat(model: DirectModel, request: ChatRequest): AsyncGenerator<ChatChunk> {
    const options = request.options ?? {}
    const body = JSON.stringify({
      model: model.remoteId, stream: true,
      messages: request.messages.map(({ role, content }) => ({ role, content })),
      ...(options.temperature === undefined ? {} : { temperature: options.temperature }),
      ...(options.top_p === undefined ? {} : { top_p: options.top_p }),
      ...(typeof options.num_predict === 'number' && options.num_predict > 0 ? { max_tokens: options.num_predict } : {}),
      ...(options.stop === undefined ? {} : { stop: options.stop }),
      ...(options.seed === undefined ? {} : { seed: options.seed }),
    })
    const answer = await send(model.connection, '/chat/completions', { method: 'POST', body, signal: request.signal })
    let finish: string | null = null
    try {
      for await (const line of readNdjsonLines(answer.body)) {
        const data = line.startsWith('data:') ? line.slice(5).trim() : ''
        if (data === '') continue
        if (data === '[DONE]') break
        const event = JSON.parse(data) as { choices?: { delta?: { content?: unknown }; finish_reason?: unknown }[] }
        const choice = event.choices?.[0]
        const content = typeof choice?.delta?.content === 'string' ? choice.delta.content : ''
        if (typeof choice?.finish_reason === 'string') finish = choice.finish_reason
        if (content !== '') yield { content, thinking: null, done: false }
      }
    } catch (error) {
      if (request.signal.aborted) throw new OllamaError('aborted', 'The answer was stopped.', null, { cause: error })
      if (error instanceof OllamaError) throw error
      throw new OllamaError('bad_response', 'The direct connection sent an answer that is not a chat completion stream.', null, { cause: error })
    }
    const stats = { totalDurationNs: null, loadDurationNs: null, promptEvalCount: null, promptEvalDurationNs: null, evalCount: null, evalDurationNs: null }
    yield { content: '', thinking: null, done: true, doneReason: finish, stats }
  }

  return {
    /** The models of the user's enabled endpoints (reused for DIRECT_LIST_TTL_MS, fetched again when the settings change); empty when off. */
    listModels,
    /** The user's direct model named `id`, or null (always null when direct connections are off). */
    async findModel(userId: UserId, id: string): Promise<DirectModel | null> {
      return (await listModels(userId)).find((model) => model.id === id) ?? null
    },
    /**
     * Whether the user's last listing that arrived has `id`, made from the settings saved now (a
     * removed endpoint's models are no longer theirs: see `recordChanged`); always false when direct connections are off.
     */
    ownsModel(userId: UserId, id: string): boolean {
      if (policy === null) return false
      const last = arrived.get(userId)
      return last !== undefined && last.ids.has(id)
    },
    /**
     * Call when the user's record changed (their settings may have): their listing is set aside at
     * once and kept only if it was made from the settings read now.
     */
    async recordChanged(userId: UserId): Promise<void> {
      const last = arrived.get(userId)
      if (last === undefined) return
      arrived.delete(userId)
      const settings = JSON.stringify(readDirectConnections(await readSettings(userId)))
      if (settings === last.settings && !arrived.has(userId)) arrived.set(userId, last)
    },
    /** A client for one direct model with the chat methods the chat paths use on an Ollama client. */
    clientFor(model: DirectModel) {
      return {
        chat: (request: ChatRequest) => chat(model, request),
        async *chatBatches(request: ChatRequest): AsyncGenerator<ChatChunk[]> {
          for await (const chunk of chat(model, request)) yield [chunk]
        },
      }
    },
  }
}
