import { describe, expect, test } from 'bun:test'
import fc from 'fast-check'
import { generateKey } from '../crypto/random.ts'
import { FieldOpenError } from './field-open-error.ts'
import { openMemoryStore, type SqliteStore as Store } from './open-store.ts'
import { sealedTable } from './sealed-table.ts'

// Someone who can edit the database file but holds no key: every change to a sealed value, and
// every move of one to another row, column or owner, must be refused with a FieldOpenError.

const TITLE = 'PLAINTEXT-TITLE-91c2'
const CONTENT = 'PLAINTEXT-CONTENT-4be0'

async function setup() {
  const store = openMemoryStore()
  const user = async (email: string, name: string) => {
    const result = await store.users.createUser({ email, name, role: 'user', preferences: { theme: 'PLAINTEXT-PREF' } })
    if (!result.ok) throw new Error(result.reason)
    return result.user
  }
  const ada = await user('ada@example.com', 'PLAINTEXT-NAME-ADA')
  const eve = await user('eve@example.com', 'PLAINTEXT-NAME-EVE')
  const adaChat = await store.chats.createChat(ada.id, TITLE)
  const adaOther = await store.chats.createChat(ada.id, 'other chat')
  const eveChat = await store.chats.createChat(eve.id, 'eve chat')
  const first = (await store.chats.addMessage(ada.id, adaChat.id, { role: 'user', content: CONTENT, stats: { tokens: 3 } }))!
  const second = (await store.chats.addMessage(ada.id, adaChat.id, { role: 'assistant', content: 'second', model: 'llama3' }))!
  await store.chats.addMessage(eve.id, eveChat.id, { role: 'user', content: 'eve says hi' })
  const other = (await store.chats.addMessage(ada.id, adaOther.id, { role: 'user', content: 'in the other chat' }))!
  await store.chats.saveChatForUser(ada.id, adaChat.id, { settings: { system: 'PLAINTEXT-SYSTEM' } })
  await store.chats.saveChatForUser(ada.id, adaOther.id, { settings: { system: 'another prompt' } })
  await store.settings.writeSetting('connections', { url: 'PLAINTEXT-SETTING' })
  await store.settings.writeSetting('features', { on: true })
  return { store, ada, eve, adaChat, adaOther, eveChat, first, second, other }
}

const readBlob = (store: Store, table: string, column: string, key: string, id: string | number) =>
  store.db.query<{ v: Uint8Array }, [string | number]>(`SELECT ${column} AS v FROM ${table} WHERE ${key} = ?`).get(id)!.v
const writeBlob = (store: Store, table: string, column: string, key: string, id: string | number, value: Uint8Array) =>
  store.db.query(`UPDATE ${table} SET ${column} = ? WHERE ${key} = ?`).run(value, id)

function flipped(blob: Uint8Array, at: number): Uint8Array {
  const copy = blob.slice()
  copy[at]! ^= 0x01
  return copy
}

async function expectFieldOpenError(read: () => unknown, table: string, column: string, rowId: string | number) {
  let thrown: unknown = null
  try {
    await read()
  } catch (error) {
    thrown = error
  }
  expectFieldOpenErrorOf(thrown, table, column, rowId)
}

/** As expectFieldOpenError, for a read that may be async (a repository on the engine). */
async function expectFieldOpenErrorAsync(read: () => unknown, table: string, column: string, rowId: string | number) {
  let thrown: unknown = null
  try {
    await read()
  } catch (error) {
    thrown = error
  }
  expectFieldOpenErrorOf(thrown, table, column, rowId)
}

function expectFieldOpenErrorOf(thrown: unknown, table: string, column: string, rowId: string | number) {
  expect(thrown).toBeInstanceOf(FieldOpenError)
  const error = thrown as FieldOpenError
  expect({ table: error.table, column: error.column, rowId: error.rowId }).toEqual({ table, column, rowId: String(rowId) })
  expect(error.message).toContain(`${table}.${column}`)
  expect(error.message).toContain(String(rowId))
  expect(error.message).not.toContain('PLAINTEXT')
}

type Fixture = Awaited<ReturnType<typeof setup>>

describe('a sealed value that was altered or moved fails to open, naming the place', () => {
  test.each<[string, (f: Fixture) => void, (f: Fixture) => unknown, (f: Fixture) => [string, string, string | number]]>([
    ['a flipped byte in a chat title',
      (f) => writeBlob(f.store, 'chat', 'title', 'id', f.adaChat.id, flipped(readBlob(f.store, 'chat', 'title', 'id', f.adaChat.id), 30)),
      async (f) => await f.store.chats.findChatForUser(f.ada.id, f.adaChat.id), (f) => ['chat', 'title', f.adaChat.id]],
    ["a title copied into the owner's other chat",
      (f) => writeBlob(f.store, 'chat', 'title', 'id', f.adaOther.id, readBlob(f.store, 'chat', 'title', 'id', f.adaChat.id)),
      async (f) => await f.store.chats.listChatsForUser(f.ada.id, { limit: 10, offset: 0 }), (f) => ['chat', 'title', f.adaOther.id]],
    ["a title copied into another user's chat",
      (f) => writeBlob(f.store, 'chat', 'title', 'id', f.eveChat.id, readBlob(f.store, 'chat', 'title', 'id', f.adaChat.id)),
      async (f) => await f.store.chats.findChatForUser(f.eve.id, f.eveChat.id), (f) => ['chat', 'title', f.eveChat.id]],
    ['a flipped byte in message content',
      (f) => writeBlob(f.store, 'message', 'content', 'id', f.first.id, flipped(readBlob(f.store, 'message', 'content', 'id', f.first.id), 20)),
      async (f) => await f.store.chats.listMessagesInChat(f.ada.id, f.adaChat.id), (f) => ['message', 'content', `${f.adaChat.id}/${f.first.id}`]],
    ['content copied into the next message',
      (f) => writeBlob(f.store, 'message', 'content', 'id', f.second.id, readBlob(f.store, 'message', 'content', 'id', f.first.id)),
      async (f) => await f.store.chats.listMessagesInChat(f.ada.id, f.adaChat.id), (f) => ['message', 'content', `${f.adaChat.id}/${f.second.id}`]],
    ["a message's sealed value copied into its chat's system prompt",
      (f) => writeBlob(f.store, 'chat', 'system', 'id', f.adaChat.id, readBlob(f.store, 'message', 'content', 'id', f.first.id)),
      async (f) => await f.store.chats.readChatTree(f.ada.id, f.adaChat.id), (f) => ['chat', 'system', f.adaChat.id]],
    ["a message row moved into another user's chat",
      (f) => f.store.db.query('UPDATE message SET chat_seq = (SELECT seq FROM chat WHERE id = ?) WHERE id = ?').run(f.eveChat.id, f.first.id),
      async (f) => await f.store.chats.listMessagesInChat(f.eve.id, f.eveChat.id), (f) => ['message', 'content', `${f.eveChat.id}/${f.first.id}`]],
    ["a message row moved into the owner's other chat (same data key)",
      (f) => f.store.db.query('UPDATE message SET chat_seq = (SELECT seq FROM chat WHERE id = ?) WHERE id = ?').run(f.adaOther.id, f.first.id),
      async (f) => await f.store.chats.listMessagesInChat(f.ada.id, f.adaOther.id), (f) => ['message', 'content', `${f.adaOther.id}/${f.first.id}`]],
    ["a message's content copied into a message of the owner's other chat",
      (f) => writeBlob(f.store, 'message', 'content', 'id', f.other.id, readBlob(f.store, 'message', 'content', 'id', f.first.id)),
      async (f) => await f.store.chats.readChatTree(f.ada.id, f.adaOther.id), (f) => ['message', 'content', `${f.adaOther.id}/${f.other.id}`]],
    ['a chat\'s system prompt copied into the owner\'s other chat',
      (f) => writeBlob(f.store, 'chat', 'system', 'id', f.adaOther.id, readBlob(f.store, 'chat', 'system', 'id', f.adaChat.id)),
      async (f) => await f.store.chats.readChatTree(f.ada.id, f.adaOther.id), (f) => ['chat', 'system', f.adaOther.id]],
    ['a truncated message',
      (f) => writeBlob(f.store, 'message', 'content', 'id', f.first.id, readBlob(f.store, 'message', 'content', 'id', f.first.id).slice(0, -1)),
      async (f) => await f.store.chats.listMessagesInChat(f.ada.id, f.adaChat.id), (f) => ['message', 'content', `${f.adaChat.id}/${f.first.id}`]],
    ['plaintext written in place of a ciphertext',
      (f) => writeBlob(f.store, 'message', 'content', 'id', f.first.id, new TextEncoder().encode('hello, I am not sealed at all, just plain text in a blob')),
      async (f) => await f.store.chats.listMessagesInChat(f.ada.id, f.adaChat.id), (f) => ['message', 'content', `${f.adaChat.id}/${f.first.id}`]],
    ['a key version relabelled to 2',
      (f) => {
        const blob = readBlob(f.store, 'chat', 'title', 'id', f.adaChat.id).slice()
        blob[4] = 2
        writeBlob(f.store, 'chat', 'title', 'id', f.adaChat.id, blob)
      },
      async (f) => await f.store.chats.findChatForUser(f.ada.id, f.adaChat.id), (f) => ['chat', 'title', f.adaChat.id]],
    ['user email and name swapped',
      (f) => {
        const email = readBlob(f.store, 'user', 'email', 'id', f.ada.id)
        writeBlob(f.store, 'user', 'email', 'id', f.ada.id, readBlob(f.store, 'user', 'name', 'id', f.ada.id))
        writeBlob(f.store, 'user', 'name', 'id', f.ada.id, email)
      },
      (f) => f.store.users.findUserById(f.ada.id), (f) => ['user', 'email', f.ada.id]],
    ["a user's name copied to another user",
      (f) => writeBlob(f.store, 'user', 'name', 'id', f.eve.id, readBlob(f.store, 'user', 'name', 'id', f.ada.id)),
      (f) => f.store.users.findUserByEmail('eve@example.com'), (f) => ['user', 'name', f.eve.id]],
    ["preferences copied to another user",
      (f) => writeBlob(f.store, 'user', 'preferences', 'id', f.eve.id, readBlob(f.store, 'user', 'preferences', 'id', f.ada.id)),
      (f) => f.store.users.findUserPreferences(f.eve.id), (f) => ['user', 'preferences', f.eve.id]],
    ['a flipped byte in a setting',
      (f) => writeBlob(f.store, 'setting', 'value', 'name', 'connections', flipped(readBlob(f.store, 'setting', 'value', 'name', 'connections'), 40)),
      (f) => f.store.settings.readSetting('connections'), () => ['setting', 'value', 'connections']],
    ['a setting copied under another name',
      (f) => writeBlob(f.store, 'setting', 'value', 'name', 'features', readBlob(f.store, 'setting', 'value', 'name', 'connections')),
      (f) => f.store.settings.readSetting('features'), () => ['setting', 'value', 'features']],
  ])('%s', async (_, tamper, read, place) => {
    const fixture = await setup()
    tamper(fixture)
    const [table, column, rowId] = place(fixture)
    await expectFieldOpenErrorAsync(() => read(fixture), table, column, rowId)
  })

  test("a data key copied to another owner fails to unwrap", async () => {
    const store = openMemoryStore()
    const users = []
    for (const email of ['ada@example.com', 'eve@example.com']) {
      const result = await store.users.createUser({ email, name: 'PLAINTEXT-NAME', role: 'user' })
      if (!result.ok) throw new Error(result.reason)
      users.push(result.user)
    }
    const [ada, eve] = users as [typeof users[0], typeof users[0]]
    const wrapped = store.db.query<{ v: Uint8Array }, [string]>('SELECT wrapped AS v FROM data_key WHERE owner_id = ?').get(ada.id)!.v
    store.db.query('UPDATE data_key SET wrapped = ? WHERE owner_id = ?').run(wrapped, eve.id)
    await expectFieldOpenErrorAsync(() => store.users.findUserById(eve.id), 'data_key', 'wrapped', `${eve.id}/1`)
    expect((await store.users.findUserById(ada.id))?.name).toBe('PLAINTEXT-NAME')
  })

  test('any flipped bit of a message fails to open (fast-check)', async () => {
    const fixture = await setup()
    const original = readBlob(fixture.store, 'message', 'content', 'id', fixture.first.id)
    await fc.assert(fc.asyncProperty(fc.nat(original.length - 1), fc.integer({ min: 0, max: 7 }), async (at, bit) => {
      const altered = original.slice()
      altered[at]! ^= 1 << bit
      writeBlob(fixture.store, 'message', 'content', 'id', fixture.first.id, altered)
      await expectFieldOpenError(async () => await fixture.store.chats.listMessagesInChat(fixture.ada.id, fixture.adaChat.id), 'message', 'content', `${fixture.adaChat.id}/${fixture.first.id}`)
    }), { numRuns: 200 })
    writeBlob(fixture.store, 'message', 'content', 'id', fixture.first.id, original)
    expect((await fixture.store.chats.listMessagesInChat(fixture.ada.id, fixture.adaChat.id))[0]?.content).toBe(CONTENT)
  })
})

test('after deleteUser, a restored copy of their rows no longer opens', async () => {
  const { store, ada, adaChat } = await setup()
  const row = store.db.query<Record<string, unknown>, [string]>('SELECT * FROM chat WHERE id = ?').get(adaChat.id)!
  const userRow = store.db.query<Record<string, unknown>, [string]>('SELECT * FROM user WHERE id = ?').get(ada.id)!
  await store.users.deleteUser(ada.id)
  store.db.query('INSERT INTO user (id, email_index, email, name, preferences, role, created_at, updated_at) VALUES ($id, $email_index, $email, $name, $preferences, $role, $created_at, $updated_at)')
    .run(userRow as never)
  store.db.query('INSERT INTO chat (id, user_id, title, pinned, archived, created_at, updated_at) VALUES ($id, $user_id, $title, $pinned, $archived, $created_at, $updated_at)')
    .run(row as never)
  await expectFieldOpenError(async () => await store.chats.findChatForUser(ada.id, adaChat.id), 'data_key', 'wrapped', `${ada.id}/current`)
})

describe('text columns open as sealed', () => {
  const ring = { current: { version: 3, key: generateKey() }, byVersion: (version: number) => (version === 3 ? ring.current : null) }
  const table = sealedTable('t', { text: 'text', json: 'json' })

  // note: text is decoded with Buffer's toString; a TextDecoder dropped a leading U+FEFF.
  test('any well-formed text opens equal, a leading U+FEFF included, and equal to a UTF-8 decoding that keeps it (fast-check)', () => {
    const keepsBom = new TextDecoder('utf-8', { ignoreBOM: true })
    fc.assert(fc.property(fc.string({ unit: 'grapheme', maxLength: 300 }), fc.boolean(), fc.nat(), (text, bom, rowId) => {
      const value = bom ? `\uFEFF${text}` : text
      const sealed = table.seal(rowId, { text: value, json: { value } }, ring)
      expect(table.open(rowId, sealed, ring)).toEqual({ text: value, json: { value } })
      expect(table.openColumn('text', rowId, sealed.text, ring)).toBe(keepsBom.decode(Buffer.from(value, 'utf8')))
    }))
    expect(table.open(1, table.seal(1, { text: '\uFEFF', json: null }, ring), ring)).toEqual({ text: '\uFEFF', json: null })
  })
})
