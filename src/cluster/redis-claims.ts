/**
 * One-time claims shared by every instance (auth/one-time-claims.ts): `SET key NX PX ttl` is atomic,
 * so of any number of instances claiming a key at once exactly one wins. Key names are
 * `<prefix>:once:<tag>`, the tag a keyed hash of the claimed value (a token id names nobody, but
 * the hash keeps even that out). Redis down: claims are kept in this instance's memory (a replay to
 * another instance is then refused only there) until Redis is back.
 */
import { createMemoryClaims, type OneTimeClaims } from '../auth/one-time-claims.ts'
import { nameTagOf, type ClusterKeys } from '../crypto/cluster-seal.ts'
import type { RedisLink } from './redis-link.ts'

/** Claims in Redis, falling back to memory while it is down. */
export function createRedisClaims({ link, keys, keyPrefix, now }: { link: Pick<RedisLink, 'send'>; keys: ClusterKeys; keyPrefix: string; now: () => number }): OneTimeClaims {
  const fallback = createMemoryClaims(now)
  return {
    async claim(key, ttlMs) {
      try {
        return (await link.send('SET', [`${keyPrefix}:once:${nameTagOf(keys, key)}`, '1', 'NX', 'PX', String(Math.max(1, Math.ceil(ttlMs)))])) === 'OK'
      } catch {
        return fallback.claim(key, ttlMs)
      }
    },
  }
}
