/**
 * The held answer bytes of a chat that only gets socket turns (held-chat-layout.ts): each time they
 * are laid out again, only the part from the first message described apart is copied, with the
 * buffers just before it no larger than it; the bytes stay those made afresh, the answer joined
 * from the runs is the answer made afresh, and the buffers stay few.
 */
import { expect, test } from 'bun:test'
import fc from 'fast-check'
import { pathTo, type Message } from './chat-tree.ts'
import { laidOutBytes, laidOutPathBytes, laidOutPathRun, laidOutRun } from './held-chat-layout.ts'
import type { ChatId, MessageId } from './ids.ts'
import {
  describeChatJson, describeChatParts, heldChatBytes, heldChatBytesAdded, heldChatBytesAfter, heldChatBytesSelected, type HeldChatBytes,
} from './open-webui-chat-description.ts'
import { openMemoryStore } from './open-store.ts'

const text = (bytes: Uint8Array) => Buffer.from(bytes).toString('latin1')
const wrap = (chat: unknown) => ({ chat })

/** The buffers the history's entries are views of, in order of first use. */
const buffersOf = (held: HeldChatBytes) => [...new Set(held.history.map(({ bytes }) => bytes.whole))]
const pathBuffersOf = (held: HeldChatBytes) => [...new Set(held.path.map((bytes) => bytes.whole))]

test('a chat that only gets socket turns lays out again only its newest part, and its bytes stay those made afresh', async () => {
  const store = openMemoryStore()
  try {
    const made = await store.users.createUser({ email: 'ada@example.com', name: 'Ada', role: 'user' })
    if (!made.ok) throw new Error(made.reason)
    const owner = made.user.id
    const length = 300
    const chat = await store.chats.createChat(owner, 'Chat', Array.from({ length }, (_, i) => (i % 2 === 0 ? { role: 'user' as const, content: `question ${i} é😀` } : { role: 'assistant' as const, content: `answer ${i}`, model: 'm' })))
    const first = (await store.chats.readChatTreeBytes(owner, chat.id))!.bytes()
    const [oldest] = buffersOf(first)
    const [oldestPath] = pathBuffersOf(first)
    let laidOutAgain = 0
    let before = first
    for (let turn = 0; turn < 120; turn++) {
      // note: a socket turn's writes: the question under the selected leaf, then the answer under it, then its final text.
      const question = (await store.chats.addMessage(owner, chat.id, { role: 'user', content: `more ${turn}` }))!
      const answer = (await store.chats.addMessage(owner, chat.id, { role: 'assistant', content: '', model: 'm', parentId: question.id }))!
      await store.chats.replaceMessageContentForUser(owner, chat.id, answer.id, { content: `answer ${turn} ✓`, status: 'done' })
      const read = (await store.chats.readChatTreeBytes(owner, chat.id))!
      const held = read.bytes()
      const afresh = heldChatBytes(read.tree.messages.map((message) => ({ ...message })), read.tree.chat.currentId)
      expect(held.history.map(({ bytes }) => text(bytes.entry))).toEqual(afresh.history.map(({ bytes }) => text(bytes.entry)))
      expect(held.path.map((bytes) => text(bytes.text))).toEqual(afresh.path.map((bytes) => text(bytes.text)))
      expect(held.pathMessages.map(({ id }) => id)).toEqual(pathTo(read.tree.messages, read.tree.chat.currentId).map(({ id }) => id))
      // note: the answer joined from the runs of several buffers is the one made afresh.
      expect(text(Buffer.concat(describeChatParts(read.tree, wrap, held)))).toBe(text(describeChatJson(read.tree, wrap)))
      if (buffersOf(held).length !== buffersOf(before).length || buffersOf(held).some((whole, i) => whole !== buffersOf(before)[i])) laidOutAgain++
      // note: the 300 messages' buffer is never copied again while what came after is smaller than it; the buffers after it stay few (a binary counter's).
      expect(buffersOf(held)[0]).toBe(oldest)
      expect(pathBuffersOf(held)[0]).toBe(oldestPath)
      expect(buffersOf(held).filter((whole) => whole !== undefined).length).toBeLessThanOrEqual(8)
      before = held
    }
    // note: not vacuous: the held bytes were laid out again, every ~eighth turn.
    expect(laidOutAgain).toBeGreaterThan(10)
    // note: a save that changes the oldest message after all this still reads against the held bytes and answers what the chat holds.
    const read = (await store.chats.readChatTreeBytes(owner, chat.id))!
    const body = text(describeChatJson(read.tree, wrap)).replaceAll(text(Buffer.from('"content":"question 0 é😀"')), '"content":"saved"')
    await store.chats.saveChatBytesForUser(owner, chat.id as ChatId, new Uint8Array(Buffer.from(body, 'latin1')), (content) => content)
    const saved = (await store.chats.readChatTreeBytes(owner, chat.id))!
    expect(saved.tree.messages[0]!.content).toBe('saved')
    expect(text(Buffer.concat(describeChatParts(saved.tree, wrap, saved.bytes())))).toBe(text(describeChatJson({ ...saved.tree, messages: saved.tree.messages.map((message) => ({ ...message })) }, wrap)))
  } finally {
    await store.close()
  }
})

/** The history's and the path's bytes as an answer joins them: each run of one buffer at once (laidOutRun), a comma between runs. */
const joined = (held: HeldChatBytes) => {
  const history: string[] = []
  for (let i = 0, count = 0; i < held.history.length; i += count) {
    count = laidOutRun(held.history, i, held.history.length)
    history.push(text(count === 1 ? held.history[i]!.bytes.entry : laidOutBytes(held.history, i, count)))
  }
  const path: string[] = []
  for (let i = 0, count = 0; i < held.path.length; i += count) {
    count = laidOutPathRun(held.path, i, held.path.length)
    path.push(text(count === 1 ? held.path[i]!.text : laidOutPathBytes(held.path, i, count)))
  }
  return { history: history.join(','), path: path.join(',') }
}

test('after any sequence of appends (mostly at the selected leaf), rewrites, removals from the end and selections, the runs join to the bytes made afresh (fast-check)', () => {
  const message = (id: number, parentId: number | null, content: string): Message => Object.freeze({
    id: id as MessageId, uid: String(id), chatId: 'c' as ChatId, parentId: parentId as MessageId | null, role: 'user', model: null, content, images: null, artifacts: null,
    stats: null, status: null, error: null, usage: null, sources: null, files: null, extra: null, createdAt: id * 1000,
  })
  const step = fc.oneof(
    { weight: 12, arbitrary: fc.record({ kind: fc.constant('turn' as const), content: fc.constantFrom('q', 'é😀', '"a"\\') }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('add' as const), under: fc.nat() }) },
    { weight: 2, arbitrary: fc.record({ kind: fc.constant('rewrite' as const), which: fc.nat(), last: fc.boolean() }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('cut' as const) }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('select' as const), which: fc.nat() }) },
  )
  let tails = 0
  fc.assert(fc.property(fc.integer({ min: 1, max: 60 }), fc.array(step, { minLength: 20, maxLength: 90 }), (length, steps) => {
    let messages = Array.from({ length }, (_, i) => message(i + 1, i === 0 ? null : i, `m${i + 1}`))
    let currentId: MessageId | null = messages.at(-1)!.id
    let held = heldChatBytes(messages, currentId)
    let next = length + 1
    for (const s of steps) {
      const before = held
      if (s.kind === 'turn' || s.kind === 'add') {
        const parentId = s.kind === 'turn' ? currentId : messages[s.under % messages.length]!.id
        const added = message(next++, parentId, s.kind === 'turn' ? s.content : 'x')
        messages = [...messages, added]
        currentId = added.id
        held = heldChatBytesAdded(held, added, currentId) ?? heldChatBytes(messages, currentId)
      } else if (s.kind === 'rewrite') {
        const target = s.last ? messages.at(-1)! : messages[s.which % messages.length]!
        const rewritten = message(target.id, target.parentId, `${target.content}!`)
        messages = messages.map((held) => (held.id === target.id ? rewritten : held))
        held = heldChatBytesAfter(held, new Set([target.id]), new Set(), (id) => messages.find((held) => held.id === id), currentId)
      } else if (s.kind === 'cut') {
        const last = messages.at(-1)!
        if (messages.length < 2 || messages.some((held) => held.parentId === last.id)) continue
        messages = messages.slice(0, -1)
        if (currentId === last.id) currentId = last.parentId
        held = heldChatBytesAfter(held, new Set(), new Set([last.id]), (id) => messages.find((held) => held.id === id), currentId)
      } else {
        currentId = messages[s.which % messages.length]!.id
        held = heldChatBytesSelected(held, currentId)
      }
      const afresh = heldChatBytes(messages.map((held) => ({ ...held })), currentId)
      expect(joined(held)).toEqual(joined(afresh))
      expect(held.history.map(({ bytes }) => text(bytes.entry))).toEqual(afresh.history.map(({ bytes }) => text(bytes.entry)))
      // note: laid out again from a message past the first: the older buffers kept (not vacuous).
      if (held.history.length > 0 && before.history.length > 0 && held.history[0]!.bytes.whole !== undefined && held.history[0]!.bytes.whole === before.history[0]!.bytes.whole
        && held.history.at(-1)!.bytes.whole !== undefined && held.history.at(-1)!.bytes.whole !== before.history.at(-1)!.bytes.whole) tails++
    }
  }), { numRuns: 150 })
  expect(tails).toBeGreaterThan(10)
})
