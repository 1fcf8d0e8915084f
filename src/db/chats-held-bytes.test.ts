import { describe, expect, test } from 'bun:test'
import fc from 'fast-check'
import { pathTo, type ChatTree, type Message } from './chat-tree.ts'
import type { ChatId, MessageId } from './ids.ts'
import { describeChatJson, heldChatBytes, heldChatBytesAdded, heldChatBytesAfter, heldChatBytesSelected, type HeldChatBytes } from './open-webui-chat-description.ts'
import { indexAfresh, indexOf } from './held-history-index.ts'
import { openMemoryStore } from './open-store.ts'

const text = (bytes: Uint8Array) => Buffer.from(bytes).toString('latin1')

/** Everything a save's scan and an answer read of HeldChatBytes, as plain values. */
const shapeOf = (held: HeldChatBytes) => ({
  history: held.history.map((entry) => ({
    message: entry.message, parentUid: entry.parentUid, parentAt: entry.parentAt, childrenIds: [...entry.childrenIds],
    entry: text(entry.bytes.entry), text: text(entry.bytes.text),
  })),
  pathMessages: held.pathMessages, path: held.path.map((bytes) => text(bytes.text)),
  currentUid: held.currentUid, currentId: held.currentId,
})

/** An index kept for the history (held-history-index.ts) equals the one made afresh from it; how many were checked. */
let indexesChecked = 0
const expectIndexAgrees = (held: HeldChatBytes) => {
  const kept = indexOf(held.history)
  if (kept === null) return
  indexesChecked++
  const plain = ({ placeOf, uids, maxId }: ReturnType<typeof indexAfresh>) => ({ placeOf: [...placeOf].sort((a, b) => a[0] - b[0]), uids: [...uids].sort(), maxId })
  expect(plain(kept)).toEqual(plain(indexAfresh(held.history)))
}

/** The bytes made afresh: from copies of the messages, so none of a held message's kept bytes is reused. */
const fresh = (messages: readonly Message[], currentId: MessageId | null) => heldChatBytes(messages.map((message) => ({ ...message })), currentId)

/** One step of a chat's life: a socket turn's writes, a branch selected, a save of the answer with one message changed. */
const step = fc.oneof(
  fc.record({ kind: fc.constant('add' as const), under: fc.option(fc.nat(), { nil: undefined }), isRoot: fc.boolean(), uid: fc.constantFrom(undefined, 'u', '5', '0', '99999999', '__proto__', 'z'), content: fc.constantFrom('hi', 'é😀', '"q"\\') }),
  fc.record({ kind: fc.constant('checkpoint' as const), which: fc.nat(), content: fc.constantFrom('partial', 'done ✓', ''), done: fc.boolean() }),
  fc.record({ kind: fc.constant('select' as const), which: fc.nat() }),
  fc.record({ kind: fc.constant('save' as const), which: fc.nat() }),
  fc.record({ kind: fc.constant('read' as const) }),
)

describe('the answer bytes held with a chat', () => {
  // note: a chat of 40 messages has its held history laid out in one buffer (held-chat-layout.ts), and 40 steps break it enough to lay it out again.
  test.each([[2, 14, 60], [40, 40, 12]])('a chat of %i messages, after any sequence of up to %i turns, selections and saves, equals the bytes made afresh from the chat (fast-check)', async (length, steps_, numRuns) => {
    await fc.assert(fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: steps_ }), async (steps) => {
      const store = openMemoryStore()
      try {
        const made = await store.users.createUser({ email: 'ada@example.com', name: 'Ada', role: 'user' })
        if (!made.ok) throw new Error(made.reason)
        const owner = made.user.id
        const chat = await store.chats.createChat(owner, 'Chat', Array.from({ length }, (_, i) => (i % 2 === 0 ? { role: 'user' as const, content: `question ${i}` } : { role: 'assistant' as const, content: `answer ${i}`, model: 'm' })))
        const check = async () => {
          const read = (await store.chats.readChatTreeBytes(owner, chat.id))!
          const held = read.bytes()
          expect(shapeOf(held)).toEqual(shapeOf(fresh(read.tree.messages, read.tree.chat.currentId)))
          expectIndexAgrees(held)
          // note: a turn's path (chats.openTurn) is the held bytes' own when they select its leaf: it equals the path looked up afresh.
          const turn = (await store.chats.openTurn(owner, chat.id as ChatId, undefined))!
          expect(turn.path ?? []).toEqual(pathTo(read.tree.messages.map((message) => ({ ...message })), read.tree.chat.currentId))
          return read.tree
        }
        let tree: ChatTree = await check()
        for (const next of steps) {
          const pick = (n: number) => tree.messages[n % tree.messages.length]!
          if (next.kind === 'add') {
            const taken = next.uid !== undefined && tree.messages.some((message) => message.uid === next.uid)
            const parentId = next.isRoot ? null : next.under === undefined ? undefined : pick(next.under).id
            await store.chats.addMessage(owner, chat.id, { role: 'user', content: next.content, ...(taken ? {} : { uid: next.uid }), parentId })
          } else if (next.kind === 'checkpoint') {
            await store.chats.replaceMessageContentForUser(owner, chat.id, pick(next.which).id, { content: next.content, status: next.done ? 'done' : 'pending' })
          } else if (next.kind === 'select') {
            await store.chats.setCurrentMessage(owner, chat.id, pick(next.which).id)
          } else if (next.kind === 'save') {
            const target = pick(next.which)
            const body = describeChatJson(tree, (described) => ({ chat: described }))
            const changed = Buffer.from(text(body).replace(`"content":${JSON.stringify(target.content)}`, '"content":"saved"'), 'latin1')
            await store.chats.saveChatBytesForUser(owner, chat.id as ChatId, new Uint8Array(changed), (content) => content)
          }
          tree = await check()
        }
      } finally {
        await store.close()
      }
    }), { numRuns })
  }, 120_000)

  test('the pure steps agree with heldChatBytes made afresh (fast-check)', () => {
    const message = (id: number, parentId: number | null, uid: string): Message => Object.freeze({
      id: id as MessageId, uid, chatId: 'c' as ChatId, parentId: parentId as MessageId | null, role: 'user', model: null, content: `m${id}`, images: null, artifacts: null,
      stats: null, status: null, error: null, usage: null, sources: null, files: null, extra: null, createdAt: id * 1000,
    })
    const uids = fc.constantFrom('a', '3', '10', '0', 'x', '__proto__', '4294967295', '01')
    const checkedBefore = indexesChecked
    fc.assert(fc.property(fc.array(fc.tuple(fc.nat(), uids, fc.boolean()), { minLength: 1, maxLength: 10 }), fc.nat(), fc.nat(), fc.boolean(), (specs, pickParent, pickCurrent, selectNew) => {
      const messages: Message[] = []
      for (const [parent, uid, isRoot] of specs) {
        if (messages.some((held) => held.uid === uid)) continue
        const parentId = isRoot || messages.length === 0 ? null : messages[parent % messages.length]!.id
        messages.push(message(messages.length + 1, parentId, uid))
      }
      const before = heldChatBytes(messages, messages[pickCurrent % messages.length]!.id)
      const added = message(messages.length + 1, messages[pickParent % messages.length]!.id, `n${messages.length}`)
      const numbered = message(messages.length + 1, messages[pickParent % messages.length]!.id, String(messages.length + 1))
      for (const next of [added, numbered]) {
        if (messages.some((held) => held.uid === next.uid)) continue
        const currentId = selectNew ? next.id : before.currentId
        const added = heldChatBytesAdded(before, next, currentId)!
        expect(shapeOf(added)).toEqual(shapeOf(fresh([...messages, next], currentId)))
        expectIndexAgrees(added)
        // note: the index moved on to the newer history; a second append to the same one finds it no longer its own.
        expect(indexOf(before.history)).toBeNull()
      }
      const rewritten = { ...messages[pickParent % messages.length]!, content: 'rewritten' }
      const after = messages.map((held) => (held.id === rewritten.id ? rewritten : held))
      expect(shapeOf(heldChatBytesAfter(before, new Set([rewritten.id]), new Set(), (id) => after.find((held) => held.id === id), before.currentId))).toEqual(shapeOf(fresh(after, before.currentId)))
      // note: a leaf removed (its parent's children change), another message rewritten, the selection kept, moved up the path or elsewhere.
      const leaves = messages.filter((held) => !messages.some((other) => other.parentId === held.id))
      const leaf = leaves[pickCurrent % leaves.length]!
      const left = after.filter((held) => held.id !== leaf.id)
      if (left.length > 0) {
        for (const currentId of [before.currentId, leaf.parentId, left[pickParent % left.length]!.id, before.pathMessages[0]?.id ?? null]) {
          const kept = currentId === leaf.id ? null : currentId
          const rewrites = new Set(leaf.id === rewritten.id ? [] : [rewritten.id])
          const saved = heldChatBytesAfter(before, rewrites, new Set([leaf.id]), (id) => left.find((held) => held.id === id), kept)
          expect(shapeOf(saved)).toEqual(shapeOf(fresh(left, kept)))
          expectIndexAgrees(saved)
        }
      }
      // note: a turn's question added, then a save that rewrites a message and leaves the question out: the index goes through both.
      const grown = heldChatBytesAdded(before, added, added.id)
      if (grown !== null) {
        const saved = heldChatBytesAfter(grown, new Set([rewritten.id]), new Set([added.id]), (id) => after.find((held) => held.id === id), rewritten.id)
        expect(shapeOf(saved)).toEqual(shapeOf(fresh(after, rewritten.id)))
        expectIndexAgrees(saved)
        const again = heldChatBytesAdded(saved, added, added.id)!
        expect(shapeOf(again)).toEqual(shapeOf(fresh([...after, added], added.id)))
        expectIndexAgrees(again)
      }
      const selected = messages[pickParent % messages.length]!.id
      expect(shapeOf(heldChatBytesSelected(before, selected))).toEqual(shapeOf(fresh(messages, selected)))
      // note: a message whose id is not above every held one, or a client id taken, is left to be made afresh.
      expect(heldChatBytesAdded(before, message(1, null, 'other'), null)).toBeNull()
      expect(heldChatBytesAdded(before, message(messages.length + 1, null, messages[0]!.uid), null)).toBeNull()
    }))
    // note: not vacuous: the steps above kept indexes, and each was compared.
    expect(indexesChecked - checkedBefore).toBeGreaterThan(100)
  })
})
