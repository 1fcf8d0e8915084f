/**
 * readyChatStart (chats-ready.ts): it writes nothing, it prepares only statements a chat's start
 * runs, and a chat started after it is the one started without it.
 */
import { describe, expect, test } from 'bun:test'
import { newChatId, type UserId } from './ids.ts'
import { openMemoryStore, type Store } from './open-store.ts'

const AT = 1_700_000_000_000

async function storeWithUser(): Promise<{ store: Store; owner: UserId }> {
  const store = openMemoryStore(undefined, () => AT)
  const created = await store.users.createUser({ email: 'ada@example.com', name: 'Ada', role: 'user' })
  if (!created.ok) throw new Error(created.reason)
  return { store, owner: created.user.id as UserId }
}

/** Every row of the tables a chat's start writes, and the count of changes made on the connection. */
async function contents(store: Store): Promise<unknown> {
  return {
    chats: await store.sql.all('SELECT * FROM chat ORDER BY seq'),
    messages: await store.sql.all('SELECT * FROM message ORDER BY id'),
    meta: await store.sql.all('SELECT * FROM meta ORDER BY name'),
    changes: await store.sql.get('SELECT total_changes() AS changes'),
  }
}

describe('readyChatStart', () => {
  test('writes nothing', async () => {
    const { store } = await storeWithUser()
    const before = await contents(store)
    store.chats.readyChatStart()
    store.chats.readyChatStart()
    expect(await contents(store)).toEqual(before)
    store.close()
  })

  test('prepares only statements a chat start runs', async () => {
    const readied = await storeWithUser()
    const before = new Set(readied.store.sql.statementTexts())
    readied.store.chats.readyChatStart()
    const prepared = readied.store.sql.statementTexts().filter((text) => !before.has(text))
    expect(prepared.length).toBeGreaterThan(0)

    const started = await storeWithUser()
    const beforeStart = new Set(started.store.sql.statementTexts())
    await started.store.chats.startChat(started.owner, newChatId(), 'New Chat', { role: 'user', content: 'A question.', parentId: null })
    const run = started.store.sql.statementTexts().filter((text) => !beforeStart.has(text))
    expect(run).toEqual(expect.arrayContaining(prepared))
    readied.store.close()
    started.store.close()
  })

  test('a chat started after it is the chat started without it', async () => {
    const chatId = newChatId()
    const results = []
    for (const ready of [false, true]) {
      const { store, owner } = await storeWithUser()
      if (ready) store.chats.readyChatStart()
      const { chat, message } = await store.chats.startChat(owner, chatId, 'New Chat', { role: 'user', content: 'A question.', parentId: null })
      const read = await store.chats.listMessagesInChat(owner, chatId)
      const rows = await store.sql.all('SELECT id, chat_seq, uid, parent_id, role, status, created_at FROM message ORDER BY id')
      results.push({ chat: { ...chat, userId: null }, message, read, rows, reserved: await store.sql.all("SELECT value FROM meta WHERE name = 'message_id_reserved'") })
      store.close()
    }
    expect(results[0]!.reserved).toHaveLength(1)
    expect(results[1]).toEqual(results[0]!)
  })
})
