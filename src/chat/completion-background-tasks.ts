/**
 * What Open WebUI does after an answer asked for with `background_tasks` is stored
 * (utils/middleware.py background_tasks_handler): with `title_generation`, the chat is titled by
 * the model from the conversation (chat-title.ts), or, when titles are off or the model gives
 * none, by its first message; with `tags_generation`, the model's tags are added to the chat. Its
 * page asks for both with the first question of a chat only (Chat.svelte sendMessageSocket:
 * `messages.length == 1`); here a title is written only while the chat holds one question and its
 * answer or is still called "New Chat", and never over a title the user gave it meanwhile, and tags
 * only on that first exchange. Follow-up suggestions are not made (nothing stores them on a message).
 * An answer from the user's own endpoint (direct connection) asks no model here: its title is its
 * first message, and it gets no tags.
 *
 * Threat: the titles and tags are model output: cut to one short line (chat-title.ts parseTitleAnswer),
 * tags to at most MAX_TAGS names of at most MAX_TAG_CHARS printable characters. The conversation in the
 * prompts is capped (buildTitlePrompt). Everything is read and written with the chat's owner as owner.
 * Each request to Ollama ends at `signal` (the chat's task: stopped, chat deleted, owner gone) or after
 * TASK_TIMEOUT_MS; nothing is written once `signal` is aborted.
 */
import type { ChatConfig } from '../config/chat-variables.ts'
import type { ChatTagRepo } from '../db/chat-tags.ts'
import type { ChatRepo } from '../db/chats.ts'
import type { ChatId, MessageId, UserId } from '../db/ids.ts'
import type { Logger } from '../log/logger.ts'
import { buildTitlePrompt, DEFAULT_TITLE_TEMPLATE, generateTitle, MAX_TITLE_LENGTH, type TitleMessage } from './chat-title.ts'
import type { Connections } from './connections.ts'
import { OllamaError } from './ollama-client.ts'
import type { SocketHub } from './socket-hub.ts'
import { answerTask } from './task-answers.ts'

/** The tasks a completion request asks for (Open WebUI's `background_tasks`). */
export type BackgroundTasks = { title: boolean; tags: boolean }

export type BackgroundTaskDeps = {
  chats: ChatRepo; chatTags: ChatTagRepo; connections: Connections; hub: SocketHub; log: Logger
  /** Null when titles are not generated (ENABLE_TITLE_GENERATION=false). */
  titles: ChatConfig['titles']
}

/** Where the answer was stored, and the base model to ask (null: none, for a user's own endpoint or past the user's bound). */
export type StoredAnswer = { owner: UserId; chatId: ChatId; answerId: MessageId; model: string | null }

const DEFAULT_TITLE = 'New Chat'
const TASK_TIMEOUT_MS = 60_000
const MAX_TAGS = 10
const MAX_TAG_CHARS = 200

/** The conversation as the tasks read it: Open WebUI removes `<details>` blocks and images from each message first. */
const cleaned = (content: string) => content.replace(/<details\b[^>]*>[\s\S]*?<\/details>|!\[[^\]]*\]\([^)]*\)/gi, '').trim()

/** Runs the tasks asked for, one after the other; never rejects (a failure is logged, the chat kept as it was). */
export async function runBackgroundTasks(deps: BackgroundTaskDeps, answer: StoredAnswer, tasks: BackgroundTasks, signal: AbortSignal): Promise<void> {
  try {
    const path = await deps.chats.listPathTo(answer.owner, answer.chatId, answer.answerId)
    if (path === null || signal.aborted) return
    const messages: TitleMessage[] = path.filter((message) => message.role === 'user' || message.role === 'assistant').map((message) => ({ role: message.role, content: cleaned(message.content) }))
    const isFirstPair = messages.length === 2 && messages[0]!.role === 'user'
    if (tasks.title) await retitle(deps, answer, messages, isFirstPair, signal)
    // note: Open WebUI's backend tags whenever asked (middleware.py background_tasks_handler); its page asks only with a chat's first question.
    if (tasks.tags && isFirstPair && answer.model !== null && !signal.aborted) await addTags(deps, answer, answer.model, messages, signal)
  } catch (error) {
    if (signal.aborted) return
    deps.log.warn('chat background task failed', { reason: error instanceof OllamaError ? error.reason : error instanceof Error ? error.name : 'unknown' })
  }
}

const askUntil = (signal: AbortSignal) => AbortSignal.any([signal, AbortSignal.timeout(TASK_TIMEOUT_MS)])

async function retitle(deps: BackgroundTaskDeps, { owner, chatId, model }: StoredAnswer, messages: readonly TitleMessage[], isFirstPair: boolean, signal: AbortSignal): Promise<void> {
  const before = (await deps.chats.findChatForUser(owner, chatId))?.title
  if (before === undefined) return
  if (!isFirstPair && before !== DEFAULT_TITLE) return
  const { titles } = deps
  // note: as Open WebUI, a title the model can't give (titles off, no answer, an empty one) falls back to the first message.
  const generated = titles === null || model === null ? null : await generateTitle(deps.connections, titles.taskModel ?? model, buildTitlePrompt(titles.template ?? DEFAULT_TITLE_TEMPLATE, messages), askUntil(signal)).catch(() => null)
  const title = generated ?? firstLineOf(messages[0]?.content ?? '')
  if (title === null || signal.aborted) return
  // note: a title the user gave the chat while the model was asked is kept.
  if ((await deps.chats.findChatForUser(owner, chatId))?.title !== before) return
  if (await deps.chats.renameChat(owner, chatId, title)) deps.hub.publish(owner, { type: 'chat:title', chatId, title })
}

async function addTags(deps: BackgroundTaskDeps, { owner, chatId }: StoredAnswer, model: string, messages: readonly TitleMessage[], signal: AbortSignal): Promise<void> {
  const answer = await answerTask(deps.connections, 'tags', deps.titles?.taskModel ?? model, messages, null, askUntil(signal))
  if (answer === null || signal.aborted) return
  for (const name of parseTags(answer)) if ((await deps.chatTags.addTagToChat(owner, chatId, name)) === null) return
}

/** Reads `{"tags": [...]}` from the model's answer, as Open WebUI does (the text from the first `{` to the last `}`); none when it is not that. */
export function parseTags(answer: string): string[] {
  const json = answer.slice(answer.indexOf('{'), answer.lastIndexOf('}') + 1)
  let tags: unknown
  try {
    tags = (JSON.parse(json) as { tags?: unknown }).tags
  } catch {
    return []
  }
  if (!Array.isArray(tags)) return []
  const names = tags.filter((tag): tag is string => typeof tag === 'string')
    .map((tag) => [...tag.replace(/\p{Cc}|\p{Cf}/gu, ' ').replace(/\s+/g, ' ').trim()].slice(0, MAX_TAG_CHARS).join('').trim())
    .filter((tag) => tag !== '' && tag !== 'None')
  return [...new Set(names)].slice(0, MAX_TAGS)
}

function firstLineOf(content: string): string | null {
  const line = content.trim().split('\n')[0]?.trim().replace(/\p{Cc}|\p{Cf}/gu, ' ') ?? ''
  return line === '' ? null : [...line].slice(0, MAX_TITLE_LENGTH).join('').trim()
}
