/**
 * Open WebUI's chat object, read into a whole-chat save (chat-tree.ts) and described back from a
 * stored tree. The format: `{title, models, params, system?, tags, files?, history: {messages:
 * {id: message}, currentId}, messages: [path]}`, each message `{id, parentId, childrenIds, role,
 * content, model, timestamp (s), done, error?, usage?, sources?, files?, ...}`.
 *
 * Reading checks everything before anything is stored and names the first problem (an unknown
 * parent, a cycle, an unknown role, an id out of shape, a field too large), so a save is either
 * stored whole or refused: never answered 200 with content dropped. Parent ids are trusted and
 * children lists recomputed from them; a child list orders the new siblings it names. Fields this
 * format does not name are kept, sealed, in `extra` and given back as sent; so is a named field
 * whose value is not of the usual type (a `model: null`), so a save round-trips exactly.
 */
import {
  MESSAGE_UID_PATTERN, pathTo,
  type ChatContent, type ChatSettings, type ChatTree, type Message, type MessageRole, type MessageStatus, type SavedMessage,
} from './chat-tree.ts'

export const CHAT_LIMITS = {
  messages: 10_000, contentChars: 1_000_000, titleChars: 1000, systemChars: 100_000, modelChars: 200,
  /** Serialised JSON of one sealed field: a message's extra fields, sources, files, usage, error; the chat's params, tags, extra. */
  jsonBytes: 1_000_000,
}

export type ChatReadCode =
  | 'invalid_chat' | 'invalid_message' | 'invalid_message_id' | 'message_id_mismatch' | 'unknown_role'
  | 'bad_parent' | 'cycle' | 'bad_current_id' | 'too_large'
export type ChatReadResult = { ok: true; content: ChatContent } | { ok: false; code: ChatReadCode; detail: string }

/** Chat-level keys with a place of their own; `id` and `timestamp` are the server's. */
const CHAT_KEYS = new Set(['id', 'title', 'models', 'params', 'system', 'tags', 'history', 'messages', 'timestamp'])
/** Message keys rebuilt from the tree and the columns, never kept in `extra`. */
const STRUCTURE_KEYS = new Set(['id', 'parentId', 'childrenIds', 'role', 'content'])

class ReadProblem extends Error {
  constructor(readonly code: ChatReadCode, detail: string) {
    super(detail)
  }
}

const fail = (code: ChatReadCode, detail: string): never => {
  throw new ReadProblem(code, detail)
}
const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value)
const jsonSize = (value: unknown) => Buffer.byteLength(JSON.stringify(value) ?? '', 'utf8')

function bounded<T>(value: T, what: string): T {
  if (jsonSize(value) > CHAT_LIMITS.jsonBytes) fail('too_large', `${what} is over ${CHAT_LIMITS.jsonBytes} bytes.`)
  return value
}

/** Reads an Open WebUI chat object (the `chat` of a save) into a whole-chat save; fields it lacks stay undefined. */
export function readOpenWebUiChat(raw: unknown): ChatReadResult {
  try {
    return { ok: true, content: readChat(raw) }
  } catch (error) {
    if (error instanceof ReadProblem) return { ok: false, code: error.code, detail: error.message }
    throw error
  }
}

function readChat(raw: unknown): ChatContent {
  if (!isObject(raw)) return fail('invalid_chat', 'The chat is not an object.')
  const content: ChatContent = {}
  const settings: Partial<ChatSettings> = {}
  if (raw.title !== undefined) {
    if (typeof raw.title !== 'string' || raw.title.length > CHAT_LIMITS.titleChars) fail('invalid_chat', `The title is not text of at most ${CHAT_LIMITS.titleChars} characters.`)
    content.title = raw.title as string
  }
  if (raw.models !== undefined) {
    const models = raw.models
    if (models !== null && (!Array.isArray(models) || models.length > 64 || models.some((model) => typeof model !== 'string' || model.length > CHAT_LIMITS.modelChars))) {
      fail('invalid_chat', `models is not a list of at most 64 model names.`)
    }
    settings.models = models as string[] | null
  }
  if (raw.params !== undefined) {
    if (raw.params !== null && !isObject(raw.params)) fail('invalid_chat', 'params is not an object.')
    settings.params = bounded(raw.params as Record<string, unknown> | null, 'params')
  }
  if (raw.system !== undefined) {
    if (raw.system !== null && (typeof raw.system !== 'string' || raw.system.length > CHAT_LIMITS.systemChars)) fail('invalid_chat', `system is not text of at most ${CHAT_LIMITS.systemChars} characters.`)
    settings.system = raw.system as string | null
  }
  if (raw.tags !== undefined) {
    if (raw.tags !== null && !Array.isArray(raw.tags)) fail('invalid_chat', 'tags is not a list.')
    settings.tags = bounded(raw.tags as unknown[] | null, 'tags')
  }
  const extra = Object.fromEntries(Object.entries(raw).filter(([key]) => !CHAT_KEYS.has(key)))
  if (Object.keys(extra).length > 0) settings.extra = bounded(extra, 'The chat\'s other fields')
  if (Object.keys(settings).length > 0) content.settings = settings
  // note: a history without messages beside a list of messages (older clients) is read from the list.
  const hasList = Array.isArray(raw.messages) && raw.messages.length > 0
  if (raw.history !== undefined && raw.history !== null && !(hasList && isEmptyHistory(raw.history))) content.messages = readHistory(raw.history)
  else if (raw.messages !== undefined && raw.messages !== null) content.messages = readList(raw.messages)
  return content
}

const isEmptyHistory = (history: unknown) => isObject(history) && (history.messages === undefined || (isObject(history.messages) && Object.keys(history.messages).length === 0))

function readHistory(history: unknown): NonNullable<ChatContent['messages']> {
  if (!isObject(history) || !isObject(history.messages ?? {})) return fail('invalid_chat', 'history is not {messages: {id: message}, currentId}.')
  const map = (history.messages ?? {}) as Record<string, unknown>
  const entries = Object.entries(map)
  if (entries.length > CHAT_LIMITS.messages) fail('too_large', `The chat has over ${CHAT_LIMITS.messages} messages.`)
  const read = new Map<string, { message: SavedMessage; childrenIds: unknown }>()
  for (const [key, raw] of entries) {
    if (!MESSAGE_UID_PATTERN.test(key)) fail('invalid_message_id', `Message id ${JSON.stringify(key.slice(0, 140))} is not 1-128 of A-Z a-z 0-9 _ - . :`)
    if (!isObject(raw)) fail('invalid_message', `Message ${key} is not an object.`)
    const message = raw as Record<string, unknown>
    if (message.id !== undefined && message.id !== key) fail('message_id_mismatch', `Message ${key} is stored under another id than its own.`)
    const parent = message.parentId ?? null
    if (parent !== null && (typeof parent !== 'string' || !Object.hasOwn(map, parent))) fail('bad_parent', `Message ${key} has a parent the chat does not hold.`)
    if (parent === key) fail('cycle', `Message ${key} is its own parent.`)
    read.set(key, { message: readMessage(key, parent as string | null, message), childrenIds: message.childrenIds })
  }
  const currentId = history.currentId
  if (currentId !== undefined && currentId !== null && (typeof currentId !== 'string' || !read.has(currentId))) {
    fail('bad_current_id', 'history.currentId names a message the chat does not hold.')
  }
  return { kind: 'tree', messages: parentsFirst(read), currentUid: currentId as string | null | undefined }
}

/** Orders messages so each parent comes before its children, siblings in the order their parent lists them; refuses cycles. */
function parentsFirst(read: Map<string, { message: SavedMessage; childrenIds: unknown }>): SavedMessage[] {
  const children = new Map<string | null, string[]>()
  for (const [uid, { message }] of read) {
    const list = children.get(message.parentUid)
    if (list === undefined) children.set(message.parentUid, [uid])
    else list.push(uid)
  }
  const ordered: SavedMessage[] = []
  const visit = (parent: string | null) => {
    const kids = children.get(parent) ?? []
    const listed = parent === null ? [] : read.get(parent)!.childrenIds
    const rank = new Map((Array.isArray(listed) ? listed : []).map((id, index) => [id, index]))
    const sorted = [...kids].sort((a, b) => (rank.get(a) ?? Infinity) - (rank.get(b) ?? Infinity))
    for (const uid of sorted) {
      ordered.push(read.get(uid)!.message)
      visit(uid)
    }
  }
  // note: iterative depth would need no stack; 10,000 nested calls fit Bun's default stack.
  visit(null)
  if (ordered.length !== read.size) fail('cycle', 'The messages\' parent ids form a cycle.')
  return ordered
}

function readList(list: unknown): NonNullable<ChatContent['messages']> {
  if (!Array.isArray(list)) return fail('invalid_chat', 'messages is not a list.')
  if (list.length > CHAT_LIMITS.messages) fail('too_large', `The chat has over ${CHAT_LIMITS.messages} messages.`)
  const seen = new Set<string>()
  const messages = list.map((raw, place) => {
    if (!isObject(raw)) fail('invalid_message', `Message ${place} is not an object.`)
    const message = raw as Record<string, unknown>
    const id = message.id ?? null
    if (id !== null && (typeof id !== 'string' || !MESSAGE_UID_PATTERN.test(id))) fail('invalid_message_id', `Message ${place} has an id that is not 1-128 of A-Z a-z 0-9 _ - . :`)
    if (id !== null && seen.has(id as string)) fail('invalid_message_id', `Message id ${id} appears twice.`)
    if (id !== null) seen.add(id as string)
    const { parentUid: _, ...saved } = readMessage(String(id ?? place), null, { ...message, parentId: undefined })
    return { ...saved, uid: id as string | null }
  })
  return { kind: 'list', messages }
}

/** One message's fields: named ones in their columns, the rest (and odd values of named ones) in extra. */
function readMessage(uid: string, parentUid: string | null, raw: Record<string, unknown>): SavedMessage {
  const role = raw.role
  if (role !== 'user' && role !== 'assistant' && role !== 'system') return fail('unknown_role', `Message ${uid} has a role other than user, assistant or system.`)
  const content = raw.content
  if (typeof content !== 'string') return fail('invalid_message', `Message ${uid} has no content, or content that is not text.`)
  if (content.length > CHAT_LIMITS.contentChars) fail('too_large', `Message ${uid} is over ${CHAT_LIMITS.contentChars} characters.`)
  const extra: Record<string, unknown> = {}
  const column = <T>(key: string, accepts: (value: unknown) => boolean): T | null => {
    const value = raw[key]
    if (value === undefined) return null
    if (accepts(value)) return bounded(value, `Message ${uid}'s ${key}`) as T
    extra[key] = value
    return null
  }
  const model = column<string>('model', (value) => typeof value === 'string' && value.length <= CHAT_LIMITS.modelChars)
  const images = column<unknown[]>('images', (value) => Array.isArray(value) && value.length <= 16)
  const error = column<unknown>('error', (value) => value !== null)
  const usage = column<unknown>('usage', (value) => value !== null)
  const sources = column<unknown>('sources', (value) => value !== null)
  const files = column<unknown>('files', (value) => value !== null)
  const timestamp = raw.timestamp
  const createdAt = Number.isSafeInteger(timestamp) && (timestamp as number) >= 0 && (timestamp as number) < 1e11 ? (timestamp as number) * 1000 : null
  if (timestamp !== undefined && createdAt === null) extra.timestamp = timestamp
  const status = statusOf(raw, extra)
  for (const [key, value] of Object.entries(raw)) {
    if (!STRUCTURE_KEYS.has(key) && !(key in COLUMN_KEYS)) extra[key] = value
  }
  return {
    uid, parentUid, role: role as MessageRole, content, model, images, error, usage, sources, files, status, createdAt,
    extra: Object.keys(extra).length === 0 ? null : bounded(extra, `Message ${uid}'s other fields`),
  }
}

const COLUMN_KEYS = { model: 1, images: 1, error: 1, usage: 1, sources: 1, files: 1, timestamp: 1, done: 1, cancelled: 1 }

/** `done` and `cancelled` as a status; values that do not fit one are kept in extra as sent. */
function statusOf(raw: Record<string, unknown>, extra: Record<string, unknown>): MessageStatus | null {
  const { done, cancelled } = raw
  let status: MessageStatus | null = null
  if (done === true) status = 'done'
  else if (done === false) status = cancelled === true ? 'cancelled' : 'pending'
  else if (done !== undefined) extra.done = done
  if (cancelled !== undefined && status !== 'cancelled') extra.cancelled = cancelled
  return status
}

const seconds = (ms: number) => Math.floor(ms / 1000)

/** One stored message as Open WebUI holds it. */
export function describeMessage(message: Message, uidOf: ReadonlyMap<number, string>, childrenIds: string[]): Record<string, unknown> {
  // note: the structure comes last, so nothing kept in extra can stand in for it.
  return {
    timestamp: seconds(message.createdAt),
    ...(message.model === null ? {} : { model: message.model }),
    ...(message.status === null ? {} : { done: message.status === 'done' }),
    ...(message.status === 'cancelled' ? { cancelled: true } : {}),
    ...(message.images === null ? {} : { images: message.images }),
    ...(message.error === null ? {} : { error: message.error }),
    ...(message.usage === null ? {} : { usage: message.usage }),
    ...(message.sources === null ? {} : { sources: message.sources }),
    ...(message.files === null ? {} : { files: message.files }),
    ...message.extra,
    id: message.uid,
    parentId: message.parentId === null ? null : uidOf.get(message.parentId) ?? null,
    childrenIds,
    role: message.role,
    content: message.content,
  }
}

/** A stored chat's `chat` object as Open WebUI holds it: settings, the whole tree, and the path to the selected leaf. */
export function describeChatObject(tree: ChatTree) {
  const { chat, settings, messages } = tree
  const uidOf = new Map<number, string>(messages.map((message) => [message.id, message.uid]))
  const children = new Map<number, string[]>()
  for (const message of messages) {
    if (message.parentId === null) continue
    const list = children.get(message.parentId)
    if (list === undefined) children.set(message.parentId, [message.uid])
    else list.push(message.uid)
  }
  const described = new Map(messages.map((message) => [message.id, describeMessage(message, uidOf, children.get(message.id) ?? [])]))
  const current = chat.currentId === null ? null : uidOf.get(chat.currentId) ?? null
  return {
    ...settings.extra,
    id: chat.id, title: chat.title,
    models: settings.models ?? [], params: settings.params ?? {},
    ...(settings.system === null ? {} : { system: settings.system }),
    history: { messages: Object.fromEntries(messages.map((message) => [message.uid, described.get(message.id)!])), currentId: current },
    messages: pathTo(messages, chat.currentId).map((message) => described.get(message.id)!),
    tags: settings.tags ?? [],
    timestamp: chat.createdAt,
  }
}
