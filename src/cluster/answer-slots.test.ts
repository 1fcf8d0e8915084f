import { afterAll, beforeAll, expect, test } from 'bun:test'
import { deriveClusterKeys } from '../crypto/cluster-seal.ts'
import type { UserId } from '../db/ids.ts'
import { createLogger } from '../log/logger.ts'
import { startTestRedis, type TestRedis } from '../../test/helpers/redis-server.ts'
import { createAnswerSlots, type AnswerSlots } from './answer-slots.ts'
import { createRedisLink, type RedisLink } from './redis-link.ts'

const keys = deriveClusterKeys(crypto.getRandomValues(new Uint8Array(32)))
let redis: TestRedis
const links: RedisLink[] = []
const slotSets: AnswerSlots[] = []

beforeAll(async () => {
  redis = await startTestRedis()
})
afterAll(async () => {
  for (const slots of slotSets) slots.close()
  for (const link of links) link.close()
  await redis.stop()
})

/** One instance's slots on its own connection, as another process would have. */
async function instance(leaseMs?: number) {
  const link = createRedisLink({ url: redis.url, log: createLogger('CRITICAL'), retryMs: 50 })
  links.push(link)
  await link.ready
  const slots = createAnswerSlots({ link, keys, keyPrefix: 'cap', ...(leaseMs === undefined ? {} : { leaseMs }) })
  slotSets.push(slots)
  return { link, slots }
}

async function until(predicate: () => boolean, what: string) {
  for (let attempt = 0; attempt < 500; attempt++) {
    if (predicate()) return
    await Bun.sleep(10)
  }
  throw new Error(`timed out waiting for ${what}`)
}

const user = (name: string) => `user-${name}-${crypto.randomUUID()}` as UserId

test('20 answers started at once over three instances: exactly the cap get a slot', async () => {
  const three = [await instance(), await instance(), await instance()]
  const ada = user('ada')
  const verdicts = await Promise.all(Array.from({ length: 20 }, (_, i) => three[i % 3]!.slots.reserve(ada, `slot-${i}`, 3)))
  expect(verdicts.filter((verdict) => verdict === 'reserved')).toHaveLength(3)
  expect(verdicts.filter((verdict) => verdict === 'full')).toHaveLength(17)
  expect(three.reduce((sum, each) => sum + each.slots.countHeld(ada), 0)).toBe(3)
  // note: another user has a cap of their own.
  expect(await three[0]!.slots.reserve(user('bob'), 'slot-b', 3)).toBe('reserved')
})

test('a slot given back on one instance is free on another at once', async () => {
  const [a, b] = [await instance(), await instance()]
  const dee = user('dee')
  expect(await a.slots.reserve(dee, 'one', 1)).toBe('reserved')
  expect(await b.slots.reserve(dee, 'two', 1)).toBe('full')
  a.slots.release(dee, 'one')
  let verdict = await b.slots.reserve(dee, 'two', 1)
  // note: the release is sent without waiting; a moment later it has landed.
  for (let attempt = 0; attempt < 100 && verdict === 'full'; attempt++) verdict = await Bun.sleep(10).then(() => b.slots.reserve(dee, 'two', 1))
  expect(verdict).toBe('reserved')
})

test('slots of an instance that stops renewing (it died) lapse after the lease; renewed ones do not', async () => {
  const leaseMs = 300
  const [dying, living, other] = [await instance(leaseMs), await instance(leaseMs), await instance(leaseMs)]
  const eve = user('eve')
  expect(await dying.slots.reserve(eve, 'dead', 2)).toBe('reserved')
  expect(await living.slots.reserve(eve, 'alive', 2)).toBe('reserved')
  dying.slots.close()
  expect(await other.slots.reserve(eve, 'third', 2)).toBe('full')
  await Bun.sleep(leaseMs + 100)
  expect(await other.slots.reserve(eve, 'third', 2)).toBe('reserved')
  expect(await other.slots.reserve(eve, 'fourth', 2)).toBe('full')
})

test('key names carry the prefix and a hash, never the user; the dump names no user', async () => {
  const [a] = [await instance()]
  const marker = user('PLAINTEXT-MARKER')
  expect(await a.slots.reserve(marker, 'slot-m', 2)).toBe('reserved')
  const names = (await redis.cli('--scan', '--pattern', 'cap:*')).split('\n')
  expect(names.length).toBeGreaterThan(0)
  for (const name of names) expect(name).toMatch(/^cap:answers:[0-9a-f]{32}$/)
  expect((await redis.dump()).includes(Buffer.from('PLAINTEXT-MARKER'))).toBe(false)
})

test('Redis down: reserve says so and the caller counts alone; back: the slots held meanwhile count for the others', async () => {
  const [a, b] = [await instance(), await instance()]
  const fay = user('fay')
  await redis.kill()
  await until(() => a.link.state() === 'down' && b.link.state() === 'down', 'the loss')
  expect(await a.slots.reserve(fay, 'while-down', 1)).toBe('unavailable')
  expect(a.slots.countHeld(fay)).toBe(1)

  await redis.restart()
  await until(() => a.link.state() === 'up' && b.link.state() === 'up', 'the recovery')
  await a.slots.renewAll()
  expect(await b.slots.reserve(fay, 'after', 1)).toBe('full')
  a.slots.release(fay, 'while-down')
  let verdict = await b.slots.reserve(fay, 'after', 1)
  for (let attempt = 0; attempt < 100 && verdict === 'full'; attempt++) verdict = await Bun.sleep(10).then(() => b.slots.reserve(fay, 'after', 1))
  expect(verdict).toBe('reserved')
})
