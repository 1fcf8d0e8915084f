/**
 * Writes other instances on the same database must hear of, and whether this instance hears of
 * theirs. Threat: plaintext or keys kept in memory going stale behind another instance's write: a
 * chat read after another instance wrote it, a search missing a message, a ring that seals under a
 * key version another instance retired or keeps a deleted user's keys.
 *
 * The repositories tell `announce` of each write once it has committed (`sql.afterCommit`), by ids
 * only; the cluster layer (cluster/shared-writes-relay.ts) carries the notice to the other
 * instances and calls `setAnnounced` with whether it hears of theirs now (Redis linked and
 * subscribed). The chat repository holds decrypted chats on PostgreSQL only while `isAnnounced`,
 * and drops everything it held whenever that changes, so after a gap (notices may have been lost)
 * it starts again from empty.
 */
import type { ChatId, UserId } from './ids.ts'

/**
 * A committed write: `chat`, one chat of the owner (`chatId` null: several, or all of them);
 * `keys`, the owner's data keys (a rotation step, destroyed versions, the owner deleted; `owner`
 * null: every owner's); `settings`, what is kept at most a second (kept-read.ts: groups, model
 * grants, settings), so the others read it again at once; `all`, anything (an instance that lost notices while Redis was away).
 */
export type WriteNotice =
  | { kind: 'chat'; owner: UserId; chatId: ChatId | null }
  | { kind: 'keys'; owner: string | null }
  | { kind: 'settings' }
  | { kind: 'all' }

/** What a repository consults and tells; a plain `{ isAnnounced }` serves a test or a lone instance. */
export type SharedWrites = {
  /** Whether this instance hears of every write the others make, now (read on each use). */
  readonly isAnnounced: boolean
  /** Tells the other instances of a committed write. */
  announce?(notice: WriteNotice): void
  /** Calls `listener` each time `isAnnounced` changes. */
  onAnnouncedChange?(listener: (isAnnounced: boolean) => void): void
  /** Calls `listener` when another instance wrote what kept reads hold (groups, grants, settings). */
  onKeptReadsStale?(listener: () => void): void
}

/** Announces a `settings` notice once the calling write has committed; for repositories with kept reads. */
export function announceSettingsWrite(sql: { afterCommit(fn: () => void): void }, shared: SharedWrites): void {
  if (shared.announce !== undefined) sql.afterCommit(() => shared.announce!({ kind: 'settings' }))
}

/** The store's one SharedWrites: not announced until the cluster says so. */
export function createSharedWrites() {
  let isAnnounced = false
  const noticeListeners = new Set<(notice: WriteNotice) => void>()
  const changeListeners = new Set<(isAnnounced: boolean) => void>()
  const staleListeners = new Set<() => void>()
  // note: a write announced before anything relays (start-up, before the cluster is connected) is owed to the others.
  let hasMissedNotices = false
  return {
    get isAnnounced(): boolean {
      return isAnnounced
    },
    /** Sets whether this instance hears of the others' writes now; a change tells every listener (which drop what they hold). */
    setAnnounced(value: boolean): void {
      if (value === isAnnounced) return
      isAnnounced = value
      for (const listener of changeListeners) listener(value)
    },
    onAnnouncedChange(listener: (isAnnounced: boolean) => void): void {
      changeListeners.add(listener)
    },
    announce(notice: WriteNotice): void {
      if (noticeListeners.size === 0) hasMissedNotices = true
      for (const listener of noticeListeners) listener(notice)
    },
    /** Whether a write was announced while nothing relayed; resets it (the relay then owes the others an `all` notice). */
    takeMissedNotices(): boolean {
      const missed = hasMissedNotices
      hasMissedNotices = false
      return missed
    },
    onKeptReadsStale(listener: () => void): void {
      staleListeners.add(listener)
    },
    /** Drops every kept read: another instance wrote what they hold (the relay calls it). */
    keptReadsStale(): void {
      for (const listener of staleListeners) listener()
    },
    /** Calls `listener` with every write announced here (the relay publishes them); returns the way to stop. */
    onAnnounce(listener: (notice: WriteNotice) => void): () => void {
      noticeListeners.add(listener)
      return () => void noticeListeners.delete(listener)
    },
  } satisfies SharedWrites & Record<string, unknown>
}

export type SharedWritesHub = ReturnType<typeof createSharedWrites>
