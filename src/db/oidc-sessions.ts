import type { SqlEngine } from './engine.ts'
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
export function createOidcSessionRepo(sql: SqlEngine, keys: DataKeyRepo, now: () => number, changes: AccountChanges) {
  /** Announces `revoked` sessions of the user, if any, and returns the count. */
  const announced = (userId: UserId, revoked: number) => {
    if (revoked > 0) changes.accessChanged(userId)
    return revoked
  }
  const sidIndex = async (provider: string, sid: string) => blindIndex((await keys.ringFor(EMAIL_INDEX_OWNER)).current.key, 'oidc_session.sid', `${provider}\0${sid}`)

  return {
    /** Records that the session came from `provider`, with its sid and tokens (sealed). */
    async recordOidcSession(input: { sessionId: SessionId; userId: UserId; provider: string; sid: string | null; tokens: ProviderTokens }): Promise<void> {
      const sealed = tokenTable.seal(input.sessionId, {
        id_token: input.tokens.idToken, access_token: input.tokens.accessToken, refresh_token: input.tokens.refreshToken,
      }, await keys.ringFor(input.userId))
      const index = input.sid === null ? null : await sidIndex(input.provider, input.sid)
      await sql.run(`INSERT INTO oidc_session (session_id, user_id, provider, sid_index, id_token, access_token, refresh_token, created_at)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, input.sessionId, input.userId, input.provider, index, sealed.id_token, sealed.access_token, sealed.refresh_token, now())
    },

    /** The provider and tokens of the user's session, or null when it did not come from single sign-on. */
    async findOidcSessionTokens(userId: UserId, sessionId: SessionId): Promise<{ provider: string; tokens: ProviderTokens } | null> {
      const row = await sql.get<TokenRow & { provider: string }>(
        'SELECT session_id, provider, id_token, access_token, refresh_token FROM oidc_session WHERE session_id = ? AND user_id = ?', sessionId, userId)
      if (row === null) return null
      const plain = tokenTable.open(row.session_id, row, await keys.ringFor(userId))
      return { provider: row.provider, tokens: { idToken: plain.id_token, accessToken: plain.access_token, refreshToken: plain.refresh_token } }
    },

    /** The user's live single sign-on sessions, oldest first. */
    async listLiveOidcSessionIds(userId: UserId): Promise<SessionId[]> {
      const rows = await sql.all<{ session_id: string }>(`SELECT o.session_id FROM oidc_session o JOIN session s ON s.id = o.session_id
        WHERE o.user_id = ? AND s.revoked_at IS NULL AND (s.expires_at IS NULL OR s.expires_at > ?) ORDER BY s.created_at, s.id`, userId, now())
      return rows.map((row) => row.session_id as SessionId)
    },

    /** The user whose sessions carry that provider sid, or null when none does. */
    async findUserIdBySid(provider: string, sid: string): Promise<UserId | null> {
      const rows = await sql.all<{ user_id: string }>('SELECT DISTINCT user_id FROM oidc_session WHERE sid_index = ?', await sidIndex(provider, sid))
      return rows.length === 1 ? (rows[0]!.user_id as UserId) : null
    },

    /** Revokes the user's sessions that came from `provider` with that provider session id; returns how many. */
    async revokeOidcSessionsOfSid(userId: UserId, provider: string, sid: string): Promise<number> {
      const { changes: revoked } = await sql.run(`UPDATE session SET revoked_at = ? WHERE revoked_at IS NULL AND id IN
        (SELECT session_id FROM oidc_session WHERE user_id = ? AND provider = ? AND sid_index = ?)`, now(), userId, provider, await sidIndex(provider, sid))
      return announced(userId, revoked)
    },

    /** Revokes every session of the user that came from `provider`; returns how many. */
    async revokeOidcSessionsOfUser(userId: UserId, provider: string): Promise<number> {
      const { changes: revoked } = await sql.run(`UPDATE session SET revoked_at = ? WHERE revoked_at IS NULL AND id IN
        (SELECT session_id FROM oidc_session WHERE user_id = ? AND provider = ?)`, now(), userId, provider)
      return announced(userId, revoked)
    },
  }
}

export type OidcSessionRepo = ReturnType<typeof createOidcSessionRepo>
