/**
 * Where a turn goes in a chat's message tree, and what the model is sent for it. A new question
 * goes under the message the client names (`parentId`, an id as clients see it; the selected leaf
 * when absent; a new root when null), so editing a question is a sibling under the edited one's
 * parent. A regenerate adds no question: the new answer goes under the named user message, a
 * sibling of its earlier answers. The model gets the path from the root to the parent (only that
 * path is opened, whatever the chat's size), after the chat's system prompt, with the chat's
 * params as Ollama options; settings sent with the turn replace the stored ones and are kept.
 */
import { EMPTY_SETTINGS, type ChatSettings, type Message } from '../db/chat-tree.ts'
import type { ChatRepo } from '../db/chats.ts'
import type { ChatId, UserId } from '../db/ids.ts'
import type { ChatRegenerate, ChatSend, FrameErrorCode } from './frames.ts'
import { ollamaOptionsOf, withOllamaOptions } from './model-options.ts'
import type { ChatMessage, ModelOptions } from './ollama-client.ts'

/** A turn as a client asks for it: a question (`ask`), or null to answer the user message `parentId` again. */
export type TurnRequest = {
  chatId: string | undefined
  model: string
  parentId: string | null | undefined
  /** `files`: references to the user's attached files, stored with the question (see attachments.ts). */
  ask: { content: string; images: string[] | null; files?: unknown[] | null } | null
  system: string | undefined
  options: ModelOptions | undefined
  /**
   * What retrieval found for the question (knowledge/chat-retrieval.ts): `apply` puts the passages
   * into the messages the model is sent, `sources` are stored with the answer; absent: none.
   */
  retrieval?: { sources: unknown[]; apply(messages: ChatMessage[]): ChatMessage[] }
}

export const turnOfSend = (frame: ChatSend): TurnRequest => ({
  chatId: frame.chatId, model: frame.model, parentId: frame.parentId, ask: { content: frame.content, images: frame.images ?? null },
  system: frame.system, options: frame.options,
})

export const turnOfRegenerate = (frame: ChatRegenerate): TurnRequest => ({
  chatId: frame.chatId, model: frame.model, parentId: frame.parentId, ask: null, system: frame.system, options: frame.options,
})

/**
 * A message of what the model may be sent: its model form, or a held message of the path whose
 * form (modelForm) is made only once it is known to be sent (history-bound.ts bounds by role and
 * content, which are the same in both).
 */
export type TurnMessage = ChatMessage | Message

/**
 * The turn's place: `parent` is where the question goes (for a regenerate, the question answered
 * again), `messages` what the model may be sent (each through modelForm), `settings` what to store
 * with the chat (null: none).
 */
export type TurnPlace = {
  parent: Message | null
  messages: TurnMessage[]
  options: ModelOptions
  settings: Partial<ChatSettings> | null
}

export type PlaceResult = ({ ok: true } & TurnPlace) | { ok: false; code: FrameErrorCode; message: string }

const messageNotFound = { ok: false, code: 'message_not_found', message: 'No such message in this chat.' } as const
const chatNotFound = { ok: false, code: 'chat_not_found', message: 'Chat not found.' } as const

/**
 * Finds the turn's place in the owner's chat (`chatId` null: a new chat); reads only the path it
 * needs. The chat is checked to be the owner's here, at the turn's start, in the one read of its row
 * (chats.openTurn); the writes that follow check it again.
 */
export async function placeTurn(chats: ChatRepo, owner: UserId, chatId: ChatId | null, request: TurnRequest): Promise<PlaceResult> {
  if (chatId === null && typeof request.parentId === 'string') return messageNotFound
  const opened = chatId === null ? { path: [], settings: EMPTY_SETTINGS } : await chats.openTurn(owner, chatId, request.parentId)
  if (opened === null) return chatNotFound
  const { path } = opened
  if (path === null) return messageNotFound
  const parent = path.at(-1) ?? null
  if (request.ask === null && parent?.role !== 'user') return { ok: false, code: 'message_not_found', message: 'Only an answer to a question of yours can be asked again.' }
  const stored = opened.settings
  const system = request.system === undefined ? stored.system : request.system
  const options = request.options ?? ollamaOptionsOf(stored.params)
  const settings: Partial<ChatSettings> = {
    ...(request.system === undefined ? {} : { system: request.system === '' ? null : request.system }),
    ...(request.options === undefined ? {} : { params: withOllamaOptions(stored.params, request.options) }),
  }
  const head: TurnMessage[] = system === null || system === '' ? [] : [{ role: 'system', content: system }]
  // note: the path's messages as held, their model forms made for those sent only: at 2,000 messages a window of 32K tokens sends 249, and the form of each (a WeakMap lookup) was 0.03-0.05 ms of a turn.
  // note: one concat, one array of the exact length: a push after it, or a push of each message, copies the path's 2,000 pointers again.
  const messages = head.concat(path, request.ask === null ? [] : [toChatMessage({ role: 'user', content: request.ask.content, images: request.ask.images })])
  return { ok: true, parent, messages, options, settings: Object.keys(settings).length === 0 ? null : settings }
}

/** The model's form of a message of the turn (the same object for a form already made). */
export const modelForm = (message: TurnMessage): ChatMessage => (isStored(message) ? toChatMessage(message) : message)

/** Whether a turn's message is a stored one (every stored message has an id; a model's form has no such field). */
const isStored = (message: TurnMessage): message is Message => (message as Partial<Message>).id !== undefined

/** The model's form of each held message, kept while the message is (a held message is frozen and replaced, never changed). */
const sentForms = new WeakMap<Pick<Message, 'role' | 'content' | 'images'>, ChatMessage>()

/**
 * A message as the model is sent it, frozen (its JSON text is then kept, chat-request-body.ts).
 * note: for a frozen stored message (the chat history cache's) the same object each turn, so its text is serialised once.
 */
function toChatMessage(message: Pick<Message, 'role' | 'content' | 'images'>): ChatMessage {
  // note: looked up first: only a fixed message is ever kept, and a frozen object stays frozen.
  const kept = sentForms.get(message)
  if (kept !== undefined) return kept
  const fixed = Object.isFrozen(message) && (message.images === null || Object.isFrozen(message.images))
  const images = message.images?.filter((image): image is string => typeof image === 'string')
  const form: ChatMessage = Object.freeze({ role: message.role, content: message.content, ...(images !== undefined && images.length > 0 ? { images: Object.freeze(images) as string[] } : {}) })
  if (fixed) sentForms.set(message, form)
  return form
}
