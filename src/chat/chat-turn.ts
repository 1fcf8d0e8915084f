/**
 * One turn of a chat over the socket: the user's message is stored first (so a failed answer never
 * loses it), then the answer streams from the first connection that has the model, then it is
 * stored. A cancelled answer is stored as far as it got, with stats `{ cancelled: true }`; a failed
 * one as far as it got, unfinished (`pending`) with the reason as its `error`, and the turn ends
 * with `chat:error`. A finished answer keeps Open WebUI's
 * `usage` (tokens, durations, tokens per second). A question may go anywhere in the chat's tree,
 * and a regenerate adds an answer beside the earlier ones (turn-place.ts); when an answer's row is
 * first stored it becomes the chat's selected leaf (`chat:done` names it).
 * The model is sent no more of the chat than its context window holds (history-bound.ts), and the
 * chat's path comes from the repository's history cache, so a turn costs the same in a long chat.
 *
 * A long answer is checkpointed every `checkpointIntervalMs`, so a crash loses at most that much of
 * it: the first checkpoint appends the assistant message with stats `{ partial: true }`, later ones
 * and the final store rewrite that one row. An answer shorter than one interval is stored once, at the end.
 *
 * An answer stopped because its chat (or its user) was deleted stores nothing more: no checkpoint
 * after the stop, no final store; the turn ends with `chat:error` `chat_not_found`.
 *
 * A user may have `maxConcurrentAnswers` answers streaming at once. After the first answer in a
 * new chat, the model is asked for a title (when titles are on), which every socket of the user
 * receives as `chat:title`. A turn may carry what retrieval found (`request.retrieval`): its passages go
 * into the prompt, its sources are stored with the answer and sent in `chat:done`.
 */
import type { ChatConfig } from '../config/chat-variables.ts'
import type { Message, MessageStatus } from '../db/chat-tree.ts'
import type { ChatRepo } from '../db/chats.ts'
import { newChatId, parseChatId, type ChatId, type MessageId, type UserId } from '../db/ids.ts'
import type { Logger } from '../log/logger.ts'
import { buildTitlePrompt, DEFAULT_TITLE_TEMPLATE, generateTitle } from './chat-title.ts'
import type { Connection, Connections } from './connections.ts'
import type { ContextWindows } from './context-window.ts'
import type { FrameErrorCode, TurnStats } from './frames.ts'
import { boundHistory } from './history-bound.ts'
import type { LiveStream, LiveStreams } from './live-streams.ts'
import { excerpt } from './ollama-chunks.ts'
import { OllamaError, type ModelOptions } from './ollama-client.ts'
import type { DirectConnections } from './direct-connections.ts'
import { applyPreset, baseTarget, type ModelTarget } from './resolve-model.ts'
import type { SocketHub } from './socket-hub.ts'
import { usageOf } from './turn-usage.ts'
import { modelForm, placeTurn, type TurnMessage, type TurnRequest } from './turn-place.ts'

export type ChatTurnDeps = {
  chats: ChatRepo; connections: Connections; streams: LiveStreams; hub: SocketHub; log: Logger
  /** The user's own endpoints, asked for a model no Ollama connection lists; absent: none. */
  direct?: Pick<DirectConnections, 'findModel' | 'clientFor'>
  /** How often the answer so far is saved while it streams. */
  checkpointIntervalMs: number
  /** Null when titles are not generated. */
  titles: ChatConfig['titles']
  maxConcurrentAnswers: number
  /** The user's answers streaming on other instances, counted against maxConcurrentAnswers too; absent: none. */
  countRemoteAnswers?: (userId: UserId) => number
  /** Each model's context window, which bounds what of the chat it is sent. */
  contextWindows: ContextWindows
}

export type TurnStart = { ok: true; stream: LiveStream; done: Promise<void> } | { ok: false; code: FrameErrorCode; message: string }

const DEFAULT_TITLE = 'New Chat'
/** A title is a short answer; a model that takes longer than this is not waited for. */
const TITLE_TIMEOUT_MS = 60_000

/**
 * Stores the user's message (in a new chat when `chatId` is absent) under its parent, or, for a
 * regenerate, selects the user message answered again; tells every socket of the user with
 * `chat:started`, and streams the answer in the background; `done` settles when the turn has
 * ended (it never rejects). Settings sent with the turn are stored with the chat.
 *
 * The request to Ollama is sent before the message is stored, so the model starts while the
 * message is encrypted and written; but nothing of the answer is relayed or stored, and no socket
 * hears of the turn, until the message is stored. If storing fails, the request is aborted and
 * the turn is refused.
 */
/**
 * `target` is what resolve-model.ts decided for the asker (the caller asks it, with the caller's
 * credential); without it the name is sent as a base model, no preset applied.
 */
export async function startChatTurn(deps: ChatTurnDeps, userId: UserId, request: TurnRequest, target: ModelTarget = baseTarget(request.model)): Promise<TurnStart> {
  const tooMany = () => deps.streams.countLiveStreamsOfUser(userId) + (deps.countRemoteAnswers?.(userId) ?? 0) >= deps.maxConcurrentAnswers
  const tooManyAnswers = { ok: false, code: 'too_many_answers', message: `At most ${deps.maxConcurrentAnswers} answers may stream at once; wait for one to end or stop it.` } as const
  if (tooMany()) return tooManyAnswers
  const chatId = request.chatId === undefined ? null : parseChatId(request.chatId)
  // note: the chat's existence and owner are checked by placeTurn, in the one read of its row a turn makes before its writes.
  if (request.chatId !== undefined && chatId === null) return { ok: false, code: 'chat_not_found', message: 'Chat not found.' }
  const place = await placeTurn(deps.chats, userId, chatId, request)
  if (!place.ok) return place
  // note: asked again after the reads, in the same step that starts the stream, so turns started together keep to the cap.
  if (tooMany()) return tooManyAnswers
  // note: the stored messages name the model as asked (a preset's id); Ollama gets its base model and the preset applied.
  const retrieval = request.retrieval ?? null
  // note: retrieval's passages are put in with every message in its model's form (as before); without it, only the messages sent get one (requestAnswer).
  const sent = applyPreset(target.preset, retrieval === null ? place.messages : retrieval.apply(place.messages.map(modelForm)), place.options)
  const firstTitle = titleFrom(request.ask?.content ?? '')
  const chat = chatId ?? newChatId()

  const stream = deps.streams.start(userId, chat, deps.hub.socketsOf(userId))
  const asked: Asked = { userMessageId: null, userMessageUid: '' }
  // note: the model is asked at once, but nothing of its answer is relayed before the question is stored (or refused).
  let questionSettled!: () => void
  const questionStored = new Promise<void>((resolve) => { questionSettled = resolve })
  const answered = streamAnswer(deps, stream, asked, { model: target.model, storedModel: request.model, direct: target.direct, options: sent.options, sources: retrieval?.sources ?? [] }, sent.messages, questionStored)
  let userMessage: Message | null = null
  let isAsked = false
  try {
    userMessage = await storeQuestion(deps.chats, userId, chatId, chat, firstTitle, request, place.parent)
    if (userMessage !== null && place.settings !== null) await deps.chats.saveChatForUser(userId, chat, { settings: place.settings })
    isAsked = userMessage !== null
  } finally {
    // note: a refused or failed store (the error goes to the caller) ends the stream; the answer's task then ends quietly.
    if (!isAsked) {
      deps.streams.discard(stream)
      questionSettled()
    }
  }
  if (userMessage === null) return { ok: false, code: 'chat_not_found', message: 'Chat not found.' }
  Object.assign(asked, { userMessageId: userMessage.id, userMessageUid: userMessage.uid })
  deps.streams.send(stream, {
    type: 'chat:started', chatId: chat, userMessageId: userMessage.id, parentId: userMessage.uid, currentId: userMessage.uid,
    messageId: stream.id, model: request.model, regenerate: request.ask === null,
  })
  questionSettled()

  const titles = deps.titles
  const done = chatId !== null || titles === null ? answered : answered.then(async (isAnswered) => {
    if (isAnswered) await retitleNewChat(deps, titles, userId, chat, target.model, firstTitle)
  })
  return { ok: true, stream, done: done.then(() => undefined) }
}

/** Stores the question under `parent` (a regenerate: selects `parent`, the question asked again); null when the chat is gone. */
async function storeQuestion(chats: ChatRepo, userId: UserId, chatId: ChatId | null, chat: ChatId, title: string, request: TurnRequest, parent: Message | null): Promise<Message | null> {
  if (request.ask === null) return parent !== null && (await chats.setCurrentMessage(userId, chat, parent.id)) ? parent : null
  const input = { role: 'user', content: request.ask.content, images: request.ask.images, files: request.ask.files ?? null, parentId: parent?.id ?? null } as const
  return chatId === null ? (await chats.startChat(userId, chat, title, input)).message : chats.addMessage(userId, chatId, input)
}

/** The stored user message the answer replies to: null until it is stored, and for good when storing failed. */
type Asked = { userMessageId: MessageId | null; userMessageUid: string }
/**
 * What the model is asked with; `storedModel` is the name the answer is stored under (the preset's
 * id, or the model itself); `direct` when it is the user's own endpoint's, which no Ollama then answers;
 * `sources` what retrieval gave the model, stored with the answer and sent in `chat:done`.
 */
type Ask = { model: string; storedModel: string; direct: boolean; options: ModelOptions; sources: unknown[] }

/**
 * Streams and stores the answer; resolves true when a whole answer was stored (never rejects).
 * Resolves false, quietly, when the user's message could not be stored (`asked` stays empty).
 */
async function streamAnswer(deps: ChatTurnDeps, stream: LiveStream, asked: Asked, ask: Ask, history: readonly TurnMessage[], questionStored: Promise<void>): Promise<boolean> {
  const { streams } = deps
  const base = { chatId: stream.chatId, messageId: stream.id }
  let saved: { id: MessageId; uid: string; deltaCount: number } | null = null
  const sourcesField = ask.sources.length === 0 ? {} : { sources: ask.sources }
  /** Saves the answer so far, appending its row the first time and rewriting it after; null when the chat is gone. */
  const saveNow = async (stats: Record<string, unknown>): Promise<MessageId | null> => {
    const content = stream.deltas.join('')
    const deltaCount = stream.deltas.length
    if (saved !== null) {
      const isStored = await deps.chats.replaceMessageContentForUser(stream.userId, stream.chatId, saved.id, { content, stats, status: statusOf(stats), usage: usageOf(stats) })
      saved.deltaCount = deltaCount
      return isStored ? saved.id : null
    }
    const added = await deps.chats.addMessage(stream.userId, stream.chatId, { role: 'assistant', model: ask.storedModel, content, stats, status: statusOf(stats), usage: usageOf(stats), parentId: asked.userMessageId, ...sourcesField })
    if (added === null) return null
    saved = { id: added.id, uid: added.uid, deltaCount }
    return added.id
  }
  // note: saves run one after another, so a checkpoint still writing when the answer ends is not appended twice.
  let saving: Promise<unknown> = Promise.resolve()
  const save = (stats: Record<string, unknown>): Promise<MessageId | null> => {
    const next = saving.then(() => saveNow(stats))
    saving = next.catch(() => undefined)
    return next
  }
  const checkpoint = setInterval(() => {
    // note: a stopped answer saves only in its final store (if at all), never from here.
    if (!stream.signal.aborted && stream.deltas.length > (saved?.deltaCount ?? 0)) {
      save({ partial: true }).catch((error: unknown) => deps.log.warn('answer checkpoint not stored', { error: error instanceof Error ? error.name : 'unknown' }))
    }
  }, deps.checkpointIntervalMs)
  const endChatGone = () => streams.finish(stream, { type: 'chat:error', ...base, code: 'chat_not_found', message: 'The chat was deleted during the answer.' })
  const store = async (stats: TurnStats): Promise<boolean> => {
    clearInterval(checkpoint)
    const storedId = await save(stats)
    if (storedId === null) endChatGone()
    else {
      const storedMessageUid = (saved as { uid: string } | null)?.uid ?? String(storedId) // note: assigned in the save closure, which TypeScript does not follow
      streams.finish(stream, { type: 'chat:done', ...base, storedMessageId: storedId, storedMessageUid, parentId: asked.userMessageUid, cancelled: stats.cancelled === true, stats, ...sourcesField })
    }
    return storedId !== null && stats.cancelled !== true
  }
  let outcome: { stats: TurnStats } | { error: unknown }
  try {
    outcome = { stats: await requestAnswer(deps, stream, ask, history, questionStored) }
  } catch (error) {
    outcome = { error }
  }
  clearInterval(checkpoint)
  // note: the model may answer (or fail) before the question is stored: what to do is decided once it is.
  await questionStored
  if (asked.userMessageId === null) return false // note: the turn was refused and its stream discarded
  try {
    if ('stats' in outcome) return await store(outcome.stats)
    const { error } = outcome
    if (error instanceof OllamaError && error.reason === 'aborted') {
      if (streams.stopReasonOf(stream) !== 'chat_deleted') return await store({ cancelled: true })
      endChatGone()
      return false
    }
    // note: a failed answer is stored unfinished, with what arrived and the reason, as Open WebUI shows an error.
    const failed = { content: stream.deltas.join(''), status: 'pending', error: { content: error instanceof OllamaError ? error.message : 'Something went wrong on the server.' } } as const
    await saving
    const checkpointed = saved as { id: MessageId } | null // note: assigned in the save closure, which TypeScript does not follow
    try {
      if (checkpointed !== null) await deps.chats.replaceMessageContentForUser(stream.userId, stream.chatId, checkpointed.id, failed)
      else await deps.chats.addMessage(stream.userId, stream.chatId, { role: 'assistant', model: ask.storedModel, parentId: asked.userMessageId, ...sourcesField, ...failed })
    } catch (storeError) {
      deps.log.error('failed answer not stored', { error: storeError instanceof Error ? storeError.name : 'unknown' })
    }
    if (error instanceof OllamaError) streams.finish(stream, { type: 'chat:error', ...base, code: error.reason, message: error.message })
    else {
      deps.log.error('chat turn failed', { error: error instanceof Error ? `${error.name}: ${error.message}` : String(error) })
      streams.finish(stream, { type: 'chat:error', ...base, code: 'internal_error', message: 'Something went wrong on the server.' })
    }
    return false
  } catch (storeError) {
    // note: the store failed (the database unreachable, the owner gone): the answer ends with an error, the process lives on.
    deps.log.error('answer not stored', { error: storeError instanceof Error ? storeError.name : 'unknown' })
    streams.finish(stream, { type: 'chat:error', ...base, code: 'internal_error', message: 'Something went wrong on the server.' })
    return false
  }
}

/**
 * Asks the model for a title after a new chat's first answer and, unless the user renamed the chat
 * in the meantime, stores it and tells the user's sockets. A failure keeps the first-line title.
 */
async function retitleNewChat(deps: ChatTurnDeps, titles: NonNullable<ChatConfig['titles']>, userId: UserId, chatId: ChatId, model: string, firstTitle: string): Promise<void> {
  const isStillFirstTitle = async () => (await deps.chats.findChatForUser(userId, chatId))?.title === firstTitle
  try {
    if (!(await isStillFirstTitle())) return
    const messages = await deps.chats.listMessagesInChat(userId, chatId)
    const prompt = buildTitlePrompt(titles.template ?? DEFAULT_TITLE_TEMPLATE, messages)
    const title = await generateTitle(deps.connections, titles.taskModel ?? model, prompt, AbortSignal.timeout(TITLE_TIMEOUT_MS))
    if (title === null) return
    if (!(await isStillFirstTitle())) return
    if (await deps.chats.renameChat(userId, chatId, title)) deps.hub.publish(userId, { type: 'chat:title', chatId, title })
  } catch (error) {
    deps.log.warn('chat title not generated', { reason: error instanceof OllamaError ? error.reason : error instanceof Error ? error.name : 'unknown' })
  }
}

/** Streams the answer into `stream`, failing over to the next connection while nothing has arrived yet. */
async function requestAnswer(deps: ChatTurnDeps, stream: LiveStream, ask: Ask, messages: readonly TurnMessage[], questionStored: Promise<void>): Promise<TurnStats> {
  // note: `ollama` is the connection's client, whose model's context window bounds the history; a direct endpoint's is not known.
  let candidates: { client: Pick<Connection['client'], 'chatBatches'>; ollama: Connection['client'] | null }[] = ask.direct ? []
    : (deps.connections.listedClientFor(ask.model) ?? await deps.connections.clientFor(ask.model)).map((connection) => ({ client: connection.client, ollama: connection.client }))
  if (candidates.length === 0) {
    // note: a model no Ollama lists may be one of the user's own endpoints (direct-connections.ts), when resolve-model.ts decided so.
    const direct = ask.direct ? await deps.direct?.findModel(stream.userId, ask.model) ?? null : null
    if (direct === null) throw await whyNoConnection(deps.connections, ask.model)
    candidates = [{ client: deps.direct!.clientFor(direct), ollama: null }]
  }
  for (const [position, { client, ollama }] of candidates.entries()) {
    try {
      const sent = boundHistory(messages, ollama === null ? null : deps.contextWindows.windowFor(ollama, ask.model, ask.options)).map(modelForm)
      for await (const chunks of client.chatBatches({ model: ask.model, messages: sent, ...(Object.keys(ask.options).length > 0 ? { options: ask.options } : {}), signal: stream.signal })) {
        await questionStored
        if (stream.signal.aborted) throw new OllamaError('aborted', 'The answer was stopped.')
        // note: the chunks of one read go out as one delta: when Ollama outpaces the relay, the
        // client gets fewer, larger frames instead of a backlog; a delta is never held back to wait for more.
        let text = ''
        for (const chunk of chunks) text += chunk.content
        if (text !== '') deps.streams.appendDelta(stream, text)
        const last = chunks.at(-1)
        if (last?.done === true) return last.stats
      }
    } catch (error) {
      const mayTryNext = error instanceof OllamaError && (error.reason === 'unreachable' || error.reason === 'timeout_first_byte')
      if (!mayTryNext || stream.deltas.length > 0 || position === candidates.length - 1) throw error
    }
  }
  throw new OllamaError('bad_response', "Ollama's answer ended before its final chunk.")
}

/** No connection lists the model: it is missing, unless a connection could not be asked. */
async function whyNoConnection(connections: Connections, model: string): Promise<OllamaError> {
  const { statuses } = await connections.listModels()
  if (statuses.some((status) => !status.ok && status.reason !== 'disabled')) return new OllamaError('unreachable', 'No Ollama server that might have this model is reachable.')
  return new OllamaError('model_not_found', `Ollama has no model named ${JSON.stringify(excerpt(model))}.`)
}

/** A checkpoint is unfinished until the final store: after a crash it shows as cut off. */
function statusOf(stats: Record<string, unknown>): MessageStatus {
  return stats.partial === true ? 'pending' : stats.cancelled === true ? 'cancelled' : 'done'
}

function titleFrom(content: string): string {
  const line = content.trim().split('\n')[0]?.trim() ?? ''
  return line === '' ? DEFAULT_TITLE : line.slice(0, 80)
}
