/**
 * Reads a whole-chat save's body (`{chat, folder_id?}`, Open WebUI's chat object, as UTF-8 bytes)
 * against the held chat it replaces, without parsing what is unchanged: where an entry of
 * `chat.history.messages` or `chat.messages` is byte for byte the JSON the server last sent for that
 * message (heldChatBytes), it is that message, unchanged; only the entries that differ, and the
 * chat's small fields, are parsed (JSON.parse of their bytes alone) and read as readOpenWebUiChat
 * reads them.
 *
 * Threat: a body the scan reads differently from JSON.parse and readOpenWebUiChat, so a save stores
 * or refuses something other than what the full read would. Invariant: the scan answers only when
 * it can prove its reading equals the full one, and null otherwise (the caller then parses the body
 * whole, which also names what is wrong in it). Between the parsed pieces it checks every byte
 * itself (structure, whitespace, commas, the end); a key with an escape, a key twice (JSON.parse
 * keeps the last), a message added or left out, a message moved to another parent, a
 * `history.currentId` the chat does not hold, anything the read would refuse, invalid UTF-8 in a
 * parsed piece, a piece nested deeper than PIECE_NESTING, or any other surprise is null. A
 * byte-equal entry cannot hide anything: the held bytes are one complete JSON object, and
 * JSON.stringify's output, so without duplicate keys.
 */
import { CHAT_LIMITS, type ChatContent, type Message, type SavedMessage } from './chat-tree.ts'
import { MAX_JSON_NESTING } from './json-nesting.ts'
import { laidOutBytes, laidOutPathBytes, laidOutPathRun, laidOutRun } from './held-chat-layout.ts'
import { readOpenWebUiChatFields, readOpenWebUiMessage } from './open-webui-chat.ts'
import type { HeldChatBytes } from './held-chat-bytes.ts'

/** A save read against a held chat: each held message sent is unchanged or in `changed`, the others are `left`; none is new. */
export type ScannedSave = {
  /** The chat's fields other than its messages (title, settings), as readOpenWebUiChat reads them. */
  content: ChatContent
  /** `folder_id` as sent: undefined when it is not. */
  folderId: string | null | undefined
  /** `history.currentId` as sent: undefined when it is not; else null or a held message's id. */
  currentUid: string | null | undefined
  /** The messages whose bytes differ from the held ones, read, each under its held parent; every other held message sent was sent as held. */
  changed: Map<string, SavedMessage>
  /** The held messages not sent (their parents may be), by their ids. */
  left: Set<string>
}

/** Why the scan stops: its reading might differ from the full one. */
const MISS = new Error('The save is read whole.')

const QUOTE = 0x22
const BACKSLASH = 0x5c
const COLON = 0x3a
const COMMA = 0x2c
const OPEN_BRACE = 0x7b
const CLOSE_BRACE = 0x7d
const OPEN_BRACKET = 0x5b
const CLOSE_BRACKET = 0x5d
/**
 * The deepest a parsed piece may nest: a message of `chat.history.messages` stands within four
 * levels (the body, chat, history, messages), so the body then nests no deeper than the requests'
 * limit (json-nesting.ts); a deeper piece is left to the full read, which refuses the body.
 */
const PIECE_NESTING = MAX_JSON_NESTING - 4
/** The longest folder id the route's schema takes (routes/chats.ts). */
const FOLDER_ID_CHARS = 128

// note: fatal, so invalid UTF-8 in a parsed piece stops the scan; the full read decodes it its own way.
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true })

/** Reads `body` against `held`; null when only parsing the body whole can tell what it says. */
export function scanOpenWebUiSave(body: Uint8Array, held: HeldChatBytes): ScannedSave | null {
  if (held.history.length === 0 || held.history.length > CHAT_LIMITS.messages) return null
  try {
    return scanBody(Buffer.from(body.buffer, body.byteOffset, body.byteLength), held)
  } catch {
    // note: any failure (MISS, a piece JSON.parse refuses, a nesting too deep for it) leaves the body to the full read.
    return null
  }
}

function scanBody(b: Buffer, held: HeldChatBytes): ScannedSave {
  let at = 0
  const miss = (): never => {
    throw MISS
  }
  const skipSpace = () => {
    for (let c = b[at]; c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09; c = b[++at]);
  }
  const expect = (byte: number) => {
    skipSpace()
    if (b[at] !== byte) miss()
    at++
  }
  /** Whether `bytes` stand at `at` (then passed over). */
  const isAt = (bytes: Uint8Array) => {
    if (at + bytes.length > b.length || b.compare(bytes, 0, bytes.length, at, at + bytes.length) !== 0) return false
    at += bytes.length
    return true
  }
  /** A key without escapes or control characters, then its colon. */
  const readKey = (): string => {
    skipSpace()
    if (b[at] !== QUOTE) miss()
    const start = ++at
    for (let c = b[at]; c !== QUOTE; c = b[++at]) if (c === undefined || c === BACKSLASH || c < 0x20) miss()
    const key = utf8.decode(b.subarray(start, at++))
    expect(COLON)
    return key
  }
  /** Passes over one value (its validity is JSON.parse's to check) and returns where it ends. */
  const skipValue = (): number => {
    let depth = 0
    do {
      const c = b[at]
      if (c === undefined) miss()
      if (c === QUOTE) {
        // note: the closing quote is the first one after an even run of backslashes.
        let from = at + 1
        for (;;) {
          const end = b.indexOf(QUOTE, from)
          if (end === -1) miss()
          let slashes = 0
          while (b[end - 1 - slashes] === BACKSLASH) slashes++
          from = end + 1
          if (slashes % 2 === 0) break
        }
        at = from
      } else if (c === OPEN_BRACE || c === OPEN_BRACKET) {
        if (++depth > PIECE_NESTING) miss()
        at++
      } else if (c === CLOSE_BRACE || c === CLOSE_BRACKET) {
        if (depth === 0) miss()
        depth--
        at++
      } else if (depth === 0) {
        for (let d = b[at]; d !== undefined && d !== COMMA && d !== CLOSE_BRACE && d !== CLOSE_BRACKET && d !== 0x20 && d !== 0x0a && d !== 0x0d && d !== 0x09; d = b[++at]);
      } else at++
    } while (depth > 0)
    return at
  }
  const parseValue = (): unknown => {
    skipSpace()
    const start = at
    return JSON.parse(utf8.decode(b.subarray(start, skipValue())))
  }
  /** Reads the members of an object (its opening brace next), each with `member`; a key twice stops the scan. */
  const readObject = (member: (key: string) => void) => {
    expect(OPEN_BRACE)
    skipSpace()
    if (b[at] === CLOSE_BRACE) {
      at++
      return
    }
    const seen = new Set<string>()
    for (;;) {
      const key = readKey()
      if (seen.has(key)) miss()
      seen.add(key)
      member(key)
      skipSpace()
      const c = b[at++]
      if (c === CLOSE_BRACE) return
      if (c !== COMMA) miss()
    }
  }

  const entries = held.history
  let placeOf: Map<string, number> | null = null
  let lookups = 0
  const place = (uid: string): number | undefined => {
    // note: most saves ask once (the selected leaf, when a turn moved it): a pass over the ids, without a map of them all.
    if (lookups++ === 0) {
      for (let i = 0; i < entries.length; i++) if (entries[i]!.message.uid === uid) return i
      return undefined
    }
    return (placeOf ??= new Map(entries.map((entry, i) => [entry.message.uid, i]))).get(uid)
  }
  const changed = new Map<string, SavedMessage>()
  const left = new Set<string>()
  let sentOf: Uint8Array | null = null
  /** `history.messages`: each held message once, in any order, unchanged (its bytes as held) or read; nothing else. */
  const readEntries = () => {
    expect(OPEN_BRACE)
    const sent = new Uint8Array(entries.length)
    let count = 0
    let next = 0
    // note: while every entry so far came in the held order (`inOrder`: the sent ones are exactly those before `next`),
    // the next ones are compared `stride` at a time where the held bytes lay them out one after another
    // (held-chat-layout.ts): one compare for many entries and the commas between them, the
    // same bytes the entry-by-entry compares below would take. The stride doubles while they match
    // and starts again at two after a miss, so an edited message costs a few compares of its neighbourhood.
    let inOrder = true
    let stride = 2
    for (;;) {
      skipSpace()
      let i: number
      const run = inOrder && next < entries.length ? laidOutRun(entries, next, stride) : 1
      if (run > 1 && isAt(laidOutBytes(entries, next, run))) {
        sent.fill(1, next, next + run - 1)
        count += run - 1
        i = next + run - 1
        stride *= 2
      // note: a client sends the history back in the order it got it, so the next held entry is tried first, its key included.
      } else if (next < entries.length && sent[next] === 0 && isAt(entries[next]!.bytes.entry)) {
        i = next
        if (run > 1) stride = 2
      } else {
        if (run > 1) stride = 2
        const start = at
        const uid = readKey()
        // note: an edited message comes at its place too: its key is the next held one's.
        const found = next < entries.length && sent[next] === 0 && entries[next]!.message.uid === uid ? next : place(uid)
        if (found === undefined || sent[found] === 1) miss()
        i = found!
        at = start
        if (!isAt(entries[i]!.bytes.entry)) {
          readKey()
          // note: only a message under its held parent is taken, so the full read's question (is the parent in the history?) has that answer.
          const parentUid = entries[i]!.parentUid
          const message = readOpenWebUiMessage(uid, parseValue(), (id) => id === parentUid)
          if (message === null || message.parentUid !== entries[i]!.parentUid) miss()
          changed.set(uid, message!)
        }
        if (i !== next) inOrder = false
      }
      sent[i] = 1
      count++
      next = i + 1
      skipSpace()
      const c = b[at++]
      if (c === CLOSE_BRACE) break
      if (c !== COMMA) miss()
    }
    // note: the full read refuses a message whose parent is not in the history: each sent one's held parent must be sent too.
    for (let i = 0; i < entries.length; i++) {
      if (sent[i] === 0) left.add(entries[i]!.message.uid)
      else if (entries[i]!.parentAt !== -1 && sent[entries[i]!.parentAt] === 0) miss()
      else if (entries[i]!.parentUid !== null && entries[i]!.parentAt === -1) miss()
    }
    sentOf = sent
  }
  /** `chat.messages`, which the full read ignores beside a history that holds messages: only valid JSON is asked of it. */
  const readPath = () => {
    skipSpace()
    if (b[at] !== OPEN_BRACKET) return void parseValue()
    at++
    skipSpace()
    if (b[at] === CLOSE_BRACKET) return void at++
    // note: as the history's entries, runs of the path's messages laid out one after another are compared at once, `stride` at most.
    let stride = 2
    for (let i = 0; ; i++) {
      skipSpace()
      const run = i < held.path.length ? laidOutPathRun(held.path, i, stride) : 1
      if (run > 1 && isAt(laidOutPathBytes(held.path, i, run))) {
        i += run - 1
        stride *= 2
      } else {
        if (run > 1) stride = 2
        const known = held.path[i]
        if (known === undefined || !isAt(known.text)) parseValue()
      }
      skipSpace()
      const c = b[at++]
      if (c === CLOSE_BRACKET) return
      if (c !== COMMA) miss()
    }
  }

  let hasChat = false
  let hasEntries = false
  let currentUid: unknown
  let folderId: unknown
  const fields: Record<string, unknown> = {}
  readObject((key) => {
    if (key === 'folder_id') {
      folderId = parseValue()
      if (folderId !== null && (typeof folderId !== 'string' || folderId.length > FOLDER_ID_CHARS)) miss()
      return
    }
    if (key !== 'chat') miss()
    hasChat = true
    readObject((field) => {
      if (field === 'history') {
        readObject((part) => {
          if (part === 'messages') {
            hasEntries = true
            readEntries()
          } else if (part === 'currentId') currentUid = parseValue()
          else miss()
        })
      } else if (field === 'messages') readPath()
      else if (field === '__proto__') miss()
      else fields[field] = parseValue()
    })
  })
  skipSpace()
  if (at !== b.length || !hasChat || !hasEntries) miss()
  if (currentUid !== undefined && currentUid !== null && (typeof currentUid !== 'string' || left.has(currentUid) || (currentUid !== held.currentUid && place(currentUid) === undefined))) miss()
  if (sentOf === null || left.size === entries.length) miss()
  const read = readOpenWebUiChatFields(fields)
  if (!read.ok) miss()
  return { content: (read as { content: ChatContent }).content, folderId: folderId as string | null | undefined, currentUid: currentUid as string | null | undefined, changed, left }
}

/** A held message as the full read takes it back from its last description in `held`; null when that read would refuse it. */
export function resentFrom(held: HeldChatBytes): (message: Message) => SavedMessage | null {
  let placeOf: Map<Message, number> | null = null
  let uids: Set<string> | null = null
  let looks = 0
  // note: a save resends few held messages not told before (those a socket turn wrote since): a look
  // along the history finds each without indexing every message and every id first (one message of
  // 2,000 held: 0.16-0.24 ms → 2-3 µs); many are indexed, as on a chat's first save. The last one
  // wins, as in a Map.
  const placeIn = (message: Message) => {
    if (placeOf === null && looks++ < LOOKS_BEFORE_INDEX) return held.history.findLastIndex((entry) => entry.message === message)
    placeOf ??= new Map(held.history.map((entry, i) => [entry.message, i]))
    return placeOf.get(message) ?? -1
  }
  const holdsAny = (uid: string) => (uids ??= new Set(held.history.map(({ message }) => message.uid))).has(uid)
  return (message) => {
    const at = placeIn(message)
    if (at === -1) return null
    const entry = held.history[at]!
    // note: the parent it names is the one its entry points to (parentAt), held without a set of every id.
    const parentUid = entry.parentAt === -1 ? undefined : held.history[entry.parentAt]?.message.uid
    return readOpenWebUiMessage(message.uid, JSON.parse(utf8.decode(entry.bytes.text)), (uid) => uid === parentUid || holdsAny(uid))
  }
}

/** Held messages looked for one by one before they are all indexed by message. */
const LOOKS_BEFORE_INDEX = 8
