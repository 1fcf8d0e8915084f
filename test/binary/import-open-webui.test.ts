import { describe, expect, test } from 'bun:test'
import { Database } from 'bun:sqlite'
import { readFileSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { openStore, type Store } from '../../src/db/open-store.ts'
import type { UserId } from '../../src/db/ids.ts'
import { countStoredRows, requireBinary, runBinary, startBinary, tempDirsRemovedAfterAll } from '../helpers/binary.ts'
import { writeLargeOpenWebUiDatabase, writeOpenWebUiDatabase, type FixtureChat, type FixtureUser } from '../helpers/open-webui-fixture.ts'
import { generatedKey, seedDataDir } from '../helpers/seed-store.ts'

const tempDir = tempDirsRemovedAfterAll()
const NO_SERVER = { PORT: '1' }
const adaId = crypto.randomUUID()
const users: FixtureUser[] = [
  { id: adaId, name: 'Ada', email: 'ada@example.com', role: 'admin', password: 'ada open webui password' },
  { id: 'legacy-id-7', name: 'Bob', email: 'bob@example.com', role: 'user', password: 'bob open webui password' },
  { id: crypto.randomUUID(), name: 'Pat', email: 'pat@example.com', role: 'pending', password: null },
]
const chats: FixtureChat[] = [
  {
    id: crypto.randomUUID(), userId: adaId, title: 'Branching chat', currentId: 'm3', pinned: true,
    messages: [
      { id: 'm1', parentId: null, role: 'user', content: 'first question' },
      { id: 'm2', parentId: 'm1', role: 'assistant', content: 'an answer regenerated away', model: 'llama3.2' },
      { id: 'm2b', parentId: 'm1', role: 'assistant', content: 'the answer kept', model: 'llama3.2' },
      { id: 'm3', parentId: 'm2b', role: 'user', content: 'follow-up' },
    ].map((message) => (message.id === 'm3' ? { ...message, parentId: 'm2b' } : message)),
  },
  { id: 'chat-legacy-1', userId: 'legacy-id-7', title: 'Bob archived', currentId: 'b1', archived: true, messages: [{ id: 'b1', parentId: null, role: 'user', content: 'bob says hi' }] },
  { id: crypto.randomUUID(), userId: 'deleted-user', title: 'orphan', currentId: null, messages: [] },
]

async function fixture(cwd: string, name = 'webui.db', chatList = chats, userList = users): Promise<string> {
  const path = join(cwd, name)
  await writeOpenWebUiDatabase(path, userList, chatList)
  return path
}

/** Runs `use` on the store in cwd/data, closed afterwards. */
async function withStore<T>(cwd: string, use: (store: Store) => T | Promise<T>): Promise<T> {
  const store = openStore({ dataDir: join(cwd, 'data'), masterKey: generatedKey(join(cwd, 'data')), now: Date.now })
  try {
    return await use(store)
  } finally {
    store.close()
  }
}

async function signIn(url: string, email: string, password: string) {
  return fetch(`${url}/api/v1/auths/signin`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email, password }) })
}

describe('enclave import open-webui', () => {
  test('imports users with roles and working passwords, and chats along the branch shown; a second run imports nothing', async () => {
    const cwd = tempDir()
    const source = await fixture(cwd)
    const first = await runBinary(['import', 'open-webui', source], { cwd, env: NO_SERVER })
    expect(first.code).toBe(0)
    expect(first.stdout).toContain('3 users (0 already here, 0 left out')
    expect(first.stdout).toContain('2 chats with 5 messages (0 already here, 0 of left-out users)')

    const server = await startBinary({ cwd })
    try {
      const ada = await signIn(server.url, 'ada@example.com', 'ada open webui password')
      expect(ada.status).toBe(200)
      const session = await ada.json() as { token: string; role: string; id: string }
      expect(session.role).toBe('admin')
      expect(session.id).toBe(adaId)
      const list = await (await fetch(`${server.url}/api/v1/chats/pinned`, { headers: { authorization: `Bearer ${session.token}` } })).json() as { id: string; title: string }[]
      expect(list.map((chat) => chat.title)).toEqual(['Branching chat'])
      const chat = await (await fetch(`${server.url}/api/v1/chats/${list[0]!.id}`, { headers: { authorization: `Bearer ${session.token}` } })).json() as { chat: { messages: { content: string; model: string | null }[] }; created_at: number }
      expect(chat.chat.messages.map((message) => message.content)).toEqual(['first question', 'the answer kept', 'follow-up'])
      expect(chat.chat.messages[1]!.model).toBe('llama3.2')
      expect(chat.created_at).toBe(1_700_000_000)
      expect((await signIn(server.url, 'bob@example.com', 'bob open webui password')).status).toBe(200)
      expect((await signIn(server.url, 'bob@example.com', 'wrong password')).status).toBe(400)
      const pat = await signIn(server.url, 'pat@example.com', 'anything at all')
      expect(pat.status).toBe(400)
    } finally {
      await server.stop()
    }
    // the bcrypt hash was upgraded at sign-in
    await withStore(cwd, async (store) => expect(await store.credentials.findPasswordHash(adaId as UserId)).toMatch(/^\$argon2id\$/))

    const second = await runBinary(['import', 'open-webui', source], { cwd, env: NO_SERVER })
    expect(second.code).toBe(0)
    expect(second.stdout).toContain('0 users (3 already here')
    expect(second.stdout).toContain('0 chats with 0 messages (2 already here, 0 of left-out users)')
    expect([countStoredRows(cwd, 'chat'), countStoredRows(cwd, 'user')]).toEqual([2, 3])
    expect(readFileSync(join(cwd, 'data', 'enclave.db')).includes(Buffer.from('first question'))).toBe(false)
  })

  test('an email already taken by an Enclave account leaves that user and their chats out', async () => {
    const cwd = tempDir()
    await seedDataDir(join(cwd, 'data'), { users: 1 })
    const source = await fixture(cwd, 'webui.db', chats, [{ ...users[0]!, email: 'user0@example.com' }, users[1]!])
    const run = await runBinary(['import', 'open-webui', source], { cwd, env: NO_SERVER })
    expect(run.code).toBe(0)
    expect(run.stdout).toContain('1 users (0 already here, 1 left out')
    expect(run.stdout).toContain('1 chats with 1 messages (0 already here, 1 of left-out users)')
  })
})

describe('imported users never merge into existing accounts', () => {
  const chatsOf = (cwd: string, userId: string) => countStoredRows(cwd, 'chat', 'user_id = ?', userId)

  test('a source user with the id of an existing account gets a new id, and their chats land in that new account only', async () => {
    const cwd = tempDir()
    const seeded = await seedDataDir(join(cwd, 'data'), { users: 1, chats: 1, messages: 1 })
    const existing = seeded.userIds[0]!
    const planted: FixtureChat = { id: seeded.chatIds[0]!, userId: existing, title: 'planted', currentId: 'p1', messages: [{ id: 'p1', parentId: null, role: 'user', content: 'planted text' }] }
    const source = await fixture(cwd, 'webui.db', [planted, { ...planted, id: crypto.randomUUID() }], [{ id: existing, name: 'Mallory', email: 'mallory@example.com', role: 'admin', password: 'mallory open webui password' }])
    const run = await runBinary(['import', 'open-webui', source], { cwd, env: NO_SERVER })
    expect(run.code).toBe(0)
    expect(run.stdout).toContain('1 users (0 already here, 0 left out')
    expect(run.stdout).toContain('2 chats with 2 messages')
    expect(run.stdout).toContain('mallory@example.com: its Open WebUI id belongs to another account here, so it was given a new one')
    expect(chatsOf(cwd, existing)).toBe(1)
    await withStore(cwd, async (store) => {
      expect((await store.users.findUserById(existing))!.email).toBe('user0@example.com')
      const mallory = (await store.users.findUserByEmail('mallory@example.com'))!
      expect(mallory.id).not.toBe(existing)
      expect(chatsOf(cwd, mallory.id)).toBe(2)
      expect(await store.credentials.findPasswordHash(existing)).toBeNull()
    })
  })

  test('a source user whose email belongs to an existing account is left out with a line naming it, even with the same id', async () => {
    const cwd = tempDir()
    const seeded = await seedDataDir(join(cwd, 'data'), { users: 2, chats: 1, messages: 1 })
    const [first, second] = seeded.userIds as [UserId, UserId]
    const source = await fixture(cwd, 'webui.db', [
      { id: crypto.randomUUID(), userId: first, title: 'into the first', currentId: 'a', messages: [{ id: 'a', parentId: null, role: 'user', content: 'x' }] },
      { id: crypto.randomUUID(), userId: 'other-id', title: 'into the second', currentId: 'b', messages: [{ id: 'b', parentId: null, role: 'user', content: 'y' }] },
    ], [
      { id: first, name: 'Same id and email', email: 'USER0@example.com', role: 'admin', password: 'a password here' },
      { id: 'other-id', name: 'Same email', email: 'user1@example.com', role: 'admin', password: 'a password here' },
    ])
    const run = await runBinary(['import', 'open-webui', source], { cwd, env: NO_SERVER })
    expect(run.code).toBe(0)
    expect(run.stdout).toContain('0 users')
    expect(run.stdout).toContain('0 chats with 0 messages (0 already here, 2 of left-out users)')
    expect(run.stdout).toContain('Left out user1@example.com: that email belongs to an existing account here; its chats were not imported.')
    expect(chatsOf(cwd, first)).toBe(1)
    expect(chatsOf(cwd, second)).toBe(1)
  })
})

describe('bcrypt hashes above cost 12 are not imported', () => {
  test('the user is imported without a password and the report says so; cost 12 and below are kept', async () => {
    const cwd = tempDir()
    const cheap = await Bun.password.hash('costly password', { algorithm: 'bcrypt', cost: 4 })
    const costly = cheap.replace(/^\$2b\$04\$/, '$2b$15$')
    const twelve = cheap.replace(/^\$2b\$04\$/, '$2b$12$')
    const source = await fixture(cwd, 'webui.db', [], [
      { id: crypto.randomUUID(), name: 'Costly', email: 'costly@example.com', role: 'user', password: null, passwordHash: costly },
      { id: crypto.randomUUID(), name: 'Twelve', email: 'twelve@example.com', role: 'user', password: null, passwordHash: twelve },
    ])
    const run = await runBinary(['import', 'open-webui', source], { cwd, env: NO_SERVER })
    expect(run.code).toBe(0)
    expect(run.stdout).toContain('2 users (0 already here')
    expect(run.stdout).toContain('costly@example.com: its password hash (bcrypt cost 15, above 12) was not imported')
    expect(run.stdout).not.toContain('twelve@example.com')
    expect(run.output).not.toContain(costly)
    await withStore(cwd, async (store) => {
      expect(await store.credentials.findPasswordHash((await store.users.findUserByEmail('costly@example.com'))!.id)).toBeNull()
      expect(await store.credentials.findPasswordHash((await store.users.findUserByEmail('twelve@example.com'))!.id)).toBe(twelve)
    })
  })
})

describe('the import streams its source', () => {
  /** Runs the import and returns its exit code and peak resident memory in bytes (VmHWM, polled). */
  async function importPeakRss(cwd: string, source: string): Promise<{ code: number; peakBytes: number }> {
    const child = Bun.spawn([requireBinary(), 'import', 'open-webui', source], { cwd, env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: cwd, PORT: '1' }, stdout: 'ignore', stderr: 'ignore' })
    let peakKb = 0
    const poll = setInterval(() => {
      try {
        peakKb = Math.max(peakKb, Number(/VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'))?.[1] ?? 0))
      } catch { /* the process has just exited */ }
    }, 5)
    const code = await child.exited
    clearInterval(poll)
    return { code, peakBytes: peakKb * 1024 }
  }

  test('a 60 MB source grows the peak memory by well under its size', async () => {
    const small = tempDir()
    await writeLargeOpenWebUiDatabase(join(small, 'webui.db'), { megabytes: 1, users: 2 })
    const baseline = await importPeakRss(small, join(small, 'webui.db'))
    const large = tempDir()
    await writeLargeOpenWebUiDatabase(join(large, 'webui.db'), { megabytes: 60, users: 2 })
    const size = statSync(join(large, 'webui.db')).size
    const run = await importPeakRss(large, join(large, 'webui.db'))
    expect([baseline.code, run.code]).toEqual([0, 0])
    expect(baseline.peakBytes).toBeGreaterThan(0)
    // note: reading the whole source grew the peak by about three times the file size; streaming adds ~20 MB.
    expect(run.peakBytes - baseline.peakBytes).toBeLessThan(size / 2)
  }, 60_000)
})

describe('refused input leaves the database unchanged', () => {
  async function refused(cwd: string, source: string, reason: string) {
    await seedDataDir(join(cwd, 'data'), { users: 1, chats: 1, messages: 1 })
    const before = readFileSync(join(cwd, 'data', 'enclave.db'))
    const run = await runBinary(['import', 'open-webui', source], { cwd, env: NO_SERVER })
    expect(run.code).toBe(1)
    expect(run.stderr).toContain(`import refused (${reason})`)
    expect(run.stderr).toContain('Nothing was imported')
    expect(readFileSync(join(cwd, 'data', 'enclave.db')).equals(before)).toBe(true)
  }

  test('one chat of several holds broken JSON', async () => {
    const cwd = tempDir()
    await refused(cwd, await fixture(cwd, 'webui.db', [...chats, { ...chats[1]!, id: 'broken', rawChat: '{"history": {' }]), 'malformed')
  })

  test.each([
    ['a message history with a cycle', { id: 'cyc', userId: adaId, title: 'c', currentId: 'a', messages: [{ id: 'a', parentId: 'b', role: 'user', content: 'x' }, { id: 'b', parentId: 'a', role: 'user', content: 'y' }] }],
    ['a message with an unknown role', { id: 'role', userId: adaId, title: 'r', currentId: 'a', messages: [{ id: 'a', parentId: null, role: 'tool', content: 'x' }] }],
    ['a currentId that names no message', { id: 'dangling', userId: adaId, title: 'd', currentId: 'nope', messages: [] }],
  ])('%s', async (_, chat) => {
    const cwd = tempDir()
    await refused(cwd, await fixture(cwd, 'webui.db', [chats[0]!, chat as FixtureChat]), 'malformed')
  })

  test('a user with an unknown role', async () => {
    const cwd = tempDir()
    await refused(cwd, await fixture(cwd, 'webui.db', [], [{ ...users[0]!, role: 'superuser' }]), 'malformed')
  })

  test('an older, unknown schema (role_id instead of role, no auth table)', async () => {
    const cwd = tempDir()
    const path = join(cwd, 'old.db')
    await writeOpenWebUiDatabase(path, [], [], 'CREATE TABLE user (id TEXT PRIMARY KEY, name TEXT, email TEXT, role_id INTEGER, created_at INTEGER); CREATE TABLE chat (id TEXT, user_id TEXT, title TEXT, chat TEXT, created_at INTEGER, updated_at INTEGER);')
    await refused(cwd, path, 'unknown_version')
  })

  test('a file that is not SQLite at all, and an empty SQLite file', async () => {
    const cwd = tempDir()
    writeFileSync(join(cwd, 'junk.db'), 'this is not a database, just some text '.repeat(200))
    await refused(cwd, join(cwd, 'junk.db'), 'not_a_database')
    const other = tempDir()
    new Database(join(other, 'empty.db'), { create: true }).close()
    await refused(other, join(other, 'empty.db'), 'unknown_version')
  })

  test('a missing file', async () => {
    const cwd = tempDir()
    const run = await runBinary(['import', 'open-webui', join(cwd, 'absent.db')], { cwd, env: NO_SERVER })
    expect(run.code).toBe(1)
    expect(run.stderr).toContain('does not exist')
  })
})
