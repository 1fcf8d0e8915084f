import { describe, expect, test } from 'bun:test'
import { Database } from 'bun:sqlite'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import fc from 'fast-check'
import { createChatRepo } from './chats.ts'
import { createChatHistoryCache } from './chat-history-cache.ts'
import type { Message } from './chat-tree.ts'
import type { ChatId, MessageId, UserId } from './ids.ts'
import { openMemoryStore, openStore } from './open-store.ts'

/** A store whose chat repository holds chats, and a second repository on the same database that holds none. */
async function setup(limits = { maxBytes: 1 << 30, maxBytesPerUser: 1 << 28, idleMs: 60_000 }) {
  let time = 1_700_000_000_000
  const now = () => time
  const store = openMemoryStore(undefined, now)
  const user = async (email: string) => {
    const result = await store.users.createUser({ email, name: email, role: 'user' })
    if (!result.ok) throw new Error(result.reason)
    return result.user.id
  }
  const cached = createChatRepo(store.sql, store.dataKeys, now, store.accountChanges, limits)
  const uncached = createChatRepo(store.sql, store.dataKeys, now, store.accountChanges, { maxBytes: 0, maxBytesPerUser: 0, idleMs: 0 })
  return { store, cached, uncached, ada: await user('ada@example.com'), eve: await user('eve@example.com'), advance: (ms: number) => { time += ms } }
}

const linear = (count: number) => Array.from({ length: count }, (_, i) => ({ role: i % 2 === 0 ? 'user' as const : 'assistant' as const, content: `message ${i} ✓` }))

describe('chat history cache', () => {
  test('a held chat stays what the rows hold through every kind of write (property)', async () => {
    type Op =
      | { kind: 'add'; parent: number; content: string }
      | { kind: 'replace'; target: number; content: string }
      | { kind: 'save'; drop: number; edit: number; content: string }
      | { kind: 'delete-message'; target: number }
      | { kind: 'select'; target: number }
      | { kind: 'rollback'; content: string }
    const op: fc.Arbitrary<Op> = fc.oneof(
      fc.record({ kind: fc.constant('add' as const), parent: fc.nat(), content: fc.string() }),
      fc.record({ kind: fc.constant('replace' as const), target: fc.nat(), content: fc.string() }),
      fc.record({ kind: fc.constant('save' as const), drop: fc.nat(), edit: fc.nat(), content: fc.string() }),
      fc.record({ kind: fc.constant('delete-message' as const), target: fc.nat() }),
      fc.record({ kind: fc.constant('select' as const), target: fc.nat() }),
      fc.record({ kind: fc.constant('rollback' as const), content: fc.string() }),
    )
    await fc.assert(fc.asyncProperty(fc.array(op, { maxLength: 12 }), async (ops) => {
      const { store, cached, uncached, ada } = await setup()
      const chat = await cached.createChat(ada, 'tree', linear(3))
      const pick = async (n: number): Promise<Message | undefined> => { const all = await uncached.listMessagesInChat(ada, chat.id); return all[n % Math.max(all.length, 1)] }
      for (const step of ops) {
        await cached.readChatTree(ada, chat.id) // note: holds the chat before each write
        const target = await pick('target' in step ? step.target : 'parent' in step ? step.parent : 0)
        if (step.kind === 'add') await cached.addMessage(ada, chat.id, { role: 'user', content: step.content, parentId: target?.id ?? null })
        if (step.kind === 'replace' && target !== undefined) await cached.replaceMessageContentForUser(ada, chat.id, target.id, { content: step.content, status: 'done' })
        if (step.kind === 'delete-message' && target !== undefined) await cached.deleteMessage(ada, chat.id, target.uid)
        if (step.kind === 'select' && target !== undefined) await cached.setCurrentMessage(ada, chat.id, target.id)
        if (step.kind === 'save') {
          const path = await uncached.listCurrentPath(ada, chat.id)
          const kept = path.slice(0, Math.max(path.length - (step.drop % 2), 0))
          const list = kept.map((message, i) => ({ ...message, uid: message.uid, createdAt: message.createdAt, content: i === step.edit % Math.max(kept.length, 1) ? step.content : message.content }))
          await cached.saveChatForUser(ada, chat.id, { messages: { kind: 'list', messages: [...list, { role: 'user', content: step.content, uid: null, createdAt: null }] } })
        }
        if (step.kind === 'rollback') {
          await expect(store.sql.transaction(async () => {
            await cached.addMessage(ada, chat.id, { role: 'user', content: step.content })
            await cached.readChatTree(ada, chat.id)
            throw new Error('rolled back')
          })).rejects.toThrow('rolled back')
        }
        expect(await cached.readChatTree(ada, chat.id)).toEqual(await uncached.readChatTree(ada, chat.id))
        expect(await cached.listPathTo(ada, chat.id)).toEqual(await uncached.listPathTo(ada, chat.id))
      }
    }), { numRuns: 30 })
  }, 30_000)

  test('a chat is held after its first read, and dropped on sign-out everywhere, deletion, key rotation and when idle', async () => {
    const { store, cached, ada, eve, advance } = await setup()
    const chat = await cached.createChat(ada, 'held', linear(4))
    const other = await cached.createChat(eve, 'eve', linear(2))
    expect(cached.historyCacheSize()).toMatchObject({ chats: 0, messages: 0, bytes: 0 })
    await cached.readChatTree(ada, chat.id)
    await cached.readChatTree(eve, other.id)
    expect(cached.historyCacheSize()).toMatchObject({ chats: 2, messages: 6 })
    expect(cached.historyCacheSize().bytes).toBeGreaterThan(0)

    await store.sessions.revokeOtherSessions(ada, null) // no session to revoke: no notice, nothing dropped
    store.accountChanges.accessChanged(ada) // sign-out everywhere, a role change, a deleted user
    expect(cached.historyCacheSize()).toMatchObject({ chats: 1, messages: 2 })

    await cached.readChatTree(ada, chat.id)
    store.accountChanges.chatsDeleted(ada)
    expect(cached.historyCacheSize().chats).toBe(1)

    await cached.readChatTree(ada, chat.id)
    await store.dataKeys.addKeyVersion(ada) // a data key rotation begins: the old ring is no longer the owner's
    expect((await cached.readChatTree(ada, chat.id))?.messages).toHaveLength(4)
    expect(cached.historyCacheSize().chats).toBe(2) // held again, under the new ring

    advance(60_001)
    expect(await cached.findChatForUser(ada, chat.id)).not.toBeNull()
    await cached.listPathTo(ada, chat.id)
    expect(cached.historyCacheSize()).toMatchObject({ chats: 1, messages: 4 }) // eve's went idle

    store.accountChanges.accessChanged(null) // the master key changed: everyone's
    expect(cached.historyCacheSize()).toEqual({ chats: 0, messages: 0, bytes: 0 })
  })

  test('a deleted user\'s chats are not served from memory', async () => {
    const { store, cached, ada } = await setup()
    const chat = await cached.createChat(ada, 'gone', linear(2))
    await cached.readChatTree(ada, chat.id)
    await store.users.deleteUser(ada)
    expect(cached.historyCacheSize().chats).toBe(0)
    expect(await cached.readChatTree(ada, chat.id)).toBeNull()
  })

  test('another user\'s chat id finds nothing, held or not', async () => {
    const { cached, ada, eve } = await setup()
    const chat = await cached.createChat(ada, 'mine', linear(2))
    await cached.readChatTree(ada, chat.id)
    expect(await cached.readChatTree(eve, chat.id)).toBeNull()
    expect(await cached.listPathTo(eve, chat.id)).toBeNull()
    expect(await cached.listMessagesInChat(eve, chat.id)).toEqual([])
  })

  test('each owner is bounded: least recently used chats go first, and a chat larger than the bound is never held', async () => {
    const message = (chars: number) => [{ role: 'user' as const, content: 'x'.repeat(chars) }]
    const { cached, ada, eve } = await setup({ maxBytes: 1_000_000, maxBytesPerUser: 45_000, idleMs: 60_000 })
    const a = await cached.createChat(ada, 'a', message(5_000))
    const b = await cached.createChat(ada, 'b', message(5_000))
    const c = await cached.createChat(ada, 'c', message(5_000))
    const big = await cached.createChat(ada, 'big', message(20_000))
    const theirs = await cached.createChat(eve, 'eve', message(5_000))
    await cached.readChatTree(eve, theirs.id)
    for (const chat of [a!, b!, c!]) await cached.readChatTree(ada, chat.id)
    expect(cached.historyCacheSize().chats).toBe(3) // two of ada's (the bound) and eve's
    await cached.readChatTree(ada, big.id)
    expect(cached.historyCacheSize().chats).toBe(3)
    expect((await cached.readChatTree(ada, big.id))?.messages[0]?.content).toHaveLength(20_000)
    expect((await cached.readChatTree(eve, theirs.id))?.messages).toHaveLength(1)
  })

  test('the cache alone: an entry is found only under its owner, chat id and seq, and held messages are frozen', async () => {
    const { store, ada } = await setup()
    let time = 0
    const cache = createChatHistoryCache(store.accountChanges, () => time)
    const ring = store.dataKeys.keysForOwner(ada)
    const message: Message = {
      id: 1 as MessageId, uid: '1', chatId: 'c' as ChatId, parentId: null, role: 'user', content: 'hi', model: null, images: null, artifacts: null,
      stats: null, status: null, error: null, usage: null, sources: null, files: null, extra: null, createdAt: 0,
    }
    const key = { seq: 7, chatId: 'c' as ChatId, owner: ada }
    const opened = await cache.chatOf(key, ring, () => [{ ...message }])
    expect(Object.isFrozen(opened.get(message.id))).toBe(true)
    expect(cache.heldChat(key, ring)).not.toBeNull()
    expect(cache.heldChat({ ...key, owner: 'someone-else' as UserId }, ring)).toBeNull()
    expect(cache.heldChat(key, ring)).toBeNull() // note: a mismatch drops the entry
    time += 1
    expect(cache.size()).toEqual({ chats: 0, messages: 0, bytes: 0 })
  })
})

describe('chat history cache, loaded asynchronously', () => {
  const messageOf = (id: number, content: string): Message => ({
    id: id as MessageId, uid: String(id), chatId: 'c' as ChatId, parentId: null, role: 'user', content, model: null, images: null, artifacts: null,
    stats: null, status: null, error: null, usage: null, sources: null, files: null, extra: null, createdAt: 0,
  })
  /** A load that the test finishes when it chooses. */
  const deferredLoad = () => {
    let finish!: (messages: Message[]) => void
    let calls = 0
    const load = () => {
      calls++
      return new Promise<Message[]>((resolve) => { finish = resolve })
    }
    return { load, finish: (messages: Message[]) => finish(messages), calls: () => calls }
  }
  const cacheFor = async () => {
    const { store, ada } = await setup()
    const cache = createChatHistoryCache(store.accountChanges, () => 0)
    return { store, ada, cache, ring: store.dataKeys.keysForOwner(ada), key: { seq: 7, chatId: 'c' as ChatId, owner: ada } }
  }

  test('callers asking while a load runs share it, and the chat is held once it is done', async () => {
    const { cache, ring, key } = await cacheFor()
    const deferred = deferredLoad()
    const both = Promise.all([cache.openChat(key, ring, deferred.load), cache.openChat(key, ring, deferred.load)])
    deferred.finish([messageOf(1, 'one')])
    const [first, second] = await both
    expect(deferred.calls()).toBe(1)
    expect(first.list().map((message) => message.content)).toEqual(['one'])
    expect(second.list().map((message) => message.content)).toEqual(['one'])
    expect(cache.heldChat(key, ring)?.list().map((message) => message.content)).toEqual(['one'])
  })

  test('a load that a write, a forget or an account notice raced is served but not held', async () => {
    const { store, ada, cache, ring, key } = await cacheFor()
    const changes: ((() => void))[] = [
      () => cache.noteWritten(key, ring, [messageOf(2, 'two')]),
      () => cache.forgetChat(key.seq),
      () => cache.forgetOwner(ada),
      () => store.accountChanges.accessChanged(ada),
    ]
    for (const change of changes) {
      const deferred = deferredLoad()
      const opening = cache.openChat(key, ring, deferred.load)
      change()
      // note: the rows read before the write: the caller gets them, the cache does not keep them.
      deferred.finish([messageOf(1, 'one')])
      expect((await opening).list().map((message) => message.content)).toEqual(['one'])
      expect(cache.heldChat(key, ring)).toBeNull()
    }
  })

  test('a failed load rejects every caller and leaves nothing behind', async () => {
    const { cache, ring, key } = await cacheFor()
    const failing = () => Promise.reject(new Error('read failed'))
    await expect(cache.openChat(key, ring, failing)).rejects.toThrow('read failed')
    expect(cache.heldChat(key, ring)).toBeNull()
    const opened = await cache.openChat(key, ring, async () => [messageOf(1, 'one')])
    expect(opened.list()).toHaveLength(1)
    expect(cache.heldChat(key, ring)).not.toBeNull()
  })
})

test('a write by another connection to the same file drops what is held', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'enclave-history-'))
  try {
    const store = openStore({ dataDir, masterKey: { kind: 'generated', path: join(dataDir, 'master.key') }, now: Date.now })
    const created = await store.users.createUser({ email: 'ada@example.com', name: 'Ada', role: 'user' })
    if (!created.ok) throw new Error(created.reason)
    const chat = await store.chats.createChat(created.user.id, 'held', linear(3))
    expect((await store.chats.readChatTree(created.user.id, chat.id))?.messages).toHaveLength(3)
    const other = new Database(store.info.databasePath)
    other.run('DELETE FROM message WHERE id = (SELECT max(id) FROM message)')
    other.close()
    expect((await store.chats.readChatTree(created.user.id, chat.id))?.messages).toHaveLength(2)
    store.close()
  } finally {
    rmSync(dataDir, { recursive: true, force: true })
  }
})
