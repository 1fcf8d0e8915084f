/**
 * The decrypted search indexes held in memory, one per document, each tagged with its owner. They
 * are plaintext derived from sealed rows, so they live no longer than needed: built on first use,
 * dropped after `idleMs` unused, dropped for a user who signs out everywhere, changes password or
 * is deleted (see prepare-app.ts's account watch), dropped with their document, and the least
 * recently used go first once together they pass `maxBytes`. `stats()` reports what is held.
 */
import type { VectorIndex } from './vector-index.ts'

type Entry = { owner: string; index: VectorIndex; usedAt: number }

export type IndexCacheStats = { indexes: number; bytes: number; maxBytes: number; builds: number; evictions: number }

export function createIndexCache(options: { maxBytes: number; idleMs: number; now: () => number }) {
  // note: a Map keeps insertion order; an entry is re-inserted on use, so the first is the least recent.
  const entries = new Map<string, Entry>()
  let bytes = 0
  let builds = 0
  let evictions = 0

  const drop = (key: string) => {
    const entry = entries.get(key)
    if (entry === undefined) return
    entries.delete(key)
    bytes -= entry.index.bytes
    evictions++
  }
  const sweepIdle = () => {
    const oldest = options.now() - options.idleMs
    for (const [key, entry] of entries) if (entry.usedAt < oldest) drop(key)
  }

  return {
    /** The index of `documentId`, built with `build` when not held. An index over the bound is used once and not kept. */
    async get(owner: string, documentId: string, build: () => Promise<VectorIndex>): Promise<VectorIndex> {
      sweepIdle()
      const held = entries.get(documentId)
      if (held !== undefined) {
        entries.delete(documentId)
        entries.set(documentId, { ...held, usedAt: options.now() })
        return held.index
      }
      const index = await build()
      builds++
      // note: another search may have built the same index meanwhile; keep one.
      if (entries.has(documentId)) drop(documentId)
      if (index.bytes > options.maxBytes) return index
      for (const key of entries.keys()) {
        if (bytes + index.bytes <= options.maxBytes) break
        drop(key)
      }
      entries.set(documentId, { owner, index, usedAt: options.now() })
      bytes += index.bytes
      return index
    },
    /** Drops one document's index (it was replaced or deleted). */
    dropDocument: drop,
    /** Drops every index of one user, or of everyone when `owner` is null. */
    dropOwner(owner: string | null): void {
      for (const [key, entry] of entries) if (owner === null || entry.owner === owner) drop(key)
    },
    /** Drops the indexes unused for the idle time; called on each use and by a timer. */
    sweepIdle,
    stats(): IndexCacheStats {
      return { indexes: entries.size, bytes, maxBytes: options.maxBytes, builds, evictions }
    },
  }
}

export type IndexCache = ReturnType<typeof createIndexCache>
