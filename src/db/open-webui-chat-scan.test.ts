import { describe, expect, test } from 'bun:test'
import fc from 'fast-check'
import { planChatSave, planScannedSave, isSaveProblem } from './chat-save.ts'
import type { ChatTree, Message } from './chat-tree.ts'
import type { ChatId, MessageId, UserId } from './ids.ts'
import { hasSameClientFields } from './message-rows.ts'
import { laidOutPathRun, laidOutRun } from './held-chat-layout.ts'
import { readOpenWebUiChat, readOpenWebUiMessage } from './open-webui-chat.ts'
import { describeChatJson, describeChatParts, heldChatBytes, heldChatBytesAfter, type HeldChatBytes } from './open-webui-chat-description.ts'
import { resentFrom, scanOpenWebUiSave } from './open-webui-chat-scan.ts'

const CHAT = 'c' as ChatId

/** Client ids for a chat of up to `max` messages: names, or a mix with array indexes (JSON.stringify puts those first). */
const uidsFor = (max: number) => max <= 8
  ? fc.constantFrom(['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'], ['7', '3', 'x', '10', '0', 'y', 'z', '1'])
  : fc.constantFrom(Array.from({ length: max }, (_, i) => `m${i}`), Array.from({ length: max }, (_, i) => (i % 3 === 0 ? String((i * 7) % (max * 2)) : `id-${i}`)))

/** A held chat of 1 to `max` messages (at least `min`): frozen messages (as the history cache holds them), each a child of an earlier one or a root. */
const heldChatOf = (min: number, max: number) => fc.record({
  count: fc.integer({ min, max }),
  parents: fc.array(fc.nat(), { minLength: max, maxLength: max }),
  contents: fc.array(fc.constantFrom('hi', 'é', '"q"', 'a\\b', '\u2028', '😀', ''), { minLength: max, maxLength: max }),
  times: fc.array(fc.constantFrom(0, 5_000, 1_700_000_000_123), { minLength: max, maxLength: max }),
  extras: fc.array(fc.option(fc.dictionary(fc.constantFrom('x', 'y', 'statusHistory', 'model'), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 2 }), { nil: null }), { minLength: max, maxLength: max }),
  uids: uidsFor(max),
  current: fc.nat(),
}).map(({ count, parents, contents, times, extras, uids, current }): ChatTree => {
  const messages: Message[] = Array.from({ length: count }, (_, i) => {
    // note: a long chat is mostly one branch (each message under the one before, one in five anywhere), so its path is long too.
    const parentAt = max > 8 && i > 0 && parents[i]! % 5 !== 0 ? i - 1 : parents[i]! % (i + 1)
    return Object.freeze({
      id: (i + 1) as MessageId, uid: uids[i]!, chatId: CHAT, parentId: parentAt === i ? null : (parentAt + 1) as MessageId,
      role: i % 2 === 0 ? 'user' as const : 'assistant' as const, content: contents[i]!, model: i % 2 === 0 ? null : 'm', images: null, artifacts: null, stats: null,
      status: i % 3 === 0 ? null : 'done' as const, error: null, usage: i === 1 ? { tokens: 3 } : null, sources: null, files: null, extra: extras[i]!, createdAt: times[i]!,
    })
  })
  const chat = { id: CHAT, userId: 'u' as UserId, title: 't', pinned: false, archived: false, folderId: null, currentId: (current % count + 1) as MessageId, createdAt: 0, updatedAt: 0 }
  return { chat, settings: { models: ['m'], params: null, system: null, tags: null, extra: null }, messages }
})
const heldChat = heldChatOf(1, 8)
/** Chats long enough that their held history is laid out in one buffer (held-chat-layout.ts), compared in runs; their path too when it is as long. */
const longHeldChat = heldChatOf(34, 80)

/** What a client sends back: the answer's bytes as `{chat}`, with an edit of the text. */
const answerOf = (tree: ChatTree) => describeChatJson(tree, (chat) => ({ chat }))

/** The full read's outcome: the body parsed and read whole, planned against the held chat. */
function fullOutcome(body: Uint8Array, tree: ChatTree) {
  let parsed: unknown
  try {
    parsed = JSON.parse(new TextDecoder().decode(body))
  } catch {
    return 'malformed'
  }
  const { chat, folder_id: folderId, ...others } = parsed as { chat?: unknown; folder_id?: unknown }
  if (typeof chat !== 'object' || chat === null || Array.isArray(chat)) return 'not_an_object'
  if (Object.keys(others).length > 0 || (folderId !== undefined && folderId !== null && typeof folderId !== 'string')) return 'other_shape'
  const read = readOpenWebUiChat(chat)
  if (!read.ok) return read.code
  const { messages, ...content } = read.content
  let next = 1000
  const plan = planChatSave(CHAT, tree.messages, tree.chat.currentId, messages!, () => next++ as MessageId, 0, hasSameClientFields)
  if (isSaveProblem(plan)) return plan.problem
  return { content, folderId, plan: { ...plan, rewrites: plan.rewrites.sort((a, b) => a.id - b.id), removes: plan.removes.sort((a, b) => a - b) } }
}

/** The scan's outcome, or null when it leaves the body to the full read. */
function scanOutcome(body: Uint8Array, tree: ChatTree) {
  const held = heldChatBytes(tree.messages, tree.chat.currentId)
  const scanned = scanOpenWebUiSave(body, held)
  if (scanned === null) return null
  const plan = planScannedSave(CHAT, tree.messages, tree.chat.currentId, scanned.changed, scanned.left, scanned.currentUid, resentFrom(held), 0, hasSameClientFields)
  if (plan === null) return null
  return { content: scanned.content, folderId: scanned.folderId, plan: { ...plan, rewrites: plan.rewrites.sort((a, b) => a.id - b.id), removes: plan.removes.sort((a, b) => a - b) } }
}

const text = (bytes: Uint8Array) => Buffer.from(bytes).toString('latin1')
const bytes = (latin1: string) => new Uint8Array(Buffer.from(latin1, 'latin1'))

/** `s` changed by `change` at its k-th (modulo their count) occurrence of `mark`, just past it; `s` when it has none. */
function atNth(s: string, mark: string, k: number, change: (at: number) => string): string {
  const places: number[] = []
  for (let at = s.indexOf(mark); at !== -1; at = s.indexOf(mark, at + 1)) places.push(at + mark.length)
  return places.length === 0 ? s : change(places[k % places.length]!)
}

/** Edits of the sent text, as latin1 (one char a byte), so invalid UTF-8 can be made too. */
const edit = fc.oneof(
  fc.constant((s: string) => s),
  fc.constant((s: string) => s.replace('"content":"', '"content":"edited ')),
  fc.constant((s: string) => s.replaceAll('"content":"hi"', '"content":"bye"')),
  fc.constant((s: string) => s.replace('"content":"', '"content":" ')),
  fc.constant((s: string) => s.replace('"content":"hi"', '"content":"\\u0068i"')),
  fc.constant((s: string) => s.replace('"role":', '"extra":1,"role":')),
  fc.constant((s: string) => s.replace('"title":"t"', '"title":"t","title":"u"')),
  fc.constant((s: string) => s.replace('"title":"t"', '"title":"\\u0074"')),
  fc.constant((s: string) => s.replace('"title":"t"', '"title":5')),
  fc.constant((s: string) => s.replace('"title":"t"', '"title":"t","x":' + '['.repeat(3000) + ']'.repeat(3000))),
  fc.constant((s: string) => s.replace('"title":"t"', '"title":"t","folder":"' + 'x'.repeat(100_000) + '"')),
  fc.constant((s: string) => s.replace('"content":"', '"content":"\xff\xfe')),
  fc.constant((s: string) => s.replace('"content":"', '"content":"\xc3')),
  fc.constant((s: string) => s.replace('"parentId":null', '"parentId":"b"')),
  fc.constant((s: string) => s.replace(/"parentId":"[^"]*"/, '"parentId":null')),
  fc.constant((s: string) => s.replace('"currentId":"', '"currentId":"nope')),
  fc.constant((s: string) => s.replace(/"currentId":"[^"]*"/, '"currentId":null')),
  fc.constant((s: string) => s.replace(/,"currentId":"[^"]*"/, '')),
  fc.constant((s: string) => s.replace(/"id":"[a-z0-9]+"/, '"id":"other"')),
  fc.constant((s: string) => s.replace('{"chat":', '{"folder_id":"f","chat":')),
  fc.constant((s: string) => s.replace('{"chat":', '{"folder_id":3,"chat":')),
  fc.constant((s: string) => s.replace('{"chat":', '{"other":1,"chat":')),
  fc.constant((s: string) => s.replace('{"chat":', '{"chat":1,"chat":')),
  fc.constant((s: string) => `\ufeff${s}`),
  fc.constant((s: string) => ` \n${s}\t`),
  fc.constant((s: string) => `${s},`),
  fc.constant((s: string) => s.replace('"history":{"messages":{', '"history":{"messages":{"a":{"role":"user","content":"dup"},')),
  fc.constant((s: string) => s.replace('"history":{"messages":{', '"history":{"messages":{"new":{"role":"user","content":"new"},')),
  fc.constant((s: string) => s.replace('"history":{', '"history":{"other":1,')),
  fc.constant((s: string) => s.replace('"messages":[', '"messages":[{"broken":')),
  fc.constant((s: string) => s.replace('"messages":[', '"messages":5,"m2":[')),
  fc.constant((s: string) => s.replace(/"messages":\[.*\],"tags"/, '"messages":[],"tags"')),
  /** A message of the history left out (its children may stay), the rest as sent. */
  fc.nat().map((k) => (s: string) => {
    try {
      const body = JSON.parse(s)
      const ids = Object.keys(body.chat.history.messages)
      delete body.chat.history.messages[ids[k % ids.length]!]
      return JSON.stringify(body)
    } catch {
      return s
    }
  }),
  /** The k-th message's content edited (non-ASCII, escapes, a quote), wherever it stands: the first, the middle, the last. */
  fc.tuple(fc.nat(), fc.constantFrom('é😀 ', '\\n', '\\"', '\\u00e9', 'x')).map(([k, added]) => (s: string) => atNth(s, '"content":"', k, (at) => s.slice(0, at) + added + s.slice(at))),
  /** The k-th message's keys in another order. */
  fc.nat().map((k) => (s: string) => atNth(s, '"role":', k, (at) => {
    const member = /^"(user|assistant)",/.exec(s.slice(at))
    return member === null ? s : `${s.slice(0, at - 7)}"x":1,"role":${s.slice(at)}`
  })),
  /** A message added under the k-th (a branch), as a client adds one. */
  fc.nat().map((k) => (s: string) => {
    try {
      const body = JSON.parse(s)
      const ids = Object.keys(body.chat.history.messages)
      const parent = ids[k % ids.length]!
      body.chat.history.messages[parent].childrenIds.push('branch')
      body.chat.history.messages.branch = { id: 'branch', parentId: parent, childrenIds: [], role: 'user', content: 'new branch', timestamp: 1 }
      return JSON.stringify(body)
    } catch {
      return s
    }
  }),
  /** A byte changed, or the body cut, anywhere. */
  fc.tuple(fc.double({ min: 0, max: 1, noNaN: true }), fc.integer({ min: 0, max: 255 })).map(([where, byte]) => (s: string) => {
    const at = Math.floor(where * s.length)
    return s.slice(0, at) + String.fromCharCode(byte) + s.slice(at + 1)
  }),
  fc.double({ min: 0, max: 1, noNaN: true }).map((where) => (s: string) => s.slice(0, Math.floor(where * s.length))),
)

describe('a save read against the held chat', () => {
  test('says what the full read says, or leaves the body to it (fast-check)', () => {
    let scanned = 0
    fc.assert(fc.property(heldChat, fc.array(edit, { minLength: 1, maxLength: 4 }), (tree, edits) => {
      const sent = bytes(edits.reduce((body, change) => change(body), text(answerOf(tree))))
      const scan = scanOutcome(sent, tree)
      if (scan === null) return
      scanned++
      expect(scan).toEqual(fullOutcome(sent, tree) as never)
    }), { numRuns: 2000 })
    expect(scanned).toBeGreaterThan(300)
  }, 60_000)

  test('in a chat whose held history is laid out in one buffer, says what the full read says (fast-check)', () => {
    let scanned = 0
    fc.assert(fc.property(longHeldChat, fc.array(edit, { minLength: 1, maxLength: 3 }), (tree, edits) => {
      const held = heldChatBytes(tree.messages, tree.chat.currentId)
      expect(laidOutRun(held.history, 0, Infinity)).toBe(tree.messages.length)
      if (held.path.length > 32) expect(laidOutPathRun(held.path, 0, Infinity)).toBe(held.path.length)
      const sent = bytes(edits.reduce((body, change) => change(body), text(answerOf(tree))))
      const scan = scanOutcome(sent, tree)
      if (scan === null) return
      scanned++
      expect(scan).toEqual(fullOutcome(sent, tree) as never)
    }), { numRuns: 300 })
    expect(scanned).toBeGreaterThan(50)
  }, 60_000)

  test('in a long chat, an edited message anywhere, in any text, is read without the full read', () => {
    const tree = fc.sample(longHeldChat, { numRuns: 1, seed: 5 })[0]!
    const sent = text(answerOf(tree))
    const count = tree.messages.length
    for (const k of [0, 1, count >> 1, count - 2, count - 1]) {
      for (const added of ['é😀 ', '\\n', '\\"', '\\u00e9']) {
        // note: the history's entry and the path's alike, as Open WebUI's page sends an edit.
        const body = bytes(atNth(sent, '"content":"', k, (at) => sent.slice(0, at) + Buffer.from(added).toString('latin1') + sent.slice(at)))
        const scan = scanOutcome(body, tree)
        expect(scan).not.toBeNull()
        expect(scan).toEqual(fullOutcome(body, tree) as never)
      }
    }
  })

  test('in a long chat, an entry sent twice, edited before it comes again in its place, is read as JSON.parse reads it (the last)', () => {
    const tree = fc.sample(longHeldChat, { numRuns: 1, seed: 9 })[0]!
    const sent = text(answerOf(tree))
    const entries = Object.entries(JSON.parse(sent).chat.history.messages as Record<string, { content: string }>)
    for (const k of [1, 2, entries.length >> 1]) {
      const [id, value] = entries[k]!
      const edited = `${JSON.stringify(id)}:${JSON.stringify({ ...value, content: `${value.content} edited` })}`
      const body = bytes(sent.replace('"history":{"messages":{', `"history":{"messages":{${Buffer.from(edited).toString('latin1')},`))
      const scan = scanOutcome(body, tree)
      if (scan !== null) expect(scan).toEqual(fullOutcome(body, tree) as never)
    }
  })

  test('reads an unchanged save, and one with an edited message, without the full read', () => {
    const tree = fc.sample(heldChat.filter((chat) => chat.messages.length > 2), { numRuns: 1, seed: 7 })[0]!
    const sent = text(answerOf(tree))
    const withoutLeaf = JSON.parse(sent)
    const leaf = Object.entries(withoutLeaf.chat.history.messages as Record<string, { childrenIds: string[] }>).find(([, message]) => message.childrenIds.length === 0)![0]
    delete withoutLeaf.chat.history.messages[leaf]
    withoutLeaf.chat.history.currentId = null
    for (const body of [sent, sent.replace('"content":"', '"content":"edited '), JSON.stringify(withoutLeaf)]) {
      const scan = scanOutcome(bytes(body), tree)
      expect(scan).not.toBeNull()
      expect(scan).toEqual(fullOutcome(bytes(body), tree) as never)
    }
  })

  test.each([
    ['an id twice in the history', (s: string, first: string) => s.replace(`"history":{"messages":{${first}`, `"history":{"messages":{${first},${first}`)],
    ['a held id with other bytes', (s: string) => s.replace('"content":"', '"content":"x')],
    ['whitespace everywhere', (s: string) => s.replaceAll(',"', ', "').replaceAll(':', ': ')],
    ['keys in another order', (s: string) => s.replace(/"role":"(user|assistant)","content":"([^"]*)"/, '"content":"$2","role":"$1"')],
    ['a message left out', (s: string, first: string) => s.replace(`${first},`, '')],
  ])('%s: the same outcome as the full read', (_, change) => {
    const tree = fc.sample(heldChat.filter((chat) => chat.messages.length > 2), { numRuns: 1, seed: 11 })[0]!
    const sent = text(answerOf(tree))
    const history = JSON.parse(sent).chat.history.messages as Record<string, unknown>
    const [id, value] = Object.entries(history)[0]!
    const body = bytes(change(sent, `${JSON.stringify(id)}:${JSON.stringify(value)}`))
    const scan = scanOutcome(body, tree)
    if (scan !== null) expect(scan).toEqual(fullOutcome(body, tree) as never)
  })

  test('huge strings and deep nesting are left to the full read or read alike', () => {
    const tree = fc.sample(heldChat, { numRuns: 1, seed: 3 })[0]!
    const sent = text(answerOf(tree))
    for (const body of [
      sent.replace('"content":"', `"content":"${'y'.repeat(2_000_000)}`),
      sent.replace('"content":"', `"deep":${'{"a":'.repeat(100_000)}1${'}'.repeat(100_000)},"content":"`),
      sent.replace('"content":"', `"content":"${'\\\\'.repeat(1000)}\\"`),
    ]) {
      const scan = scanOutcome(bytes(body), tree)
      if (scan !== null) expect(scan).toEqual(fullOutcome(bytes(body), tree) as never)
    }
  })
})

describe("a held chat's answer bytes after a save", () => {
  test.each([['short', heldChat, 8, 500], ['long, laid out', longHeldChat, 80, 100]] as const)('%s: made from those before equal those made afresh (fast-check)', (_, chats, max, numRuns) => {
    fc.assert(fc.property(chats, fc.array(fc.boolean(), { minLength: max, maxLength: max }), fc.array(fc.boolean(), { minLength: max, maxLength: max }), fc.nat(), (tree, edits, drops, pick) => {
      const before = heldChatBytes(tree.messages, tree.chat.currentId)
      // note: a message goes with its whole subtree, as a save that leaves it out must (else its children lack a parent).
      const removed = new Set<MessageId>()
      for (const message of tree.messages) if (drops[message.id - 1] && message.id > 1 || (message.parentId !== null && removed.has(message.parentId))) removed.add(message.id)
      const kept = tree.messages.filter((message) => !removed.has(message.id))
      const rewritten = new Set(kept.filter((message) => edits[message.id - 1]).map((message) => message.id))
      const after = kept.map((message) => (rewritten.has(message.id) ? Object.freeze({ ...message, content: `${message.content}!` }) : message))
      const currentId = after[pick % after.length]!.id
      const made = heldChatBytesAfter(before, rewritten, removed, (id) => after.find((message) => message.id === id), currentId)
      const fresh = heldChatBytes(after, currentId)
      const view = (held: typeof made) => ({
        history: held.history.map(({ message, parentUid, parentAt, childrenIds, bytes }) => ({ id: message.id, parentUid, parentAt, childrenIds, text: Buffer.from(bytes.entry).toString() })),
        path: held.path.map((bytes) => Buffer.from(bytes.text).toString()), pathIds: held.pathMessages.map((message) => message.id), currentUid: held.currentUid, currentId: held.currentId,
      })
      expect(view(made)).toEqual(view(fresh))
      expect(Buffer.concat(describeChatParts({ ...tree, messages: after, chat: { ...tree.chat, currentId } }, (chat) => ({ chat }), made)).toString())
        .toBe(Buffer.from(answerOf({ ...tree, messages: after, chat: { ...tree.chat, currentId } })).toString())
    }), { numRuns })
  }, 60_000)
})

/** resentFrom as it was first written: every held message indexed, and every held id in a set, at the first call. */
function resentIndexingAll(held: HeldChatBytes) {
  let textOf: Map<Message, Uint8Array> | null = null
  let uids: Set<string> | null = null
  const holds = (uid: string) => (uids ??= new Set(held.history.map(({ message }) => message.uid))).has(uid)
  return (message: Message) => {
    const text = (textOf ??= new Map(held.history.map(({ message, bytes }) => [message, bytes.text]))).get(message)
    return text === undefined ? null : readOpenWebUiMessage(message.uid, JSON.parse(new TextDecoder().decode(text)), holds)
  }
}

describe('a held message resent', () => {
  test('is read as when every held message is indexed first, one message or many, held bytes made afresh or after a save (fast-check)', () => {
    fc.assert(fc.property(fc.oneof(heldChat, longHeldChat), fc.array(fc.nat(), { minLength: 1, maxLength: 20 }), fc.boolean(), (tree, picks, afterSave) => {
      let held = heldChatBytes(tree.messages, tree.chat.currentId)
      let messages = tree.messages
      if (afterSave) {
        // note: the last message removed (a leaf: none is a child of a later one) and the first rewritten, as a save leaves them.
        const last = messages.at(-1)!
        const removed = messages.length > 1 && !messages.some((message) => message.parentId === last.id) ? new Set([last.id]) : new Set<MessageId>()
        messages = messages.filter((message) => !removed.has(message.id)).map((message, i) => (i === 0 ? Object.freeze({ ...message, content: `${message.content}!` }) : message))
        const currentId = messages.at(-1)!.id
        held = heldChatBytesAfter(held, new Set([messages[0]!.id]), removed, (id) => messages.find((message) => message.id === id), currentId)
      }
      // note: a message the held bytes do not have (one removed, or a copy) too.
      const candidates = [...messages, ...tree.messages.filter((message) => !messages.includes(message)), Object.freeze({ ...messages[0]! })]
      const resend = resentFrom(held)
      const reference = resentIndexingAll(held)
      for (const pick of picks) {
        const message = candidates[pick % candidates.length]!
        expect(resend(message)).toEqual(reference(message))
      }
    }), { numRuns: 500 })
  }, 60_000)
})
