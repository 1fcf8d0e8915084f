import type { Database } from 'bun:sqlite'
import { blindIndex } from '../crypto/blind-index.ts'
import type { AccountChanges } from './account-changes.ts'
import type { DataKeyRepo } from './data-keys.ts'
import type { UserId } from './ids.ts'
import { sealedTable } from './sealed-table.ts'
import type { SessionId } from './sessions.ts'
import { EMAIL_INDEX_OWNER } from './users.ts'

/** What a provider handed over at sign-in, kept for sign-out (id_token_hint) and later API calls. */
export type ProviderTokens = { idToken: string | null; accessToken: string | null; refreshToken: string | null }

const tokenTable = sealedTable('oidc_session', { id_token: 'text', access_token: 'text', refresh_token: 'text' })

type TokenRow = { session_id: string; id_token: Uint8Array | null; access_token: Uint8Array | null; refresh_token: Uint8Array | null }

/**
 * Sessions started through single sign-on: which provider, the provider's session id (as a blind
 * index, for back-channel logout) and its tokens, sealed under the user's data key. A row lives and
 * dies with its session. Revocations are announced to `changes`.
 */
export function createOidcSessionRepo(db: Database, keys: DataKeyRepo, now: () => number, changes: AccountChanges) {
  const insertRow = db.query<void, [string, string, string, Uint8Array | null, Uint8Array | null, Uint8Array | null, Uint8Array | null, number]>(
    `INSERT INTO oidc_session (session_id, user_id, provider, sid_index, id_token, access_token, refresh_token, created_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?)`)
  const selectTokens = db.query<TokenRow & { provider: string }, [string, string]>(
    'SELECT session_id, provider, id_token, access_token, refresh_token FROM oidc_session WHERE session_id = ? AND user_id = ?')
  const selectLiveOfUser = db.query<{ session_id: string }, [string, number]>(
    `SELECT o.session_id FROM oidc_session o JOIN session s ON s.id = o.session_id
     WHERE o.user_id = ? AND s.revoked_at IS NULL AND (s.expires_at IS NULL OR s.expires_at > ?) ORDER BY s.created_at, s.id`)
  const selectOwnerOfSid = db.query<{ user_id: string }, [Uint8Array]>('SELECT DISTINCT user_id FROM oidc_session WHERE sid_index = ?')
  const revokeOfProvider = db.query<void, [number, string, string]>(
    `UPDATE session SET revoked_at = ? WHERE revoked_at IS NULL AND id IN
     (SELECT session_id FROM oidc_session WHERE user_id = ? AND provider = ?)`)

  const revokeOfSid = db.query<void, [number, string, string, Uint8Array]>(
    `UPDATE session SET revoked_at = ? WHERE revoked_at IS NULL AND id IN
     (SELECT session_id FROM oidc_session WHERE user_id = ? AND provider = ? AND sid_index = ?)`)

  /** Announces `revoked` sessions of the user, if any, and returns the count. */
  const announced = (userId: UserId, revoked: number) => {
    if (revoked > 0) changes.accessChanged(userId)
    return revoked
  }
  const sidIndex = (provider: string, sid: string) => blindIndex(keys.keysForOwner(EMAIL_INDEX_OWNER).current.key, 'oidc_session.sid', `${provider}\0${sid}`)

  return {
    /** Records that the session came from `provider`, with its sid and tokens (sealed). */
    recordOidcSession(input: { sessionId: SessionId; userId: UserId; provider: string; sid: string | null; tokens: ProviderTokens }): void {
      const sealed = tokenTable.seal(input.sessionId, {
        id_token: input.tokens.idToken, access_token: input.tokens.accessToken, refresh_token: input.tokens.refreshToken,
      }, keys.keysForOwner(input.userId))
      const index = input.sid === null ? null : sidIndex(input.provider, input.sid)
      insertRow.run(input.sessionId, input.userId, input.provider, index, sealed.id_token, sealed.access_token, sealed.refresh_token, now())
    },

    /** The provider and tokens of the user's session, or null when it did not come from single sign-on. */
    findOidcSessionTokens(userId: UserId, sessionId: SessionId): { provider: string; tokens: ProviderTokens } | null {
      const row = selectTokens.get(sessionId, userId)
      if (row === null) return null
      const plain = tokenTable.open(row.session_id, row, keys.keysForOwner(userId))
      return { provider: row.provider, tokens: { idToken: plain.id_token, accessToken: plain.access_token, refreshToken: plain.refresh_token } }
    },

    /** The user's live single sign-on sessions, oldest first. */
    listLiveOidcSessionIds(userId: UserId): SessionId[] {
      return selectLiveOfUser.all(userId, now()).map((row) => row.session_id as SessionId)
    },

    /** The user whose sessions carry that provider sid, or null when none does. */
    findUserIdBySid(provider: string, sid: string): UserId | null {
      const rows = selectOwnerOfSid.all(sidIndex(provider, sid))
      return rows.length === 1 ? (rows[0]!.user_id as UserId) : null
    },

    /** Revokes the user's sessions that came from `provider` with that provider session id; returns how many. */
    revokeOidcSessionsOfSid(userId: UserId, provider: string, sid: string): number {
      return announced(userId, revokeOfSid.run(now(), userId, provider, sidIndex(provider, sid)).changes)
    },

    /** Revokes every session of the user that came from `provider`; returns how many. */
    revokeOidcSessionsOfUser(userId: UserId, provider: string): number {
      return announced(userId, revokeOfProvider.run(now(), userId, provider).changes)
    },
  }
}

export type OidcSessionRepo = ReturnType<typeof createOidcSessionRepo>
