import { describe, expect, test } from 'bun:test'
import { Database } from 'bun:sqlite'
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { ChatId, UserId } from '../../src/db/ids.ts'
import { openStore, type Store } from '../../src/db/open-store.ts'
import { countStoredRows, runBinary, startBinary, tempDirsRemovedAfterAll } from '../helpers/binary.ts'
import { writeLibreWebUiDatabase, type LibreSession, type LibreUser } from '../helpers/libre-webui-fixture.ts'
import { generatedKey } from '../helpers/seed-store.ts'

const tempDir = tempDirsRemovedAfterAll()
// note: port 1 has no listener, so only the data directory lock can find a running server.
const NO_SERVER = { PORT: '1' }
const keyHex = () => Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString('hex')
const MARKER = 'LIBRE-MARKER-9f3c'

const adaId = crypto.randomUUID()
const bobId = crypto.randomUUID()
const users: LibreUser[] = [
  { id: 'default', username: 'admin', email: null, password: null, role: 'admin' },
  { id: adaId, username: 'ada', email: 'ada@example.com', password: 'ada libre password', role: 'admin' },
  // note: a row from before Libre WebUI sealed emails.
  { id: bobId, username: 'bob', email: 'bob@example.com', password: 'bob libre password', role: 'user', emailSealing: 'plain' },
]
const image = Buffer.from(`png ${MARKER}`).toString('base64')
const sessions: LibreSession[] = [
  {
    id: crypto.randomUUID(), userId: adaId, title: `Ada's ${MARKER} chat`, createdAt: 1_730_000_000_000,
    messages: [
      { role: 'system', content: 'You are terse.' },
      { role: 'user', content: `what is in this picture ${MARKER}`, images: [image] },
      { role: 'assistant', content: `a cat ${MARKER} ✓\n\nwith *markdown*`, model: 'llava', statistics: { total_duration: 1234, eval_count: 7 }, artifacts: [{ type: 'code', content: `print("${MARKER}")` }] },
    ],
  },
  { id: crypto.randomUUID(), userId: bobId, title: 'Bob plain legacy', titleSealing: 'plain', messages: [{ role: 'user', content: `old plaintext ${MARKER}`, sealing: 'plain' }] },
  { id: 'legacy-session-1', userId: 'default', title: 'Default user chat', messages: [{ role: 'user', content: 'hello from the default user' }] },
  { id: crypto.randomUUID(), userId: 'deleted-user', title: 'orphan', messages: [] },
]

async function libreDataDir(key: string, extra: Partial<{ sessions: LibreSession[]; users: LibreUser[] }> = {}): Promise<{ cwd: string; libreDir: string }> {
  const cwd = tempDir()
  const libreDir = join(cwd, 'libre-data')
  await Bun.write(join(libreDir, '.keep'), '')
  await writeLibreWebUiDatabase(join(libreDir, 'data.sqlite'), key, {
    users: extra.users ?? users, sessions: extra.sessions ?? sessions,
    preferences: [{ userId: adaId, key: 'theme', value: { mode: 'dark' } }, { userId: adaId, key: 'defaultModel', value: 'llava', sealing: 'plain' }],
  })
  return { cwd, libreDir }
}

async function withStore<T>(cwd: string, use: (store: Store) => T | Promise<T>): Promise<T> {
  const store = openStore({ dataDir: join(cwd, 'data'), masterKey: generatedKey(join(cwd, 'data')), now: Date.now })
  try {
    return await use(store)
  } finally {
    store.close()
  }
}

const signIn = (url: string, email: string, password: string) =>
  fetch(`${url}/api/v1/auths/signin`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email, password }) })

/** Every byte Enclave wrote in its data directory (database, WAL, keys). */
function dataDirBytes(cwd: string): Buffer {
  const dir = join(cwd, 'data')
  return Buffer.concat(readdirSync(dir).map((name) => readFileSync(join(dir, name))))
}

describe('enclave import libre-webui', () => {
  test('imports users, roles, passwords, chats with images, statistics and artifacts, and preferences; a second run adds nothing', async () => {
    const key = keyHex()
    const { cwd, libreDir } = await libreDataDir(key)
    const first = await runBinary(['import', 'libre-webui', '--from', libreDir], { cwd, env: { ...NO_SERVER, LIBRE_WEBUI_ENCRYPTION_KEY: key } })
    expect(first.code).toBe(0)
    expect(first.stdout).toContain('3 users (0 already here, 0 left out')
    expect(first.stdout).toContain('3 chats with 5 messages (0 already here, 0 of left-out users)')
    expect(first.stdout).toContain('admin had no email in Libre WebUI and signs in here as admin@localhost')
    expect(first.stdout).toContain('Not imported: 1 rows of documents')
    expect(first.output).not.toContain(key)
    expect(dataDirBytes(cwd).includes(Buffer.from(MARKER))).toBe(false)

    const server = await startBinary({ cwd })
    try {
      const ada = await signIn(server.url, 'ada@example.com', 'ada libre password')
      expect(ada.status).toBe(200)
      const session = await ada.json() as { token: string; role: string; id: string }
      expect(session).toMatchObject({ role: 'admin', id: adaId })
      const bob = await signIn(server.url, 'BOB@example.com', 'bob libre password')
      expect(bob.status).toBe(200)
      expect((await bob.json() as { role: string }).role).toBe('user')
      expect((await signIn(server.url, 'bob@example.com', 'wrong password')).status).toBe(400)
      expect((await signIn(server.url, 'admin@localhost', 'default')).status).toBe(400)
      const list = await (await fetch(`${server.url}/api/v1/chats/`, { headers: { authorization: `Bearer ${session.token}` } })).json() as { id: string; title: string }[]
      expect(list.map((chat) => chat.title)).toEqual([`Ada's ${MARKER} chat`])
      const chat = await (await fetch(`${server.url}/api/v1/chats/${list[0]!.id}`, { headers: { authorization: `Bearer ${session.token}` } })).json() as { created_at: number; chat: { messages: { role: string; content: string; model?: string | null; images?: string[]; usage?: unknown; artifacts?: unknown }[] } }
      expect(chat.created_at).toBe(1_730_000_000)
      expect(chat.chat.messages.map(({ role, content }) => ({ role, content }))).toEqual(sessions[0]!.messages.map(({ role, content }) => ({ role, content })))
      expect(chat.chat.messages[1]!.images).toEqual([image])
      expect(chat.chat.messages[2]!.model).toBe('llava')
      // note: as Open WebUI keeps them: Ollama's statistics as `usage`, the rest of the message as sent.
      expect(chat.chat.messages[2]).toMatchObject({ usage: { total_duration: 1234, eval_count: 7 }, artifacts: [{ type: 'code', content: `print("${MARKER}")` }] })
    } finally {
      await server.stop()
    }
    await withStore(cwd, async (store) => {
      expect(await store.credentials.findPasswordHash(adaId as UserId)).toMatch(/^\$argon2id\$/)
      expect(await store.credentials.findPasswordHash(bobId as UserId)).toMatch(/^\$argon2id\$/)
      const [adaChat] = await store.chats.listChatsForUser(adaId as UserId, { limit: 10, offset: 0 })
      const messages = await store.chats.listMessagesInChat(adaId as UserId, adaChat!.id as ChatId)
      expect(messages[2]!.usage).toEqual({ total_duration: 1234, eval_count: 7 })
      expect(messages[2]!.extra).toEqual({ artifacts: [{ type: 'code', content: `print("${MARKER}")` }] })
      expect(messages.map((message) => message.createdAt)).toEqual([0, 1, 2].map((index) => 1_735_000_000_000 + index))
      expect(await store.users.findUserPreferences(adaId as UserId)).toEqual({ libreWebui: { theme: { mode: 'dark' }, defaultModel: 'llava' } })
      const admin = (await store.users.findUserByEmail('admin@localhost'))!
      expect(admin.role).toBe('admin')
      expect((await store.chats.listChatsForUser(admin.id, { limit: 10, offset: 0 })).map((each) => each.title)).toEqual(['Default user chat'])
    })
    expect(dataDirBytes(cwd).includes(Buffer.from(MARKER))).toBe(false)
    expect(dataDirBytes(cwd).includes(Buffer.from('ada@example.com'))).toBe(false)

    const second = await runBinary(['import', 'libre-webui', '--from', join(libreDir, 'data.sqlite')], { cwd, env: { ...NO_SERVER, LIBRE_WEBUI_ENCRYPTION_KEY: key } })
    expect(second.code).toBe(0)
    expect(second.stdout).toContain('0 users (3 already here')
    expect(second.stdout).toContain('0 chats with 0 messages (3 already here')
    expect([countStoredRows(cwd, 'chat'), countStoredRows(cwd, 'user')]).toEqual([3, 3])
  }, 60_000)

  test.each([
    ['a wrong key', (key: string) => ({ LIBRE_WEBUI_ENCRYPTION_KEY: keyHex(), _: key }), /import refused \(unopened_values\): 9 of 9 encrypted values could not be opened/],
    ['no key at all', () => ({}), /import refused \(unopened_values\): 9 of 9 encrypted values could not be opened with the key from none given/],
    ['a key that is not 64 hex characters', () => ({ LIBRE_WEBUI_ENCRYPTION_KEY: 'not-a-key' }), /not 64 hex characters/],
  ])('%s is refused before anything is written', async (_, env, message) => {
    const key = keyHex()
    const { cwd, libreDir } = await libreDataDir(key, { users: users.slice(1), sessions: sessions.slice(0, 2) })
    const run = await runBinary(['import', 'libre-webui', '--from', libreDir], { cwd, env: { ...NO_SERVER, ...env(key) } })
    expect(run.code).toBe(1)
    expect(run.stderr).toMatch(message)
    expect(run.stderr).toContain('Nothing was imported.')
    expect(existsSync(join(cwd, 'data', 'enclave.db'))).toBe(false)
  })

  test('one row sealed under another key refuses the whole import, counted', async () => {
    const key = keyHex()
    const stray: LibreSession = { id: crypto.randomUUID(), userId: adaId, title: 'stray', messages: [{ role: 'user', content: 'sealed elsewhere', sealing: { otherKey: keyHex() } }] }
    const { cwd, libreDir } = await libreDataDir(key, { users: users.slice(1), sessions: [sessions[0]!, stray] })
    const keyFile = join(cwd, 'libre.key')
    writeFileSync(keyFile, `${key}\n`, { mode: 0o600 })
    const run = await runBinary(['import', 'libre-webui', '--from', libreDir, '--encryption-key-file', keyFile], { cwd, env: NO_SERVER })
    expect(run.code).toBe(1)
    expect(run.stderr).toContain('1 of 11 encrypted values could not be opened with the key from --encryption-key-file')
    expect(existsSync(join(cwd, 'data', 'enclave.db'))).toBe(false)
  })

  test('a key file others may read is refused, naming the fix', async () => {
    const key = keyHex()
    const { cwd, libreDir } = await libreDataDir(key, { users: users.slice(1, 2), sessions: [] })
    const keyFile = join(cwd, 'libre.key')
    writeFileSync(keyFile, key, { mode: 0o644 })
    const run = await runBinary(['import', 'libre-webui', '--from', libreDir, '--encryption-key-file', keyFile], { cwd, env: NO_SERVER })
    expect(run.code).toBe(1)
    expect(run.stderr).toContain(`chmod 600 ${keyFile}`)
    expect(run.output).not.toContain(key)
    expect(existsSync(join(cwd, 'data', 'enclave.db'))).toBe(false)
  })

  test("Libre WebUI's Docker key file in its data directory and its ENCRYPTION_KEY are found", async () => {
    const key = keyHex()
    const docker = await libreDataDir(key, { users: users.slice(1, 2), sessions: sessions.slice(0, 1) })
    writeFileSync(join(docker.libreDir, '.encryption_key'), key, { mode: 0o600 })
    const fromFile = await runBinary(['import', 'libre-webui', '--from', docker.libreDir], { cwd: docker.cwd, env: NO_SERVER })
    expect(fromFile.code).toBe(0)
    expect(fromFile.stderr).toContain(`key: ${join(docker.libreDir, '.encryption_key')}`)

    // note: a user moving over may keep Libre WebUI's ENCRYPTION_KEY, which Enclave then also takes as its master key.
    const env = await libreDataDir(key, { users: users.slice(1, 2), sessions: sessions.slice(0, 1) })
    const fromEnv = await runBinary(['import', 'libre-webui', '--from', env.libreDir], { cwd: env.cwd, env: { ...NO_SERVER, ENCRYPTION_KEY: key } })
    expect(fromEnv.code).toBe(0)
    expect(fromEnv.stderr).toContain('key: ENCRYPTION_KEY')
    expect(fromEnv.stdout).toContain('1 users (0 already here')
  })

  test('an email already taken here is reported and left out, never merged', async () => {
    const key = keyHex()
    const { cwd, libreDir } = await libreDataDir(key, { users: users.slice(1), sessions: sessions.slice(0, 2) })
    const bobFirst = await libreDataDir(key, { users: [{ ...users[2]!, id: crypto.randomUUID() }], sessions: [] })
    // a different Bob with the same email is imported first
    await runBinary(['import', 'libre-webui', '--from', bobFirst.libreDir, '--data-dir', join(cwd, 'data')], { cwd: bobFirst.cwd, env: { ...NO_SERVER, LIBRE_WEBUI_ENCRYPTION_KEY: key } })
    const run = await runBinary(['import', 'libre-webui', '--from', libreDir], { cwd, env: { ...NO_SERVER, LIBRE_WEBUI_ENCRYPTION_KEY: key } })
    expect(run.code).toBe(0)
    expect(run.stdout).toContain('1 users (0 already here, 1 left out')
    expect(run.stdout).toContain('Left out bob@example.com')
    expect(run.stdout).toContain('1 chats with 3 messages (0 already here, 1 of left-out users)')
  })

  test.each([
    ['a file that is not SQLite', async (path: string) => writeFileSync(path, 'not a database at all'), 'not_a_database'],
    ['an Open WebUI database', async (path: string) => {
      const db = new Database(path, { create: true })
      db.run('CREATE TABLE user (id TEXT)')
      db.close()
    }, 'unknown_version'],
  ])('%s is refused', async (_, make, reason) => {
    const cwd = tempDir()
    const path = join(cwd, 'data.sqlite')
    await make(path)
    const run = await runBinary(['import', 'libre-webui', '--from', path], { cwd, env: NO_SERVER })
    expect(run.code).toBe(1)
    expect(run.stderr).toContain(`(${reason})`)
  })

  test('a large database shows progress on the terminal', async () => {
    const key = keyHex()
    const many: LibreSession[] = Array.from({ length: 1001 }, (_, i) => ({ id: `s-${i}`, userId: adaId, title: `chat ${i}`, messages: [{ role: 'user', content: `question ${i}` }] }))
    const { cwd, libreDir } = await libreDataDir(key, { users: users.slice(1, 2), sessions: many })
    const run = await runBinary(['import', 'libre-webui', '--from', libreDir], { cwd, env: { ...NO_SERVER, LIBRE_WEBUI_ENCRYPTION_KEY: key } })
    expect(run.code).toBe(0)
    expect(run.stderr).toContain('500 of 1001 chats')
    expect(run.stderr).toContain('1000 of 1001 chats')
    expect(run.stdout).toContain('1001 chats with 1001 messages')
  }, 60_000)

  test('a missing source is named', async () => {
    const cwd = tempDir()
    const run = await runBinary(['import', 'libre-webui', '--from', join(cwd, 'nowhere')], { cwd, env: NO_SERVER })
    expect(run.code).toBe(1)
    expect(run.stderr).toContain('does not exist')
  })

  test('a server running on the data directory refuses the import', async () => {
    const key = keyHex()
    const { cwd, libreDir } = await libreDataDir(key)
    const server = await startBinary({ cwd })
    try {
      const run = await runBinary(['import', 'libre-webui', '--from', libreDir], { cwd, env: { ...NO_SERVER, LIBRE_WEBUI_ENCRYPTION_KEY: key } })
      expect(run.code).toBe(1)
      expect(run.stderr).toContain('enclave serve')
    } finally {
      await server.stop()
    }
    await withStore(cwd, async (store) => expect(await store.users.countUsers()).toBe(0))
  })
})
