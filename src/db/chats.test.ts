import { describe, expect, test } from 'bun:test'
import fc from 'fast-check'
import { createDataKeyRotator } from './data-key-rotation.ts'
import { newChatId, type ChatId, type MessageId } from './ids.ts'
import { openMemoryStore, type Store } from './open-store.ts'

async function setup() {
  let time = 1_700_000_000_000
  const store = openMemoryStore(undefined, () => time)
  const user = async (email: string) => {
    const result = await store.users.createUser({ email, name: email, role: 'user' })
    if (!result.ok) throw new Error(result.reason)
    return result.user
  }
  return { store, ada: await user('ada@example.com'), eve: await user('eve@example.com'), advance: (ms: number) => { time += ms } }
}

const page = { limit: 100, offset: 0 }
const messages = async (store: Store, owner: Parameters<Store['chats']['listMessagesInChat']>[0], chatId: ChatId) =>
  await store.chats.listMessagesInChat(owner, chatId)

describe('chats', () => {
  test('create, find, list and rename for the owner', async () => {
    const { store, ada, advance } = await setup()
    const chat = await store.chats.createChat(ada.id, 'First chat')
    expect(chat).toMatchObject({ userId: ada.id, title: 'First chat', pinned: false, archived: false })
    expect(await store.chats.findChatForUser(ada.id, chat.id)).toEqual(chat)
    advance(10)
    expect(await store.chats.renameChat(ada.id, chat.id, 'Renamed 🛡️')).toBe(true)
    expect(await store.chats.findChatForUser(ada.id, chat.id)).toEqual({ ...chat, title: 'Renamed 🛡️', updatedAt: chat.createdAt + 10 })
  })

  test('startChat creates the chat with its first message and returns both, as stored; search finds it', async () => {
    const { store, ada, eve } = await setup()
    const id = newChatId()
    const { chat, message } = await store.chats.startChat(ada.id, id, 'Trip plans', { role: 'user', content: 'Which way up Kilimanjaro?', images: ['aW1n'] })
    expect(chat.id).toBe(id)
    expect(await store.chats.findChatForUser(ada.id, chat.id)).toEqual(chat)
    expect(await messages(store, ada.id, chat.id)).toEqual([message])
    expect(message).toMatchObject({ chatId: chat.id, parentId: null, role: 'user', content: 'Which way up Kilimanjaro?', images: ['aW1n'] })
    expect((await store.chats.searchChatsForUser(ada.id, 'kilimanjaro', page)).map(({ id }) => id)).toEqual([chat.id])
    expect(await store.chats.searchChatsForUser(eve.id, 'kilimanjaro', page)).toEqual([])
  })

  test('lists the most recently updated first, in pages', async () => {
    const { store, ada, advance } = await setup()
    const createLater = async (title: string) => {
      advance(1000)
      return await store.chats.createChat(ada.id, title)
    }
    const a = await createLater('a')
    const b = await createLater('b')
    const c = await createLater('c')
    advance(1000)
    await store.chats.addMessage(ada.id, a.id, { role: 'user', content: 'bump' })
    expect((await store.chats.listChatsForUser(ada.id, page)).map((chat) => chat.id)).toEqual([a.id, c.id, b.id])
    expect((await store.chats.listChatsForUser(ada.id, { limit: 1, offset: 1 })).map((chat) => chat.title)).toEqual(['c'])
  })

  test('delete removes the chat and its messages', async () => {
    const { store, ada } = await setup()
    const chat = await store.chats.createChat(ada.id, 'gone soon')
    await store.chats.addMessage(ada.id, chat.id, { role: 'user', content: 'x' })
    expect(await store.chats.deleteChatForUser(ada.id, chat.id)).toBe(true)
    expect(await store.chats.findChatForUser(ada.id, chat.id)).toBeNull()
    expect(store.db.query('SELECT count(*) AS n FROM message').get()).toEqual({ n: 0 })
    expect(await store.chats.deleteChatForUser(ada.id, chat.id)).toBe(false)
  })

  test('an unknown chat id finds null', async () => {
    const { store, ada } = await setup()
    expect(await store.chats.findChatForUser(ada.id, crypto.randomUUID() as ChatId)).toBeNull()
    expect(await store.chats.addMessage(ada.id, crypto.randomUUID() as ChatId, { role: 'user', content: 'x' })).toBeNull()
  })
})

describe("another user's chat is out of reach", () => {
  test.each<[string, (store: Store, eve: Awaited<ReturnType<typeof setup>>['eve'], chatId: ChatId) => unknown, unknown]>([
    ['findChatForUser is null', async (store, eve, id) => await store.chats.findChatForUser(eve.id, id), null],
    ['renameChat is false', async (store, eve, id) => await store.chats.renameChat(eve.id, id, 'pwned'), false],
    ['deleteChatForUser is false', async (store, eve, id) => await store.chats.deleteChatForUser(eve.id, id), false],
    ['addMessage is null', async (store, eve, id) => await store.chats.addMessage(eve.id, id, { role: 'user', content: 'pwned' }), null],
    ['listMessagesInChat is empty', async (store, eve, id) => await store.chats.listMessagesInChat(eve.id, id), []],
    ['listChatsForUser does not show it', async (store, eve) => await store.chats.listChatsForUser(eve.id, page), []],
  ])('%s', async (_, act, result) => {
    const { store, ada, eve } = await setup()
    const chat = await store.chats.createChat(ada.id, 'private')
    await store.chats.addMessage(ada.id, chat.id, { role: 'user', content: 'secret' })
    expect(await act(store, eve, chat.id)).toEqual(result)
    expect((await store.chats.findChatForUser(ada.id, chat.id))?.title).toBe('private')
    expect((await messages(store, ada.id, chat.id)).map((message) => message.content)).toEqual(['secret'])
  })
})

describe('messages', () => {
  test('come back in order, with increasing ids and every field', async () => {
    const { store, ada, advance } = await setup()
    const chat = await store.chats.createChat(ada.id, 'chat')
    const first = (await store.chats.addMessage(ada.id, chat.id, { role: 'user', content: 'Why is the sky blue?' }))!
    advance(1)
    const second = (await store.chats.addMessage(ada.id, chat.id, {
      role: 'assistant', content: 'Rayleigh scattering.', parentId: first.id, model: 'llama3:8b',
      images: ['data:image/png;base64,AAAA', { url: 'x' }], artifacts: { code: 'print(1)' },
      stats: { eval_count: 12, total_duration: 3.5, nested: { ok: true, list: [1, 'two', null] } },
    }))!
    expect(second.id).toBeGreaterThan(first.id)
    expect(await messages(store, ada.id, chat.id)).toEqual([first, second])
    expect(first).toMatchObject({ parentId: null, model: null, images: null, artifacts: null, stats: null, chatId: chat.id })
  })

  test('ids only grow, across chats and deletions', async () => {
    const { store, ada } = await setup()
    const ids: MessageId[] = []
    for (let round = 0; round < 3; round++) {
      const chat = await store.chats.createChat(ada.id, `chat ${round}`)
      for (let i = 0; i < 5; i++) ids.push((await store.chats.addMessage(ada.id, chat.id, { role: 'user', content: `${i}` }))!.id)
      await store.chats.deleteChatForUser(ada.id, chat.id)
    }
    expect(ids).toEqual([...ids].sort((a, b) => a - b))
    expect(new Set(ids).size).toBe(ids.length)
  })

  test.each([
    ['empty', ''],
    ['unicode', 'Grüße, 世界! 🛡️ \u0000 \u202e نص'],
    ['1 MB', 'x'.repeat(1024 * 1024)],
    ['1 MB of multi-byte text', '漢'.repeat(350_000)],
  ])('%s content round-trips', async (_, content) => {
    const { store, ada } = await setup()
    const chat = await store.chats.createChat(ada.id, content)
    await store.chats.addMessage(ada.id, chat.id, { role: 'user', content })
    expect((await store.chats.findChatForUser(ada.id, chat.id))?.title).toBe(content)
    expect((await messages(store, ada.id, chat.id))[0]?.content).toBe(content)
  })

  test('images and stats round-trip any JSON (fast-check)', async () => {
    const { store, ada } = await setup()
    const chat = await store.chats.createChat(ada.id, 'json')
    await fc.assert(fc.asyncProperty(fc.array(fc.jsonValue()), fc.dictionary(fc.string(), fc.jsonValue()), async (images, stats) => {
      const message = (await store.chats.addMessage(ada.id, chat.id, { role: 'assistant', content: 'x', images, stats }))!
      const stored = (await messages(store, ada.id, chat.id)).find((found) => found.id === message.id)
      expect(stored?.images).toEqual(JSON.parse(JSON.stringify(images)))
      expect(stored?.stats).toEqual(JSON.parse(JSON.stringify(stats)))
    }), { numRuns: 30 })
  })
})

describe('replaceMessageContentForUser', () => {
  test('rewrites one message of the owner\'s chat, leaves the others, and search sees the new text', async () => {
    const { store, ada } = await setup()
    const chat = await store.chats.createChat(ada.id, 'Plans', [{ role: 'user', content: 'hello' }])
    const answer = (await store.chats.addMessage(ada.id, chat.id, { role: 'assistant', content: 'partial wor', stats: { partial: true } }))!
    expect(await store.chats.searchChatsForUser(ada.id, 'partial', page)).toHaveLength(1)
    expect(await store.chats.replaceMessageContentForUser(ada.id, chat.id, answer.id, { content: 'finished words', stats: { evalCount: 2 } })).toBe(true)
    expect((await messages(store, ada.id, chat.id)).map(({ content, stats }) => [content, stats])).toEqual([['hello', null], ['finished words', { evalCount: 2 }]])
    expect(await store.chats.searchChatsForUser(ada.id, 'finished', page)).toHaveLength(1)
    expect(await store.chats.searchChatsForUser(ada.id, 'partial', page)).toHaveLength(0)
  })

  test('a rewrite reads only its own chat again at the next search; the rest of the index is kept, not rebuilt', async () => {
    const { store, ada } = await setup()
    const chat = await store.chats.createChat(ada.id, 'Plans', [{ role: 'user', content: 'hello' }])
    const answer = (await store.chats.addMessage(ada.id, chat.id, { role: 'assistant', content: 'partial wor', stats: { partial: true } }))!
    const other = await store.chats.createChat(ada.id, 'Other', [{ role: 'user', content: 'untouched words' }])
    expect((await store.chats.searchChatsForUser(ada.id, 'words', page)).map(({ id }) => id)).toEqual([other.id])
    // note: another chat's stored text made unreadable: a rebuild of the whole index would fail on it.
    const [otherMessage] = await messages(store, ada.id, other.id)
    store.db.query('UPDATE message SET content = ? WHERE id = ?').run(new Uint8Array(64), otherMessage!.id)
    for (const content of ['partial words', 'finished words']) {
      expect(await store.chats.replaceMessageContentForUser(ada.id, chat.id, answer.id, { content, stats: null })).toBe(true)
    }
    expect((await store.chats.searchChatsForUser(ada.id, 'words', page)).map(({ id }) => id).sort()).toEqual([chat.id, other.id].sort())
    expect(await store.chats.searchChatsForUser(ada.id, 'partial', page)).toEqual([])
    expect((await store.chats.searchChatsForUser(ada.id, 'finished', page)).map(({ id }) => id)).toEqual([chat.id])
  })

  test('a chat rewritten and then deleted before the next search is not found', async () => {
    const { store, ada } = await setup()
    const chat = await store.chats.createChat(ada.id, 'Plans', [{ role: 'assistant', content: 'partial' }])
    const [answer] = await messages(store, ada.id, chat.id)
    expect(await store.chats.searchChatsForUser(ada.id, 'partial', page)).toHaveLength(1)
    await store.chats.replaceMessageContentForUser(ada.id, chat.id, answer!.id, { content: 'finished', stats: null })
    expect(await store.chats.deleteChatForUser(ada.id, chat.id)).toBe(true)
    expect(await store.chats.searchChatsForUser(ada.id, 'finished', page)).toEqual([])
  })

  test.each([
    ['another user', 'eve', 'own chat', 'own message'],
    ['a chat id that is not the message\'s', 'ada', 'other chat', 'own message'],
    ['an unknown message id', 'ada', 'own chat', 'unknown message'],
  ] as const)('%s rewrites nothing', async (_, who, whichChat, whichMessage) => {
    const { store, ada, eve } = await setup()
    const chat = await store.chats.createChat(ada.id, 'Plans')
    const other = await store.chats.createChat(ada.id, 'Other')
    const answer = (await store.chats.addMessage(ada.id, chat.id, { role: 'assistant', content: 'kept' }))!
    const owner = who === 'eve' ? eve.id : ada.id
    const chatId = whichChat === 'own chat' ? chat.id : other.id
    const messageId = whichMessage === 'own message' ? answer.id : (answer.id + 1000) as MessageId
    expect(await store.chats.replaceMessageContentForUser(owner, chatId, messageId, { content: 'taken', stats: null })).toBe(false)
    expect((await messages(store, ada.id, chat.id)).map((message) => message.content)).toEqual(['kept'])
  })
})

describe('message trees', () => {
  test('addMessage goes under the selected leaf, or the parent given, and selects the new message', async () => {
    const { store, ada, eve } = await setup()
    const chat = await store.chats.createChat(ada.id, 'tree')
    const question = (await store.chats.addMessage(ada.id, chat.id, { role: 'user', content: 'q' }))!
    const first = (await store.chats.addMessage(ada.id, chat.id, { role: 'assistant', content: 'a1', status: 'done' }))!
    expect(first.parentId).toBe(question.id)
    const regenerated = (await store.chats.addMessage(ada.id, chat.id, { role: 'assistant', content: 'a2', parentId: question.id, status: 'done' }))!
    expect(regenerated.parentId).toBe(question.id)
    expect((await store.chats.findChatForUser(ada.id, chat.id))?.currentId).toBe(regenerated.id)
    expect((await store.chats.listCurrentPath(ada.id, chat.id)).map((message) => message.content)).toEqual(['q', 'a2'])
    const edited = (await store.chats.addMessage(ada.id, chat.id, { role: 'user', content: 'q, edited', parentId: null }))!
    expect(edited.parentId).toBeNull()
    expect((await store.chats.listCurrentPath(ada.id, chat.id)).map((message) => message.content)).toEqual(['q, edited'])

    expect(await store.chats.setCurrentMessage(ada.id, chat.id, first.id)).toBe(true)
    expect((await store.chats.listCurrentPath(ada.id, chat.id)).map((message) => message.content)).toEqual(['q', 'a1'])
    expect(await store.chats.setCurrentMessage(eve.id, chat.id, first.id)).toBe(false)
    expect(await store.chats.setCurrentMessage(ada.id, chat.id, 999_999 as MessageId)).toBe(false)
    expect(await store.chats.addMessage(ada.id, chat.id, { role: 'user', content: 'x', parentId: 999_999 as MessageId })).toBeNull()
    expect(await store.chats.findMessageIdByUid(ada.id, chat.id, first.uid)).toBe(first.id)
    expect(await store.chats.findMessageIdByUid(eve.id, chat.id, first.uid)).toBeNull()
    expect(first.uid).toBe(String(first.id))
  })

  test('a message made by the server takes a fresh id when its number is already a client id in the chat', async () => {
    const { store, ada } = await setup()
    const chat = await store.chats.createChat(ada.id, 'ids')
    const probe = (await store.chats.addMessage(ada.id, chat.id, { role: 'user', content: 'probe' }))!
    const next = String(probe.id + 1)
    expect((await store.chats.addMessage(ada.id, chat.id, { role: 'user', content: 'client', uid: next }))?.uid).toBe(next)
    const server = (await store.chats.addMessage(ada.id, chat.id, { role: 'assistant', content: 'server' }))!
    expect(server.uid).not.toBe(next)
    expect(new Set((await store.chats.listMessagesInChat(ada.id, chat.id)).map((message) => message.uid)).size).toBe(3)
  })

  test('deleteMessage removes the message and its answers, keeps the turns after under its parent, and keeps or moves the selection', async () => {
    const { store, ada, eve } = await setup()
    const chat = await store.chats.createChat(ada.id, 'delete')
    const add = async (role: 'user' | 'assistant', content: string, parentId?: MessageId) =>
      (await store.chats.addMessage(ada.id, chat.id, { role, content, ...(parentId === undefined ? {} : { parentId }) }))!
    const u1 = await add('user', 'u1')
    await add('assistant', 'a1')
    const u2 = await add('user', 'u2')
    await add('assistant', 'a2')
    const u3 = await add('user', 'u3')
    const a3 = await add('assistant', 'a3')
    const contents = async () => (await store.chats.listMessagesInChat(ada.id, chat.id)).map((message) => message.content)
    const path = async () => (await store.chats.listCurrentPath(ada.id, chat.id)).map((message) => message.content)
    expect(await store.chats.deleteMessage(eve.id, chat.id, u2.uid)).toBeNull()
    expect(await store.chats.deleteMessage(ada.id, chat.id, u2.uid)).toBe(2)
    expect(await contents()).toEqual(['u1', 'a1', 'u3', 'a3'])
    expect(await path()).toEqual(['u1', 'a1', 'u3', 'a3'])
    expect((await store.chats.findChatForUser(ada.id, chat.id))?.currentId).toBe(a3.id)
    expect(await store.chats.deleteMessage(ada.id, chat.id, u2.uid)).toBeNull()

    // the selected leaf deleted: the newest branch under the parent is selected
    const b3 = await add('assistant', 'b3', u3.id)
    expect(await store.chats.setCurrentMessage(ada.id, chat.id, a3.id)).toBe(true)
    expect(await store.chats.deleteMessage(ada.id, chat.id, a3.uid)).toBe(1)
    expect((await store.chats.findChatForUser(ada.id, chat.id))?.currentId).toBe(b3.id)

    // a root deleted: its answer goes, the next question becomes a root
    expect(await store.chats.deleteMessage(ada.id, chat.id, u1.uid)).toBe(2)
    expect(await contents()).toEqual(['u3', 'b3'])
    expect((await store.chats.listMessagesInChat(ada.id, chat.id)).find((message) => message.id === u3.id)?.parentId).toBeNull()
    expect(await path()).toEqual(['u3', 'b3'])
    expect(await store.chats.deleteMessage(ada.id, chat.id, u3.uid)).toBe(2)
    expect((await store.chats.findChatForUser(ada.id, chat.id))?.currentId).toBeNull()
  })

  test('a save rewrites only what changed, keeps what the server wrote (stats), and search sees rewritten text', async () => {
    const { store, ada } = await setup()
    const chat = await store.chats.createChat(ada.id, 'save')
    const q = (await store.chats.addMessage(ada.id, chat.id, { role: 'user', content: 'hello' }))!
    const a = (await store.chats.addMessage(ada.id, chat.id, { role: 'assistant', content: 'world', stats: { eval_count: 3 }, status: 'done', model: 'm' }))!
    expect(await store.chats.searchChatsForUser(ada.id, 'world', page)).toHaveLength(1)
    const tree = (content: string) => ({
      kind: 'tree' as const, currentUid: a.uid,
      messages: [
        { uid: q.uid, parentUid: null, role: 'user' as const, content: 'hello', createdAt: q.createdAt },
        { uid: a.uid, parentUid: q.uid, role: 'assistant' as const, content, model: 'm', status: 'done' as const, createdAt: a.createdAt },
      ],
    })
    expect(await store.chats.saveChatForUser(ada.id, chat.id, { messages: tree('world') })).toMatchObject({ ok: true, counts: { inserted: 0, rewritten: 0, removed: 0 } })
    expect(await store.chats.saveChatForUser(ada.id, chat.id, { messages: tree('planet') })).toMatchObject({ ok: true, counts: { inserted: 0, rewritten: 1, removed: 0 } })
    expect((await store.chats.listMessagesInChat(ada.id, chat.id))[1]).toMatchObject({ content: 'planet', stats: { eval_count: 3 } })
    expect(await store.chats.searchChatsForUser(ada.id, 'world', page)).toHaveLength(0)
    expect(await store.chats.searchChatsForUser(ada.id, 'planet', page)).toHaveLength(1)
    expect(await store.chats.saveChatForUser(ada.id, chat.id, { messages: { kind: 'tree', currentUid: undefined, messages: [{ uid: 'x', parentUid: 'nope', role: 'user', content: '', createdAt: null }] } }))
      .toEqual({ ok: false, reason: 'bad_tree', problem: 'bad_parent', uid: 'x' })
    expect(await store.chats.listMessagesInChat(ada.id, chat.id)).toHaveLength(2)
  })
})

test('after a data key rotation, an unchanged save still writes no message, and a changed one writes one', async () => {
  const { store, ada } = await setup()
  const chat = await store.chats.createChat(ada.id, 'rotated', [{ role: 'user', content: 'one' }, { role: 'assistant', content: 'two', uid: 'a2' }])
  const saved = (await store.chats.readChatTree(ada.id, chat.id))!.messages
  const tree = (last: string) => ({
    kind: 'tree' as const, currentUid: 'a2',
    messages: saved.map((message, i) => ({ uid: message.uid, parentUid: i === 0 ? null : saved[0]!.uid, role: message.role, content: i === 1 ? last : message.content, createdAt: message.createdAt })),
  })
  const rotator = createDataKeyRotator(store.sql, store.dataKeys)
  await rotator.beginRotation([ada.id])
  // note: mid-rotation the digests are under the old version, still at hand; after it, that version is gone
  expect(await store.chats.saveChatForUser(ada.id, chat.id, { messages: tree('two') })).toMatchObject({ counts: { rewritten: 0 } })
  while ((await rotator.pendingOwners()).length > 0) await rotator.step(100)
  expect(await store.chats.saveChatForUser(ada.id, chat.id, { messages: tree('two') })).toMatchObject({ counts: { rewritten: 0 } })
  expect(await store.chats.saveChatForUser(ada.id, chat.id, { messages: tree('three') })).toMatchObject({ counts: { rewritten: 1 } })
  expect((await store.chats.listCurrentPath(ada.id, chat.id)).map((message) => message.content)).toEqual(['one', 'three'])
})

test('chats deleted by retention, or a user deleted, leave nothing in the search index', async () => {
  const { store, ada, advance } = await setup()
  const old = await store.chats.createChat(ada.id, 'Old', [{ role: 'user', content: 'forgotten okapi' }])
  advance(10_000)
  await store.chats.createChat(ada.id, 'New', [{ role: 'user', content: 'kept okapi' }])
  expect((await store.chats.searchChatsForUser(ada.id, 'okapi', page)).length).toBe(2)
  const { deleteChatsNotUpdatedSince } = await import('./chat-retention.ts')
  expect((await deleteChatsNotUpdatedSince(store.sql, store.accountChanges, old.updatedAt + 1)).deleted).toBe(1)
  expect((await store.chats.searchChatsForUser(ada.id, 'okapi', page)).map((chat) => chat.title)).toEqual(['New'])
  await store.users.deleteUser(ada.id)
  await expect(store.chats.searchChatsForUser(ada.id, 'okapi', page)).rejects.toThrow()
})
