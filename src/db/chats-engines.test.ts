/**
 * The chat repository on both engines: the same calls find the same chats and messages on SQLite
 * and on PostgreSQL (a real server, test/helpers/postgres.ts). Keys come from a memory store (data
 * keys are still on bun:sqlite); the rows go to the engine under test. On PostgreSQL two
 * repositories on one database stand for two instances: what one writes, the other serves.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { startPostgres, type PostgresServer } from '../../test/helpers/postgres.ts'
import { createAccountChanges } from './account-changes.ts'
import { BadTreeError, createChatRepo } from './chats.ts'
import type { SharedWrites } from './shared-writes.ts'
import type { SqlEngine } from './engine.ts'
import { newChatId, type MessageId, type UserId } from './ids.ts'
import { migratePostgres } from './migrate-postgres.ts'
import { createFolderRepo } from './folders.ts'
import { readOpenWebUiChat } from './open-webui-chat.ts'
import { describeChatParts } from './open-webui-chat-description.ts'
import { openMemoryStore } from './open-store.ts'
import { createPostgresEngine } from './postgres-engine.ts'

let server: PostgresServer
beforeAll(async () => { server = await startPostgres() }, 60_000)
afterAll(async () => { await server.remove() })

const page = { limit: 50, offset: 0 }
const pool = { maxConnections: 4, idleTimeoutSeconds: 0, connectionTimeoutSeconds: 10, maxLifetimeSeconds: 0 }

/** A memory store with two users; on PostgreSQL, a migrated database holding the same two user rows. */
async function open(dialect: 'sqlite' | 'postgresql') {
  const store = openMemoryStore()
  const [ada, eve] = await Promise.all(['ada', 'eve'].map(async (name) => {
    const made = await store.users.createUser({ email: `${name}@example.com`, name, role: 'user' })
    if (!made.ok) throw new Error(made.reason)
    return made.user.id
  })) as [UserId, UserId]
  let sql: SqlEngine = store.sql
  let url = ''
  const engines: SqlEngine[] = []
  if (dialect === 'postgresql') {
    url = await server.createDatabase()
    sql = createPostgresEngine({ url, pool })
    engines.push(sql)
    await migratePostgres(sql)
    for (const id of [ada, eve]) {
      await sql.run('INSERT INTO "user" (id, email_index, email, name, role, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)', id, new TextEncoder().encode(id), new Uint8Array([1]), new Uint8Array([1]), 'user', 1, 1)
    }
  }
  let time = 1_750_000_000_000
  const now = () => time
  /** Another repository on the same database: on PostgreSQL, another instance with its own pool. */
  const instance = (shared?: SharedWrites) => {
    let on = sql
    if (dialect === 'postgresql' && shared !== undefined) {
      on = createPostgresEngine({ url, pool })
      engines.push(on)
    }
    return createChatRepo(on, store.dataKeys, now, createAccountChanges(), undefined, shared)
  }
  const chats = createChatRepo(sql, store.dataKeys, now, store.accountChanges)
  return {
    chats, ada, eve, instance, dialect, sql, keys: store.dataKeys, advance: (ms: number) => { time += ms },
    close: async () => {
      for (const engine of engines) await engine.close()
      store.close()
    },
  }
}

/** An Open WebUI page's save body: a question, two answers to it (a regenerate), the second selected. */
function pageBody(second: string) {
  const message = (id: string, parentId: string | null, role: string, content: string, childrenIds: string[]) => ({ id, parentId, childrenIds, role, content, timestamp: 1_750_000_000 })
  return {
    models: ['llama3.2'], params: { temperature: 0.5 },
    history: {
      currentId: 'a2',
      messages: {
        q1: message('q1', null, 'user', 'Why is the sky blue?', ['a1', 'a2']),
        a1: { ...message('a1', 'q1', 'assistant', 'Rayleigh scattering.', []), model: 'llama3.2' },
        a2: { ...message('a2', 'q1', 'assistant', second, []), model: 'llama3.2' },
      },
    },
    messages: [], files: [],
  }
}

describe.each(['sqlite', 'postgresql'] as const)('%s', (dialect) => {
  // note: a save read against the held chat answers with what it wrote and the share id read in its row's statement (chats.ts, SavedAnswer), not read again.
  test("a save read against the held chat answers as the chat then reads, its share id included", async () => {
    const { chats: here, ada, instance, sql, close } = await open(dialect)
    // note: on PostgreSQL chats are held only while the instance hears of the others' writes.
    const chats = dialect === 'sqlite' ? here : instance({ isAnnounced: true })
    const chat = await chats.createChat(ada, 'Sky', [{ role: 'user', content: 'Why blue?' }, { role: 'assistant', content: 'Scattering.', model: 'llama3.2' }])
    const wrap = (object: unknown) => ({ chat: object })
    const answerOf = (read: { tree: Parameters<typeof describeChatParts>[0]; bytes: () => Parameters<typeof describeChatParts>[2] }) =>
      Buffer.concat(describeChatParts(read.tree, wrap, read.bytes())).toString()
    const save = async (edit: (body: string) => string) => {
      const body = edit(answerOf((await chats.readChatTreeBytes(ada, chat.id))!))
      const saved = await chats.saveChatBytesForUser(ada, chat.id, Buffer.from(body), (content) => content)
      if (saved === null || !saved.ok || saved.answer === undefined) throw new Error('The save was not read against the held chat.')
      const after = (await chats.readChatTreeBytes(ada, chat.id))!
      expect(answerOf(saved.answer)).toBe(answerOf(after))
      expect(JSON.stringify(saved.answer.tree)).toBe(JSON.stringify(after.tree))
      return saved.answer.shareId
    }
    expect(await save((body) => body)).toBeNull()
    await sql.run('INSERT INTO chat_share (id, chat_seq, snapshot, created_at, updated_at) VALUES (?, (SELECT seq FROM chat WHERE id = ?), ?, ?, ?)',
      'share-1', chat.id, new Uint8Array([1]), 1, 1)
    expect(await save((body) => body.replace('Why blue?', 'Why is it blue?'))).toBe('share-1')
    await sql.run('DELETE FROM chat_share WHERE id = ?', 'share-1')
    expect(await save((body) => body.replace('"title":"Sky"', '"title":"Sky, again"'))).toBeNull()
    await close()
  })

  test('create, append, read back; another user finds nothing', async () => {
    const { chats, ada, eve, close } = await open(dialect)
    const chat = await chats.createChat(ada, 'Sky', [{ role: 'user', content: 'Why blue?' }, { role: 'assistant', content: 'Scattering.', model: 'llama3.2' }])
    const added = (await chats.addMessage(ada, chat.id, { role: 'user', content: 'And at sunset?' }))!
    expect(added.parentId).not.toBeNull()
    expect((await chats.listCurrentPath(ada, chat.id)).map((message) => message.content)).toEqual(['Why blue?', 'Scattering.', 'And at sunset?'])
    expect((await chats.findChatForUser(ada, chat.id))).toMatchObject({ title: 'Sky', currentId: added.id, pinned: false, archived: false })
    expect(await chats.findChatOwner(chat.id)).toBe(ada)
    expect(await chats.findChatForUser(eve, chat.id)).toBeNull()
    expect(await chats.listMessagesInChat(eve, chat.id)).toEqual([])
    expect(await chats.addMessage(eve, chat.id, { role: 'user', content: 'pwned' })).toBeNull()
    expect(await chats.renameChat(eve, chat.id, 'pwned')).toBe(false)
    expect(await chats.deleteChatForUser(eve, chat.id)).toBe(false)
    expect((await chats.listMessagesInChat(ada, chat.id)).map((message) => message.content)).toEqual(['Why blue?', 'Scattering.', 'And at sunset?'])
    await close()
  })

  test('a branch (regenerate), a selected branch, an answer rewritten, messages deleted', async () => {
    const { chats, ada, close } = await open(dialect)
    const { chat, message: question } = await chats.startChat(ada, newChatId(), 'Tree', { role: 'user', content: 'Q' })
    const first = (await chats.addMessage(ada, chat.id, { role: 'assistant', content: 'A1', parentId: question.id, status: 'done' }))!
    const second = (await chats.addMessage(ada, chat.id, { role: 'assistant', content: '', parentId: question.id, status: 'pending' }))!
    expect(await chats.replaceMessageContentForUser(ada, chat.id, second.id, { content: 'A2', status: 'done', stats: { eval_count: 3 } })).toBe(true)
    expect((await chats.listPathTo(ada, chat.id))!.map((message) => message.content)).toEqual(['Q', 'A2'])
    expect(await chats.setCurrentMessage(ada, chat.id, first.id)).toBe(true)
    expect((await chats.listCurrentPath(ada, chat.id)).map((message) => message.content)).toEqual(['Q', 'A1'])
    expect((await chats.listPathTo(ada, chat.id, second.id))!.at(-1)).toMatchObject({ content: 'A2', status: 'done', stats: { eval_count: 3 } })
    expect(await chats.listPathTo(ada, chat.id, 999_999_999 as MessageId)).toBeNull()
    expect(await chats.findMessageIdByUid(ada, chat.id, second.uid)).toBe(second.id)
    expect(await chats.deleteMessage(ada, chat.id, first.uid)).toBe(1)
    expect((await chats.listCurrentPath(ada, chat.id)).map((message) => message.content)).toEqual(['Q', 'A2'])
    // a message deleted keeps the turns after it: they move up under its parent
    const next = (await chats.addMessage(ada, chat.id, { role: 'user', content: 'Q2', parentId: second.id }))!
    const nextAnswer = (await chats.addMessage(ada, chat.id, { role: 'assistant', content: 'A3', parentId: next.id }))!
    expect(await chats.deleteMessage(ada, chat.id, second.uid)).toBe(2)
    expect((await chats.listMessagesInChat(ada, chat.id)).map((message) => [message.content, message.parentId])).toEqual([['Q', null], ['A3', question.id]])
    expect((await chats.findChatForUser(ada, chat.id))?.currentId).toBe(nextAnswer.id)
    expect(await chats.deleteMessage(ada, chat.id, question.uid)).toBe(2)
    expect(await chats.listMessagesInChat(ada, chat.id)).toEqual([])
    await close()
  })

  test("a save files the chat only in one of the owner's folders", async () => {
    const { chats, ada, eve, sql, keys, close } = await open(dialect)
    const folders = createFolderRepo(sql, keys, () => 1_750_000_000_000)
    const [mine, theirs] = await Promise.all([folders.createFolder(ada, { name: 'Mine' }), folders.createFolder(eve, { name: 'Theirs' })])
    if (!mine.ok || !theirs.ok) throw new Error('folders not made')
    const { chat } = await chats.startChat(ada, newChatId(), 'Filed', { role: 'user', content: 'Q' })
    for (const folderId of [theirs.folder.id, crypto.randomUUID()]) {
      expect(await chats.saveChatForUser(ada, chat.id, { title: 'moved', folderId })).toEqual({ ok: false, reason: 'folder_not_found' })
    }
    expect(await chats.findChatForUser(ada, chat.id)).toMatchObject({ title: 'Filed', folderId: null })
    expect(await chats.saveChatForUser(ada, chat.id, { folderId: mine.folder.id })).toMatchObject({ ok: true, chat: { folderId: mine.folder.id } })
    expect(await chats.findChatForUser(ada, chat.id)).toMatchObject({ folderId: mine.folder.id })
    await close()
  })

  test("a whole Open WebUI chat saved, saved again unchanged (no row written), then one answer edited", async () => {
    const { chats, ada, close } = await open(dialect)
    const chat = await chats.createChat(ada, 'Saved')
    const read = readOpenWebUiChat(pageBody('The air scatters blue light.'))
    if (!read.ok) throw new Error(read.detail)
    expect(await chats.saveChatForUser(ada, chat.id, read.content)).toMatchObject({ ok: true, counts: { inserted: 3, rewritten: 0, removed: 0 } })
    expect(await chats.saveChatForUser(ada, chat.id, read.content)).toMatchObject({ ok: true, counts: { inserted: 0, rewritten: 0, removed: 0 } })
    const edited = readOpenWebUiChat(pageBody('Edited.'))
    if (!edited.ok) throw new Error(edited.detail)
    expect(await chats.saveChatForUser(ada, chat.id, edited.content)).toMatchObject({ ok: true, counts: { inserted: 0, rewritten: 1, removed: 0 } })
    const tree = (await chats.readChatTree(ada, chat.id))!
    expect(tree.settings).toMatchObject({ models: ['llama3.2'], params: { temperature: 0.5 } })
    expect(tree.messages.map((message) => [message.uid, message.content])).toEqual([['q1', 'Why is the sky blue?'], ['a1', 'Rayleigh scattering.'], ['a2', 'Edited.']])
    expect((await chats.listCurrentPath(ada, chat.id)).map((message) => message.uid)).toEqual(['q1', 'a2'])
    const clone = (await chats.cloneChat(ada, chat.id, 'Copy'))!
    expect((await chats.listMessagesInChat(ada, clone.id)).map((message) => message.content)).toEqual(['Why is the sky blue?', 'Rayleigh scattering.', 'Edited.'])
    expect(await chats.saveChatForUser(ada, newChatId(), edited.content)).toEqual({ ok: false, reason: 'chat_not_found' })
    await close()
  })

  test('list, filter and search; pin, archive, rename, delete one, delete all', async () => {
    const { chats, ada, eve, advance, close } = await open(dialect)
    const made = []
    for (const [i, title] of ['Garden', 'Trip to Lisbon', 'Cooking'].entries()) {
      advance(1000)
      made.push(await chats.createChat(ada, title, [{ role: 'user', content: i === 2 ? 'A recipe from LISBON' : `note ${i}` }]))
    }
    await chats.createChat(eve, 'Lisbon too', [{ role: 'user', content: 'lisbon' }])
    const [garden, trip, cooking] = made as [typeof made[0], typeof made[0], typeof made[0]]
    expect((await chats.listChatsForUser(ada, page)).map((chat) => chat.title)).toEqual(['Cooking', 'Trip to Lisbon', 'Garden'])
    expect((await chats.listChatsForUser(ada, { limit: 1, offset: 1 })).map((chat) => chat.title)).toEqual(['Trip to Lisbon'])
    expect((await chats.searchChatsForUser(ada, 'lisbon', page)).map((chat) => chat.title)).toEqual(['Cooking', 'Trip to Lisbon'])
    expect((await chats.setChatPinned(ada, garden.id, true))?.pinned).toBe(true)
    expect((await chats.setChatArchived(ada, trip.id, true))?.archived).toBe(true)
    expect(await chats.setChatArchived(eve, cooking.id, true)).toBeNull()
    expect((await chats.listFilteredChatsForUser(ada, 'pinned', page)).map((chat) => chat.title)).toEqual(['Garden'])
    expect((await chats.listFilteredChatsForUser(ada, 'archived', page)).map((chat) => chat.title)).toEqual(['Trip to Lisbon'])
    expect((await chats.listFilteredChatsForUser(ada, 'live-unpinned', { limit: -1, offset: 0 })).map((chat) => chat.title)).toEqual(['Cooking'])
    expect((await chats.searchChatsForUser(ada, 'lisbon', page)).map((chat) => chat.title)).toEqual(['Cooking'])
    advance(1000)
    expect(await chats.renameChat(ada, cooking.id, 'Recipes')).toBe(true)
    expect((await chats.searchChatsForUser(ada, 'recipes', page)).map((chat) => chat.id)).toEqual([cooking.id])
    expect(await chats.deleteChatForUser(ada, cooking.id)).toBe(true)
    expect(await chats.searchChatsForUser(ada, 'lisbon', page)).toEqual([])
    expect(await chats.deleteAllChatsForUser(ada)).toBe(2)
    expect(await chats.listChatsForUser(ada, page)).toEqual([])
    expect((await chats.listChatsForUser(eve, page)).map((chat) => chat.title)).toEqual(['Lisbon too'])
    await close()
  })

  test('a page of all chats (live and archived merged) is the page the single ordered read gives, ties and deep offsets included', async () => {
    const { chats, ada, eve, advance, sql, close } = await open(dialect)
    let seed = 7
    const random = () => (seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648) / 2_147_483_648
    for (let i = 0; i < 23; i++) {
      // note: about a third made in the same millisecond as the one before, so the id breaks the tie.
      if (random() > 0.35) advance(1 + Math.floor(random() * 3))
      const chat = await chats.createChat(i % 5 === 4 ? eve : ada, `chat ${i}`)
      if (random() < 0.4) await chats.setChatArchived(i % 5 === 4 ? eve : ada, chat.id, true)
      if (random() < 0.3) await chats.addMessage(i % 5 === 4 ? eve : ada, chat.id, { role: 'user', content: `note ${i}` })
    }
    const single = async (limit: number, offset: number) => (await sql.all<{ id: string }>(
      'SELECT id FROM chat WHERE user_id = ? ORDER BY updated_at DESC, id LIMIT ? OFFSET ?', ada, limit < 0 ? (dialect === 'sqlite' ? -1 : null) : limit, offset)).map((row) => row.id)
    for (const [limit, offset] of [[50, 0], [-1, 0], [-1, 5], [1, 0], [1, 7], [3, 2], [4, 12], [5, 15], [5, 30], [0, 0]] as const) {
      expect((await chats.listChatsForUser(ada, { limit, offset })).map((chat): string => chat.id)).toEqual(await single(limit, offset))
    }
    expect((await chats.listChatsForUser(ada, { limit: -1, offset: 0 })).filter((chat) => chat.archived).length).toBeGreaterThan(0)
    await close()
  })

  test("search reads an owner's messages in pages: a match past the first page (2,000 rows) is found", async () => {
    const { chats, ada, close } = await open(dialect)
    const long = await chats.createChat(ada, 'Long', Array.from({ length: 1_999 }, (_, i) => ({ role: 'user' as const, content: i === 1_998 ? 'needle-one' : `filler ${i}` })))
    const short = await chats.createChat(ada, 'Short', [{ role: 'user', content: 'filler' }, { role: 'assistant', content: 'and needle-two at the end' }])
    expect((await chats.searchChatsForUser(ada, 'needle-two', page)).map((found) => found.id)).toEqual([short.id])
    expect((await chats.searchChatsForUser(ada, 'needle-one', page)).map((found) => found.id)).toEqual([long.id])
    expect((await chats.searchChatsForUser(ada, 'needle', page)).map((found) => found.id).sort()).toEqual([long.id, short.id].sort())
    await close()
  }, 30_000)

  test('messages inserted a batch at a time (100 a statement): a chat created and a save past a batch read back whole, in order', async () => {
    const { chats, ada, close } = await open(dialect)
    const contents = Array.from({ length: 201 }, (_, i) => `message ${i}`)
    const created = await chats.createChat(ada, 'Batches', contents.map((content, i) => ({ role: i % 2 === 0 ? 'user' as const : 'assistant' as const, content })))
    const listed = await chats.listCurrentPath(ada, created.id)
    expect(listed.map((message) => message.content)).toEqual(contents)
    expect(listed.slice(1).map((message) => message.parentId)).toEqual(listed.slice(0, -1).map((message) => message.id))
    const saved = await chats.createChat(ada, 'Saved in batches')
    const list = contents.map((content, i) => ({ uid: `u${i}`, role: 'user' as const, content, createdAt: null }))
    expect(await chats.saveChatForUser(ada, saved.id, { messages: { kind: 'list', messages: list } })).toMatchObject({ ok: true, counts: { inserted: 201 } })
    expect((await chats.listCurrentPath(ada, saved.id)).map((message) => [message.uid, message.content])).toEqual(list.map((message) => [message.uid, message.content]))
    await close()
  }, 30_000)

  test('two instances create chats at once: every message id is handed out once, every chat reads back whole', async () => {
    const { chats, ada, instance, close } = await open(dialect)
    const other = instance({ isAnnounced: false })
    const contents = Array.from({ length: 150 }, (_, i) => `line ${i}`)
    const make = (repo: typeof chats, name: string) => Array.from({ length: 4 }, (_, i) =>
      repo.createChat(ada, `${name} ${i}`, contents.map((content) => ({ role: 'user' as const, content }))))
    const made = await Promise.all([...make(chats, 'here'), ...make(other, 'there')])
    const ids: number[] = []
    for (const chat of made) {
      const messages = await chats.listMessagesInChat(ada, chat.id)
      expect(messages.map((message) => message.content)).toEqual(contents)
      ids.push(...messages.map((message) => message.id))
    }
    expect(new Set(ids).size).toBe(made.length * contents.length)
    await close()
  }, 30_000)

  test("addMessage checks the parent and the client id in one read: a parent of another chat or none refused, a server message's id already a client id made random", async () => {
    const { chats, ada, eve, close } = await open(dialect)
    const chat = await chats.createChat(ada, 'Checks', [{ role: 'user', content: 'q' }])
    const other = await chats.createChat(eve, 'Other', [{ role: 'user', content: 'theirs' }])
    const [question] = await chats.listMessagesInChat(ada, chat.id)
    const [theirs] = await chats.listMessagesInChat(eve, other.id)
    expect(await chats.addMessage(ada, chat.id, { role: 'assistant', content: 'x', parentId: theirs!.id })).toBeNull()
    expect(await chats.addMessage(ada, chat.id, { role: 'assistant', content: 'x', parentId: 999_999_999 as MessageId })).toBeNull()
    const answer = (await chats.addMessage(ada, chat.id, { role: 'assistant', content: 'a', parentId: question!.id }))!
    expect(answer).toMatchObject({ parentId: question!.id, uid: String(answer.id) })
    // note: the ids refused above left gaps; the next server message takes an id past this one.
    const probe = (await chats.addMessage(ada, chat.id, { role: 'user', content: 'probe' }))!
    const taken = Array.from({ length: 5 }, (_, i) => String(probe.id + 2 + i))
    for (const uid of taken) await chats.addMessage(ada, chat.id, { role: 'user', content: `client ${uid}`, uid })
    const server = (await chats.addMessage(ada, chat.id, { role: 'assistant', content: 'server' }))!
    expect(taken).toContain(String(server.id))
    expect(server.uid).not.toBe(String(server.id))
    const uids = (await chats.listMessagesInChat(ada, chat.id)).map((message) => message.uid)
    expect(new Set(uids).size).toBe(uids.length)
    await close()
  })

  test('a write that fails inside a transaction leaves no chat and no message, and later ids still grow', async () => {
    const { chats, ada, close } = await open(dialect)
    const chat = await chats.createChat(ada, 'Ids')
    const before = (await chats.addMessage(ada, chat.id, { role: 'user', content: 'one' }))!
    // note: the first message is inserted (its id reserved) before the second is found bad: the whole save rolls back.
    const bad = { kind: 'tree', currentUid: undefined, messages: [
      { uid: 'n1', parentUid: null, role: 'user', content: 'new', createdAt: null },
      { uid: 'n2', parentUid: 'missing', role: 'user', content: 'bad', createdAt: null },
    ] } as const
    expect(await chats.saveChatForUser(ada, chat.id, { title: 'Not kept', messages: bad })).toMatchObject({ ok: false, reason: 'bad_tree' })
    await expect(chats.createChatFromContent(ada, { title: 'Not made', messages: bad })).rejects.toThrow(BadTreeError)
    expect((await chats.listChatsForUser(ada, page)).map((found) => found.title)).toEqual(['Ids'])
    const after = (await chats.addMessage(ada, chat.id, { role: 'user', content: 'two' }))!
    expect(after.id).toBeGreaterThan(before.id)
    expect((await chats.listMessagesInChat(ada, chat.id)).map((message) => message.content)).toEqual(['one', 'two'])
    await close()
  })

  test('two instances on one database: what one writes the other serves, its held copies told or not kept', async () => {
    const { chats, ada, instance, close } = await open(dialect)
    // note: on SQLite one process writes the file, through one repository: the other instance is that one.
    const other = dialect === 'postgresql' ? instance({ isAnnounced: false }) : chats
    const chat = await chats.createChat(ada, 'Shared', [{ role: 'user', content: 'Q' }])
    const answer = (await other.addMessage(ada, chat.id, { role: 'assistant', content: 'partial', status: 'pending' }))!
    // note: each reads (and, where it may, holds) the chat and the search index, then the other writes.
    expect((await chats.listCurrentPath(ada, chat.id)).map((message) => message.content)).toEqual(['Q', 'partial'])
    expect((await chats.searchChatsForUser(ada, 'partial', page)).map((found) => found.id)).toEqual([chat.id])
    await other.replaceMessageContentForUser(ada, chat.id, answer.id, { content: 'finished', status: 'done' })
    await other.renameChat(ada, chat.id, 'Renamed elsewhere')
    expect((await chats.listCurrentPath(ada, chat.id)).map((message) => message.content)).toEqual(['Q', 'finished'])
    expect((await chats.searchChatsForUser(ada, 'finished', page)).map((found) => found.title)).toEqual(['Renamed elsewhere'])
    expect((await chats.listFilteredChatsForUser(ada, 'live', page)).map((found) => found.title)).toEqual(['Renamed elsewhere'])
    await close()
  })

  test('an instance told of writes (forgetChat, forgetOwner) holds chats and serves what another wrote once told', async () => {
    const { ada, instance, close } = await open(dialect)
    const first = instance({ isAnnounced: true })
    const second = instance({ isAnnounced: true })
    const chat = await first.createChat(ada, 'Told', [{ role: 'user', content: 'Q' }])
    const answer = (await second.addMessage(ada, chat.id, { role: 'assistant', content: 'partial' }))!
    expect((await first.listCurrentPath(ada, chat.id)).map((message) => message.content)).toEqual(['Q', 'partial'])
    expect(first.historyCacheSize().chats).toBe(1)
    expect((await first.searchChatsForUser(ada, 'partial', page)).map((found) => found.id)).toEqual([chat.id])
    await second.replaceMessageContentForUser(ada, chat.id, answer.id, { content: 'finished' })
    first.forgetChat(ada, chat.id)
    expect(first.historyCacheSize().chats).toBe(0)
    expect((await first.listCurrentPath(ada, chat.id)).map((message) => message.content)).toEqual(['Q', 'finished'])
    expect((await first.searchChatsForUser(ada, 'finished', page)).map((found) => found.id)).toEqual([chat.id])
    await second.deleteChatForUser(ada, chat.id)
    first.forgetOwner(ada)
    expect(first.historyCacheSize().chats).toBe(0)
    expect(await first.searchChatsForUser(ada, 'finished', page)).toEqual([])
    expect(await first.listMessagesInChat(ada, chat.id)).toEqual([])
    await close()
  })
})
