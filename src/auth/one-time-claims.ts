/**
 * "First one wins" for things that may be used once: a back-channel logout token's id, a sign-in
 * step. `claim` answers true for the first caller of a key within `ttlMs` and false to every later
 * one. One instance keeps the claims in memory (`createMemoryClaims`); several share them through
 * Redis (cluster/redis-claims.ts), so a token replayed to another instance is refused there too.
 */
export type OneTimeClaims = {
  /** True for the first claim of `key` within `ttlMs`; false when it was claimed already. */
  claim(key: string, ttlMs: number): Promise<boolean>
}

/** This instance's own claims; expired ones are swept as new ones come. */
export function createMemoryClaims(now: () => number): OneTimeClaims {
  const claimed = new Map<string, number>()
  return {
    async claim(key, ttlMs) {
      const at = now()
      for (const [entry, expiresAt] of claimed) if (expiresAt <= at) claimed.delete(entry)
      if (claimed.has(key)) return false
      claimed.set(key, at + ttlMs)
      return true
    },
  }
}
