/**
 * In-memory notices of writes that narrow what a user's open connections may do. Threat: a socket
 * or an answer in flight outlives the request that was allowed to start it, so a sign-out, a role
 * change, a deleted user, API key or chat must reach them at once, not when something polls.
 *
 * The repositories announce each such write right after it (in this process; on the same SQLite
 * connection, so a listener already reads the new state):
 * - `access`: a session or API key revoked, the role changed, the user deleted; `userId` null
 *   means everyone (the master key changed, which ends every session);
 * - `chats`: one or more of the user's chats deleted.
 *
 * An `access` notice says, when its writer knows, what it narrowed (`revoked`): which session or
 * API key went, the new role, the deletion. Whoever holds a credential decides from that at once,
 * without reading the database (credential-watch.ts, the socket route); a notice without it (admin
 * settings, the master key, one relayed without it) calls for reading the credential again.
 *
 * Each `access` notice also moves the user's generation, a number a socket compares on every
 * frame (one integer compare) to know when to authenticate its credential again. A user's revision
 * moves with the generation and also when their record changes in a way that grants nothing (a
 * new name or email): a copy of the record is good while the revision is the one it was read at.
 * Listeners run
 * synchronously and must not throw: the write they follow has already happened.
 */
import type { UserId } from './ids.ts'

/** What an `access` notice narrowed: `keep` is the one session left (null: none); `apiKeyId` null: every key of the user. */
export type Revocation =
  | { kind: 'session'; sessionId: string }
  | { kind: 'sessions'; keep: string | null }
  | { kind: 'api_key'; apiKeyId: string | null }
  | { kind: 'role'; role: 'admin' | 'user' | 'pending' }
  | { kind: 'deleted' }

export type AccountChange = { kind: 'access'; userId: UserId | null; revoked?: Revocation } | { kind: 'chats'; userId: UserId }

export type AccountChangeListener = (change: AccountChange) => void

/** A plain object of functions, one per store. */
export function createAccountChanges() {
  const generations = new Map<UserId, number>()
  const edits = new Map<UserId, number>()
  let everyone = 0
  let count = 0
  const listeners = new Set<AccountChangeListener>()
  const recordListeners = new Set<(userId: UserId) => void>()

  const announce = (change: AccountChange) => {
    for (const listener of listeners) listener(change)
  }

  return {
    /** A number that grows with every `access` notice and every recordChanged, whoever's: unchanged across a read, nothing was announced meanwhile. */
    changeCount(): number {
      return count
    },

    /** A number that differs from any earlier one for this user after every `access` notice about them (or everyone). */
    generationOf(userId: UserId): number {
      // note: both counters only grow, so their sum changes whenever either does.
      return everyone + (generations.get(userId) ?? 0)
    },

    /** A number that differs from any earlier one for this user after every `access` notice about them and every recordChanged. */
    revisionOf(userId: UserId): number {
      return everyone + (generations.get(userId) ?? 0) + (edits.get(userId) ?? 0)
    },

    /** Notes that the user's record changed without changing what they may do (no notice: nothing is revoked). */
    recordChanged(userId: UserId): void {
      count += 1
      edits.set(userId, (edits.get(userId) ?? 0) + 1)
      for (const listener of recordListeners) listener(userId)
    },

    /** Calls `listener` after every recordChanged from now on (the other instances hear of it: cluster/revocation-relay.ts); returns the way to stop. */
    onRecordChanged(listener: (userId: UserId) => void): () => void {
      recordListeners.add(listener)
      return () => void recordListeners.delete(listener)
    },

    /** Announces that the user's credentials or role may no longer admit them (null: everyone's); `revoked` says how, when known. */
    accessChanged(userId: UserId | null, revoked?: Revocation): void {
      count += 1
      if (userId === null) everyone += 1
      else generations.set(userId, (generations.get(userId) ?? 0) + 1)
      announce(revoked === undefined || userId === null ? { kind: 'access', userId } : { kind: 'access', userId, revoked })
    },

    /** Announces that some of the user's chats were deleted. */
    chatsDeleted(userId: UserId): void {
      announce({ kind: 'chats', userId })
    },

    /** Calls `listener` after every notice from now on; returns the way to stop. */
    subscribe(listener: AccountChangeListener): () => void {
      listeners.add(listener)
      return () => void listeners.delete(listener)
    },

    /** How many listeners are subscribed now (a stream's listener must go when the stream does). */
    countListeners(): number {
      return listeners.size
    },
  }
}

export type AccountChanges = ReturnType<typeof createAccountChanges>
