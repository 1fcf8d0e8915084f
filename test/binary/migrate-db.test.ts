import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { chmodSync, copyFileSync, cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { generateKey } from '../../src/crypto/random.ts'
import { createDataKeyRepo, SYSTEM_OWNER } from '../../src/db/data-keys.ts'
import { createSqliteEngine } from '../../src/db/sqlite-engine.ts'
import type { ChatId, UserId } from '../../src/db/ids.ts'
import { writeKeyCheck } from '../../src/db/key-check.ts'
import { migrate, readSchemaVersion } from '../../src/db/migrate.ts'
import { LATEST_SCHEMA_VERSION, migrations } from '../../src/db/migrations.ts'
import { closeDatabase, openDatabase } from '../../src/db/open-database.ts'
import { DATABASE_FILE, openStore } from '../../src/db/open-store.ts'
import { keyForNewDatabase } from '../../src/db/unlock.ts'
import { EMAIL_INDEX_OWNER } from '../../src/db/users.ts'
import { runBinary, startBinary, tempDirsRemovedAfterAll } from '../helpers/binary.ts'
import { LINEAR_CHAT_VERSIONS, writeLinearChatDatabase, type OldChat } from '../helpers/linear-chat-database.ts'
import { startPostgres, type PostgresServer } from '../helpers/postgres.ts'
import { seedFullDataDir } from '../helpers/seed-full-store.ts'

// `enclave migrate-db` and backup/restore on PostgreSQL, through the compiled binary against a real
// PostgreSQL server: a store goes there and back whole, refusals change nothing, the password never
// shows, and PostgreSQL's files hold no plaintext.

const MARKER = 'MIGRATE-MARKER-4e1f'
const PASSWORD = 'correct horse battery'
const tempDir = tempDirsRemovedAfterAll()
let server: PostgresServer
beforeAll(async () => { server = await startPostgres() }, 60_000)
afterAll(async () => { await server.remove() })

type Json = Record<string, unknown>
const post = (url: string, body: unknown, token?: string) => fetch(url, {
  method: 'POST', headers: { 'content-type': 'application/json', ...(token === undefined ? {} : { authorization: `Bearer ${token}` }) }, body: JSON.stringify(body),
})

/** Ada's chats as the server answers them: the list, then each chat whole. */
async function readChats(cwd: string, env: Record<string, string> = {}): Promise<Json[]> {
  const running = await startBinary({ cwd, env })
  try {
    const signin = await post(`${running.url}/api/v1/auths/signin`, { email: 'ada@example.com', password: PASSWORD })
    expect(signin.status).toBe(200)
    const { token } = await signin.json() as { token: string }
    const auth = { authorization: `Bearer ${token}` }
    const list = await (await fetch(`${running.url}/api/v1/chats/`, { headers: auth })).json() as { id: string }[]
    const chats: Json[] = []
    for (const { id } of list.sort((a, b) => a.id.localeCompare(b.id))) chats.push(await (await fetch(`${running.url}/api/v1/chats/${id}`, { headers: auth })).json() as Json)
    return chats
  } finally {
    await running.stop()
  }
}

/** A data dir written by the server (Ada and her chats) and filled with one of everything; returns its chats as served. */
async function seededServerDir(): Promise<{ cwd: string; chats: Json[] }> {
  const cwd = tempDir()
  const running = await startBinary({ cwd })
  try {
    const signup = await post(`${running.url}/api/v1/auths/signup`, { name: 'Ada', email: 'ada@example.com', password: PASSWORD })
    const { token } = await signup.json() as { token: string }
    for (let c = 0; c < 3; c++) {
      const res = await post(`${running.url}/api/v1/chats/new`, { chat: { title: `${MARKER} chat ${c}`, messages: [{ role: 'user', content: `${MARKER} question ${c}` }, { role: 'assistant', content: `${MARKER} answer ${c}` }] } }, token)
      expect(res.status).toBe(200)
    }
  } finally {
    await running.stop()
  }
  await seedFullDataDir(join(cwd, 'data'), MARKER)
  return { cwd, chats: await readChats(cwd) }
}

/** A new working directory whose DATA_DIR has the key and file blobs of `from`'s, but no database. */
function dirWithKeyAndFiles(from: string): string {
  const cwd = tempDir()
  mkdirSync(join(cwd, 'data'), { mode: 0o700 })
  copyFileSync(join(from, 'data', '.encryption_key'), join(cwd, 'data', '.encryption_key'))
  chmodSync(join(cwd, 'data', '.encryption_key'), 0o600)
  if (existsSync(join(from, 'data', 'files'))) cpSync(join(from, 'data', 'files'), join(cwd, 'data', 'files'), { recursive: true })
  return cwd
}

const keyFileEnv = (cwd: string) => ({ ENCRYPTION_KEY_FILE: join(cwd, 'data', '.encryption_key') })

/** Every file under PostgreSQL's data directory that holds `text`, after a checkpoint wrote everything out. */
async function postgresFilesHolding(url: string, text: string): Promise<string[]> {
  await server.asSuperuser(url, (sql) => sql.unsafe('CHECKPOINT'))
  const data = join(server.dir, 'data')
  const needle = Buffer.from(text)
  const found: string[] = []
  for (const name of readdirSync(data, { recursive: true }) as string[]) {
    const path = join(data, name)
    if (statSync(path).isFile() && readFileSync(path).includes(needle)) found.push(name)
  }
  return found
}

async function tableCount(url: string): Promise<number> {
  return server.asSuperuser(url, async (sql) => Number((await sql.unsafe("SELECT count(*) AS n FROM information_schema.tables WHERE table_schema = 'public'"))[0].n))
}

describe('enclave migrate-db', () => {
  let seeded: { cwd: string; chats: Json[] }
  let url: string
  beforeAll(async () => {
    seeded = await seededServerDir()
    url = await server.createDatabase()
  }, 120_000)

  test('SQLite → PostgreSQL → SQLite: the server reads the same chats back, on PostgreSQL and again on SQLite; no plaintext in PostgreSQL\'s files; no password printed', async () => {
    expect(seeded.chats).toHaveLength(3)
    const there = await runBinary(['migrate-db', '--to', url], { cwd: seeded.cwd })
    expect(there.stderr).toBe('')
    expect(there.code).toBe(0)
    expect(there.stdout).toMatch(/Copied \d+ rows of \d+ tables/)
    expect(there.stdout).toContain('sealed values opened')
    expect(there.output).not.toContain(server.appPassword)
    expect(there.output).not.toContain(MARKER)

    expect(await postgresFilesHolding(url, MARKER)).toEqual([])
    expect(await postgresFilesHolding(url, 'ada@example.com')).toEqual([])
    // the server on PostgreSQL, with the key and the file blobs beside it, serves the same chats
    const onPostgres = dirWithKeyAndFiles(seeded.cwd)
    expect(await readChats(onPostgres, { DATABASE_URL: url, ...keyFileEnv(onPostgres) })).toEqual(seeded.chats)
    expect(existsSync(join(onPostgres, 'data', DATABASE_FILE))).toBe(false)

    const back = dirWithKeyAndFiles(seeded.cwd)
    const returned = await runBinary(['migrate-db', '--to', 'data'], { cwd: back, env: { DATABASE_URL: url, ...keyFileEnv(back) } })
    expect(returned.stderr).toBe('')
    expect(returned.code).toBe(0)
    expect(returned.output).not.toContain(server.appPassword)
    expect(statSync(join(back, 'data', DATABASE_FILE)).mode & 0o077).toBe(0)
    expect(readdirSync(join(back, 'data')).filter((name) => name.includes('migrating'))).toEqual([])
    expect(await readChats(back)).toEqual(seeded.chats)
  }, 120_000)

  test('the scan finds a marker PostgreSQL holds in plaintext (it would catch a leak)', async () => {
    const other = await server.createDatabase()
    const control = `CONTROL-${crypto.randomUUID()}`
    await server.asSuperuser(other, (sql) => sql.unsafe(`CREATE TABLE leak (t text); INSERT INTO leak VALUES ('${control}')`))
    expect((await postgresFilesHolding(other, control)).length).toBeGreaterThan(0)
  }, 60_000)

  test('a target that holds data is refused, and left as it was', async () => {
    const target = await server.createDatabase()
    await server.asSuperuser(target, (sql) => sql.unsafe('CREATE TABLE mine (id int); GRANT ALL ON mine TO enclave'))
    const run = await runBinary(['migrate-db', '--to', target], { cwd: seeded.cwd })
    expect(run.code).toBe(1)
    expect(run.stderr).toContain('is not empty')
    expect(run.output).not.toContain(server.appPassword)
    expect(await tableCount(target)).toBe(1)
  }, 60_000)

  test('a second migration into a database that holds the store is refused', async () => {
    const target = await server.createDatabase()
    expect((await runBinary(['migrate-db', '--to', target], { cwd: seeded.cwd })).code).toBe(0)
    const again = await runBinary(['migrate-db', '--to', target], { cwd: seeded.cwd })
    expect(again.code).toBe(1)
    expect(again.stderr).toContain('is not empty')
    const back = dirWithKeyAndFiles(seeded.cwd)
    copyFileSync(join(seeded.cwd, 'data', DATABASE_FILE), join(back, 'data', DATABASE_FILE))
    const over = await runBinary(['migrate-db', '--to', 'data'], { cwd: back, env: { DATABASE_URL: target, ...keyFileEnv(back) } })
    expect(over.code).toBe(1)
    expect(over.stderr).toContain('already exists')
    rmSync(join(back, 'data', DATABASE_FILE))
    writeFileSync(join(back, 'data', `${DATABASE_FILE}-wal`), 'left over')
    const leftover = await runBinary(['migrate-db', '--to', 'data'], { cwd: back, env: { DATABASE_URL: target, ...keyFileEnv(back) } })
    expect(leftover.code).toBe(1)
    expect(leftover.stderr).toContain('left by another database')
    expect(existsSync(join(back, 'data', DATABASE_FILE))).toBe(false)
    const tooLong = await runBinary(['migrate-db', '--to', 'x'.repeat(10_000)], { cwd: back, env: { DATABASE_URL: target, ...keyFileEnv(back) } })
    expect(tooLong.code).toBe(1)
    expect(tooLong.stderr).toContain('too long')
    expect(tooLong.output.length).toBeLessThan(500)
  }, 60_000)

  test('a wrong key is refused before anything is written, on either side', async () => {
    const target = await server.createDatabase()
    const wrong = { ENCRYPTION_KEY: Buffer.from(generateKey()).toString('hex') }
    const run = await runBinary(['migrate-db', '--to', target], { cwd: seeded.cwd, env: wrong })
    expect(run.code).toBe(1)
    expect(run.stderr).toContain('does not match')
    expect(await tableCount(target)).toBe(0)
    expect(readdirSync(join(seeded.cwd, 'data')).filter((name) => name.startsWith('.enclave-migrate'))).toEqual([])

    const back = tempDir()
    const fromPostgres = await runBinary(['migrate-db', '--to', 'back.db'], { cwd: back, env: { DATABASE_URL: url, ...wrong } })
    expect(fromPostgres.code).toBe(1)
    expect(fromPostgres.stderr).toContain('does not match')
    expect(readdirSync(back)).toEqual([])
  }, 60_000)

  test.each([
    ['no host', 'postgresql:///enclave', 'expected a postgres:// or postgresql:// URL'],
    ['another engine', 'mysql://enclave:SECRET-PW@db/enclave', 'expected a postgres:// or postgresql:// URL'],
    ['unreachable', 'postgresql://enclave:SECRET-PW@127.0.0.1:1/enclave', 'cannot be reached'],
    ['a path while the store is in SQLite', 'elsewhere.db', 'takes a postgresql:// URL'],
    ['huge', `postgresql://enclave:SECRET-PW@${'h'.repeat(100_000)}/enclave`, 'cannot be reached'],
    ['huge and malformed', `postgresql://enclave:SECRET-PW@${'h'.repeat(100_000)}:x/enclave`, 'expected a postgres:// or postgresql:// URL'],
  ])('a bad target (%s) is refused with a clear message, without its password', async (_, to, message) => {
    const run = await runBinary(['migrate-db', '--to', to], { cwd: seeded.cwd })
    expect(run.code).toBe(1)
    expect(run.stderr).toContain(message)
    expect(run.output).not.toContain('SECRET-PW')
    expect(run.output.length).toBeLessThan(2000)
  }, 60_000)

  test('a wrong password for PostgreSQL is refused without printing it', async () => {
    const target = (await server.createDatabase()).replace(server.appPassword, 'WRONG-PW-91')
    const run = await runBinary(['migrate-db', '--to', target], { cwd: seeded.cwd })
    expect(run.code).toBe(1)
    expect(run.stderr).toContain('refused')
    expect(run.output).not.toContain('WRONG-PW-91')
  }, 60_000)

  test('refused while a server holds the data directory', async () => {
    const cwd = dirWithKeyAndFiles(seeded.cwd)
    copyFileSync(join(seeded.cwd, 'data', DATABASE_FILE), join(cwd, 'data', DATABASE_FILE))
    const running = await startBinary({ cwd })
    try {
      const run = await runBinary(['migrate-db', '--to', await server.createDatabase()], { cwd })
      expect(run.code).toBe(1)
      expect(run.stderr).toMatch(/in use|lock|running/i)
    } finally {
      await running.stop()
    }
  }, 60_000)

  test('backup on PostgreSQL restores into SQLite, and into PostgreSQL (refused over a store unless --force), and the chats come back', async () => {
    const source = await server.createDatabase()
    expect((await runBinary(['migrate-db', '--to', source], { cwd: seeded.cwd })).code).toBe(0)
    const backup = await runBinary(['backup', 'pg.backup'], { cwd: seeded.cwd, env: { DATABASE_URL: source } })
    expect(backup.stderr).toBe('')
    expect(backup.code).toBe(0)
    expect(backup.output).not.toContain(server.appPassword)
    const elsewhere = await runBinary(['backup', 'no-files.backup'], { cwd: tempDir(), env: { DATABASE_URL: source } })
    expect(elsewhere.code).toBe(0)
    expect(elsewhere.stderr).toContain('1 uploaded file(s) the database names have no blob')
    const file = join(seeded.cwd, 'pg.backup')
    expect(readFileSync(file).includes(Buffer.from(MARKER))).toBe(false)

    const intoSqlite = dirWithKeyAndFiles(seeded.cwd)
    const restored = await runBinary(['restore', file, '--data-dir', join(intoSqlite, 'data')], { cwd: intoSqlite })
    expect(restored.stderr).toBe('')
    expect(restored.code).toBe(0)
    expect(await readChats(intoSqlite)).toEqual(seeded.chats)

    const target = await server.createDatabase()
    const onPostgres = dirWithKeyAndFiles(seeded.cwd)
    const env = { DATABASE_URL: target, ...keyFileEnv(onPostgres) }
    const first = await runBinary(['restore', file, '--data-dir', join(onPostgres, 'data')], { cwd: onPostgres, env })
    expect(first.stderr).toBe('')
    expect(first.code).toBe(0)
    expect(first.output).not.toContain(server.appPassword)
    const again = await runBinary(['restore', file, '--data-dir', join(onPostgres, 'data')], { cwd: onPostgres, env })
    expect(again.code).toBe(1)
    expect(again.stderr).toContain('database_exists')
    const forced = await runBinary(['restore', file, '--data-dir', join(onPostgres, 'data'), '--force'], { cwd: onPostgres, env })
    expect(forced.stderr).toBe('')
    expect(forced.code).toBe(0)
    expect(await postgresFilesHolding(target, MARKER)).toEqual([])

    const back = dirWithKeyAndFiles(seeded.cwd)
    expect((await runBinary(['migrate-db', '--to', 'data'], { cwd: back, env: { DATABASE_URL: target, ...keyFileEnv(back) } })).code).toBe(0)
    expect(await readChats(back)).toEqual(seeded.chats)
  }, 180_000)
})

describe('enclave migrate-db from every earlier schema version', () => {
  const earlier = Array.from({ length: LATEST_SCHEMA_VERSION - 1 }, (_, index) => index + 1)

  /** A data dir holding a database at schema `version` (with chats from 1 to 5), under a raw key given as ENCRYPTION_KEY. */
  function oldDataDir(version: number): { cwd: string; env: { ENCRYPTION_KEY: string }; chats: OldChat[] } {
    const cwd = tempDir()
    mkdirSync(join(cwd, 'data'), { mode: 0o700 })
    const key = generateKey()
    const env = { ENCRYPTION_KEY: Buffer.from(key).toString('hex') }
    const path = join(cwd, 'data', DATABASE_FILE)
    if (LINEAR_CHAT_VERSIONS.includes(version)) return { cwd, env, chats: writeLinearChatDatabase(path, { kind: 'env', value: env.ENCRYPTION_KEY }, version).chats }
    const db = openDatabase(path)
    migrate(db, migrations, version)
    const { keyCheck } = keyForNewDatabase({ kind: 'raw', key })
    writeKeyCheck(db, keyCheck)
    const dataKeys = createDataKeyRepo(createSqliteEngine(db), key, Date.now)
    dataKeys.createKeyForOwner(SYSTEM_OWNER)
    dataKeys.createKeyForOwner(EMAIL_INDEX_OWNER)
    closeDatabase(db)
    return { cwd, env, chats: [] }
  }

  test('a passphrase-encrypted backup of a schema 5 store restores into PostgreSQL, its old messages re-sealed; a file that is no backup is refused, PostgreSQL untouched', async () => {
    const { cwd, env, chats } = oldDataDir(5)
    writeFileSync(join(cwd, 'pass'), 'a long enough passphrase\n', { mode: 0o600 })
    const backup = await runBinary(['backup', 'old.backup', '--passphrase-file', 'pass'], { cwd, env })
    expect(backup.code).toBe(0)
    const url = await server.createDatabase()
    const target = tempDir()
    const refused = await runBinary(['restore', join(cwd, 'pass'), '--data-dir', join(target, 'data')], { cwd: target, env: { ...env, DATABASE_URL: url } })
    expect(refused.code).toBe(1)
    expect(refused.stderr).toContain('not_a_backup')
    expect(await tableCount(url)).toBe(0)
    const restored = await runBinary(['restore', join(cwd, 'old.backup'), '--data-dir', join(target, 'data'), '--passphrase-file', join(cwd, 'pass')], { cwd: target, env: { ...env, DATABASE_URL: url } })
    expect(restored.stderr).toBe('')
    expect(restored.code).toBe(0)
    expect(restored.stdout).toContain(`schema migrated from version 5 to ${LATEST_SCHEMA_VERSION}`)
    const legacy = await server.asSuperuser(url, async (sql) => Number((await sql.unsafe('SELECT count(*) AS n FROM message_legacy'))[0].n))
    expect(legacy).toBe(0)
    const back = tempDir()
    expect((await runBinary(['migrate-db', '--to', 'enclave.db'], { cwd: back, env: { ...env, DATABASE_URL: url } })).code).toBe(0)
    mkdirSync(join(back, 'data'), { mode: 0o700 })
    copyFileSync(join(back, 'enclave.db'), join(back, 'data', DATABASE_FILE))
    const store = openStore({ dataDir: join(back, 'data'), masterKey: { kind: 'env', value: env.ENCRYPTION_KEY }, now: Date.now })
    try {
      for (const old of chats) expect((await store.chats.readChatTree(old.owner as UserId, old.id as ChatId))!.messages.map((message) => message.content)).toEqual(old.messages.map((message) => message.content))
    } finally {
      store.close()
    }
  }, 60_000)

  test.each(earlier)('schema %i goes to PostgreSQL and back, at the latest schema, its chats whole', async (version) => {
    const { cwd, env, chats } = oldDataDir(version)
    const url = await server.createDatabase()
    const there = await runBinary(['migrate-db', '--to', url], { cwd, env })
    expect(there.stderr).toBe('')
    expect(there.code).toBe(0)
    expect(there.stdout).toContain(`schema version ${LATEST_SCHEMA_VERSION}`)
    const back = tempDir()
    const returned = await runBinary(['migrate-db', '--to', 'enclave.db'], { cwd: back, env: { ...env, DATABASE_URL: url } })
    expect(returned.stderr).toBe('')
    expect(returned.code).toBe(0)
    // the source was read from a snapshot: it stays at its version
    const source = openDatabase(join(cwd, 'data', DATABASE_FILE))
    expect(readSchemaVersion(source)).toBe(version)
    closeDatabase(source)

    mkdirSync(join(back, 'data'), { mode: 0o700 })
    copyFileSync(join(back, 'enclave.db'), join(back, 'data', DATABASE_FILE))
    const store = openStore({ dataDir: join(back, 'data'), masterKey: { kind: 'env', value: env.ENCRYPTION_KEY }, now: Date.now })
    try {
      expect(readSchemaVersion(store.db)).toBe(LATEST_SCHEMA_VERSION)
      for (const old of chats) {
        const tree = await store.chats.readChatTree(old.owner as UserId, old.id as ChatId)
        expect(tree!.chat.title).toBe(old.title)
        expect(tree!.messages.map((message) => message.content)).toEqual(old.messages.map((message) => message.content))
      }
    } finally {
      store.close()
    }
  }, 60_000)
})
