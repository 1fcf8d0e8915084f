/**
 * Several instances on PostgreSQL, storage layer: a 1,000-message chat written through instance A
 * and read twice in a row through instance B, B holding chats (its link to Redis up, so it hears
 * A's writes: cluster/shared-writes-relay.ts) against B holding nothing (no link), in alternating
 * rounds of one run. Each round starts cold (the held chat is forgotten as a notice would), so
 * "twice" is one opening and one read from memory when held, two openings when not.
 * Run alone: `bun bench/held-chat-postgres.ts`.
 */
import { startPostgres } from '../test/helpers/postgres.ts'
import { startTestRedis } from '../test/helpers/redis-server.ts'
import { createClusterBus } from '../src/cluster/cluster-bus.ts'
import { createRedisLink } from '../src/cluster/redis-link.ts'
import { connectSharedWritesRelay } from '../src/cluster/shared-writes-relay.ts'
import { deriveClusterKeys } from '../src/crypto/cluster-seal.ts'
import { openPostgresStore } from '../src/db/open-postgres-store.ts'
import { createLogger } from '../src/log/logger.ts'
import { median, nowMs } from './measure.ts'
import { sampleText } from './sample-text.ts'

const MESSAGES = 1_000
const TEXT_BYTES = 1024
const ROUNDS = { warmups: 3, repetitions: 15 }

const [postgres, redis] = await Promise.all([startPostgres(), startTestRedis()])
const closers: (() => unknown)[] = []
try {
  const url = await postgres.createDatabase()
  const masterKey = crypto.getRandomValues(new Uint8Array(32))
  const pool = { maxConnections: 4, idleTimeoutSeconds: 0, connectionTimeoutSeconds: 10, maxLifetimeSeconds: 0 }
  const open = async () => {
    const store = await openPostgresStore({ database: { url, pool }, material: { kind: 'raw', key: masterKey }, source: { kind: 'env', value: 'bench' }, now: Date.now })
    closers.push(() => store.close())
    return store
  }
  const log = createLogger('CRITICAL')
  const linked = async () => {
    const store = await open()
    const link = createRedisLink({ url: redis.url, log })
    closers.push(() => link.close())
    await link.ready
    await connectSharedWritesRelay(createClusterBus({ link, keys: deriveClusterKeys(masterKey), keyPrefix: 'bench', log }), store.sharedWrites, store, log)
    return store
  }
  const a = await linked()
  const held = await linked()
  const alone = await open()
  const made = await a.users.createUser({ email: 'ada@example.com', name: 'Ada', role: 'user' })
  if (!made.ok) throw new Error(made.reason)
  const owner = made.user.id
  const chat = await a.chats.createChat(owner, 'one thousand messages')
  for (let i = 0; i < MESSAGES; i++) await a.chats.addMessage(owner, chat.id, { role: i % 2 === 0 ? 'user' : 'assistant', content: sampleText(TEXT_BYTES, 100_000 + i) })

  const twice = async (store: typeof a) => {
    store.chats.forgetChat(owner, chat.id)
    const start = nowMs()
    const first = await store.chats.listMessagesInChat(owner, chat.id)
    const middle = nowMs()
    const second = await store.chats.listMessagesInChat(owner, chat.id)
    const end = nowMs()
    if (first.length !== MESSAGES || second.length !== MESSAGES) throw new Error('a read came back short')
    return { first: middle - start, second: end - middle, both: end - start }
  }
  const times = { held: [] as { first: number; second: number; both: number }[], alone: [] as { first: number; second: number; both: number }[] }
  for (let i = 0; i < ROUNDS.warmups; i++) {
    await twice(alone)
    await twice(held)
  }
  for (let i = 0; i < ROUNDS.repetitions; i++) {
    times.alone.push(await twice(alone))
    times.held.push(await twice(held))
  }
  const figures = (list: typeof times.held) => ({ first: median(list.map((t) => t.first)), second: median(list.map((t) => t.second)), both: median(list.map((t) => t.both)) })
  const [notHeld, isHeld] = [figures(times.alone), figures(times.held)]
  const ms = (value: number) => `${value.toFixed(1)} ms`
  console.log(`1,000-message chat on PostgreSQL read twice through B (median of ${ROUNDS.repetitions} alternating rounds):`)
  console.log(`  not held (no link): first ${ms(notHeld.first)}, second ${ms(notHeld.second)}, both ${ms(notHeld.both)}`)
  console.log(`  held (linked):      first ${ms(isHeld.first)}, second ${ms(isHeld.second)}, both ${ms(isHeld.both)}`)
  console.log(`  second read: ${(notHeld.second / isHeld.second).toFixed(0)}x faster held; both reads: ${(notHeld.both / isHeld.both).toFixed(2)}x`)
  console.log(`  held on B now: ${JSON.stringify(held.chats.historyCacheSize())}`)
} finally {
  for (const close of closers.reverse()) await close()
  await Promise.all([postgres.remove(), redis.stop()])
}
