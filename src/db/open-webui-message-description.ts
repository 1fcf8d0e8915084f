/**
 * One stored message as Open WebUI holds it (open-webui-chat.ts reads it back): `{id, parentId,
 * childrenIds, role, content, model, timestamp (s), done, ...extra}`, as an object, and as the UTF-8
 * JSON bytes an answer sends (MessageBytes: its history entry `"<id>":{...}` and, a view of the same
 * bytes, the message alone). The bytes of a held message (a frozen one, chat-history-cache.ts) are
 * made once and kept while its children's ids are the same.
 *
 * Threat: an answer that says what the message does not, or stored text standing for structure. The
 * bytes are JSON.stringify's of describeMessage, kept tied to the frozen message object they describe
 * and to its children's ids; the structure is written last, so fields kept in extra never replace it.
 */
import type { Message } from './chat-tree.ts'

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

/** Each message's client id by its id, and each parent's children's client ids in order: what a message's description names. */
export function linksOf(messages: readonly Message[]): { uidOf: Map<number, string>; children: Map<number, string[]> } {
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

/**
 * A held message's bytes from its last open, while its place (parent and children) is the same: a
 * frozen message is one the chat history cache holds (chat-history-cache.ts), which never changes,
 * so its bytes are kept as long as it is held (a write makes a new object).
 */
const writtenJson = new WeakMap<Message, MessageBytes & { childrenIds: readonly string[] }>()

export function messageBytes(described: () => Record<string, unknown>, message: Message, childrenIds: string[]): MessageBytes {
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

/** Remembers `made`, the laid-out copy of a held message's bytes `was` (held-chat-layout.ts), so the scattered bytes are not kept beside it. */
export function rememberLaidOut(message: Message, was: MessageBytes, made: MessageBytes): void {
  const known = writtenJson.get(message)
  if (known === was) writtenJson.set(message, { ...made, childrenIds: known.childrenIds })
}
