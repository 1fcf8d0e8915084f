/**
 * A message's text round-trips whole through the message rows and everything built from them, a
 * leading U+FEFF included (a default TextDecoder drops one at the start of what it decodes): the
 * chat as created, appended to and rewritten; read, read as history and as a turn's path; the held
 * answer bytes and their history entries; the export's JSON; a save of the answer with the text in it.
 */
import { expect, test } from 'bun:test'
import fc from 'fast-check'
import type { ChatId, MessageId } from './ids.ts'
import { describeChatJson } from './open-webui-chat-description.ts'
import { openMemoryStore } from './open-store.ts'

const BOM = '\uFEFF'
/** Any text, half of them with a leading U+FEFF (some with two). */
const textArb = fc.tuple(fc.constantFrom('', BOM, BOM + BOM), fc.string({ unit: 'binary', maxLength: 200 })).map(([head, rest]) => head + rest)

test('property: any text, with or without a leading U+FEFF, round-trips equal through append, read, history, held bytes, export and save', async () => {
  await fc.assert(fc.asyncProperty(textArb, textArb, textArb, textArb, fc.boolean(), async (first, appended, rewritten, saved, withModel) => {
    const store = openMemoryStore()
    try {
      const made = await store.users.createUser({ email: 'ada@example.com', name: 'Ada', role: 'user' })
      if (!made.ok) throw new Error(made.reason)
      const owner = made.user.id
      const chat = await store.chats.createChat(owner, 'Chat', [{ role: 'user', content: first }])
      const chatId = chat.id as ChatId
      const added = (await store.chats.addMessage(owner, chatId, { role: 'assistant', content: appended, ...(withModel ? { model: 'm' } : {}) }))!
      expect(added.content).toBe(appended)
      const expected = [first, appended]
      const contentsOf = (messages: readonly { content: string }[]) => messages.map((message) => message.content)

      const check = async () => {
        expect(contentsOf(await store.chats.listMessagesInChat(owner, chatId))).toEqual(expected)
        expect(contentsOf(await store.chats.listCurrentPath(owner, chatId))).toEqual(expected)
        expect(contentsOf((await store.chats.openTurn(owner, chatId, undefined))!.path!)).toEqual(expected)
        const read = (await store.chats.readChatTreeBytes(owner, chatId))!
        expect(contentsOf(read.tree.messages)).toEqual(expected)
        const held = read.bytes()
        expect(held.history.map((entry) => JSON.parse(Buffer.from(entry.bytes.text).toString('utf8')).content)).toEqual(expected)
        expect(contentsOf(held.pathMessages)).toEqual(expected)
        const exported = JSON.parse(describeChatJson(read.tree, (described) => ({ chat: described })).toString('utf8'))
        expect(Object.values(exported.chat.history.messages).map((message) => (message as { content: string }).content)).toEqual(expected)
        expect(exported.chat.messages.map((message: { content: string }) => message.content)).toEqual(expected)
        return read.tree
      }
      await check()
      // a rewrite (an answer checkpointed), then read again, from the held copy and afresh
      expect(await store.chats.replaceMessageContentForUser(owner, chatId, added.id as MessageId, { content: rewritten, status: 'done' })).toBe(true)
      expected[1] = rewritten
      const tree = await check()
      store.chats.forgetChat(owner, chatId)
      await check()
      // a save of the answer's bytes with the first message's text changed: the scan reads the text as sent
      const body = JSON.parse(describeChatJson(tree, (described) => ({ chat: described })).toString('utf8'))
      const firstUid = tree.messages[0]!.uid
      body.chat.history.messages[firstUid].content = saved
      for (const message of body.chat.messages) if (message.id === firstUid) message.content = saved
      const result = await store.chats.saveChatBytesForUser(owner, chatId, new Uint8Array(Buffer.from(JSON.stringify(body), 'utf8')), (content) => content)
      expect(result).not.toBeNull()
      expected[0] = saved
      await check()
      store.chats.forgetChat(owner, chatId)
      await check()
    } finally {
      await store.close()
    }
  }), { numRuns: 40 })
}, 120_000)
