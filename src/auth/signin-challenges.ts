/**
 * The second step of a sign-in: after the password (local or LDAP) of an account with a second
 * factor, the client gets a challenge token instead of a session, and redeems it with a code or a
 * passkey within five minutes.
 *
 *   token     = sealed cookie value (crypto/sealed-cookie.ts), purpose 'signin-challenge'
 *   plaintext = { id, userId, account } with its expiry
 *
 * Threat: a half-valid session (one that only some routes refuse) leaks through the routes that
 * forget to refuse it; an attacker who has the password guessing codes; a token replayed after it
 * signed someone in. So the token is no credential anywhere else, it opens only here, each one is
 * redeemed once (its id is kept in memory until then), and it dies after five wrong codes (each also
 * counted by the sign-in throttle against the account and address). A restart forgets every
 * challenge: their owners type their password again.
 */
import { deriveCookieKey, openCookieValue, sealCookieValue } from '../crypto/sealed-cookie.ts'
import type { UserId } from '../db/ids.ts'

const PURPOSE = 'signin-challenge'
const LIFETIME_MS = 5 * 60_000
const MAX_WRONG_CODES = 5
const MAX_LIVE = 10_000

/** A challenge waiting for its second factor: `account` is the throttle's key (`email:...`, `ldap:...`). */
export type SigninChallenge = { id: string; userId: UserId; account: string; method: 'password' | 'ldap' }

type Live = { expiresAt: number; wrongCodes: number }

export function createSigninChallenges(sessionSecret: string, now: () => number) {
  const key = deriveCookieKey(sessionSecret, PURPOSE)
  const live = new Map<string, Live>()

  function dropExpired(): void {
    const at = now()
    for (const [id, entry] of live) if (entry.expiresAt <= at) live.delete(id)
    // note: a flood of first steps (each needs the right password) could still fill memory; the oldest go first.
    while (live.size >= MAX_LIVE) live.delete(live.keys().next().value!)
  }

  function find(token: string): SigninChallenge | null {
    const value = openCookieValue(key, PURPOSE, token, now()) as { id?: unknown; userId?: unknown; account?: unknown; method?: unknown } | null
    if (value === null || typeof value.id !== 'string' || typeof value.userId !== 'string' || typeof value.account !== 'string') return null
    const entry = live.get(value.id)
    if (entry === undefined || entry.expiresAt <= now()) return null
    return { id: value.id, userId: value.userId as UserId, account: value.account, method: value.method === 'ldap' ? 'ldap' : 'password' }
  }

  return {
    /** Issues a challenge for the user who just gave their password; returns its token. */
    issue(userId: UserId, account: string, method: 'password' | 'ldap'): { token: string; expiresAt: number } {
      dropExpired()
      const id = crypto.randomUUID()
      const expiresAt = now() + LIFETIME_MS
      live.set(id, { expiresAt, wrongCodes: 0 })
      return { token: sealCookieValue(key, PURPOSE, { id, userId, account, method }, expiresAt), expiresAt }
    },
    /** The live challenge behind a token; null when forged, expired, used up or redeemed. */
    find,
    /** Counts a wrong code; the fifth ends the challenge. */
    recordWrongCode(challenge: SigninChallenge): void {
      const entry = live.get(challenge.id)
      if (entry !== undefined && ++entry.wrongCodes >= MAX_WRONG_CODES) live.delete(challenge.id)
    },
    /** Ends the challenge; true when it was live (so exactly one redemption wins). */
    redeem(challenge: SigninChallenge): boolean {
      return live.delete(challenge.id)
    },
  }
}

export type SigninChallenges = ReturnType<typeof createSigninChallenges>
