/**
 * Open WebUI's chat object, read into a whole-chat save (chat-tree.ts); describing a stored tree
 * back as one is open-webui-chat-description.ts. The format: `{title, models, params, system?, tags, files?, history: {messages:
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
  CHAT_LIMITS, MESSAGE_UID_PATTERN,
  type ChatContent, type ChatSettings, type MessageRole, type MessageStatus, type SavedMessage,
} from './chat-tree.ts'

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
  // note: a short string is within the bound whatever it holds (at most six bytes of JSON a character, quotes aside).
  if (typeof value === 'string' && value.length * 6 + 2 <= CHAT_LIMITS.jsonBytes) return value
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
  const content = readSettings(raw)
  // note: a history without messages beside a list of messages (older clients) is read from the list.
  const hasList = Array.isArray(raw.messages) && raw.messages.length > 0
  // note: the history's entries are listed once, here, both to tell it empty and to read it.
  const history = raw.history
  const entries = isObject(history) && isObject(history.messages ?? {}) ? Object.entries((history.messages ?? {}) as Record<string, unknown>) : null
  if (history !== undefined && history !== null && !(hasList && entries?.length === 0 && (history as { messages?: unknown }).messages !== null)) content.messages = readHistory(history, entries)
  else if (raw.messages !== undefined && raw.messages !== null) content.messages = readList(raw.messages)
  return content
}

/**
 * Reads a chat object's fields other than its messages (title, settings, other fields), as
 * readOpenWebUiChat does; `history` and `messages` are not looked at.
 */
export function readOpenWebUiChatFields(raw: Record<string, unknown>): ChatReadResult {
  try {
    return { ok: true, content: readSettings(raw) }
  } catch (error) {
    if (error instanceof ReadProblem) return { ok: false, code: error.code, detail: error.message }
    throw error
  }
}

/**
 * Reads one entry of `history.messages` as readOpenWebUiChat does, `holds` saying which message
 * ids the history holds; null when the full read would refuse the entry.
 */
export function readOpenWebUiMessage(key: string, raw: unknown, holds: (uid: string) => boolean): SavedMessage | null {
  try {
    return readEntry(key, raw, holds)
  } catch (error) {
    if (error instanceof ReadProblem) return null
    throw error
  }
}

/** One entry of `history.messages`; `holds` says whether the history holds a message id. */
function readEntry(key: string, raw: unknown, holds: (uid: string) => boolean): SavedMessage {
  if (!MESSAGE_UID_PATTERN.test(key)) fail('invalid_message_id', `Message id ${JSON.stringify(key.slice(0, 140))} is not 1-128 of A-Z a-z 0-9 _ - . :`)
  if (!isObject(raw)) fail('invalid_message', `Message ${key} is not an object.`)
  const message = raw as Record<string, unknown>
  if (message.id !== undefined && message.id !== key) fail('message_id_mismatch', `Message ${key} is stored under another id than its own.`)
  const parent = message.parentId ?? null
  if (parent !== null && (typeof parent !== 'string' || !holds(parent))) fail('bad_parent', `Message ${key} has a parent the chat does not hold.`)
  if (parent === key) fail('cycle', `Message ${key} is its own parent.`)
  return readMessage(key, parent as string | null, message)
}

function readSettings(raw: Record<string, unknown>): ChatContent {
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
  return content
}

function readHistory(history: unknown, entries: [string, unknown][] | null): NonNullable<ChatContent['messages']> {
  if (!isObject(history) || entries === null) return fail('invalid_chat', 'history is not {messages: {id: message}, currentId}.')
  const map = (history.messages ?? {}) as Record<string, unknown>
  if (entries.length > CHAT_LIMITS.messages) fail('too_large', `The chat has over ${CHAT_LIMITS.messages} messages.`)
  const read = new Map<string, { message: SavedMessage; childrenIds: unknown }>()
  const holds = (uid: string) => Object.hasOwn(map, uid)
  for (const [key, raw] of entries) read.set(key, { message: readEntry(key, raw, holds), childrenIds: (raw as Record<string, unknown>).childrenIds })
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
  // note: breadth first, with a queue rather than recursion, so a 10,000-message branch needs no deep stack.
  const ordered: SavedMessage[] = []
  const queue: (string | null)[] = [null]
  for (let at = 0; at < queue.length; at++) {
    const parent = queue[at] as string | null
    const kids = children.get(parent) ?? []
    for (const uid of kids.length < 2 ? kids : inListedOrder(kids, parent === null ? [] : read.get(parent)!.childrenIds)) {
      ordered.push(read.get(uid)!.message)
      queue.push(uid)
    }
  }
  if (ordered.length !== read.size) fail('cycle', 'The messages\' parent ids form a cycle.')
  return ordered
}

/** Siblings in the order their parent lists them (`childrenIds`), the unlisted after, as they came. */
function inListedOrder(kids: string[], listed: unknown): string[] {
  const rank = new Map((Array.isArray(listed) ? listed : []).map((id, index) => [id, index]))
  const place = (uid: string, index: number) => rank.get(uid) ?? rank.size + index
  return kids.map((uid, index) => [uid, place(uid, index)] as const).sort((a, b) => a[1] - b[1]).map(([uid]) => uid)
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
  // note: written out rather than through a helper closure per field: a save of 2,000 messages reads every one.
  let extra: Record<string, unknown> | null = null
  const keepExtra = (key: string, value: unknown) => keep((extra ??= {}), key, value)
  const rawModel = raw.model
  let model: string | null = null
  if (typeof rawModel === 'string' && rawModel.length <= CHAT_LIMITS.modelChars) model = boundedField(rawModel, uid, 'model')
  else if (rawModel !== undefined) keepExtra('model', rawModel)
  const rawImages = raw.images
  let images: unknown[] | null = null
  if (Array.isArray(rawImages) && rawImages.length <= 16) images = boundedField(rawImages, uid, 'images')
  else if (rawImages !== undefined) keepExtra('images', rawImages)
  const error = nonNullField(raw, 'error', uid, keepExtra)
  const usage = nonNullField(raw, 'usage', uid, keepExtra)
  const sources = nonNullField(raw, 'sources', uid, keepExtra)
  const files = nonNullField(raw, 'files', uid, keepExtra)
  const timestamp = raw.timestamp
  const createdAt = Number.isSafeInteger(timestamp) && (timestamp as number) >= 0 && (timestamp as number) < 1e11 ? (timestamp as number) * 1000 : null
  if (timestamp !== undefined && createdAt === null) keepExtra('timestamp', timestamp)
  const status = statusOf(raw, keepExtra)
  for (const key in raw) {
    if (!Object.hasOwn(raw, key) || STRUCTURE_KEYS.has(key) || Object.hasOwn(COLUMN_KEYS, key)) continue
    keepExtra(key, raw[key])
  }
  return {
    uid, parentUid, role: role as MessageRole, content, model, images, error, usage, sources, files, status, createdAt,
    extra: extra === null ? null : boundedField(extra, uid, 'other fields'),
  }
}

/** A named field that takes any value but null: the value (within the bound), or null with a null kept in extra. */
function nonNullField(raw: Record<string, unknown>, key: string, uid: string, keepExtra: (key: string, value: unknown) => void): unknown {
  const value = raw[key]
  if (value === undefined) return null
  if (value !== null) return boundedField(value, uid, key)
  keepExtra(key, value)
  return null
}

/** bounded() for a message's field, its name built only when it is over. */
function boundedField<T>(value: T, uid: string, key: string): T {
  if (typeof value === 'string' && value.length * 6 + 2 <= CHAT_LIMITS.jsonBytes) return value
  return bounded(value, `Message ${uid}'s ${key}`)
}

const COLUMN_KEYS = { model: 1, images: 1, error: 1, usage: 1, sources: 1, files: 1, timestamp: 1, done: 1, cancelled: 1 }

/**
 * Keeps a field as a field, even one named `__proto__`, which plain assignment would take as the
 * prototype (defined as a property then; any other name is assigned, which costs far less).
 */
export function keep(extra: Record<string, unknown>, key: string, value: unknown): void {
  if (key === '__proto__') Object.defineProperty(extra, key, { value, enumerable: true, writable: true, configurable: true })
  else extra[key] = value
}

/** `done` and `cancelled` as a status; values that do not fit one are kept in extra as sent. */
function statusOf(raw: Record<string, unknown>, keepExtra: (key: string, value: unknown) => void): MessageStatus | null {
  const { done, cancelled } = raw
  let status: MessageStatus | null = null
  if (done === true) status = 'done'
  else if (done === false) status = cancelled === true ? 'cancelled' : 'pending'
  else if (done !== undefined) keepExtra('done', done)
  if (cancelled !== undefined && status !== 'cancelled') keepExtra('cancelled', cancelled)
  return status
}
