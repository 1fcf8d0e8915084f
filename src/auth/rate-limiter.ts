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
    this.sweep(at)
    let window = this.windows.get(key)
    if (window === undefined || at - window.startedAt >= this.rate.windowMs) {
      window = { startedAt: at, hits: 0 }
      this.windows.set(key, window)
    }
    window.hits++
    if (window.hits <= this.rate.limit) return { allowed: true }
    return { allowed: false, retryAfterSeconds: Math.max(1, Math.ceil((window.startedAt + this.rate.windowMs - at) / 1000)) }
  }

  private sweep(at: number): void {
    if (at - this.lastSweepAt < this.rate.windowMs) return
    this.lastSweepAt = at
    for (const [key, window] of this.windows) if (at - window.startedAt >= this.rate.windowMs) this.windows.delete(key)
  }
}
