import type { SessionId } from '../db/sessions.ts'
import type { User } from '../db/users.ts'
import type { AuthDeps } from './auth-deps.ts'
import { signSessionToken } from './tokens.ts'

export type IssuedSession = { token: string; sessionId: SessionId; expiresAt: number | null }

/** Records a new session for the user and signs its token. */
export async function issueSession(deps: AuthDeps, user: User, client: { ip: string; userAgent: string | null }): Promise<IssuedSession> {
  const issuedAt = deps.now()
  const expiresAt = deps.auth.sessionTtlMs === null ? null : issuedAt + deps.auth.sessionTtlMs
  const sessionId = crypto.randomUUID() as SessionId
  await deps.store.sessions.createSession({ id: sessionId, userId: user.id, expiresAt, userAgent: client.userAgent, ip: client.ip })
  const token = signSessionToken({ userId: user.id, sessionId, issuedAtMs: issuedAt, expiresAtMs: expiresAt, keyFingerprint: deps.store.info.keyFingerprint }, deps.sessionSecret)
  return { token, sessionId, expiresAt }
}
