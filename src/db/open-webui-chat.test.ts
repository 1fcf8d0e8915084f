import { describe, expect, test } from 'bun:test'
import fc from 'fast-check'
import type { ChatId, MessageId, UserId } from './ids.ts'
import type { ChatTree, Message, SavedMessage } from './chat-tree.ts'
import { readOpenWebUiChat } from './open-webui-chat.ts'
import { describeChatJson, describeChatObject } from './open-webui-chat-description.ts'

/** Stores a read tree the way the repository does (ids in order, parents first), without a database. */
function storedFrom(messages: readonly SavedMessage[], currentUid: string | null | undefined, settings: ChatTree['settings']): ChatTree {
  const idOf = new Map(messages.map((message, i) => [message.uid, (i + 1) as MessageId]))
  const stored: Message[] = messages.map((message) => ({
    id: idOf.get(message.uid)!, uid: message.uid, chatId: 'c' as ChatId, parentId: message.parentUid === null ? null : idOf.get(message.parentUid)!,
    role: message.role, content: message.content, model: message.model ?? null, images: message.images ?? null, artifacts: null, stats: null,
    status: message.status ?? null, error: message.error ?? null, usage: message.usage ?? null, sources: message.sources ?? null,
    files: message.files ?? null, extra: message.extra ?? null, createdAt: message.createdAt ?? 0,
  }))
  const chat = { id: 'c' as ChatId, userId: 'u' as UserId, title: 't', pinned: false, archived: false, folderId: null, currentId: currentUid ? idOf.get(currentUid)! : null, createdAt: 0, updatedAt: 0 }
  return { chat, settings, messages: stored }
}

const uid = fc.stringMatching(/^[A-Za-z0-9_.:-]{1,20}$/).filter((id) => id !== '__proto__')
const extraValue = fc.jsonValue({ maxDepth: 2 })
const message = fc.record({
  role: fc.constantFrom('user', 'assistant', 'system'),
  content: fc.string({ maxLength: 30 }),
  timestamp: fc.integer({ min: 0, max: 2_000_000_000 }),
  model: fc.option(fc.string({ maxLength: 10 }), { nil: undefined }),
  done: fc.option(fc.boolean(), { nil: undefined }),
  usage: fc.option(fc.dictionary(fc.string({ maxLength: 5 }), fc.integer()), { nil: undefined }),
  x_field: fc.option(extraValue, { nil: undefined }),
  statusHistory: fc.option(fc.array(extraValue, { maxLength: 3 }), { nil: undefined }),
}, { requiredKeys: ['role', 'content', 'timestamp'] })

/** A history of up to 12 messages: each one's parent is an earlier message or none; children listed in order. */
const history = fc.uniqueArray(uid, { minLength: 0, maxLength: 12 }).chain((ids) => fc.tuple(
  fc.constant(ids),
  fc.array(fc.nat(), { minLength: ids.length, maxLength: ids.length }),
  fc.array(message, { minLength: ids.length, maxLength: ids.length }),
  fc.nat(),
)).map(([ids, parents, bodies, current]) => {
  const messages: Record<string, Record<string, unknown>> = {}
  ids.forEach((id, i) => {
    const parentAt = parents[i]! % (i + 1)
    const parentId = parentAt === i ? null : ids[parentAt]!
    messages[id] = { id, parentId, childrenIds: [], ...JSON.parse(JSON.stringify(bodies[i])) }
    if (parentId !== null) (messages[parentId]!.childrenIds as string[]).push(id)
  })
  return { messages, currentId: ids.length === 0 ? null : ids[current % ids.length]! }
})

describe("Open WebUI's chat object", () => {
  test('any valid history reads and describes back exactly (fast-check)', () => {
    fc.assert(fc.property(history, (sent) => {
      const read = readOpenWebUiChat({ history: sent, models: ['m'], params: { temperature: 0.5 }, system: 'sys', files: [1] })
      if (!read.ok) throw new Error(read.detail)
      const messages = read.content.messages!
      if (messages.kind !== 'tree') throw new Error('a history reads as a tree')
      const described = describeChatObject(storedFrom(messages.messages, messages.currentUid, { models: ['m'], params: { temperature: 0.5 }, system: 'sys', tags: null, extra: read.content.settings!.extra! }))
      expect(described.history).toEqual(sent)
      expect(described).toMatchObject({ models: ['m'], params: { temperature: 0.5 }, system: 'sys', files: [1] })
    }), { numRuns: 300 })
  })

  test('a cycle anywhere is refused, however long', () => {
    const ring = (n: number) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`m${i}`, { id: `m${i}`, parentId: `m${(i + 1) % n}`, role: 'user', content: '' }]))
    for (const n of [2, 3, 50]) expect(readOpenWebUiChat({ history: { messages: ring(n), currentId: 'm0' } })).toMatchObject({ ok: false, code: 'cycle' })
    const rooted = { root: { id: 'root', parentId: null, role: 'user', content: '' }, ...ring(3) }
    expect(readOpenWebUiChat({ history: { messages: rooted, currentId: 'root' } })).toMatchObject({ ok: false, code: 'cycle' })
  })

  test('a list without history is a single branch; ids are kept', () => {
    const read = readOpenWebUiChat({ messages: [{ id: 'a', role: 'user', content: 'q' }, { role: 'assistant', content: 'r', done: true }] })
    expect(read).toMatchObject({ ok: true, content: { messages: { kind: 'list', messages: [{ uid: 'a', content: 'q' }, { uid: null, content: 'r', status: 'done' }] } } })
  })
})

test('a branch of 10,000 messages reads without a deep stack; 10,001 is too many', () => {
  const chain = (n: number) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`m${i}`, { id: `m${i}`, parentId: i === 0 ? null : `m${i - 1}`, role: 'user', content: '' }]))
  const read = readOpenWebUiChat({ history: { messages: chain(10_000), currentId: 'm9999' } })
  expect(read.ok && read.content.messages?.messages.length).toBe(10_000)
  expect(readOpenWebUiChat({ history: { messages: chain(10_001), currentId: 'm0' } })).toMatchObject({ ok: false, code: 'too_large' })
})

describe('the chat object as JSON text, each message serialised once', () => {
  const wrap = (chat: unknown) => ({ id: 'c', chat, meta: {} })
  const treeOf = (sent: { messages: Record<string, Record<string, unknown>>; currentId: string | null }, extra: Record<string, unknown>) => {
    const read = readOpenWebUiChat({ history: sent, models: ['m'], ...extra })
    if (!read.ok) throw new Error(read.detail)
    const messages = read.content.messages!
    if (messages.kind !== 'tree') throw new Error('a history reads as a tree')
    return storedFrom(messages.messages, messages.currentUid, { models: ['m'], params: null, system: null, tags: null, extra: read.content.settings!.extra! })
  }

  test('is exactly the text of the described object, key order included (fast-check)', () => {
    const extra = fc.dictionary(fc.constantFrom('history', 'messages', 'files', 'x', '1', 'enclave-message-'), extraValue, { maxKeys: 4 })
    fc.assert(fc.property(history, extra, (sent, settings) => {
      // note: set on the stored tree, since a client's `history` or `messages` is never kept as an other field.
      const read = treeOf(sent, {})
      const tree = { ...read, settings: { ...read.settings, extra: settings } }
      expect(describeChatJson(tree, wrap).toString('utf8')).toBe(JSON.stringify(wrap(describeChatObject(tree))))
    }), { numRuns: 300 })
  })

  test('ids that are array indexes come first, ascending, as JSON.stringify puts them', () => {
    const ids = ['10', '2', 'a', '0', '01', '4294967295', '4294967294', '99999999999', '3']
    const messages = Object.fromEntries(ids.map((id) => [id, { id, parentId: null, childrenIds: [], role: 'user', content: id, timestamp: 1 }]))
    const tree = treeOf({ messages, currentId: '3' }, {})
    expect(describeChatJson(tree, wrap).toString('utf8')).toBe(JSON.stringify(wrap(describeChatObject(tree))))
  })

  test('stored text that looks like a mark stays text', () => {
    const tree = treeOf({ messages: { a: { id: 'a', parentId: null, childrenIds: [], role: 'user', content: 'enclave-message-0', timestamp: 1 } }, currentId: 'a' }, { title: 'enclave-message-0' })
    expect(JSON.parse(describeChatJson(tree, wrap).toString('utf8'))).toEqual(JSON.parse(JSON.stringify(wrap(describeChatObject(tree)))))
  })
})

test("a message's other fields named like Object.prototype's (__proto__, constructor, toString) are kept as its own fields", () => {
  const message = JSON.parse('{"id":"m1","parentId":null,"role":"user","content":"hi","__proto__":{"polluted":true},"constructor":"c","toString":1,"modelName":"M"}')
  const read = readOpenWebUiChat({ history: { messages: { m1: message }, currentId: 'm1' } })
  if (!read.ok || read.content.messages?.kind !== 'tree') throw new Error('not read')
  const extra = read.content.messages.messages[0]!.extra!
  expect(Object.getPrototypeOf(extra)).toBe(Object.prototype)
  expect(Object.keys(extra).sort()).toEqual(['__proto__', 'constructor', 'modelName', 'toString'])
  expect(Object.getOwnPropertyDescriptor(extra, '__proto__')!.value).toEqual({ polluted: true })
  expect(({} as Record<string, unknown>).polluted).toBeUndefined()
})
