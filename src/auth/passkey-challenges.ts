/**
 * WebAuthn challenges: 32 random bytes the browser has the authenticator sign, each for one purpose
 * and one subject (the registering user, or the sign-in challenge it answers; none for passwordless),
 * good once and for five minutes. Threat: a signed answer replayed, or one made for another
 * ceremony. Kept in memory: a restart forgets them, and the ceremony starts again.
 */
import { encodeBase64urlNoPadding } from '@oslojs/encoding'

export type PasskeyPurpose = 'register' | 'second_factor' | 'passwordless' | 'confirm'

const LIFETIME_MS = 5 * 60_000
const MAX_LIVE = 10_000

export function createPasskeyChallenges(now: () => number) {
  const live = new Map<string, { purpose: PasskeyPurpose; subject: string; expiresAt: number }>()
  return {
    /** A new challenge for `purpose` and `subject`. */
    issue(purpose: PasskeyPurpose, subject: string): Uint8Array {
      const at = now()
      for (const [key, entry] of live) if (entry.expiresAt <= at) live.delete(key)
      while (live.size >= MAX_LIVE) live.delete(live.keys().next().value!)
      const bytes = crypto.getRandomValues(new Uint8Array(32))
      live.set(encodeBase64urlNoPadding(bytes), { purpose, subject, expiresAt: at + LIFETIME_MS })
      return bytes
    },
    /** Uses up the challenge; returns its subject when it was live and for `purpose`, else null. */
    take(bytes: Uint8Array, purpose: PasskeyPurpose): string | null {
      const key = encodeBase64urlNoPadding(bytes)
      const entry = live.get(key)
      if (entry === undefined) return null
      live.delete(key)
      return entry.purpose === purpose && entry.expiresAt > now() ? entry.subject : null
    },
  }
}

export type PasskeyChallenges = ReturnType<typeof createPasskeyChallenges>
