import { describe, expect, test } from 'bun:test'
import { Database } from 'bun:sqlite'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { openStore } from '../../src/db/open-store.ts'
import type { UserId } from '../../src/db/ids.ts'
import { runBinary, startBinary, tempDirsRemovedAfterAll } from '../helpers/binary.ts'
import { writeOpenWebUiDatabase, type FixtureChat, type FixtureUser } from '../helpers/open-webui-fixture.ts'
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
    const store = openStore({ dataDir: join(cwd, 'data'), masterKey: generatedKey(join(cwd, 'data')), now: Date.now })
    expect(store.credentials.findPasswordHash(adaId as UserId)).toMatch(/^\$argon2id\$/)
    store.close()

    const second = await runBinary(['import', 'open-webui', source], { cwd, env: NO_SERVER })
    expect(second.code).toBe(0)
    expect(second.stdout).toContain('0 users (3 already here')
    expect(second.stdout).toContain('0 chats with 0 messages (2 already here, 0 of left-out users)')
    const db = new Database(join(cwd, 'data', 'enclave.db'), { readonly: true })
    expect(db.query('SELECT count(*) AS n FROM chat').get()).toEqual({ n: 2 })
    expect(db.query('SELECT count(*) AS n FROM user').get()).toEqual({ n: 3 })
    db.close()
    expect(readFileSync(join(cwd, 'data', 'enclave.db')).includes(Buffer.from('first question'))).toBe(false)
  })

  test('an email already taken by an Enclave account leaves that user and their chats out', async () => {
    const cwd = tempDir()
    seedDataDir(join(cwd, 'data'), { users: 1 })
    const source = await fixture(cwd, 'webui.db', chats, [{ ...users[0]!, email: 'user0@example.com' }, users[1]!])
    const run = await runBinary(['import', 'open-webui', source], { cwd, env: NO_SERVER })
    expect(run.code).toBe(0)
    expect(run.stdout).toContain('1 users (0 already here, 1 left out')
    expect(run.stdout).toContain('1 chats with 1 messages (0 already here, 1 of left-out users)')
  })
})

describe('refused input leaves the database unchanged', () => {
  async function refused(cwd: string, source: string, reason: string) {
    seedDataDir(join(cwd, 'data'), { users: 1, chats: 1, messages: 1 })
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
