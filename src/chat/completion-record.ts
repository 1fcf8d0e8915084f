/**
 * An answer asked for through the OpenAI-compatible API, recorded into the user's chat as it
 * streams, as Open WebUI does for its page and Conduit (`chat_id` and `id` in the request): the
 * assistant message `id` (made under the question when the chat does not hold it yet) is
 * checkpointed while the answer streams (`pending`), then stored `done` with its usage,
 * `cancelled` when stopped, or `pending` with the error when it failed. The user's sockets hear
 * `chat:changed` when the answer is added and when it ends, so an Enclave tab showing the chat reads it again.
 *
 * Threat: the chat id comes from the request body. The chat is looked up with the caller as owner,
 * so another user's chat is not found and nothing is written into it (Open WebUI's CVE-2026-45349
 * let one user write into another's chat this way); a message id naming a question is refused, so
 * a question is never overwritten by an answer.
 */
import { MESSAGE_UID_PATTERN, type Message, type MessagePatch } from '../db/chat-tree.ts'
import type { ChatRepo } from '../db/chats.ts'
import { parseChatId, type ChatId, type MessageId, type UserId } from '../db/ids.ts'
import type { AnswerTask, AnswerTasks } from './answer-tasks.ts'
import type { ServerFrame } from './frames.ts'
import { OllamaError, type ChatStats } from './ollama-client.ts'
import type { SocketHub } from './socket-hub.ts'
import { usageOf } from './turn-usage.ts'

export type CompletionRecordDeps = { chats: ChatRepo; tasks: AnswerTasks; hub: SocketHub; checkpointIntervalMs: number }

/**
 * Where the answer goes, as the client names it: the chat, the answer's id, and the question:
 * `userMessage` (Open WebUI's `user_message`, or `parent_message` before 0.9) when the client
 * sends it, else `parentId` names the question (or, with a `userMessage`, the question's parent).
 * A `userMessage` whose `parentUid` is null (sent as `parentId: null`) is a new first question; one
 * without it (undefined) goes under `parentId`, or the selected leaf.
 */
export type CompletionTarget = {
  chatId: string
  messageUid: string | null
  parentUid: string | null
  userMessage: { uid: string; parentUid: string | null | undefined; content: string } | null
  model: string
}

export type RecordOpening =
  | { ok: true; record: CompletionRecord }
  | { ok: false; reason: 'chat_not_found' | 'not_an_answer' | 'invalid_id' }

/** The answer being recorded; the task's signal aborts the request to Ollama when stopped. */
export type CompletionRecord = {
  task: AnswerTask
  /** The answer's id as clients see it. */
  messageUid: string
  /** The answer's stored id. */
  answerId: MessageId
  /** Settles when the record has ended and its last write is over: true when the answer finished and is stored done. */
  stored: Promise<boolean>
  append(text: string): void
  finish(stats: ChatStats): void
  /** Keeps the retrieval sources the answer was given (Open WebUI's `sources`), sealed with it. */
  setSources(sources: unknown[]): void
  /** Ends the record after a failure: cancelled when the request was aborted, else failed with `reason` (safe to show). */
  fail(error: unknown, reason?: string): void
  /** Ends the record when the client stopped reading: what arrived is kept, marked cancelled. */
  stop(): void
}

/** Finds (or makes) the answer's message in the owner's chat and starts a task for it; writes nothing into a chat not theirs. */
export async function openCompletionRecord(deps: CompletionRecordDeps, owner: UserId, target: CompletionTarget): Promise<RecordOpening> {
  const chatId = parseChatId(target.chatId)
  if (chatId === null || (await deps.chats.findChatForUser(owner, chatId)) === null) return { ok: false, reason: 'chat_not_found' }
  const ids = [target.messageUid, target.parentUid, target.userMessage?.uid, target.userMessage?.parentUid]
  if (ids.some((id) => id != null && !MESSAGE_UID_PATTERN.test(id))) return { ok: false, reason: 'invalid_id' }
  const answer = await findOrAddAnswer(deps.chats, owner, chatId, target)
  if (answer === 'not_an_answer') return { ok: false, reason: answer }
  if (answer === null) return { ok: false, reason: 'chat_not_found' }
  const task = deps.tasks.start(owner, chatId)
  announceChange(deps.hub, owner, chatId)
  return { ok: true, record: recordInto(deps, task, answer) }
}

/** The stored answer the client names, or a new pending one under its question; null when the chat went. */
async function findOrAddAnswer(chats: ChatRepo, owner: UserId, chatId: ChatId, target: CompletionTarget): Promise<Message | 'not_an_answer' | null> {
  const idOf = async (uid: string | null | undefined) => (uid == null ? null : chats.findMessageIdByUid(owner, chatId, uid))
  const storedId = await idOf(target.messageUid)
  if (storedId !== null) {
    const stored = (await chats.listPathTo(owner, chatId, storedId))?.at(-1) ?? null
    if (stored !== null && stored.role !== 'assistant') return 'not_an_answer'
    if (stored !== null) await chats.replaceMessageContentForUser(owner, chatId, stored.id, { status: 'pending', error: null, model: target.model })
    return stored
  }
  const question = await findOrAddQuestion(chats, owner, chatId, target, idOf)
  if (question === null) return null
  return chats.addMessage(owner, chatId, {
    role: 'assistant', content: '', model: target.model, status: 'pending', parentId: question,
    ...(target.messageUid === null ? {} : { uid: target.messageUid }),
  })
}

/** The question the answer goes under: the one the client sent (stored first when new), the named parent, or the selected leaf. */
async function findOrAddQuestion(chats: ChatRepo, owner: UserId, chatId: ChatId, target: CompletionTarget, idOf: (uid: string | null | undefined) => Promise<MessageId | null>): Promise<MessageId | null | undefined> {
  const { userMessage } = target
  if (userMessage === null) return (await idOf(target.parentUid)) ?? undefined
  const known = await idOf(userMessage.uid)
  if (known !== null) return known
  // note: Open WebUI stores the user message as sent (main.py, chat_completion: upsert_message_to_chat_by_id_and_message_id),
  // so `parentId: null` is a root: Conduit's first question, or an edit of it (chat_providers.dart, _buildOpenWebUiUserMessage).
  const parentUid = userMessage.parentUid !== undefined ? userMessage.parentUid : (target.parentUid === userMessage.uid ? null : target.parentUid)
  const parentId = userMessage.parentUid === null ? null : (await idOf(parentUid)) ?? undefined
  const added = await chats.addMessage(owner, chatId, { role: 'user', uid: userMessage.uid, content: userMessage.content, parentId })
  return added?.id ?? null
}

/** Tells every socket of the owner that the chat's messages changed. */
function announceChange(hub: SocketHub, owner: UserId, chatId: ChatId): void {
  hub.publish(owner, { type: 'chat:changed', chatId } satisfies ServerFrame)
}

function recordInto(deps: CompletionRecordDeps, task: AnswerTask, answer: Message): CompletionRecord {
  const { chats, tasks } = deps
  // note: the answer is what streams now; a placeholder the client saved, or an earlier try, is replaced.
  let content = ''
  let written = answer.content
  let isOver = false
  let sources: unknown[] | null = null
  // note: writes run one after another (a checkpoint still writing when the answer ends goes first); one that fails leaves the answer as last written.
  let writing: Promise<boolean> = Promise.resolve(true)
  const write = (patch: MessagePatch): Promise<boolean> => {
    const fields = { content, ...(sources === null ? {} : { sources }), ...patch }
    writing = writing.then(() => chats.replaceMessageContentForUser(task.userId, task.chatId, answer.id, fields)).catch(() => false)
    return writing
  }
  const checkpoint = setInterval(() => {
    if (content === written) return
    written = content
    void write({ status: 'pending' })
  }, deps.checkpointIntervalMs)
  let settle: (isDone: boolean) => void = () => {}
  const stored = new Promise<boolean>((resolve) => { settle = resolve })
  const end = (patch: MessagePatch) => {
    if (isOver) return
    isOver = true
    clearInterval(checkpoint)
    tasks.end(task)
    void write(patch).then((isWritten) => {
      if (isWritten) announceChange(deps.hub, task.userId, task.chatId)
      settle(isWritten && patch.status === 'done')
    })
  }
  return {
    task,
    messageUid: answer.uid,
    answerId: answer.id,
    stored,
    append(text) {
      content += text
    },
    setSources(given) {
      sources = given
    },
    finish(stats) {
      end({ status: 'done', error: null, stats: { ...stats }, usage: usageOf({ ...stats }) })
    },
    fail(error, reason) {
      if (task.signal.aborted || (error instanceof OllamaError && error.reason === 'aborted')) return end({ status: 'cancelled', stats: { cancelled: true } })
      end({ status: 'pending', error: { content: reason ?? (error instanceof OllamaError ? error.message : 'Something went wrong on the server.') } })
    },
    stop() {
      end({ status: 'cancelled', stats: { cancelled: true } })
    },
  }
}
