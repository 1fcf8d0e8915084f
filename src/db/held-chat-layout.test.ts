/**
 * The held answer bytes of a chat that only gets socket turns (held-chat-layout.ts): each time they
 * are laid out again, only the part from the first message described apart is copied, with the
 * buffers just before it no larger than it; the bytes stay those made afresh, the answer joined
 * from the runs is the answer made afresh, and the buffers stay few.
 */
import { expect, test } from 'bun:test'
import { pathTo } from './chat-tree.ts'
import type { ChatId } from './ids.ts'
import { describeChatJson, describeChatParts, heldChatBytes, type HeldChatBytes } from './open-webui-chat-description.ts'
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
