/**
 * The commands that open the store, against the compiled binary with DATABASE_URL on a real
 * PostgreSQL: users list / reset-password / reset-mfa, keys status / verify / rotate / rotate-data, import
 * open-webui / libre-webui. Each shows its effect in PostgreSQL and writes no DATA_DIR/enclave.db;
 * the refusals (a wrong key, an unreachable database, a database without a store, instances running
 * beside a key rotation) change nothing and print a sentence without a password or a stack trace.
 * A reset's revocation is published on the cluster bus when REDIS_URL is set.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { RedisClient } from 'bun'
import { existsSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { Config } from '../../src/config/load-config.ts'
import { createClusterBus } from '../../src/cluster/cluster-bus.ts'
import { createRedisLink } from '../../src/cluster/redis-link.ts'
import { connectRevocationRelay } from '../../src/cluster/revocation-relay.ts'
import { openFromCluster } from '../../src/crypto/cluster-seal.ts'
import { createAccountChanges, type AccountChange } from '../../src/db/account-changes.ts'
import { openConfiguredStore } from '../../src/db/open-configured-store.ts'
import type { Store } from '../../src/db/open-store.ts'
import { createPostgresEngine } from '../../src/db/postgres-engine.ts'
import { silentLogger } from '../../src/log/logger.ts'
import { requireBinary, runBinary, tempDirsRemovedAfterAll } from '../helpers/binary.ts'
import { writeLibreWebUiDatabase } from '../helpers/libre-webui-fixture.ts'
import { writeOpenWebUiDatabase } from '../helpers/open-webui-fixture.ts'
import { startPostgres, type PostgresServer } from '../helpers/postgres.ts'
import { startTestRedis, type TestRedis } from '../helpers/redis-server.ts'

const tempDir = tempDirsRemovedAfterAll()
const NO_SERVER = { PORT: '1' }
const NEW_PASSWORD = 'a new password, typed once'
const POOL = { maxConnections: 2, idleTimeoutSeconds: 5, connectionTimeoutSeconds: 10, maxLifetimeSeconds: 0 }
const hexKey = () => Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString('hex')

let server: PostgresServer
let redis: TestRedis
beforeAll(async () => {
  server = await startPostgres()
  redis = await startTestRedis()
}, 60_000)
afterAll(async () => {
  await redis?.stop()
  await server?.remove()
})

type Seeded = { url: string; key: string; cwd: string; env: Record<string, string>; adaId: string }

const configFor = (url: string, key: string, cwd: string): Pick<Config, 'dataDir' | 'masterKey' | 'postgres'> =>
  ({ dataDir: join(cwd, 'data'), masterKey: { kind: 'env', value: key }, postgres: { url, pool: POOL } })

async function withStore<T>(seeded: Pick<Seeded, 'url' | 'key' | 'cwd'>, use: (store: Store) => Promise<T>): Promise<T> {
  const store = await openConfiguredStore(configFor(seeded.url, seeded.key, seeded.cwd), { now: Date.now })
  try {
    return await use(store)
  } finally {
    await store.close()
  }
}

/** A store on a fresh PostgreSQL database with Ada (admin, two sessions, a chat) and Bob. */
async function seeded(): Promise<Seeded> {
  const url = await server.createDatabase()
  const key = hexKey()
  const cwd = tempDir()
  const adaId = await withStore({ url, key, cwd }, async (store) => {
    const ada = await store.users.createUser({ email: 'ada@example.com', name: 'Ada', role: 'admin' })
    const bob = await store.users.createUser({ email: 'bob@example.com', name: 'Bob', role: 'user' })
    if (!ada.ok || !bob.ok) throw new Error('seed failed')
    for (const id of ['s-one', 's-two']) await store.sessions.createSession({ id: id as never, userId: ada.user.id, expiresAt: null, userAgent: null, ip: null })
    await store.chats.createChat(ada.user.id, 'seeded chat', [{ role: 'user', content: 'seeded message' }])
    await store.secondFactors.setPendingTotp(ada.user.id, crypto.getRandomValues(new Uint8Array(20)))
    await store.secondFactors.enableTotp(ada.user.id, 1)
    return ada.user.id
  })
  return { url, key, cwd, adaId, env: { ...NO_SERVER, DATABASE_URL: url, ENCRYPTION_KEY: key } }
}

async function runWithStdin(args: string[], cwd: string, input: string, env: Record<string, string>) {
  const child = Bun.spawn([requireBinary(), ...args], {
    cwd, env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/tmp', ...env }, stdin: new TextEncoder().encode(input), stdout: 'pipe', stderr: 'pipe',
  })
  const timer = setTimeout(() => child.kill('SIGKILL'), 20_000)
  const [stdout, stderr, code] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited])
  clearTimeout(timer)
  return { code, stdout, stderr, output: stdout + stderr }
}

/** Rows of one table, to show a refused command changed nothing. */
async function snapshot(url: string, query: string): Promise<string> {
  const sql = createPostgresEngine({ url, pool: POOL })
  try {
    return JSON.stringify(await sql.all(query), (_, value) => (value instanceof Uint8Array ? Buffer.from(value).toString('hex') : value))
  } finally {
    await sql.close()
  }
}

const liveSessions = (url: string) => snapshot(url, 'SELECT id FROM session WHERE revoked_at IS NULL ORDER BY id')
const noSqliteFile = (cwd: string) => expect(existsSync(join(cwd, 'data', 'enclave.db'))).toBe(false)

/** An open Enclave connection to the database, as a running instance holds. */
async function instanceConnection(url: string): Promise<{ close: () => Promise<void> }> {
  const sql = createPostgresEngine({ url, pool: POOL })
  await sql.get('SELECT 1 AS one')
  return { close: () => sql.close() }
}

describe('users commands on PostgreSQL', () => {
  test('users list reads the accounts from PostgreSQL, writing nothing in DATA_DIR', async () => {
    const db = await seeded()
    const run = await runBinary(['users', 'list'], { cwd: db.cwd, env: db.env })
    expect(run.code).toBe(0)
    expect(run.stdout).toMatch(/ada@example\.com\s+admin\s+Ada/)
    expect(run.stdout).toContain('2 accounts')
    expect(run.output).not.toContain(db.key)
    noSqliteFile(db.cwd)
  })

  test('reset-password changes the password in PostgreSQL and ends the sessions; says how running instances learn of it', async () => {
    const db = await seeded()
    const run = await runWithStdin(['users', 'reset-password', 'ada@example.com'], db.cwd, `${NEW_PASSWORD}\n`, db.env)
    expect(run.code).toBe(0)
    expect(run.stdout).toContain('2 sessions signed out')
    expect(run.stdout).toContain('Without REDIS_URL, running instances on this database refuse those sessions within 10 seconds')
    expect(await liveSessions(db.url)).toBe('[]')
    const hash = await withStore(db, (store) => store.credentials.findPasswordHash(db.adaId as never))
    expect(await Bun.password.verify(NEW_PASSWORD, hash!)).toBe(true)
    noSqliteFile(db.cwd)
  })

  test('with REDIS_URL, reset-password publishes the revocation on the bus, sealed, and a running instance applies it', async () => {
    const db = await seeded()
    const channel = 'enclave-test:cluster:access'
    const heard: string[] = []
    const subscriber = new RedisClient(redis.url)
    await subscriber.connect()
    await subscriber.subscribe(channel, (message) => void heard.push(message))
    // note: what an instance runs: its own account changes, relayed over the bus.
    const keys = await withStore(db, async (store) => store.clusterKeys)
    const link = createRedisLink({ url: redis.url, log: silentLogger })
    await link.ready
    const instanceChanges = createAccountChanges()
    await connectRevocationRelay(createClusterBus({ link, keys, keyPrefix: 'enclave-test', log: silentLogger }), instanceChanges)
    const applied: AccountChange[] = []
    instanceChanges.subscribe((change) => void applied.push(change))
    try {
      const run = await runWithStdin(['users', 'reset-password', 'ada@example.com'], db.cwd, `${NEW_PASSWORD}\n`, { ...db.env, REDIS_URL: redis.url, REDIS_KEY_PREFIX: 'enclave-test' })
      expect(run.code).toBe(0)
      expect(run.stdout).toContain('Running instances were told over Redis')
      for (let i = 0; i < 100 && applied.length === 0; i++) await Bun.sleep(20)
      expect(applied).toContainEqual({ kind: 'access', userId: db.adaId as never, revoked: { kind: 'sessions', keep: null } })
      expect(heard.length).toBeGreaterThan(0)
      for (const sealed of heard) expect(sealed).not.toContain('ada@example.com')
      expect(heard.join('')).not.toContain(db.adaId)
      expect(openFromCluster(keys, channel, heard[0]!)).not.toBeNull()
    } finally {
      link.close()
      subscriber.close()
    }
  })

  test('with REDIS_URL unreachable, the reset is still done and says how instances learn of it, without the Redis password', async () => {
    const db = await seeded()
    const run = await runWithStdin(['users', 'reset-password', 'ada@example.com'], db.cwd, `${NEW_PASSWORD}\n`, { ...db.env, REDIS_URL: 'redis://:redis-secret-pw@127.0.0.1:1' })
    expect(run.code).toBe(0)
    expect(run.stdout).toContain('Redis could not be reached, so running instances on this database refuse those sessions within 10 seconds')
    expect(run.output).not.toContain('redis-secret-pw')
    expect(await liveSessions(db.url)).toBe('[]')
  })

  test('reset-mfa removes the factors in PostgreSQL and ends the sessions', async () => {
    const db = await seeded()
    const run = await runBinary(['users', 'reset-mfa', 'ada@example.com'], { cwd: db.cwd, env: db.env })
    expect(run.code).toBe(0)
    expect(run.stdout).toContain('Second factors of ada@example.com removed')
    expect(await withStore(db, (store) => store.secondFactors.hasSecondFactor(db.adaId as never))).toBe(false)
    expect(await liveSessions(db.url)).toBe('[]')
    noSqliteFile(db.cwd)
  })

  test('a wrong key is refused and nothing is written', async () => {
    const db = await seeded()
    const before = await snapshot(db.url, 'SELECT * FROM session ORDER BY id')
    const env = { ...db.env, ENCRYPTION_KEY: hexKey() }
    for (const run of [
      await runWithStdin(['users', 'reset-password', 'ada@example.com'], db.cwd, `${NEW_PASSWORD}\n`, env),
      await runBinary(['users', 'reset-mfa', 'ada@example.com'], { cwd: db.cwd, env }),
      await runBinary(['users', 'list'], { cwd: db.cwd, env }),
    ]) {
      expect(run.code).toBe(1)
      expect(run.stderr).toMatch(/^enclave: .*key/m)
      expect(run.output).not.toMatch(/\n\s+at /)
    }
    expect(await snapshot(db.url, 'SELECT * FROM session ORDER BY id')).toBe(before)
    expect(await withStore(db, (store) => store.secondFactors.hasSecondFactor(db.adaId as never))).toBe(true)
  })
})

describe('refusals on PostgreSQL', () => {
  test('an unreachable database: a sentence, exit 1, no stack trace, no password', async () => {
    const cwd = tempDir()
    const password = 'unreachable-secret-pw'
    const env = { ...NO_SERVER, DATABASE_URL: `postgres://enclave:${password}@127.0.0.1:1/enclave`, ENCRYPTION_KEY: hexKey() }
    writeFileSync(join(cwd, 'new.key'), `${hexKey()}\n`, { mode: 0o600 })
    for (const args of [['users', 'list'], ['users', 'reset-mfa', 'ada@example.com'], ['keys', 'rotate-data'], ['keys', 'rotate', '--new-key-file', 'new.key']]) {
      const run = await runBinary(args, { cwd, env })
      expect(run.code).toBe(1)
      expect(run.stderr).toContain('cannot be reached')
      expect(run.output).not.toContain(password)
      expect(run.output).not.toMatch(/\n\s+at /)
    }
    noSqliteFile(cwd)
  })

  test('a database without a store is refused, and left empty', async () => {
    const url = await server.createDatabase()
    const cwd = tempDir()
    const run = await runBinary(['users', 'list'], { cwd, env: { ...NO_SERVER, DATABASE_URL: url, ENCRYPTION_KEY: hexKey() } })
    expect(run.code).toBe(1)
    expect(run.stderr).toContain('holds no Enclave store')
    expect(run.output).not.toContain(server.appPassword)
    expect(await snapshot(url, "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'")).toBe('[]')
    expect(existsSync(join(cwd, 'data', '.encryption_key'))).toBe(false)
  })
})

describe('keys commands on PostgreSQL', () => {
  test('keys status and keys verify read the PostgreSQL store; a wrong key is reported', async () => {
    const db = await seeded()
    const status = await runBinary(['keys', 'status'], { cwd: db.cwd, env: db.env })
    expect(status.code).toBe(0)
    expect(status.stdout).toContain('matches the configured key')
    expect(status.stdout).toMatch(/Data keys:\s+\d+ owners; version 1: \d+/)
    const verify = await runBinary(['keys', 'verify'], { cwd: db.cwd, env: db.env })
    expect(verify.code).toBe(0)
    expect(verify.stdout).toMatch(/^OK: all \d+ sealed values open/m)
    const wrong = { ...db.env, ENCRYPTION_KEY: hexKey() }
    expect((await runBinary(['keys', 'status'], { cwd: db.cwd, env: wrong })).stdout).toContain('DOES NOT MATCH')
    // A new key configured with the database's own as the previous one: no start finishes that on PostgreSQL.
    const pending = { ...db.env, ENCRYPTION_KEY: hexKey(), ENCRYPTION_KEY_PREVIOUS: db.key }
    const pendingStatus = await runBinary(['keys', 'status'], { cwd: db.cwd, env: pending })
    expect(pendingStatus.stdout).toContain('the database is still under ENCRYPTION_KEY_PREVIOUS, not the configured key: the server will refuse to start')
    expect(pendingStatus.stdout).not.toContain('next start finishes it')
    expect(pendingStatus.output).not.toContain(db.key)
    const refusedStart = await runBinary([], { cwd: db.cwd, env: { ...pending, PORT: '0' } })
    expect(refusedStart.code).toBe(1)
    expect(refusedStart.output).toContain('The encryption key does not match this database')
    const refused = await runBinary(['keys', 'verify'], { cwd: db.cwd, env: wrong })
    expect(refused.code).toBe(1)
    expect(refused.output).not.toMatch(/\n\s+at /)
    noSqliteFile(db.cwd)
  })

  test('keys rotate re-wraps the data keys in PostgreSQL; the old key no longer opens it', async () => {
    const db = await seeded()
    const newKey = hexKey()
    writeFileSync(join(db.cwd, 'new.key'), `${newKey}\n`, { mode: 0o600 })
    const run = await runBinary(['keys', 'rotate', '--new-key-file', 'new.key'], { cwd: db.cwd, env: db.env })
    expect(run.code).toBe(0)
    expect(run.stdout).toContain('Rotated the master key')
    expect(run.stdout).toContain('for every instance before it starts again')
    expect(run.output).not.toContain(newKey)
    await expect(withStore(db, async () => null)).rejects.toThrow()
    expect(await withStore({ ...db, key: newKey }, async (store) => (await store.chats.listChatsForUser(db.adaId as never, { limit: 10, offset: 0 })).length)).toBe(1)
    noSqliteFile(db.cwd)
    const again = await runBinary(['keys', 'rotate', '--new-key-file', 'new.key'], { cwd: db.cwd, env: { ...db.env, ENCRYPTION_KEY: newKey } })
    expect(again.code).toBe(0)
    expect(again.stdout).toContain('nothing to rotate')
  })

  test('keys rotate-data re-encrypts under new data keys in PostgreSQL', async () => {
    const db = await seeded()
    const run = await runBinary(['keys', 'rotate-data'], { cwd: db.cwd, env: db.env })
    expect(run.code).toBe(0)
    expect(run.stdout).toContain('Done:')
    expect(await snapshot(db.url, `SELECT version FROM data_key WHERE owner_id = '${db.adaId}'`)).toBe('[{"version":2}]')
    expect(await withStore(db, async (store) => (await store.chats.listChatsForUser(db.adaId as never, { limit: 10, offset: 0 })).length)).toBe(1)
    noSqliteFile(db.cwd)
  })

  test('both rotations refuse a wrong key and change nothing', async () => {
    const db = await seeded()
    writeFileSync(join(db.cwd, 'new.key'), `${hexKey()}\n`, { mode: 0o600 })
    const before = await snapshot(db.url, 'SELECT * FROM data_key ORDER BY owner_id, version')
    const env = { ...db.env, ENCRYPTION_KEY: hexKey() }
    for (const args of [['keys', 'rotate', '--new-key-file', 'new.key'], ['keys', 'rotate-data']]) {
      const run = await runBinary(args, { cwd: db.cwd, env })
      expect(run.code).toBe(1)
      expect(run.stderr).toMatch(/^enclave: .*key/m)
      expect(run.output).not.toMatch(/\n\s+at /)
    }
    expect(await snapshot(db.url, 'SELECT * FROM data_key ORDER BY owner_id, version')).toBe(before)
    noSqliteFile(db.cwd)
  })

  test('both rotations refuse while another instance is connected, and change nothing', async () => {
    const db = await seeded()
    writeFileSync(join(db.cwd, 'new.key'), `${hexKey()}\n`, { mode: 0o600 })
    const before = await snapshot(db.url, 'SELECT * FROM data_key ORDER BY owner_id, version')
    const instance = await instanceConnection(db.url)
    try {
      const master = await runBinary(['keys', 'rotate', '--new-key-file', 'new.key'], { cwd: db.cwd, env: db.env })
      expect(master.code).toBe(1)
      expect(master.stderr).toMatch(/instances run on this database \(\d+ other Enclave connections? to the database\)/)
      expect(master.stderr).toContain('rotate-master')
      const data = await runBinary(['keys', 'rotate-data'], { cwd: db.cwd, env: db.env })
      expect(data.code).toBe(1)
      expect(data.stderr).toContain('stop every one first')
    } finally {
      await instance.close()
    }
    expect(await snapshot(db.url, 'SELECT * FROM data_key ORDER BY owner_id, version')).toBe(before)
  })

  test('both rotations refuse while an instance listens on Redis', async () => {
    const db = await seeded()
    writeFileSync(join(db.cwd, 'new.key'), `${hexKey()}\n`, { mode: 0o600 })
    const listener = new RedisClient(redis.url)
    await listener.connect()
    await listener.subscribe('enclave-listen:cluster:access', () => {})
    try {
      const env = { ...db.env, REDIS_URL: redis.url, REDIS_KEY_PREFIX: 'enclave-listen' }
      for (const args of [['keys', 'rotate', '--new-key-file', 'new.key'], ['keys', 'rotate-data']]) {
        const run = await runBinary(args, { cwd: db.cwd, env })
        expect(run.code).toBe(1)
        expect(run.stderr).toContain('1 instance listens on Redis')
      }
    } finally {
      listener.close()
    }
  })
})

describe('imports on PostgreSQL', () => {
  test('import open-webui writes the users and chats to PostgreSQL', async () => {
    const db = await seeded()
    const carolId = crypto.randomUUID()
    const source = join(db.cwd, 'webui.db')
    await writeOpenWebUiDatabase(source, [{ id: carolId, name: 'Carol', email: 'carol@example.com', role: 'user', password: 'carol open webui password' }],
      [{ id: crypto.randomUUID(), userId: carolId, title: 'Carol chat', currentId: 'c1', messages: [{ id: 'c1', parentId: null, role: 'user', content: 'hello from carol' }] }])
    const run = await runBinary(['import', 'open-webui', source], { cwd: db.cwd, env: db.env })
    expect(run.code).toBe(0)
    expect(run.stdout).toContain('1 users')
    expect(await withStore(db, async (store) => (await store.chats.listChatsForUser(carolId as never, { limit: 10, offset: 0 })).map((chat) => chat.title))).toEqual(['Carol chat'])
    noSqliteFile(db.cwd)
  })

  test('import libre-webui writes the users and chats to PostgreSQL', async () => {
    const db = await seeded()
    const libreKey = hexKey()
    const libreDir = join(db.cwd, 'libre')
    await Bun.write(join(libreDir, '.keep'), '')
    const daveId = crypto.randomUUID()
    await writeLibreWebUiDatabase(join(libreDir, 'data.sqlite'), libreKey, {
      users: [{ id: daveId, username: 'dave', email: 'dave@example.com', password: 'dave libre password', role: 'user' }],
      sessions: [{ id: crypto.randomUUID(), userId: daveId, title: 'Dave chat', messages: [{ role: 'user', content: 'hello from dave' }] }],
    })
    const run = await runBinary(['import', 'libre-webui', '--from', libreDir], { cwd: db.cwd, env: { ...db.env, LIBRE_WEBUI_ENCRYPTION_KEY: libreKey } })
    expect(run.code).toBe(0)
    expect(run.output).not.toContain(libreKey)
    const dave = await withStore(db, (store) => store.users.findUserByEmail('dave@example.com'))
    expect(dave?.name).toBe('dave')
    expect(await withStore(db, async (store) => (await store.chats.listChatsForUser(dave!.id, { limit: 10, offset: 0 })).map((chat) => chat.title))).toEqual(['Dave chat'])
    noSqliteFile(db.cwd)
  })

  test('an import into an empty database starts a store there, under a generated key file', async () => {
    const url = await server.createDatabase()
    const cwd = tempDir()
    const source = join(cwd, 'webui.db')
    const frankId = crypto.randomUUID()
    await writeOpenWebUiDatabase(source, [{ id: frankId, name: 'Frank', email: 'frank@example.com', role: 'admin', password: 'frank open webui password' }], [])
    const run = await runBinary(['import', 'open-webui', source], { cwd, env: { ...NO_SERVER, DATABASE_URL: url } })
    expect(run.code).toBe(0)
    expect(run.stdout).toContain('1 users')
    noSqliteFile(cwd)
    const key = (await Bun.file(join(cwd, 'data', '.encryption_key')).text()).trim()
    expect(run.output).not.toContain(key)
    expect((await withStore({ url, key, cwd }, (store) => store.users.findUserByEmail('frank@example.com')))?.id).toBe(frankId as never)
  })

  test('an import with a wrong key is refused and imports nothing', async () => {
    const db = await seeded()
    const source = join(db.cwd, 'webui.db')
    await writeOpenWebUiDatabase(source, [{ id: crypto.randomUUID(), name: 'Eve', email: 'eve@example.com', role: 'user', password: 'eve open webui password' }], [])
    const run = await runBinary(['import', 'open-webui', source], { cwd: db.cwd, env: { ...db.env, ENCRYPTION_KEY: hexKey() } })
    expect(run.code).toBe(1)
    expect(run.output).not.toMatch(/\n\s+at /)
    expect(await snapshot(db.url, 'SELECT count(*) AS n FROM "user"')).toBe('[{"n":2}]')
  })
})
