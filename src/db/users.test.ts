import { describe, expect, test } from 'bun:test'
import fc from 'fast-check'
import { openMemoryStore } from './open-store.ts'
import type { UserId } from './ids.ts'
import { normaliseEmail, type NewUser } from './users.ts'

function storeWithClock() {
  let time = 1_700_000_000_000
  const store = openMemoryStore(undefined, () => time)
  return { store, advance: (ms: number) => { time += ms } }
}

async function createdUser(store: ReturnType<typeof openMemoryStore>, input: Partial<NewUser> = {}) {
  const result = await store.users.createUser({ email: 'ada@example.com', name: 'Ada Lovelace', role: 'user', ...input })
  if (!result.ok) throw new Error(`could not create user: ${result.reason}`)
  return result.user
}

const countWhere = (store: ReturnType<typeof openMemoryStore>, sql: string, id: string) =>
  store.db.query<{ n: number }, [string]>(sql).get(id)!.n

describe('create and find', () => {
  test('a created user is found by id with every field', async () => {
    const { store } = storeWithClock()
    const user = await createdUser(store, { role: 'admin', preferences: { theme: 'dark' } })
    expect(user).toMatchObject({ email: 'ada@example.com', name: 'Ada Lovelace', role: 'admin' })
    expect(await store.users.findUserPreferences(user.id)).toEqual({ theme: 'dark' })
    expect(user.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/)
    expect(await store.users.findUserById(user.id)).toEqual(user)
  })

  test.each(['ada@example.com', ' Ada@Example.COM ', 'ADA@EXAMPLE.COM', '\tada@example.com\n'])('finds ada@example.com by %p', async (email) => {
    const { store } = storeWithClock()
    const user = await createdUser(store)
    expect((await store.users.findUserByEmail(email))?.id).toBe(user.id)
  })

  test('the stored email is trimmed but keeps its case', async () => {
    const { store } = storeWithClock()
    const user = await createdUser(store, { email: '  Ada@Example.com ' })
    expect((await store.users.findUserById(user.id))?.email).toBe('Ada@Example.com')
  })

  test('unicode emails are compared after NFC normalisation', async () => {
    const { store } = storeWithClock()
    const user = await createdUser(store, { email: 'jos\u00e9@example.com', name: 'José 🛡️' })
    expect((await store.users.findUserByEmail('JOSE\u0301@example.com'))?.id).toBe(user.id)
    expect((await store.users.findUserById(user.id))?.name).toBe('José 🛡️')
  })

  test.each([
    ['unknown id', (store: ReturnType<typeof openMemoryStore>) => store.users.findUserById(crypto.randomUUID() as UserId)],
    ['unknown email', (store: ReturnType<typeof openMemoryStore>) => store.users.findUserByEmail('bob@example.com')],
    ['empty email', (store: ReturnType<typeof openMemoryStore>) => store.users.findUserByEmail('')],
  ])('%s finds null', async (_, find) => {
    const { store } = storeWithClock()
    await createdUser(store)
    expect(await find(store)).toBeNull()
  })

  test.each(['ada@example.com', 'ADA@example.com', ' ada@EXAMPLE.com'])('a second user with %p is refused as email_taken', async (email) => {
    const { store } = storeWithClock()
    await createdUser(store)
    expect(await store.users.createUser({ email, name: 'Impostor', role: 'admin' })).toEqual({ ok: false, reason: 'email_taken' })
    expect(await store.users.countUsers()).toBe(1)
    expect(store.db.query('SELECT count(*) AS n FROM data_key').get()).toEqual({ n: 3 })
  })

  test('normaliseEmail is idempotent, and ASCII case-insensitive (fast-check)', () => {
    fc.assert(fc.property(fc.string({ unit: 'grapheme' }), (email) => {
      const once = normaliseEmail(email)
      expect(normaliseEmail(once)).toBe(once)
    }), { numRuns: 1000 })
    fc.assert(fc.property(fc.string(), (email) => {
      expect(normaliseEmail(email.toUpperCase())).toBe(normaliseEmail(email.toLowerCase()))
    }))
  })
})

describe('list, count and update', () => {
  test('lists oldest first, a page at a time, and counts', async () => {
    const { store, advance } = storeWithClock()
    const emails = ['a@x.org', 'b@x.org', 'c@x.org', 'd@x.org', 'e@x.org']
    for (const email of emails) {
      await createdUser(store, { email })
      advance(1000)
    }
    expect(await store.users.countUsers()).toBe(5)
    expect((await store.users.listUsers({ limit: 2, offset: 0 })).map((user) => user.email)).toEqual(['a@x.org', 'b@x.org'])
    expect((await store.users.listUsers({ limit: 2, offset: 4 })).map((user) => user.email)).toEqual(['e@x.org'])
    expect(await store.users.listUsers({ limit: 10, offset: 10 })).toEqual([])
  })

  test('rename, role and preferences change only what they name, and move updatedAt', async () => {
    const { store, advance } = storeWithClock()
    const user = await createdUser(store)
    advance(5000)
    await store.users.renameUser(user.id, 'Augusta Ada King')
    await store.users.setUserRole(user.id, 'admin')
    const preferences = { theme: 'dark', models: ['llama3', 'qwen'], nested: { a: [1, null, true] }, text: 'ü 🛡️' }
    await store.users.setUserPreferences(user.id, preferences)
    const found = await store.users.findUserById(user.id)
    expect(found).toEqual({ ...user, name: 'Augusta Ada King', role: 'admin', updatedAt: user.createdAt + 5000 })
    expect(await store.users.findUserPreferences(user.id)).toEqual(preferences)
    expect((await store.users.findUserByEmail('ada@example.com'))?.id).toBe(user.id)
  })

  test('preferences round-trip any JSON (fast-check)', async () => {
    const { store } = storeWithClock()
    const user = await createdUser(store)
    await fc.assert(fc.asyncProperty(fc.dictionary(fc.string(), fc.jsonValue()), async (preferences) => {
      await store.users.setUserPreferences(user.id, preferences)
      expect(await store.users.findUserPreferences(user.id)).toEqual(JSON.parse(JSON.stringify(preferences)))
    }), { numRuns: 50 })
  })

  test('a user created without preferences has {}; an unknown user has none', async () => {
    const { store } = storeWithClock()
    expect(await store.users.findUserPreferences((await createdUser(store)).id)).toEqual({})
    expect(await store.users.findUserPreferences('00000000-0000-4000-8000-000000000000' as UserId)).toBeNull()
  })
})

describe('deleteUser', () => {
  test('removes the user, their chats, messages and data keys; others stay', async () => {
    const { store } = storeWithClock()
    const ada = await createdUser(store)
    const bob = await createdUser(store, { email: 'bob@example.com', name: 'Bob' })
    for (const owner of [ada, bob]) {
      const chat = await store.chats.createChat(owner.id, 'a chat')
      for (let i = 0; i < 3; i++) await store.chats.addMessage(owner.id, chat.id, { role: 'user', content: `m${i}` })
    }
    await store.users.deleteUser(ada.id)

    expect(await store.users.findUserById(ada.id)).toBeNull()
    expect(await store.users.findUserByEmail('ada@example.com')).toBeNull()
    expect(countWhere(store, 'SELECT count(*) AS n FROM data_key WHERE owner_id = ?', ada.id)).toBe(0)
    expect(countWhere(store, 'SELECT count(*) AS n FROM chat WHERE user_id = ?', ada.id)).toBe(0)
    expect(store.db.query('SELECT count(*) AS n FROM message').get()).toEqual({ n: 3 })
    expect(await store.users.countUsers()).toBe(1)
    expect(await store.chats.listChatsForUser(bob.id, { limit: 10, offset: 0 })).toHaveLength(1)
  })

  test('the email can be used again afterwards', async () => {
    const { store } = storeWithClock()
    await store.users.deleteUser((await createdUser(store)).id)
    expect((await store.users.createUser({ email: 'ada@example.com', name: 'Ada again', role: 'user' })).ok).toBe(true)
  })
})
