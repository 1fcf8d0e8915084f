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
  CHAT_LIMITS, MESSAGE_UID_PATTERN, pathThrough, pathTo,
  type ChatContent, type ChatSettings, type ChatTree, type Message, type MessageRole, type MessageStatus, type SavedMessage,
} from './chat-tree.ts'
import { laidOut, laidOutBytes, laidOutPathBytes, laidOutPathRun, laidOutRun } from './held-chat-layout.ts'
import type { MessageId } from './ids.ts'

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
function keep(extra: Record<string, unknown>, key: string, value: unknown): void {
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

const seconds = (ms: number) => Math.floor(ms / 1000)

/** One stored message as Open WebUI holds it. */
export function describeMessage(message: Message, uidOf: ReadonlyMap<number, string>, childrenIds: string[]): Record<string, unknown> {
  // note: built field by field (a chat of 1,000 messages is described on every open); the structure
  // comes last, so nothing kept in extra can stand in for it.
  const columns: Record<string, unknown> = { timestamp: seconds(message.createdAt) }
  if (message.model !== null) columns.model = message.model
  if (message.status !== null) columns.done = message.status === 'done'
  if (message.status === 'cancelled') columns.cancelled = true
  if (message.images !== null) columns.images = message.images
  if (message.error !== null) columns.error = message.error
  if (message.usage !== null) columns.usage = message.usage
  if (message.sources !== null) columns.sources = message.sources
  if (message.files !== null) columns.files = message.files
  // note: spread, not assigned, so a kept `__proto__` field stays a field.
  const described: Record<string, unknown> = message.extra === null ? columns : { ...columns, ...message.extra }
  described.id = message.uid
  described.parentId = message.parentId === null ? null : uidOf.get(message.parentId) ?? null
  described.childrenIds = childrenIds
  described.role = message.role
  described.content = message.content
  return described
}

/** A stored chat's `chat` object as Open WebUI holds it: settings, the whole tree, and the path to the selected leaf. */
export function describeChatObject(tree: ChatTree) {
  return chatObjectOf(tree, (described) => described())
}

/**
 * `wrap(describeChatObject(tree))` as JSON, in UTF-8 bytes ready to send, each message serialised
 * once although both the history and the path hold it (opening a chat of 1,000 messages would
 * otherwise serialise most of them twice), and a held message not at all (messageBytes): the
 * history and the path are copied together from the messages' bytes, the rest serialised with a
 * mark standing for each of the two and the marks then replaced. The mark holds a random token
 * made at start, so no stored text can stand for one.
 */
export function describeChatJson(tree: ChatTree, wrap: (chat: ReturnType<typeof describeChatObject>) => unknown): Buffer {
  return Buffer.concat(describeChatParts(tree, wrap))
}

/**
 * describeChatJson's bytes as parts to send one after another (most of them views of held
 * messages' bytes, never copied); `held` is heldChatBytes of the tree's messages, when known.
 */
export function describeChatParts(tree: ChatTree, wrap: (chat: ReturnType<typeof describeChatObject>) => unknown, held = heldChatBytes(tree.messages, tree.chat.currentId)): Uint8Array[] {
  const history: Uint8Array[] = [OPEN_BRACE]
  for (let i = 0, count = 0; i < held.history.length; i += count) {
    if (i > 0) history.push(COMMA)
    count = laidOutRun(held.history, i, held.history.length)
    history.push(count === 1 ? held.history[i]!.bytes.entry : laidOutBytes(held.history, i, count))
  }
  history.push(CLOSE_BRACE)
  const pathParts: Uint8Array[] = [OPEN_BRACKET]
  for (let i = 0, count = 0; i < held.path.length; i += count) {
    if (i > 0) pathParts.push(COMMA)
    count = laidOutPathRun(held.path, i, held.path.length)
    pathParts.push(count === 1 ? held.path[i]!.text : laidOutPathBytes(held.path, i, count))
  }
  pathParts.push(CLOSE_BRACKET)
  const chat = chatObjectFrom(tree, HISTORY_MARK, held.currentUid, held.pathMessages, PATH_MARK)
  const skeleton = JSON.stringify(wrap(chat as unknown as ReturnType<typeof describeChatObject>))
  // note: the two marks in the order they stand (an other field named `messages` puts the path first).
  const marks = [
    { at: skeleton.indexOf(`"${HISTORY_MARK}"`), length: HISTORY_MARK.length + 2, parts: history },
    { at: skeleton.indexOf(`"${PATH_MARK}"`), length: PATH_MARK.length + 2, parts: pathParts },
  ].sort((a, b) => a.at - b.at)
  if (marks[0]!.at === -1) throw new Error('The chat skeleton lost a mark.')
  const parts: Uint8Array[] = []
  let from = 0
  for (const { at, length, parts: bytes } of marks) {
    parts.push(Buffer.from(skeleton.slice(from, at)))
    for (const part of bytes) parts.push(part)
    from = at + length
  }
  parts.push(Buffer.from(skeleton.slice(from)))
  return parts
}

/** The places of `uids` in the order JSON.stringify gives an object's keys: array indexes first, ascending, then the rest as added. */
function historyOrder(uids: readonly string[]): number[] {
  const indexes: { index: number; at: number }[] = []
  const named: number[] = []
  let isSorted = true
  for (let i = 0; i < uids.length; i++) {
    const index = arrayIndexOf(uids[i]!)
    if (index === -1) named.push(i)
    else {
      if (indexes.length > 0 && index < indexes[indexes.length - 1]!.index) isSorted = false
      indexes.push({ index, at: i })
    }
  }
  // note: ids the server gave (its own message ids, as text) come in ascending order already.
  if (!isSorted) indexes.sort((a, b) => a.index - b.index)
  const order = new Array<number>(uids.length)
  let next = 0
  for (const { at } of indexes) order[next++] = at
  for (const at of named) order[next++] = at
  return order
}

/** The array index an object key stands for (0 to 2^32 - 2, without leading zeros), or -1. */
function arrayIndexOf(key: string): number {
  const first = key.charCodeAt(0)
  if (key.length > 10 || !(first >= 0x30 && first <= 0x39) || (first === 0x30 && key.length > 1)) return -1
  for (let i = 1; i < key.length; i++) {
    const c = key.charCodeAt(i)
    if (c < 0x30 || c > 0x39) return -1
  }
  const index = Number(key)
  return index < 2 ** 32 - 1 ? index : -1
}

/** A held chat's answer as bytes: each message's (with its place in `history.messages`), and the path's, as describeChatJson sends them. */
export type HeldChatBytes = {
  /** In the order the answer's `history.messages` lists them. */
  readonly history: readonly HeldMessageBytes[]
  /** The answer's `messages`: the path to the selected leaf, as messages and as bytes. */
  readonly pathMessages: readonly Message[]
  readonly path: readonly MessageBytes[]
  /** `history.currentId`. */
  readonly currentUid: string | null
  readonly currentId: MessageId | null
  /**
   * The messages held whose bytes were described apart since the bytes were laid out
   * (held-chat-layout.ts): described again or added, or removed from amid the others; null: never
   * laid out, or the path looked up afresh.
   */
  readonly apart: ReadonlySet<MessageId> | null
}

/** A held message, its parent's id and its place in HeldChatBytes' `history` (-1: none), its children's ids, and its bytes. */
export type HeldMessageBytes = { readonly message: Message; readonly parentUid: string | null; parentAt: number; readonly childrenIds: readonly string[]; readonly bytes: MessageBytes }

/** Each message's client id by its id, and each parent's children's client ids in order: what a message's description names. */
function linksOf(messages: readonly Message[]): { uidOf: Map<number, string>; children: Map<number, string[]> } {
  const uidOf = new Map<number, string>()
  const children = new Map<number, string[]>()
  for (const message of messages) {
    uidOf.set(message.id, message.uid)
    if (message.parentId === null) continue
    const list = children.get(message.parentId)
    if (list === undefined) children.set(message.parentId, [message.uid])
    else list.push(message.uid)
  }
  return { uidOf, children }
}

/** The bytes describeChatJson would send for each message of a chat (every message, parents first) and its path to `currentId`. */
export function heldChatBytes(messages: readonly Message[], currentId: MessageId | null): HeldChatBytes {
  const { uidOf, children } = linksOf(messages)
  const byId = new Map<number, MessageBytes>()
  const found = messages.map((message): HeldMessageBytes => {
    const childrenIds = children.get(message.id) ?? []
    const bytes = messageBytes(() => describeMessage(message, uidOf, childrenIds), message, childrenIds)
    byId.set(message.id, bytes)
    return { message, parentUid: message.parentId === null ? null : uidOf.get(message.parentId) ?? null, parentAt: -1, childrenIds, bytes }
  })
  const pathMessages = pathTo(messages, currentId)
  const history = historyOrder(found.map(({ message }) => message.uid)).map((at) => found[at]!)
  const placeOf = new Map(history.map((entry, at) => [entry.message.id, at]))
  for (const entry of history) entry.parentAt = entry.message.parentId === null ? -1 : placeOf.get(entry.message.parentId) ?? -1
  return layOut({
    history,
    pathMessages, path: pathMessages.map((message) => byId.get(message.id)!),
    currentUid: currentId === null ? null : uidOf.get(currentId) ?? null, currentId, apart: null,
  })
}

/**
 * heldChatBytes after a write that rewrote messages in place (same ids and parents), removed
 * others, and selected `currentId`: only the rewritten and the parents of the removed (their
 * children changed) are described again; `messageOf` gives a message as held now.
 */
export function heldChatBytesAfter(before: HeldChatBytes, rewritten: ReadonlySet<MessageId>, removed: ReadonlySet<MessageId>, messageOf: (id: MessageId) => Message | undefined,
  currentId: MessageId | null): HeldChatBytes {
  const entries = before.history
  const orphaned = new Set<number>()
  const gone = new Set<string>()
  // note: messages removed from the end of the history (a turn's, left out of a save) move no other: places stay, nothing is copied but what changed.
  let cut = entries.length
  if (removed.size > 0) {
    for (let i = 0; i < entries.length; i++) {
      const entry = entries[i]!
      if (!removed.has(entry.message.id)) continue
      if (entry.parentAt !== -1) orphaned.add(entry.parentAt)
      gone.add(entry.message.uid)
    }
    while (cut > 0 && removed.has(entries[cut - 1]!.message.id)) cut--
    if (entries.length - cut !== gone.size) cut = -1
    else for (let i = 0; i < cut && cut !== -1; i++) if (entries[i]!.parentAt >= cut) cut = -1
  }
  const isMoved = cut === -1
  const history: HeldMessageBytes[] = isMoved ? [] : entries.slice(0, cut)
  const changed = new Map<number, HeldMessageBytes>()
  const describeAgain = (entry: HeldMessageBytes, at: number): HeldMessageBytes => {
    const isRewritten = rewritten.has(entry.message.id)
    const message = isRewritten ? messageOf(entry.message.id) : entry.message
    if (message === undefined || message.parentId !== entry.message.parentId) throw new Error('A rewritten message moved or went.')
    const uidOf = new Map(entry.parentUid === null ? [] : [[message.parentId!, entry.parentUid]])
    const childrenIds = orphaned.has(at) ? entry.childrenIds.filter((uid) => !gone.has(uid)) : entry.childrenIds as string[]
    const next = { ...entry, message, childrenIds, bytes: messageBytes(() => describeMessage(message, uidOf, childrenIds), message, childrenIds) }
    changed.set(message.id, next)
    return next
  }
  if (!isMoved) {
    for (const at of orphaned) if (at < cut) history[at] = describeAgain(entries[at]!, at)
    if (rewritten.size > 0) {
      for (let at = 0; at < cut; at++) if (rewritten.has(entries[at]!.message.id) && !orphaned.has(at)) history[at] = describeAgain(entries[at]!, at)
    }
    return layOut(pathAfter(history, before, changed, removed, currentId, false))
  }
  const placeOf = new Map<number, number>()
  entries.forEach((entry, at) => {
    if (removed.has(entry.message.id)) return
    const next = rewritten.has(entry.message.id) || orphaned.has(at) ? describeAgain(entry, at) : { ...entry }
    placeOf.set(next.message.id, history.length)
    history.push(next)
  })
  for (const entry of history) entry.parentAt = entry.message.parentId === null ? -1 : placeOf.get(entry.message.parentId) ?? -1
  return layOut(pathAfter(history, before, changed, removed, currentId, true))
}

/**
 * HeldChatBytes of `history` (the messages of `before`, those in `changed` described again, those
 * `removed` gone) with `currentId` selected: the path of `before`, or the part of it up to the new
 * selection, when it still stands; else looked up afresh.
 */
function pathAfter(history: readonly HeldMessageBytes[], before: HeldChatBytes, changed: ReadonlyMap<number, HeldMessageBytes>, removed: ReadonlySet<MessageId>, currentId: MessageId | null,
  isMoved: boolean): HeldChatBytes {
  const length = currentId === before.currentId ? before.pathMessages.length : before.pathMessages.findIndex((message) => message.id === currentId) + 1
  // note: messages removed from the end leave no gap among the others; removed from amid them, they do.
  const apart = apartAfter(before.apart, changed.keys() as Iterable<MessageId>, removed, isMoved)
  if (currentId === null || length === 0) return selectedIn(history, currentId)
  const pathMessages: Message[] = new Array(length)
  const path: MessageBytes[] = new Array(length)
  for (let i = 0; i < length; i++) {
    const message = before.pathMessages[i]!
    if (removed.has(message.id)) return selectedIn(history, currentId)
    const entry = changed.get(message.id)
    pathMessages[i] = entry === undefined ? message : entry.message
    path[i] = entry === undefined ? before.path[i]! : entry.bytes
  }
  return { history, pathMessages, path, currentUid: pathMessages[length - 1]!.uid, currentId, apart }
}

/** HeldChatBytes' `apart` after the messages `described` were described apart and `removed` went (from amid the others when `isMoved`). */
function apartAfter(before: ReadonlySet<MessageId> | null, described: Iterable<MessageId>, removed: ReadonlySet<MessageId>, isMoved: boolean): ReadonlySet<MessageId> | null {
  if (before === null) return null
  const apart = new Set(before)
  for (const id of described) apart.add(id)
  for (const id of removed) (isMoved ? apart.add(id) : apart.delete(id))
  return apart
}

/** HeldChatBytes of `history` with `currentId` selected: the path looked up afresh. */
function selectedIn(history: readonly HeldMessageBytes[], currentId: MessageId | null): HeldChatBytes {
  const byId = new Map(history.map((entry) => [entry.message.id, entry]))
  const pathMessages = pathThrough((id) => byId.get(id)?.message, currentId)
  return {
    history, pathMessages, path: pathMessages.map((message) => byId.get(message.id)!.bytes),
    currentUid: currentId === null ? null : byId.get(currentId)?.message.uid ?? null, currentId, apart: null,
  }
}

/** heldChatBytes with another message selected (the same messages): only the path is looked up again. */
export function heldChatBytesSelected(before: HeldChatBytes, currentId: MessageId | null): HeldChatBytes {
  return currentId === before.currentId ? before : selectedIn(before.history, currentId)
}

/**
 * heldChatBytes after `added` was inserted (as held now: `message`) and `currentId` selected: the
 * new message and its parent (its children changed) are described, the rest kept. Null when the
 * new message's id is not above every held one (its place among siblings would differ), its
 * parent is not held, or its client id is taken: then the bytes are made afresh when next asked.
 */
export function heldChatBytesAdded(before: HeldChatBytes, message: Message, currentId: MessageId | null): HeldChatBytes | null {
  const added = bytesAdded(before, message, currentId)
  return added === null ? null : layOut(added)
}

function bytesAdded(before: HeldChatBytes, message: Message, currentId: MessageId | null): HeldChatBytes | null {
  const entries = before.history
  let parentAt = -1
  for (let i = 0; i < entries.length; i++) {
    const held = entries[i]!.message
    if (held.id >= message.id || held.uid === message.uid) return null
    if (held.id === message.parentId) parentAt = i
  }
  if (message.parentId !== null && parentAt === -1) return null
  // note: the place JSON.stringify gives the new key: among the array indexes by value, else after every key.
  const index = arrayIndexOf(message.uid)
  let place = entries.length
  if (index !== -1) {
    // note: the keys that are array indexes come first, ascending: the first place past them is found by halving.
    let low = 0
    let high = entries.length
    while (low < high) {
      const middle = (low + high) >>> 1
      const other = arrayIndexOf(entries[middle]!.message.uid)
      if (other === -1 || other > index) high = middle
      else low = middle + 1
    }
    place = low
  }
  const shift = (at: number) => (at >= place ? at + 1 : at)
  let history: HeldMessageBytes[]
  if (place === entries.length) {
    history = entries.slice()
    history.push(null!)
  } else {
    history = new Array(entries.length + 1)
    for (let i = 0; i < entries.length; i++) {
      const entry = entries[i]!
      history[shift(i)] = entry.parentAt >= place ? { ...entry, parentAt: entry.parentAt + 1 } : entry
    }
  }
  let parentBytes: MessageBytes | null = null
  let parentUid: string | null = null
  if (parentAt !== -1) {
    const parent = history[shift(parentAt)]!
    parentUid = parent.message.uid
    const childrenIds = [...parent.childrenIds, message.uid]
    const uidOf = new Map(parent.parentUid === null ? [] : [[parent.message.parentId!, parent.parentUid]])
    parentBytes = messageBytes(() => describeMessage(parent.message, uidOf, childrenIds), parent.message, childrenIds)
    history[shift(parentAt)] = { ...parent, childrenIds, bytes: parentBytes }
  }
  const uidOf = new Map(parentUid === null ? [] : [[message.parentId!, parentUid]])
  const bytes = messageBytes(() => describeMessage(message, uidOf, []), message, [])
  history[place] = { message, parentUid, parentAt: parentAt === -1 ? -1 : shift(parentAt), childrenIds: [], bytes }
  const added = parentAt === -1 ? [message.id] : [message.id, message.parentId!]
  const parentOnPath = message.parentId === null ? -1 : before.pathMessages.findIndex((held) => held.id === message.parentId)
  if (currentId === message.id && (message.parentId === null || parentOnPath !== -1)) {
    // note: the new leaf under a message of the path: the path up to its parent, that parent's bytes replaced, and the new message.
    const pathMessages = [...before.pathMessages.slice(0, parentOnPath + 1), message]
    const path = [...before.path.slice(0, parentOnPath + 1), bytes]
    if (parentOnPath !== -1) path[parentOnPath] = parentBytes!
    return { history, pathMessages, path, currentUid: message.uid, currentId, apart: apartAfter(before.apart, added, new Set(), false) }
  }
  if (currentId === before.currentId) {
    const path = before.path.slice()
    if (parentOnPath !== -1) path[parentOnPath] = parentBytes!
    return { history, pathMessages: before.pathMessages, path, currentUid: before.currentUid, currentId, apart: apartAfter(before.apart, added, new Set(), false) }
  }
  return selectedIn(history, currentId)
}

const OPEN_BRACE = Buffer.from('{')
const CLOSE_BRACE = Buffer.from('}')
const OPEN_BRACKET = Buffer.from('[')
const CLOSE_BRACKET = Buffer.from(']')
const COMMA = Buffer.from(',')

// note: 64 random bits, unknown outside this process, so no stored text can name one.
const ENTRY_MARK = `m${Buffer.from(crypto.getRandomValues(new Uint8Array(8))).toString('hex')}-`
const HISTORY_MARK = `${ENTRY_MARK}history`
const PATH_MARK = `${ENTRY_MARK}path`

/**
 * A message's JSON in UTF-8: as a history entry (its id, a colon, the message) and, a view of the
 * same bytes, the message alone; when they are views of bytes laid out (held-chat-layout.ts),
 * `whole` is those bytes, `at` and `textAt` where the entry and the message start in them, and
 * `end` where both end. A laid-out path's message is its text alone (`entry` is the same view).
 */
export type MessageBytes = {
  readonly entry: Uint8Array; readonly text: Uint8Array
  readonly whole?: Uint8Array; readonly at?: number; readonly textAt?: number; readonly end?: number
}

/** `held` laid out (held-chat-layout.ts); a message whose remembered bytes were copied remembers the copy, so the scattered bytes are not kept beside it. */
const layOut = (held: HeldChatBytes): HeldChatBytes => laidOut(held, (entry, made) => {
  const known = writtenJson.get(entry.message)
  if (known === entry.bytes) writtenJson.set(entry.message, { ...made, childrenIds: known.childrenIds })
})

/**
 * A held message's bytes from its last open, while its place (parent and children) is the same: a
 * frozen message is one the chat history cache holds (chat-history-cache.ts), which never changes,
 * so its bytes are kept as long as it is held (a write makes a new object).
 */
const writtenJson = new WeakMap<Message, MessageBytes & { childrenIds: readonly string[] }>()

function messageBytes(described: () => Record<string, unknown>, message: Message, childrenIds: string[]): MessageBytes {
  const isHeld = Object.isFrozen(message)
  const known = isHeld ? writtenJson.get(message) : undefined
  if (known !== undefined && sameIds(known.childrenIds, childrenIds)) return known
  const key = JSON.stringify(message.uid)
  const entry = Buffer.from(`${key}:${JSON.stringify(described())}`)
  const made = { entry, text: entry.subarray(Buffer.byteLength(key) + 1), childrenIds: childrenIds.slice() }
  if (isHeld) writtenJson.set(message, made)
  return made
}

const sameIds = (a: readonly string[], b: readonly string[]) => {
  if (a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false
  return true
}

/** `history.messages` as an object: each message under its id, in the order messages are given. */
function historyObject<T>(uids: readonly string[], values: readonly T[]): Record<string, T> {
  const history: Record<string, T> = {}
  // note: kept as fields, so an id named `__proto__` is a message as in the JSON, not the object's prototype.
  for (let i = 0; i < uids.length; i++) keep(history, uids[i]!, values[i]!)
  return history
}

/**
 * The chat object, each message given as `entry` makes it from its description, and
 * `history.messages` as `historyOf` makes it from the messages' ids and entries (parents first).
 */
function chatObjectOf<T, H = Record<string, T>>(tree: ChatTree, entry: (described: () => Record<string, unknown>, message: Message, childrenIds: string[]) => T,
  historyOf: (uids: readonly string[], values: readonly T[]) => H = historyObject as never) {
  const { chat, messages } = tree
  const { uidOf, children } = linksOf(messages)
  const uids: string[] = []
  const values: T[] = []
  const described = new Map<number, T>()
  for (const message of messages) {
    const childrenIds = children.get(message.id) ?? []
    const value = entry(() => describeMessage(message, uidOf, childrenIds), message, childrenIds)
    uids.push(message.uid)
    values.push(value)
    described.set(message.id, value)
  }
  const current = chat.currentId === null ? null : uidOf.get(chat.currentId) ?? null
  const path = pathTo(messages, chat.currentId)
  return chatObjectFrom(tree, historyOf(uids, values), current, path, path.map((message) => described.get(message.id)!))
}

/** The chat object around its history's messages, the selected leaf's id and the path to it (as messages, and as described). */
function chatObjectFrom<H, T>({ chat, settings }: ChatTree, history: H, current: string | null, path: readonly Message[], described: T) {
  // note: a chat no client saved models for (one made over Enclave's socket, or before schema 6) offers the model of its last answer, so a client reopening it has one selected.
  const lastModel = path.findLast((message) => message.role === 'assistant' && message.model !== null)?.model
  return {
    ...settings.extra,
    id: chat.id, title: chat.title,
    models: settings.models ?? (lastModel === undefined || lastModel === null ? [] : [lastModel]), params: settings.params ?? {},
    ...(settings.system === null ? {} : { system: settings.system }),
    history: { messages: history, currentId: current },
    messages: described,
    tags: settings.tags ?? [],
    timestamp: chat.createdAt,
  }
}
