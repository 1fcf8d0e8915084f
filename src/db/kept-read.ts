/**
 * What a repository keeps in memory of rows that other instances may change too (several instances
 * on one database): a value read once is kept for at most KEPT_READ_MAX_AGE_MS by the repository's
 * clock, then read again, so another instance's write holds here within that time; a write made
 * here forgets it at once. A read that a local write raced is served to its callers but not kept
 * (it may hold the rows from before the write). Callers asking while a read runs share it.
 */

/** How long a kept read answers before the database is asked again (ms). */
export const KEPT_READ_MAX_AGE_MS = 1000

export type KeptRead<T> = {
  /** The kept value while it is fresh; otherwise a new read's. */
  get(): Promise<T>
  /**
   * The last value read, however old (undefined before the first read or after a write here), for a
   * check that must answer at once; a stale one starts a new read behind it for the next caller.
   */
  peek(): T | undefined
  /** The kept value while it is fresh, at once; undefined when only a read can answer. */
  peekFresh(): T | undefined
  /** Drops the kept value, after a write made here. */
  forget(): void
}

/** Keeps what `read` returns for at most `maxAgeMs` of `now`; a clock that went back counts as stale. */
export function keptRead<T>(read: () => Promise<T>, now: () => number, maxAgeMs = KEPT_READ_MAX_AGE_MS): KeptRead<T> {
  let kept: { at: number; value: T } | null = null
  let reading: { generation: number; promise: Promise<T> } | null = null
  let generation = 0
  const isFresh = (at: number) => {
    const age = now() - at
    return age >= 0 && age < maxAgeMs
  }
  const self: KeptRead<T> = {
    get(): Promise<T> {
      if (kept !== null && isFresh(kept.at)) return Promise.resolve(kept.value)
      if (reading !== null && reading.generation === generation) return reading.promise
      const started = { generation, promise: null as unknown as Promise<T> }
      const at = now()
      started.promise = read().then((value) => {
        if (started.generation === generation) kept = { at, value }
        return value
      }).finally(() => {
        if (reading === started) reading = null
      })
      reading = started
      return started.promise
    },
    peekFresh(): T | undefined {
      return kept !== null && isFresh(kept.at) ? kept.value : undefined
    },
    peek(): T | undefined {
      if (kept === null) return undefined
      if (!isFresh(kept.at)) self.get().catch(() => {})
      return kept.value
    },
    forget(): void {
      kept = null
      generation += 1
    },
  }
  return self
}

/** The same, one kept read per key (a user's memberships); the map is emptied when it holds `maxKeys`. */
export function keptReadsByKey<T>(read: (key: string) => Promise<T>, now: () => number, maxKeys = 10_000, maxAgeMs = KEPT_READ_MAX_AGE_MS) {
  const byKey = new Map<string, KeptRead<T>>()
  return {
    get(key: string): Promise<T> {
      let entry = byKey.get(key)
      if (entry === undefined) {
        if (byKey.size >= maxKeys) byKey.clear()
        entry = keptRead(() => read(key), now, maxAgeMs)
        byKey.set(key, entry)
      }
      return entry.get()
    },
    /** As KeptRead.peek, for one key; undefined when it was never read. */
    peek(key: string): T | undefined {
      return byKey.get(key)?.peek()
    },
    /** As KeptRead.peekFresh, for one key. */
    peekFresh(key: string): T | undefined {
      return byKey.get(key)?.peekFresh()
    },
    forget(key?: string): void {
      if (key === undefined) {
        for (const entry of byKey.values()) entry.forget()
        byKey.clear()
      } else byKey.get(key)?.forget()
    },
  }
}
