/**
 * Open WebUI's chat object described from a stored tree (chat-tree.ts), as open-webui-chat.ts reads
 * it: `{title, models, params, system?, tags, history: {messages: {id: message}, currentId},
 * messages: [path], ...extra}`, each message as open-webui-message-description.ts describes it; as an
 * object, or as the UTF-8 JSON bytes an answer sends, made from the bytes of a held chat's messages
 * (HeldChatBytes, held-chat-bytes.ts).
 *
 * Threat: an answer that says what the chat does not, or stored text standing for structure.
 * Invariant: the bytes are always those JSON.stringify gives for describeChatObject (tests compare
 * them); the marks spliced into the JSON hold a random token made at start, so no stored text can
 * stand for one; fields kept in extra never replace the structure.
 */
import { pathTo, type ChatTree, type Message } from './chat-tree.ts'
import { heldChatBytes } from './held-chat-bytes.ts'
import { laidOutBytes, laidOutPathBytes, laidOutPathRun, laidOutRun } from './held-chat-layout.ts'
import { keep } from './open-webui-chat.ts'
import { describeMessage, linksOf } from './open-webui-message-description.ts'

export { heldChatBytes, heldChatBytesAdded, heldChatBytesAfter, heldChatBytesSelected, type HeldChatBytes, type HeldMessageBytes } from './held-chat-bytes.ts'
export { describeMessage, type MessageBytes } from './open-webui-message-description.ts'

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

const OPEN_BRACE = Buffer.from('{')
const CLOSE_BRACE = Buffer.from('}')
const OPEN_BRACKET = Buffer.from('[')
const CLOSE_BRACKET = Buffer.from(']')
const COMMA = Buffer.from(',')

// note: 64 random bits, unknown outside this process, so no stored text can name one.
const ENTRY_MARK = `m${Buffer.from(crypto.getRandomValues(new Uint8Array(8))).toString('hex')}-`
const HISTORY_MARK = `${ENTRY_MARK}history`
const PATH_MARK = `${ENTRY_MARK}path`

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
