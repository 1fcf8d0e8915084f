/**
 * A chat as Open WebUI keeps it: a tree of messages. Each message names its parent; an answer
 * regenerated, or a question edited, is a sibling under the same parent, and siblings are ordered
 * by when they were stored. The chat selects one leaf (`currentId`); what the user sees is the
 * path from the root to it. These are the plain shapes callers of the chat repository see, and
 * the pure functions that walk them.
 */
import type { ChatId, MessageId, UserId } from './ids.ts'

export type MessageRole = 'system' | 'user' | 'assistant'

/**
 * Whether an answer finished: 'done'; 'pending' while it streams, and for good when it was cut off
 * (a crash, a lost Ollama); 'cancelled' when the user stopped it. Null when nothing was said (Open
 * WebUI's user messages carry no `done`).
 */
export type MessageStatus = 'done' | 'pending' | 'cancelled'

/** How large a chat may grow: refused beyond, never cut. */
export const CHAT_LIMITS = {
  messages: 10_000, contentChars: 1_000_000, titleChars: 1000, systemChars: 100_000, modelChars: 200,
  /** Serialised JSON of one sealed field: a message's extra fields, sources, files, usage, error; the chat's params, tags, extra. */
  jsonBytes: 1_000_000,
}

/** A client's message id (Open WebUI's are UUIDs): 1-128 of A-Z a-z 0-9 _ - . : but not `__proto__`, which a JSON object can't hold as a key. */
export const MESSAGE_UID_PATTERN = /^(?!__proto__$)[A-Za-z0-9_.:-]{1,128}$/

export type Message = {
  /** The internal id, which only grows; siblings are ordered by it. */
  id: MessageId
  /** The client's id for the message, unique in its chat; String(id) when the server made it. */
  uid: string
  chatId: ChatId
  parentId: MessageId | null
  role: MessageRole
  model: string | null
  content: string
  images: unknown[] | null
  artifacts: unknown | null
  /** Enclave's own answer statistics (from Ollama); not part of Open WebUI's message. */
  stats: Record<string, unknown> | null
  status: MessageStatus | null
  error: unknown | null
  usage: unknown | null
  sources: unknown | null
  files: unknown | null
  /** Any other fields the client saved with the message, kept as it sent them. */
  extra: Record<string, unknown> | null
  createdAt: number
}

/** What a new message needs; `parentId` undefined means "under the chat's selected leaf". */
export type NewMessage = Pick<Message, 'role' | 'content'>
  & Partial<Pick<Message, 'uid' | 'parentId' | 'model' | 'images' | 'artifacts' | 'stats' | 'status' | 'error' | 'usage' | 'sources' | 'files' | 'extra' | 'createdAt'>>

/** The fields a rewrite of a stored message may change (an answer checkpointed, finished, or failed). */
export type MessagePatch = Partial<Pick<Message, 'content' | 'stats' | 'status' | 'error' | 'usage' | 'model' | 'sources'>>

export type Chat = {
  id: ChatId
  userId: UserId
  title: string
  pinned: boolean
  archived: boolean
  folderId: string | null
  /** The selected leaf; null for a chat without messages. */
  currentId: MessageId | null
  createdAt: number
  updatedAt: number
}

/** What clients save with a chat besides its messages; sealed, read only when the chat is opened. */
export type ChatSettings = {
  models: unknown[] | null
  params: Record<string, unknown> | null
  system: string | null
  tags: unknown[] | null
  /** Other chat-level fields clients saved (Open WebUI's `files`, ...), kept as sent. */
  extra: Record<string, unknown> | null
}

/** A whole chat: its row, settings, every message of every branch (by id), and the selected leaf. */
export type ChatTree = { chat: Chat; settings: ChatSettings; messages: Message[] }

/** One message of a whole-chat save, as the client holds it: ids are the client's. */
export type SavedMessage = Omit<NewMessage, 'uid' | 'parentId' | 'createdAt' | 'stats' | 'artifacts'> & {
  uid: string
  parentUid: string | null
  /** Null when the client gave no usable time: a stored message keeps its own, a new one gets now. */
  createdAt: number | null
}

/**
 * A whole-chat save, as Open WebUI makes one: fields left undefined keep what is stored. `tree`
 * replaces every message (parents listed before children); `list` is a linear conversation whose
 * messages without an id take the id of the stored message at the same place on the current path.
 */
export type ChatContent = {
  title?: string
  settings?: Partial<ChatSettings>
  folderId?: string | null
  messages?:
    | { kind: 'tree'; messages: readonly SavedMessage[]; currentUid: string | null | undefined }
    | { kind: 'list'; messages: readonly (Omit<SavedMessage, 'uid' | 'parentUid'> & { uid: string | null })[] }
}

export const EMPTY_SETTINGS: ChatSettings = { models: null, params: null, system: null, tags: null, extra: null }

/** Returns the path from the root to `leafId` (empty when it is null or unknown). */
export function pathTo<M extends Pick<Message, 'id' | 'parentId'>>(messages: readonly M[], leafId: MessageId | null): M[] {
  const byId = new Map(messages.map((message) => [message.id, message]))
  return pathThrough((id) => byId.get(id), leafId)
}

/**
 * As pathTo, looking each message up with `get` (undefined: not in the chat).
 * note: a parent is written before its child, so its id is lower: while the ids fall, no message can
 * repeat and no set of those seen is kept (a third of the walk's CPU at 2,000 messages); a parent
 * whose id does not fall (a save may write any tree) sends the walk to pathThroughChecked.
 */
export function pathThrough<M extends Pick<Message, 'id' | 'parentId'>>(get: (id: MessageId) => M | undefined, leafId: MessageId | null): M[] {
  const path: M[] = []
  for (let at = leafId === null ? undefined : get(leafId); at !== undefined; ) {
    path.push(at)
    if (at.parentId === null) break
    const parent = get(at.parentId)
    if (parent !== undefined && parent.id >= at.id) return pathThroughChecked(get, leafId)
    at = parent
  }
  return path.reverse()
}

/** pathThrough for any parent links: a message met again (a cycle) ends the path. */
export function pathThroughChecked<M extends Pick<Message, 'id' | 'parentId'>>(get: (id: MessageId) => M | undefined, leafId: MessageId | null): M[] {
  const path: M[] = []
  const seen = new Set<MessageId>()
  for (let at = leafId === null ? undefined : get(leafId); at !== undefined && !seen.has(at.id); at = at.parentId === null ? undefined : get(at.parentId)) {
    seen.add(at.id)
    path.push(at)
  }
  return path.reverse()
}

/** Returns each message's children in sibling order (by id), keyed by parent id. */
export function childrenByParent<M extends Pick<Message, 'id' | 'parentId'>>(messages: readonly M[]): Map<MessageId, M[]> {
  const children = new Map<MessageId, M[]>()
  for (const message of [...messages].sort((a, b) => a.id - b.id)) {
    if (message.parentId === null) continue
    const list = children.get(message.parentId)
    if (list === undefined) children.set(message.parentId, [message])
    else list.push(message)
  }
  return children
}

/**
 * Returns the leaf reached from `fromId` by always taking the newest child (from the newest root
 * when `fromId` is null): where a chat shows when its selection is gone. Null for no messages.
 */
export function newestLeaf<M extends Pick<Message, 'id' | 'parentId'>>(messages: readonly M[], fromId: MessageId | null = null): MessageId | null {
  const children = childrenByParent(messages)
  let at = fromId ?? messages.filter((message) => message.parentId === null).reduce<MessageId | null>((newest, message) => (newest === null || message.id > newest ? message.id : newest), null)
  while (at !== null) {
    const newest = children.get(at)?.at(-1)
    if (newest === undefined) return at
    at = newest.id
  }
  return null
}
