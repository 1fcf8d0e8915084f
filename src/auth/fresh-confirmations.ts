/**
 * Passkey confirmations of a session, for a lasting change on an account with passkeys (an API key,
 * a new password, another passkey): the session's holder proves, a moment before, that they still
 * have the passkey. Each confirmation is good for one change within five minutes, for that session
 * only. Kept in memory: a restart asks again.
 */
import type { SessionId } from '../db/sessions.ts'

const LIFETIME_MS = 5 * 60_000
const MAX_LIVE = 10_000

export function createFreshConfirmations(now: () => number) {
  const confirmedAt = new Map<SessionId, number>()
  return {
    /** Records that this session's holder just used a passkey. */
    confirm(sessionId: SessionId): void {
      confirmedAt.delete(sessionId)
      while (confirmedAt.size >= MAX_LIVE) confirmedAt.delete(confirmedAt.keys().next().value!)
      confirmedAt.set(sessionId, now())
    },
    /** Uses up the session's confirmation; true when there was one from the last five minutes. */
    consume(sessionId: SessionId): boolean {
      const at = confirmedAt.get(sessionId)
      confirmedAt.delete(sessionId)
      return at !== undefined && now() - at < LIFETIME_MS
    },
  }
}

export type FreshConfirmations = ReturnType<typeof createFreshConfirmations>
