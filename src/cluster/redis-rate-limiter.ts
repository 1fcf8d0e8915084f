/**
 * Rate limits shared by every instance: a fixed window per key, counted atomically in Redis (one
 * script: INCR, and the window's expiry set by the first hit), so twenty attempts spread over three
 * instances count as twenty. Key names are `<prefix>:rate:<limit>:<tag>`, the tag a keyed hash of
 * the email or address (crypto/cluster-seal.ts nameTagOf): Redis holds counts, never who.
 *
 * Redis down: each instance counts in memory on its own (the limit then holds per instance, as on
 * one machine), and counts in Redis again once it is back; the link logs the change once.
 */
import { createMemoryRateLimiter, type RateCheck, type RateLimiterFactory, type SharedRateLimiter } from '../auth/rate-limiter.ts'
import { nameTagOf, type ClusterKeys } from '../crypto/cluster-seal.ts'
import type { RedisLink } from './redis-link.ts'

// note: the expiry is set on the first hit only, so the window is fixed from it, as in auth/rate-limiter.ts.
const HIT = `local hits = redis.call('INCR', KEYS[1])
if hits == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return {hits, redis.call('PTTL', KEYS[1])}`
const READ = `return {tonumber(redis.call('GET', KEYS[1]) or '0'), redis.call('PTTL', KEYS[1])}`

/** Makes each named limit count in Redis, falling back to this instance's memory while Redis is down. */
export function redisRateLimiters({ link, keys, keyPrefix, now }: { link: Pick<RedisLink, 'send'>; keys: ClusterKeys; keyPrefix: string; now: () => number }): RateLimiterFactory {
  return (name, rate) => {
    const fallback = createMemoryRateLimiter(rate, now)
    const keyOf = (key: string) => `${keyPrefix}:rate:${name}:${nameTagOf(keys, `${name}\0${key}`)}`
    const run = async (script: string, key: string): Promise<{ hits: number; ttlMs: number }> => {
      const [hits, ttlMs] = (await link.send('EVAL', [script, '1', keyOf(key), String(rate.windowMs)])) as [number, number]
      return { hits, ttlMs: ttlMs > 0 ? ttlMs : rate.windowMs }
    }
    const checkOf = (hits: number, ttlMs: number): RateCheck =>
      hits <= rate.limit ? { allowed: true } : { allowed: false, retryAfterSeconds: Math.max(1, Math.ceil(ttlMs / 1000)) }
    const limiter: SharedRateLimiter = {
      async hit(key) {
        try {
          const { hits, ttlMs } = await run(HIT, key)
          return checkOf(hits, ttlMs)
        } catch {
          return fallback.hit(key)
        }
      },
      async peek(key) {
        try {
          const { hits, ttlMs } = await run(READ, key)
          return checkOf(hits + 1, ttlMs)
        } catch {
          return fallback.peek(key)
        }
      },
      async hitsOf(key) {
        try {
          return (await run(READ, key)).hits
        } catch {
          return fallback.hitsOf(key)
        }
      },
    }
    return limiter
  }
}
