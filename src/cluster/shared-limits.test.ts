import { afterAll, beforeAll, expect, test } from 'bun:test'
import { deriveClusterKeys } from '../crypto/cluster-seal.ts'
import { createLogger } from '../log/logger.ts'
import { startTestRedis, type TestRedis } from '../../test/helpers/redis-server.ts'
import { createRedisClaims } from './redis-claims.ts'
import { redisRateLimiters } from './redis-rate-limiter.ts'
import { createRedisLink, type RedisLink } from './redis-link.ts'

const keys = deriveClusterKeys(crypto.getRandomValues(new Uint8Array(32)))
let redis: TestRedis
const links: RedisLink[] = []

beforeAll(async () => {
  redis = await startTestRedis()
})
afterAll(async () => {
  for (const link of links) link.close()
  await redis.stop()
})

/** One instance's connection: its own link, as another process would have. */
async function instance() {
  const link = createRedisLink({ url: redis.url, log: createLogger('CRITICAL'), retryMs: 50 })
  links.push(link)
  await link.ready
  return {
    link,
    limiters: redisRateLimiters({ link, keys, keyPrefix: 'lim', now: Date.now }),
    claims: createRedisClaims({ link, keys, keyPrefix: 'lim', now: Date.now }),
  }
}

async function until(predicate: () => boolean, what: string) {
  for (let attempt = 0; attempt < 500; attempt++) {
    if (predicate()) return
    await Bun.sleep(10)
  }
  throw new Error(`timed out waiting for ${what}`)
}

test('20 concurrent sign-in attempts over two instances: exactly the limit gets through', async () => {
  const [a, b] = [await instance(), await instance()]
  const rate = { limit: 5, windowMs: 60_000 }
  const [onA, onB] = [a.limiters('signin-account', rate), b.limiters('signin-account', rate)]
  const results = await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 === 0 ? onA : onB).hit('email:ada@example.com')))
  expect(results.filter((check) => check.allowed)).toHaveLength(5)
  const refused = results.find((check) => !check.allowed)
  expect(refused).toEqual({ allowed: false, retryAfterSeconds: 60 })
  expect(await onB.hitsOf('email:ada@example.com')).toBe(20)
  expect(await onA.peek('email:bob@example.com')).toEqual({ allowed: true })
  expect(await onA.hitsOf('email:bob@example.com')).toBe(0)
})

test('20 concurrent claims of one key over two instances: one winner', async () => {
  const [a, b] = [await instance(), await instance()]
  const results = await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 === 0 ? a : b).claims.claim('logout-token\0op\0jti-1', 60_000)))
  expect(results.filter(Boolean)).toHaveLength(1)
  expect(await a.claims.claim('logout-token\0op\0jti-2', 60_000)).toBe(true)
})

test('key names carry the prefix and a hash, never the email; the dump holds no email', async () => {
  const names = (await redis.cli('--scan', '--pattern', 'lim:*')).split('\n')
  expect(names.length).toBeGreaterThan(0)
  for (const name of names) expect(name).toMatch(/^lim:(rate:signin-account|once):[0-9a-f]{32}$/)
  const dump = await redis.dump()
  for (const marker of ['ada@example.com', 'jti-1']) expect(dump.includes(Buffer.from(marker))).toBe(false)
})

test('Redis killed: limits and claims fall back to memory; restarted: shared again', async () => {
  const a = await instance()
  const rate = { limit: 2, windowMs: 60_000 }
  const limiter = a.limiters('signin-ip', rate)
  await redis.kill()
  await until(() => a.link.state() === 'down', 'the loss')
  expect(await limiter.hit('ip:198.51.100.1')).toEqual({ allowed: true })
  expect(await limiter.hit('ip:198.51.100.1')).toEqual({ allowed: true })
  expect((await limiter.hit('ip:198.51.100.1')).allowed).toBe(false)
  expect(await a.claims.claim('down-key', 60_000)).toBe(true)
  expect(await a.claims.claim('down-key', 60_000)).toBe(false)

  await redis.restart()
  await until(() => a.link.state() === 'up', 'the recovery')
  expect(await limiter.hit('ip:203.0.113.9')).toEqual({ allowed: true })
  expect(await redis.cli('--scan', '--pattern', 'lim:rate:signin-ip:*')).toMatch(/^lim:rate:signin-ip:[0-9a-f]{32}$/)
})
