import type { Database } from 'bun:sqlite'
import type { AccountChanges } from './account-changes.ts'
import type { DataKeyRepo } from './data-keys.ts'
import type { UserId } from './ids.ts'
import { sealedTable } from './sealed-table.ts'

export type SessionId = string & { readonly brand: 'SessionId' }

export type Session = {
  id: SessionId
  userId: UserId
  createdAt: number
  lastSeenAt: number
  /** null: never expires. */
  expiresAt: number | null
  revokedAt: number | null
  userAgent: string | null
  ip: string | null
}

const sessionTable = sealedTable('session', { user_agent: 'text', ip: 'text' })

type SessionRow = {
  id: string; user_id: string; created_at: number; last_seen_at: number; expires_at: number | null; revoked_at: number | null
  user_agent: Uint8Array | null; ip: Uint8Array | null
}
type SessionState = Pick<SessionRow, 'user_id' | 'expires_at' | 'revoked_at' | 'last_seen_at'>

// note: last_seen_at is written at most once a minute per session, so reads don't become writes.
const LAST_SEEN_RESOLUTION_MS = 60_000

/** Issued sessions, so that any one of them can be revoked before its token expires; each revocation is announced to `changes`. */
export function createSessionRepo(db: Database, keys: DataKeyRepo, now: () => number, changes: AccountChanges) {
  const insertSession = db.query<void, [string, string, number, number, number | null, Uint8Array | null, Uint8Array | null]>(
    'INSERT INTO session (id, user_id, created_at, last_seen_at, expires_at, user_agent, ip) VALUES (?, ?, ?, ?, ?, ?, ?)')
  const selectState = db.query<SessionState, [string]>('SELECT user_id, expires_at, revoked_at, last_seen_at FROM session WHERE id = ?')
  const touch = db.query<void, [number, string, number]>('UPDATE session SET last_seen_at = ? WHERE id = ? AND last_seen_at < ?')
  const selectForUser = db.query<SessionRow, [string, number]>(
    'SELECT * FROM session WHERE user_id = ? AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > ?) ORDER BY created_at DESC')
  const revokeOne = db.query<void, [number, string, string]>('UPDATE session SET revoked_at = ? WHERE id = ? AND user_id = ? AND revoked_at IS NULL')
  const revokeAllBut = db.query<void, [number, string, string]>('UPDATE session SET revoked_at = ? WHERE user_id = ? AND id != ? AND revoked_at IS NULL')
  const selectLastSeen = db.query<{ user_id: string; at: number }, []>('SELECT user_id, max(last_seen_at) AS at FROM session GROUP BY user_id')
  const pruneExpired = db.query<void, [number, number]>('DELETE FROM session WHERE (expires_at IS NOT NULL AND expires_at < ?) OR revoked_at < ?')

  /** Returns the session's owner and expiry (null: never) when it is live (exists, not revoked, not expired), else null. */
  function findLiveSession(id: SessionId): { userId: UserId; expiresAt: number | null } | null {
    const state = selectState.get(id)
    const at = now()
    if (state === null || state.revoked_at !== null || (state.expires_at !== null && state.expires_at <= at)) return null
    if (state.last_seen_at < at - LAST_SEEN_RESOLUTION_MS) touch.run(at, id, at - LAST_SEEN_RESOLUTION_MS)
    return { userId: state.user_id as UserId, expiresAt: state.expires_at }
  }

  return {
    /** Records a new session for the user; the id becomes the token's jti. */
    createSession(input: { id: SessionId; userId: UserId; expiresAt: number | null; userAgent: string | null; ip: string | null }): void {
      const at = now()
      const sealed = sessionTable.seal(input.id, { user_agent: input.userAgent?.slice(0, 512) ?? null, ip: input.ip }, keys.keysForOwner(input.userId))
      insertSession.run(input.id, input.userId, at, at, input.expiresAt, sealed.user_agent, sealed.ip)
    },

    findLiveSession,

    /** Returns the session's owner when it is live (exists, not revoked, not expired), else null. */
    findLiveSessionOwner(id: SessionId): UserId | null {
      return findLiveSession(id)?.userId ?? null
    },

    /** Lists the user's live sessions, newest first. */
    listLiveSessions(userId: UserId): Session[] {
      const rows = selectForUser.all(userId, now())
      if (rows.length === 0) return []
      const ring = keys.keysForOwner(userId)
      return rows.map((row) => {
        const plain = sessionTable.open(row.id, row, ring)
        return {
          id: row.id as SessionId, userId, createdAt: row.created_at, lastSeenAt: row.last_seen_at, expiresAt: row.expires_at,
          revokedAt: row.revoked_at, userAgent: plain.user_agent, ip: plain.ip,
        }
      })
    },

    /** Revokes one of the user's sessions; false when it is not theirs or already revoked. */
    revokeSession(userId: UserId, id: SessionId): boolean {
      const isRevoked = revokeOne.run(now(), id, userId).changes === 1
      if (isRevoked) changes.accessChanged(userId)
      return isRevoked
    },

    /** Revokes every session of the user except `keep` (pass null to revoke all); returns how many. */
    revokeOtherSessions(userId: UserId, keep: SessionId | null): number {
      const revoked = revokeAllBut.run(now(), userId, keep ?? '').changes
      if (revoked > 0) changes.accessChanged(userId)
      return revoked
    },

    /** When each user was last seen through a session (unix ms, to the minute); users never signed in are absent. */
    lastSeenByUser(): Map<UserId, number> {
      return new Map(selectLastSeen.all().map((row) => [row.user_id as UserId, row.at]))
    },

    /** Deletes expired sessions and those revoked before `revokedBefore`. */
    pruneSessions(revokedBefore: number): void {
      pruneExpired.run(now(), revokedBefore)
    },
  }
}

export type SessionRepo = ReturnType<typeof createSessionRepo>
