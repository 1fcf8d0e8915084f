/**
 * Two instances on one PostgreSQL (two stores, each its own pool) and one real redis-server: what
 * one writes, the other serves fresh once the notice came; the other holds chats only while its
 * link is up; a data key rotated on one opens on the other; hostile notices change nothing.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { startPostgres, type PostgresServer } from '../../test/helpers/postgres.ts'
import { startTestRedis, type TestRedis } from '../../test/helpers/redis-server.ts'
import type { MasterKeySource } from '../config/load-config.ts'
import { deriveClusterKeys, sealForCluster } from '../crypto/cluster-seal.ts'
import { createDataKeyRotator } from '../db/data-key-rotation.ts'
import type { UserId } from '../db/ids.ts'
import { openPostgresStore } from '../db/open-postgres-store.ts'
import type { Store } from '../db/open-store.ts'
import { createLogger } from '../log/logger.ts'
import { createClusterBus, type ClusterBus } from './cluster-bus.ts'
import { createRedisLink, type RedisLink } from './redis-link.ts'
import { connectSharedWritesRelay, parseNotice } from './shared-writes-relay.ts'

const MARKER = 'PLAINTEXT-MARKER-shared-writes-Z9'
const masterKey = crypto.getRandomValues(new Uint8Array(32))
const source: MasterKeySource = { kind: 'env', value: 'given in the test' }
const pool = { maxConnections: 4, idleTimeoutSeconds: 0, connectionTimeoutSeconds: 10, maxLifetimeSeconds: 0 }
const page = { limit: 50, offset: 0 }
let postgres: PostgresServer
let redis: TestRedis
const closers: (() => unknown)[] = []

beforeAll(async () => {
  ;[postgres, redis] = await Promise.all([startPostgres(), startTestRedis()])
}, 60_000)
afterAll(async () => {
  for (const close of closers.reverse()) await close()
  await Promise.all([postgres.remove(), redis.stop()])
})

type Instance = { store: Store; bus: ClusterBus; link: RedisLink; lines: string[]; heardKeys: (string | null)[] }

/** An instance: a store on the database and, unless `alone`, a link to Redis with the relay connected. */
async function instance(url: string, prefix = 'sw', now: () => number = Date.now): Promise<Instance> {
  const store = await openPostgresStore({ database: { url, pool }, material: { kind: 'raw', key: masterKey }, source, now })
  closers.push(() => store.close())
  const lines: string[] = []
  const log = createLogger('INFO', (line) => void lines.push(line))
  const link = createRedisLink({ url: redis.url, log, retryMs: 50 })
  closers.push(() => link.close())
  await link.ready
  const bus = createClusterBus({ link, keys: deriveClusterKeys(masterKey), keyPrefix: prefix, log })
  const heardKeys: (string | null)[] = []
  const dataKeys = {
    forgetRing: (owner: string | null) => { heardKeys.push(owner); store.dataKeys.forgetRing(owner) },
    cacheRingsOnlyWhile: (isAllowed: () => boolean) => store.dataKeys.cacheRingsOnlyWhile(isAllowed),
  }
  await connectSharedWritesRelay(bus, store.sharedWrites, { chats: store.chats, dataKeys, keptReadsStale: store.sharedWrites.keptReadsStale }, log)
  return { store, bus, link, lines, heardKeys }
}

/** Two instances on a fresh database with one user. */
async function twoInstances(prefix?: string, now?: () => number) {
  const url = await postgres.createDatabase()
  const a = await instance(url, prefix, now)
  const b = await instance(url, prefix, now)
  const made = await a.store.users.createUser({ email: 'ada@example.com', name: 'Ada', role: 'user' })
  if (!made.ok) throw new Error(made.reason)
  return { url, a, b, ada: made.user.id }
}

/** Waits until `predicate` holds, polling; bounded. */
async function until(predicate: () => boolean | Promise<boolean>, what: string) {
  for (let attempt = 0; attempt < 500; attempt++) {
    if (await predicate()) return
    await Bun.sleep(10)
  }
  throw new Error(`timed out waiting for ${what}`)
}

const contents = async (store: Store, owner: UserId, chatId: Parameters<Store['chats']['listCurrentPath']>[1]) =>
  (await store.chats.listCurrentPath(owner, chatId)).map((message) => message.content)

test('a chat written through A is read fresh and found by search through B, which holds it while linked', async () => {
  const { a, b, ada } = await twoInstances()
  expect(b.store.sharedWrites.isAnnounced).toBe(true)
  const chat = await a.store.chats.createChat(ada, 'Shared', [{ role: 'user', content: 'Why?' }])
  expect(await contents(b.store, ada, chat.id)).toEqual(['Why?'])
  expect(b.store.chats.historyCacheSize().chats).toBe(1)
  expect(await b.store.chats.searchChatsForUser(ada, 'zebra', page)).toEqual([])

  const answer = (await a.store.chats.addMessage(ada, chat.id, { role: 'assistant', content: 'partial zebra' }))!
  await until(async () => (await contents(b.store, ada, chat.id)).length === 2, 'the answer on B')
  expect(await contents(b.store, ada, chat.id)).toEqual(['Why?', 'partial zebra'])
  expect(b.store.chats.historyCacheSize().chats).toBe(1)
  expect((await b.store.chats.searchChatsForUser(ada, 'zebra', page)).map((found) => found.id)).toEqual([chat.id])

  await a.store.chats.replaceMessageContentForUser(ada, chat.id, answer.id, { content: 'finished okapi' })
  await a.store.chats.renameChat(ada, chat.id, 'Renamed on A')
  await until(async () => (await contents(b.store, ada, chat.id))[1] === 'finished okapi', 'the checkpoint on B')
  await until(async () => (await b.store.chats.searchChatsForUser(ada, 'okapi', page)).length === 1, 'search on B')
  expect((await b.store.chats.searchChatsForUser(ada, 'okapi', page)).map((found) => found.title)).toEqual(['Renamed on A'])

  await a.store.chats.deleteChatForUser(ada, chat.id)
  await until(async () => (await b.store.chats.searchChatsForUser(ada, 'okapi', page)).length === 0, 'the deletion on B')
  expect(await b.store.chats.listMessagesInChat(ada, chat.id)).toEqual([])
  expect(b.store.chats.historyCacheSize().chats).toBe(0)
})

test('B holds nothing while Redis is down, and holds again, from empty, once it is back', async () => {
  const { a, b, ada } = await twoInstances()
  const chat = await a.store.chats.createChat(ada, 'Gap', [{ role: 'user', content: 'before' }])
  expect(await contents(b.store, ada, chat.id)).toEqual(['before'])
  expect(b.store.chats.historyCacheSize().chats).toBe(1)

  await redis.kill()
  await until(() => !b.store.sharedWrites.isAnnounced && !a.store.sharedWrites.isAnnounced, 'both links down')
  expect(b.store.chats.historyCacheSize().chats).toBe(0)
  expect(await b.store.dataKeys.ringFor(ada)).not.toBe(await b.store.dataKeys.ringFor(ada))
  // note: A's write while down reaches nobody; B, holding nothing, reads it anyway.
  await a.store.chats.addMessage(ada, chat.id, { role: 'assistant', content: 'during' })
  expect(await contents(b.store, ada, chat.id)).toEqual(['before', 'during'])
  expect((await b.store.chats.searchChatsForUser(ada, 'during', page)).length).toBe(1)
  expect(b.store.chats.historyCacheSize().chats).toBe(0)

  await redis.restart()
  await until(() => b.store.sharedWrites.isAnnounced && a.store.sharedWrites.isAnnounced, 'both links up')
  expect(await contents(b.store, ada, chat.id)).toEqual(['before', 'during'])
  expect(b.store.chats.historyCacheSize().chats).toBe(1)
  expect(await b.store.dataKeys.ringFor(ada)).toBe(await b.store.dataKeys.ringFor(ada))
  await a.store.chats.addMessage(ada, chat.id, { role: 'user', content: 'after' })
  await until(async () => (await contents(b.store, ada, chat.id)).length === 3, 'the write after the return on B')
  expect(await contents(b.store, ada, chat.id)).toEqual(['before', 'during', 'after'])
})

test('a data key rotated on A: B drops the ring, opens the new rows, and never seals under the retired version', async () => {
  const { url, a, b, ada } = await twoInstances()
  // note: a third instance without Redis hears nothing: its cached ring is read again when a row is newer than it.
  const c = await openPostgresStore({ database: { url, pool }, material: { kind: 'raw', key: masterKey }, source, now: Date.now })
  closers.push(() => c.close())
  const chat = await a.store.chats.createChat(ada, 'Keys', [{ role: 'user', content: 'v1' }])
  expect(await contents(b.store, ada, chat.id)).toEqual(['v1'])
  expect(await contents(c, ada, chat.id)).toEqual(['v1'])

  const rotator = createDataKeyRotator(a.store.sql, a.store.dataKeys)
  expect(await rotator.beginRotation([ada])).toBe(1)
  while ((await rotator.step(100)).pendingOwners > 0) { /* re-seal every batch */ }
  await until(() => b.heardKeys.filter((owner) => owner === ada).length >= 2, 'both key notices on B')

  await a.store.chats.addMessage(ada, chat.id, { role: 'assistant', content: 'v2 on A' })
  await until(async () => (await contents(b.store, ada, chat.id)).length === 2, 'the new row on B')
  expect(await contents(b.store, ada, chat.id)).toEqual(['v1', 'v2 on A'])
  expect(await contents(c, ada, chat.id)).toEqual(['v1', 'v2 on A'])
  // note: B seals under the new version: A, and a fresh reader, open it although version 1 is gone.
  await b.store.chats.addMessage(ada, chat.id, { role: 'user', content: 'v2 on B' })
  await until(async () => (await contents(a.store, ada, chat.id)).length === 3, 'B\'s row on A')
  const versions = await a.store.sql.all<{ version: number }>('SELECT version FROM data_key WHERE owner_id = ?', ada)
  expect(versions.map((row) => Number(row.version))).toEqual([2])
  expect(await contents(a.store, ada, chat.id)).toEqual(['v1', 'v2 on A', 'v2 on B'])
})

test('a user deleted on A: B forgets their keys and chats', async () => {
  const { a, b, ada } = await twoInstances()
  const chat = await a.store.chats.createChat(ada, 'Gone', [{ role: 'user', content: MARKER }])
  expect((await b.store.chats.searchChatsForUser(ada, MARKER.toLowerCase(), page)).length).toBe(1)
  expect(b.store.chats.historyCacheSize().chats).toBe(0)
  expect(await contents(b.store, ada, chat.id)).toEqual([MARKER])
  await a.store.users.deleteUser(ada)
  await until(() => b.heardKeys.includes(ada), 'the key notice on B')
  expect(b.store.chats.historyCacheSize().chats).toBe(0)
  // note: nothing held answers: the search has to read, and finds no keys to open anything with.
  await expect(b.store.chats.searchChatsForUser(ada, MARKER.toLowerCase(), page)).rejects.toThrow()
  await expect(b.store.dataKeys.ringFor(ada)).rejects.toThrow()
})

test('the wire carries sealed ids only; garbage, a bad seal, another prefix or another channel changes nothing and logs no content', async () => {
  const { a, b, ada } = await twoInstances('hostile')
  const chat = await a.store.chats.createChat(ada, MARKER, [{ role: 'user', content: MARKER }])
  const monitor = await redis.monitor()
  await a.store.chats.addMessage(ada, chat.id, { role: 'assistant', content: MARKER })
  await monitor.until('hostile:cluster:writes')
  expect(await contents(b.store, ada, chat.id)).toEqual([MARKER, MARKER])
  expect(b.store.chats.historyCacheSize().chats).toBe(1)
  const before = b.lines.length

  const channel = 'hostile:cluster:writes'
  const keys = deriveClusterKeys(masterKey)
  const otherKeys = deriveClusterKeys(crypto.getRandomValues(new Uint8Array(32)))
  const forget = JSON.stringify({ from: 'x', body: { kind: 'all' } })
  await redis.cli('PUBLISH', channel, `garbage ${MARKER}`)
  await redis.cli('PUBLISH', channel, sealForCluster(otherKeys, channel, forget))
  await redis.cli('PUBLISH', channel, sealForCluster(keys, 'hostile:cluster:access', forget))
  await redis.cli('PUBLISH', 'elsewhere:cluster:writes', sealForCluster(keys, 'elsewhere:cluster:writes', forget))
  await redis.cli('PUBLISH', channel, sealForCluster(keys, channel, JSON.stringify({ from: 'x', body: { kind: 'chat', owner: MARKER, chatId: 7 } })))
  await until(() => b.lines.length - before >= 4, 'four refusals logged')
  monitor.stop()
  expect(b.store.chats.historyCacheSize().chats).toBe(1)
  expect(b.lines.slice(before).join('\n')).not.toContain(MARKER)
  const wire = monitor.text()
  expect(wire).toContain(`"PUBLISH" "${channel}"`)
  expect(wire.split('\n').filter((line) => line.includes(`"${channel}"`) && line.includes('127.0.0.1:') && !line.includes('garbage')).join('\n')).not.toContain(MARKER)
  expect(wire).not.toContain(chat.id)
  expect(wire).not.toContain(ada)
})

test('writes made before an instance joins the bus make the others drop everything once it joins', async () => {
  const { url, a: b, ada } = await twoInstances('late')
  const late = await openPostgresStore({ database: { url, pool }, material: { kind: 'raw', key: masterKey }, source, now: Date.now })
  closers.push(() => late.close())
  const chat = await b.store.chats.createChat(ada, 'Early', [{ role: 'user', content: 'one' }])
  expect(await contents(b.store, ada, chat.id)).toEqual(['one'])
  expect(b.store.chats.historyCacheSize().chats).toBe(1)
  await late.chats.addMessage(ada, chat.id, { role: 'assistant', content: 'two, unannounced' })
  const log = createLogger('CRITICAL')
  const link = createRedisLink({ url: redis.url, log, retryMs: 50 })
  closers.push(() => link.close())
  await link.ready
  await connectSharedWritesRelay(createClusterBus({ link, keys: deriveClusterKeys(masterKey), keyPrefix: 'late', log }), late.sharedWrites, late, log)
  await until(() => b.store.chats.historyCacheSize().chats === 0, 'B to drop what it held')
  expect(await contents(b.store, ada, chat.id)).toEqual(['one', 'two, unannounced'])
})

test('a grant or setting written on A is read again on B at once, not a second later', async () => {
  // note: the clock stands still, so what B keeps never ages: only the notice makes it read again.
  const { a, b } = await twoInstances('kept', () => 1_764_000_000_000)
  expect((await b.store.modelGrants.snapshot()).grants.size).toBe(0)
  let heard = 0
  b.store.settings.onWrittenElsewhere(() => heard++)
  await a.store.modelGrants.setGrant('llama3.2', null, 'admin')
  await until(async () => (await b.store.modelGrants.snapshot()).grants.has('llama3.2:latest'), 'the grant on B')
  await a.store.settings.writeSetting('ui', { banner: 'hello' })
  await until(() => heard >= 2, 'the setting notice on B')
})

test.each([
  ['a chat', { kind: 'chat', owner: 'u1', chatId: 'c1' }, { kind: 'chat', owner: 'u1', chatId: 'c1' }],
  ['an owner\'s chats', { kind: 'chat', owner: 'u1', chatId: null }, { kind: 'chat', owner: 'u1', chatId: null }],
  ['keys of one', { kind: 'keys', owner: 'system' }, { kind: 'keys', owner: 'system' }],
  ['keys of all', { kind: 'keys', owner: null }, { kind: 'keys', owner: null }],
  ['everything', { kind: 'all', extra: 1 }, { kind: 'all' }],
  ['kept reads', { kind: 'settings' }, { kind: 'settings' }],
  ['no owner', { kind: 'chat', chatId: 'c1' }, null],
  ['an empty owner', { kind: 'chat', owner: '', chatId: 'c1' }, null],
  ['a huge id', { kind: 'chat', owner: 'u'.repeat(129), chatId: 'c1' }, null],
  ['a number for a chat', { kind: 'chat', owner: 'u1', chatId: 1 }, null],
  ['an object for an owner', { kind: 'keys', owner: { toString: 'x' } }, null],
  ['an unknown kind', { kind: 'drop', owner: 'u1' }, null],
  ['a string', 'all', null],
  ['null', null, null],
  ['an array', [{ kind: 'all' }], null],
])('a notice body: %s', (_, body, expected) => {
  expect(parseNotice(body)).toEqual(expected as ReturnType<typeof parseNotice>)
})
