/**
 * Credentials that authenticated a moment ago, so a client's next requests skip the token's HMAC
 * check and the session (or API key) and user reads. Keyed by the credential exactly as sent; an
 * entry holds the user (frozen: requests share it), which session or key admitted them, and is
 * used only while all of these hold:
 * - the user's revision is the one it was read at (account-changes.ts: it moves on every session or
 *   key revocation, role change, deletion, master-key change, admin-config change, and new name or
 *   email), so nothing revoked or changed is ever served from here;
 * - the credential has not expired: the token's exp, the session's or key's expires_at;
 * - it is younger than MAX_AGE_MS (so a session's last_seen is written within a minute or so of use).
 * With MFA_REQUIRED, whether the admitted user must enrol a second factor is kept with the
 * admission's user record; factor, password and link changes move the revision, so it is asked again.
 * Threat: a deleted or revoked user's data held in memory. Every `access` notice drops that user's
 * entries at once (everyone's on a master-key change); at most MAX_ENTRIES are held, oldest dropped
 * first. Failures are never remembered: a wrong token pays the full check every time.
 */
import type { AccountChanges } from '../db/account-changes.ts'
import type { ApiKeyId } from '../db/api-keys.ts'
import type { SessionId } from '../db/sessions.ts'
import type { User } from '../db/users.ts'

const MAX_ENTRIES = 1024
const MAX_AGE_MS = 10_000

/** What a credential resolved to: the user and the session or API key that admitted them. */
export type Admission = { user: User } & ({ via: 'session'; sessionId: SessionId } | { via: 'api_key'; apiKeyId: ApiKeyId; allowedModels: readonly string[] | null })

type Entry = { admission: Admission; revision: number; usableUntil: number }

export function createPrincipalCache(changes: AccountChanges, now: () => number, limits = { maxEntries: MAX_ENTRIES, maxAgeMs: MAX_AGE_MS }) {
  const entries = new Map<string, Entry>()
  /** Whether an admitted user must enrol a second factor, by the admission's user record (a new admission, a new record: asked again). */
  const enrolment = new WeakMap<User, boolean>()
  changes.subscribe((change) => {
    if (change.kind !== 'access') return
    if (change.userId === null) return entries.clear()
    for (const [credential, entry] of entries) {
      if (entry.admission.user.id === change.userId) entries.delete(credential)
    }
  })

  return {
    /** The admission remembered for this credential, when it is still good; else undefined. */
    find(credential: string): Admission | undefined {
      const entry = entries.get(credential)
      if (entry === undefined) return undefined
      if (now() < entry.usableUntil && changes.revisionOf(entry.admission.user.id) === entry.revision) return entry.admission
      entries.delete(credential)
      return undefined
    },

    /**
     * Remembers an admission until `expiresAt` (null: no expiry of its own) at the latest. `revision`
     * is the user's, read before the reads that found them (so a change in between can't be missed).
     */
    remember(credential: string, admission: Admission, revision: number, expiresAt: number | null): void {
      if (entries.size >= limits.maxEntries) entries.delete(entries.keys().next().value!)
      const usableUntil = Math.min(now() + limits.maxAgeMs, expiresAt ?? Number.POSITIVE_INFINITY)
      Object.freeze(admission.user)
      entries.set(credential, { admission, revision, usableUntil })
    },

    /** Whether this admitted user must enrol a second factor, when already asked for this admission; else undefined. */
    enrolmentOf(user: User): boolean | undefined {
      return enrolment.get(user)
    },

    /** Keeps the enrolment answer with the admission's user record (a factor change moves the revision, which ends the admission). */
    rememberEnrolment(user: User, mustEnrol: boolean): void {
      enrolment.set(user, mustEnrol)
    },

    /** How many credentials are remembered now. */
    size(): number {
      return entries.size
    },
  }
}

export type PrincipalCache = ReturnType<typeof createPrincipalCache>
