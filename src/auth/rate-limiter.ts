/**
 * A fixed-window counter per key (an email, an IP address): at most `limit` hits per `windowMs`.
 * Time comes from the clock it is given, so tests move time instead of sleeping. Old windows are
 * swept as new ones start, so memory stays bounded by the keys seen in one window.
 */
export type RateCheck = { allowed: true } | { allowed: false; retryAfterSeconds: number }

export class RateLimiter {
  private readonly windows = new Map<string, { startedAt: number; hits: number }>()
  private lastSweepAt = 0

  constructor(private readonly rate: { limit: number; windowMs: number }, private readonly now: () => number) {}

  /** Counts one hit for the key and says whether it is within the limit. */
  hit(key: string): RateCheck {
    const at = this.now()
    const window = this.currentWindow(key, at)
    window.hits++
    return this.checkOf(window, at, 0)
  }

  /** Says whether one more hit would be within the limit, without counting it. */
  peek(key: string): RateCheck {
    const at = this.now()
    return this.checkOf(this.liveWindow(key, at) ?? { startedAt: at, hits: 0 }, at, 1)
  }

  /** The hits counted for the key in its current window. */
  hitsOf(key: string): number {
    return this.liveWindow(key, this.now())?.hits ?? 0
  }

  private liveWindow(key: string, at: number): { startedAt: number; hits: number } | null {
    const window = this.windows.get(key)
    return window === undefined || at - window.startedAt >= this.rate.windowMs ? null : window
  }

  private currentWindow(key: string, at: number): { startedAt: number; hits: number } {
    this.sweep(at)
    let window = this.liveWindow(key, at)
    if (window === null) {
      window = { startedAt: at, hits: 0 }
      this.windows.set(key, window)
    }
    return window
  }

  private checkOf(window: { startedAt: number; hits: number }, at: number, extra: number): RateCheck {
    if (window.hits + extra <= this.rate.limit) return { allowed: true }
    return { allowed: false, retryAfterSeconds: Math.max(1, Math.ceil((window.startedAt + this.rate.windowMs - at) / 1000)) }
  }

  private sweep(at: number): void {
    if (at - this.lastSweepAt < this.rate.windowMs) return
    this.lastSweepAt = at
    for (const [key, window] of this.windows) if (at - window.startedAt >= this.rate.windowMs) this.windows.delete(key)
  }
}

/**
 * The same counter where several instances share it (cluster/redis-rate-limiter.ts) or not: every
 * call is async, as a shared count lives in Redis. `createMemoryRateLimiter` is one instance's own.
 */
export type SharedRateLimiter = {
  /** Counts one hit for the key and says whether it is within the limit. */
  hit(key: string): Promise<RateCheck>
  /** Says whether one more hit would be within the limit, without counting it. */
  peek(key: string): Promise<RateCheck>
  /** The hits counted for the key in its current window. */
  hitsOf(key: string): Promise<number>
}

/** Makes the limiter for one named limit (`signin-ip`, ...); the memory one unless several instances share Redis. */
export type RateLimiterFactory = (name: string, rate: { limit: number; windowMs: number }) => SharedRateLimiter

/** One instance's own counter, in memory. */
export function createMemoryRateLimiter(rate: { limit: number; windowMs: number }, now: () => number): SharedRateLimiter {
  const limiter = new RateLimiter(rate, now)
  return {
    hit: async (key) => limiter.hit(key),
    peek: async (key) => limiter.peek(key),
    hitsOf: async (key) => limiter.hitsOf(key),
  }
}
