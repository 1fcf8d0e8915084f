/**
 * The bytes of a held chat's Open WebUI answer (HeldChatBytes): each message's JSON (MessageBytes,
 * open-webui-message-description.ts) in the order the answer's `history.messages` lists them, and the
 * path to the selected leaf, as describeChatParts (open-webui-chat-description.ts) sends them. Made
 * once (heldChatBytes), kept while the chat is held, and brought up to date after its writes
 * (heldChatBytesAfter, heldChatBytesAdded, heldChatBytesSelected) rather than made again, laid out in
 * one buffer now and then (held-chat-layout.ts), with an index of the history (held-history-index.ts);
 * a save's scan reads against them (open-webui-chat-scan.ts).
 *
 * Threat: an answer that says what the chat does not (a stale or foreign message's bytes), or a scan
 * that takes as unchanged what differs. Invariant: the bytes are always those JSON.stringify gives for
 * describeChatObject (tests compare bytes kept or brought up to date with bytes made afresh).
 */
import { pathThrough, pathTo, type Message } from './chat-tree.ts'
import { laidOut } from './held-chat-layout.ts'
import { carryIndex, indexAfresh, indexOf } from './held-history-index.ts'
import type { MessageId } from './ids.ts'
import { describeMessage, linksOf, messageBytes, rememberLaidOut, type MessageBytes } from './open-webui-message-description.ts'

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
  // note: the highest id kept, for the history's index (held-history-index.ts), found in the walk the removal makes anyway.
  let maxKept = 0
  if (removed.size > 0) {
    for (let i = 0; i < entries.length; i++) {
      const entry = entries[i]!
      if (!removed.has(entry.message.id)) {
        if (entry.message.id > maxKept) maxKept = entry.message.id
        continue
      }
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
    // note: from the end, stopping once every rewritten message was met (ids are unique): a turn rewrites its answer, the last entry, and the 2,000 Set lookups of a walk from the start were part of each of its writes.
    let left = rewritten.size
    for (let at = cut - 1; at >= 0 && left > 0; at--) {
      if (!rewritten.has(entries[at]!.message.id)) continue
      left--
      if (!orphaned.has(at)) history[at] = describeAgain(entries[at]!, at)
    }
    const made = layOut(pathAfter(history, before, changed, removed, currentId, false))
    const index = indexOf(entries)
    if (index !== null) {
      // note: the messages removed from the end leave the index; a rewritten message keeps its id and place, its client id may change.
      for (let at = cut; at < entries.length; at++) {
        index.placeOf.delete(entries[at]!.message.id)
        index.uids.delete(entries[at]!.message.uid)
      }
      // note: every old client id out before any new one in, so two messages that swapped theirs keep both.
      for (const entry of changed.values()) index.uids.delete(entries[index.placeOf.get(entry.message.id)!]!.message.uid)
      for (const entry of changed.values()) index.uids.add(entry.message.uid)
      if (removed.size > 0) index.maxId = maxKept
      carryIndex(index, made.history)
    }
    return made
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
  // note: copied, then only the changed messages looked for, from the end, until all were met (ids are unique): a turn changes the path's last messages, and a Map and a Set lookup for each of 2,000 path messages were part of each of its writes.
  const pathMessages = before.pathMessages.slice(0, length)
  const path = before.path.slice(0, length)
  if (removed.size > 0) for (const message of pathMessages) if (removed.has(message.id)) return selectedIn(history, currentId)
  let left = changed.size
  for (let i = length - 1; i >= 0 && left > 0; i--) {
    const entry = changed.get(pathMessages[i]!.id)
    if (entry === undefined) continue
    left--
    pathMessages[i] = entry.message
    path[i] = entry.bytes
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
  if (added === null) return null
  const index = indexOf(added.history)
  const made = layOut(added)
  if (index !== null && made.history !== added.history) carryIndex(index, made.history)
  return made
}

function bytesAdded(before: HeldChatBytes, message: Message, currentId: MessageId | null): HeldChatBytes | null {
  const entries = before.history
  // note: looked up in the history's index, made at the first append after the history was made afresh or moved, and
  // updated in place since: the scan of every held message it replaces was ~0.2 ms of a turn's two appends at 2,000 messages.
  const known = indexOf(entries) ?? indexAfresh(entries)
  if (known.maxId >= message.id || known.uids.has(message.uid)) return null
  const parentAt = message.parentId === null ? -1 : known.placeOf.get(message.parentId) ?? -1
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
  // note: one array of the exact length (concat): a slice and a push made it twice, the second one larger, 2,000 pointers each of a turn's two appends.
  if (place === entries.length) history = entries.concat([null!])
  else {
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
  // note: added last, no other moves, so the index gains the message; added amid (a numbered client id), the places move and the next append makes it afresh.
  if (place === entries.length) {
    known.placeOf.set(message.id, place)
    known.uids.add(message.uid)
    known.maxId = message.id
    carryIndex(known, history)
  }
  const added = parentAt === -1 ? [message.id] : [message.id, message.parentId!]
  // note: the last of the path first: a turn adds under the current leaf, and the path of 2,000 messages was searched from its root each time.
  const parentOnPath = message.parentId === null ? -1 : before.pathMessages.at(-1)?.id === message.parentId ? before.pathMessages.length - 1 : before.pathMessages.findIndex((held) => held.id === message.parentId)
  if (currentId === message.id && (message.parentId === null || parentOnPath !== -1)) {
    // note: the new leaf under a message of the path: the path up to its parent, that parent's bytes replaced, and the new message.
    const upTo = <T>(list: readonly T[]) => (parentOnPath + 1 === list.length ? list : list.slice(0, parentOnPath + 1))
    const pathMessages = upTo(before.pathMessages).concat([message])
    const path = upTo(before.path).concat([bytes])
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

/** `held` laid out (held-chat-layout.ts); a message whose remembered bytes were copied remembers the copy, so the scattered bytes are not kept beside it. */
const layOut = (held: HeldChatBytes): HeldChatBytes => laidOut(held, (entry, made) => rememberLaidOut(entry.message, entry.bytes, made))

