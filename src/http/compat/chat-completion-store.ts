/**
 * The part of POST /api/chat/completions that stores the answer into a chat, as Open WebUI's page
 * and Conduit ask for it: with `chat_id` (and `id`, the assistant message's id), the answer is
 * recorded into that chat of the caller as it streams (chat/completion-record.ts), as a task its
 * user can stop (/api/tasks/stop/{id}); without `chat_id` (or with Open WebUI's `local` chat of a
 * temporary conversation) the request stays stateless. The request fields read are those of
 * Open WebUI 0.6-0.9 (`chat_id`, `id`, `parent_id`, `user_message` or `parent_message`); a chat id
 * that is not the caller's is answered 404 before anything is asked or written. Deleting the chat
 * stops its running answers at Ollama. After an answer so stored, the `background_tasks` the request
 * asks for (Open WebUI's `title_generation`, `tags_generation`) run without holding up the answer
 * (chat/completion-background-tasks.ts), as the answer's task continued under the same id: listed for
 * the chat, stopped by /api/tasks/stop/{id}, by deleting the chat, and by the owner losing access
 * (account deleted, role made pending). A user has at most `maxBackgroundPerUser` of them asking a
 * model at once; past that, the title is the first message and no tags are asked for.
 * note: Open WebUI runs them inside the answer's task too (middleware.py process_chat_response: the
 * task made for post_response_handler awaits background_tasks_handler at its end).
 */
import { t } from 'elysia'
import { TypeCompiler, type TypeCheck } from '@sinclair/typebox/compiler'
import type { AnswerTask, AnswerTasks } from '../../chat/answer-tasks.ts'
import { runBackgroundTasks, type BackgroundTaskDeps, type BackgroundTasks } from '../../chat/completion-background-tasks.ts'
import { openCompletionRecord, type CompletionRecord, type CompletionTarget } from '../../chat/completion-record.ts'
import type { ChatChunk } from '../../chat/ollama-client.ts'
import type { SocketHub } from '../../chat/socket-hub.ts'
import type { AccountChanges } from '../../db/account-changes.ts'
import type { ChatRepo } from '../../db/chats.ts'
import type { ChatId, UserId } from '../../db/ids.ts'
import { HttpError } from '../http-error.ts'
import { OpenAiError } from './openai-shapes.ts'

type Started = { first: IteratorResult<ChatChunk>; rest: AsyncGenerator<ChatChunk> }

const Question = t.Object({ id: t.String({ maxLength: 128 }), content: t.String(), parentId: t.Optional(t.Nullable(t.String({ maxLength: 128 }))) })
const RecordFields = t.Object({
  chat_id: t.Optional(t.Nullable(t.String({ maxLength: 64 }))),
  id: t.Optional(t.Nullable(t.String({ maxLength: 128 }))),
  parent_id: t.Optional(t.Nullable(t.String({ maxLength: 128 }))),
})
// note: compiled at the first completion that carries them, not when a start loads the module.
let compiledChecks: { fields: TypeCheck<typeof RecordFields>; question: TypeCheck<typeof Question> } | null = null
const checks = () => (compiledChecks ??= { fields: TypeCompiler.Compile(RecordFields), question: TypeCompiler.Compile(Question) })

const invalid = (message: string) => new OpenAiError(400, 'invalid_request_error', 'invalid_request', message)

/** Reads where the answer goes from a completion request; null when it is not to be stored. */
function readTarget(raw: Record<string, unknown>, model: string): CompletionTarget | null {
  const body = raw
  if (!checks().fields.Check(body)) throw invalid('chat_id, id and parent_id must be strings of at most 64, 128 and 128 characters.')
  const chatId = body.chat_id
  if (chatId == null || chatId === 'local' || chatId.startsWith('local:')) return null
  const question = raw.user_message ?? raw.parent_message
  // note: `parentId: null` (a new first question) and no `parentId` (under `parent_id`, or the selected leaf) differ.
  const userMessage = checks().question.Check(question) ? { uid: question.id, parentUid: question.parentId, content: question.content } : null
  return { chatId, messageUid: body.id ?? null, parentUid: body.parent_id ?? null, userMessage, model }
}

const BackgroundTaskFlags = t.Nullable(t.Object({
  title_generation: t.Optional(t.Nullable(t.Boolean())),
  tags_generation: t.Optional(t.Nullable(t.Boolean())),
  follow_up_generation: t.Optional(t.Nullable(t.Boolean())),
}, { additionalProperties: true }))
let compiledFlags: TypeCheck<typeof BackgroundTaskFlags> | null = null

/** The `background_tasks` of a request, as Open WebUI's page sends them (`{title_generation, tags_generation, follow_up_generation}`). */
export function readBackgroundTasks(raw: unknown): BackgroundTasks {
  if (raw === undefined || raw === null) return { title: false, tags: false }
  if (!(compiledFlags ??= TypeCompiler.Compile(BackgroundTaskFlags)).Check(raw)) throw invalid('background_tasks must be an object of true or false flags.')
  return { title: raw.title_generation === true, tags: raw.tags_generation === true }
}

type StoreDeps = {
  chats: ChatRepo; changes: AccountChanges; hub: SocketHub; tasks: AnswerTasks; checkpointIntervalMs: number
  background: Omit<BackgroundTaskDeps, 'chats' | 'hub'>
  /** How many background runs of one user may ask a model at once (CHAT_MAX_CONCURRENT_ANSWERS). */
  maxBackgroundPerUser: number
}

/** Starts recording the answer when the request names a chat; throws the 4xx when it names one not theirs. */
export function createChatCompletionStore(deps: StoreDeps) {
  // note: announced right after the delete, on the same connection, so the chat is already gone here.
  /** The background runs asking a model now, per user. */
  const running = new Map<UserId, Set<AnswerTask>>()
  deps.changes.subscribe((change) => {
    if (change.kind === 'chats') void stopTasksInGoneChats(change.userId)
    // note: an owner who lost access (deleted, or made pending) has nothing more done for them; their answers stop with their credential's watch.
    const revoked = change.kind === 'access' ? change.revoked : undefined
    if (change.kind === 'access' && change.userId !== null && (revoked?.kind === 'deleted' || (revoked?.kind === 'role' && revoked.role === 'pending'))) {
      for (const task of running.get(change.userId) ?? []) deps.tasks.stop(task.userId, task.id)
    }
  })
  /** Runs the tasks as the answer's task continued; a user past the bound gets what needs no model. */
  async function runAfter(record: CompletionRecord, model: string | null, tasks: BackgroundTasks): Promise<void> {
    const { userId: owner, chatId, id } = record.task
    const mine = running.get(owner) ?? new Set<AnswerTask>()
    const isWithinBound = mine.size < deps.maxBackgroundPerUser
    const task = deps.tasks.start(owner, chatId, id)
    if (isWithinBound) running.set(owner, mine.add(task))
    try {
      const background = { ...deps.background, chats: deps.chats, hub: deps.hub }
      await runBackgroundTasks(background, { owner, chatId, answerId: record.answerId, model: isWithinBound ? model : null }, tasks, task.signal)
    } finally {
      deps.tasks.end(task)
      mine.delete(task)
      if (mine.size === 0 && running.get(owner) === mine) running.delete(owner)
    }
  }
  /** Stops the user's answers whose chat was deleted: which chats are gone is read first, then the tasks in them stop. */
  async function stopTasksInGoneChats(userId: UserId): Promise<void> {
    const gone = new Set<ChatId>()
    try {
      for (const chatId of new Set(deps.tasks.listChatIdsOfUser(userId))) if ((await deps.chats.findChatForUser(userId, chatId)) === null) gone.add(chatId)
    } catch {
      return // note: a store that cannot be read now leaves the answers running; each ends when it writes into a chat that is gone.
    }
    deps.tasks.stopTasksInGoneChats(userId, (chatId) => gone.has(chatId))
  }
  return {
    /** The record for this request, or null when the request is stateless. */
    async open(owner: UserId, body: Record<string, unknown> & { model: string }): Promise<CompletionRecord | null> {
      const target = readTarget(body, body.model)
      if (target === null) return null
      const opened = await openCompletionRecord(deps, owner, target)
      if (opened.ok) return opened.record
      switch (opened.reason) {
        case 'chat_not_found': throw new OpenAiError(404, 'invalid_request_error', 'chat_not_found', 'Chat not found.')
        case 'not_an_answer': throw invalid('The message id names a question, not an answer.')
        case 'invalid_id': throw invalid('Message ids are 1-128 of A-Z a-z 0-9 _ - . :')
      }
    },
    /**
     * Runs the tasks asked for once the answer is stored done, asking `model` (a base model; null for
     * a user's own endpoint, which is not asked); the answer does not wait for them.
     */
    afterAnswer(record: CompletionRecord, model: string | null, tasks: BackgroundTasks): void {
      if (!tasks.title && !tasks.tags) return
      void record.stored.then((isDone) => (isDone ? runAfter(record, model, tasks) : undefined))
    },
  }
}
export type ChatCompletionStore = ReturnType<typeof createChatCompletionStore>

/** Ends the record for a request that failed before its first chunk. */
export function failRecord(record: CompletionRecord | null, error: unknown): void {
  record?.fail(error, error instanceof HttpError ? error.message : undefined)
}

/** Passes the answer's chunks through, recording each into the chat, and ends the record however the stream ends. */
export async function recordChunks(record: CompletionRecord, started: Started): Promise<Started> {
  const chunks = recorded(record, started)
  return { first: await chunks.next(), rest: chunks }
}

async function* recorded(record: CompletionRecord, { first, rest }: Started): AsyncGenerator<ChatChunk> {
  let isEnded = false
  try {
    for (let step = first; !step.done; step = await rest.next()) {
      const chunk = step.value
      record.append(chunk.content)
      if (chunk.done) {
        record.finish(chunk.stats)
        isEnded = true
      }
      yield chunk
    }
  } catch (error) {
    isEnded = true
    failRecord(record, error)
    throw error
  } finally {
    // note: the client stopped reading (or the stream ended without its final chunk): what arrived is kept, marked cancelled.
    if (!isEnded) record.stop()
    await rest.return(undefined)
  }
}
