import type { AccountChanges } from './account-changes.ts'
import type { DataKeyRepo } from './data-keys.ts'
import type { SqlEngine, SqlValue } from './engine.ts'
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

/**
 * note: the writes of a sign-in and of a request's note of use commit at once, in a transaction of
 * their own, not in SQLite's group-commit batch, which keeps the write lock until the next turn of
 * the event loop: another connection to the same file in this process (two instances on one data
 * directory, as the cluster tests run them) would wait for it synchronously, holding that turn off.
 */
const committedAtOnce = (sql: SqlEngine, text: string, ...params: SqlValue[]) => sql.transaction(() => sql.run(text, ...params))

/** Issued sessions, so that any one of them can be revoked before its token expires; each revocation is announced to `changes`. */
export function createSessionRepo(sql: SqlEngine, keys: DataKeyRepo, now: () => number, changes: AccountChanges) {
  /** Returns the session's owner and expiry (null: never) when it is live (exists, not revoked, not expired), else null. */
  async function findLiveSession(id: SessionId): Promise<{ userId: UserId; expiresAt: number | null } | null> {
    const state = await sql.get<SessionState>('SELECT user_id, expires_at, revoked_at, last_seen_at FROM session WHERE id = ?', id)
    const at = now()
    if (state === null || state.revoked_at !== null || (state.expires_at !== null && state.expires_at <= at)) return null
    if (state.last_seen_at < at - LAST_SEEN_RESOLUTION_MS) await committedAtOnce(sql, 'UPDATE session SET last_seen_at = ? WHERE id = ? AND last_seen_at < ?', at, id, at - LAST_SEEN_RESOLUTION_MS)
    return { userId: state.user_id as UserId, expiresAt: state.expires_at }
  }

  return {
    /** Records a new session for the user; the id becomes the token's jti. */
    async createSession(input: { id: SessionId; userId: UserId; expiresAt: number | null; userAgent: string | null; ip: string | null }): Promise<void> {
      const at = now()
      const sealed = sessionTable.seal(input.id, { user_agent: input.userAgent?.slice(0, 512) ?? null, ip: input.ip }, await keys.ringFor(input.userId))
      await committedAtOnce(sql, 'INSERT INTO session (id, user_id, created_at, last_seen_at, expires_at, user_agent, ip) VALUES (?, ?, ?, ?, ?, ?, ?)',
        input.id, input.userId, at, at, input.expiresAt, sealed.user_agent, sealed.ip)
    },

    findLiveSession,

    /** Returns the session's owner when it is live (exists, not revoked, not expired), else null. */
    async findLiveSessionOwner(id: SessionId): Promise<UserId | null> {
      return (await findLiveSession(id))?.userId ?? null
    },

    /** Lists the user's live sessions, newest first. */
    async listLiveSessions(userId: UserId): Promise<Session[]> {
      const rows = await sql.all<SessionRow>(
        'SELECT * FROM session WHERE user_id = ? AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > ?) ORDER BY created_at DESC', userId, now())
      if (rows.length === 0) return []
      const ring = await keys.ringFor(userId)
      return rows.map((row) => {
        const plain = sessionTable.open(row.id, row, ring)
        return {
          id: row.id as SessionId, userId, createdAt: row.created_at, lastSeenAt: row.last_seen_at, expiresAt: row.expires_at,
          revokedAt: row.revoked_at, userAgent: plain.user_agent, ip: plain.ip,
        }
      })
    },

    /** Revokes one of the user's sessions; false when it is not theirs or already revoked. */
    async revokeSession(userId: UserId, id: SessionId): Promise<boolean> {
      const isRevoked = (await sql.run('UPDATE session SET revoked_at = ? WHERE id = ? AND user_id = ? AND revoked_at IS NULL', now(), id, userId)).changes === 1
      if (isRevoked) changes.accessChanged(userId, { kind: 'session', sessionId: id })
      return isRevoked
    },

    /** Revokes every session of the user except `keep` (pass null to revoke all); returns how many. */
    async revokeOtherSessions(userId: UserId, keep: SessionId | null): Promise<number> {
      const revoked = (await sql.run('UPDATE session SET revoked_at = ? WHERE user_id = ? AND id != ? AND revoked_at IS NULL', now(), userId, keep ?? '')).changes
      if (revoked > 0) changes.accessChanged(userId, { kind: 'sessions', keep })
      return revoked
    },

    /** When each user was last seen through a session (unix ms, to the minute); users never signed in are absent. */
    async lastSeenByUser(): Promise<Map<UserId, number>> {
      const rows = await sql.all<{ user_id: string; at: number }>('SELECT user_id, max(last_seen_at) AS at FROM session GROUP BY user_id')
      return new Map(rows.map((row) => [row.user_id as UserId, Number(row.at)]))
    },

    /** Deletes expired sessions and those revoked before `revokedBefore`. */
    async pruneSessions(revokedBefore: number): Promise<void> {
      await sql.run('DELETE FROM session WHERE (expires_at IS NOT NULL AND expires_at < ?) OR revoked_at < ?', now(), revokedBefore)
    },
  }
}

export type SessionRepo = ReturnType<typeof createSessionRepo>
