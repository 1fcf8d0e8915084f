/**
 * Watches the credential a running answer was started with. Threat: a stream (an OpenAI- or
 * Ollama-compatible answer, a model pull) outlives the request that was allowed to start it, so a
 * revocation (sign-out, a session or API key deleted, a password change, the user deleted or made
 * pending, the master key changed) must stop it at once, not when it ends.
 *
 * While a watch runs it listens to the store's account changes (db/account-changes.ts). When it
 * starts and whenever the user's generation moves, it authenticates the credential again through
 * the one auth path; if that no longer admits the user, `revoked` aborts (and with it `signal`,
 * which the upstream request carries). A check that throws counts as revoked: the listener must not throw, and a stream on a
 * credential that can't be checked is not worth keeping. The listener lives exactly as long as the
 * stream: `stop()`, the revocation itself or `until` aborting (the client went away) removes it.
 */
import type { UserId } from '../db/ids.ts'
import type { AuthDeps } from './auth-deps.ts'
import { admitCredential } from './authenticate.ts'
import type { Principal } from './principal.ts'

/** A credential as it was admitted: whose, for which path (API keys may be limited to some), and what role it needs. */
export type WatchedCredential = { userId: UserId; credential: string; path: string; needs: 'active' | 'admin' }

/** The running watch; `stop()` may be called any number of times. */
export type CredentialWatch = { revoked: AbortSignal; signal: AbortSignal; stop: () => void }

/** The credential a request was admitted with, to watch while its answer runs. */
export function credentialOf(principal: Principal, path: string, needs: WatchedCredential['needs']): WatchedCredential {
  return { userId: principal.user.id, credential: principal.token, path, needs }
}

/**
 * Whether the credential still authenticates the same user for `path`, with a role that may do what it
 * started. Synchronous (admitCredential: no second-factor enrolment rule, which held when it started),
 * so a revocation is decided within the notice that announced it.
 */
export function isStillAdmitted(deps: AuthDeps, watched: WatchedCredential): boolean {
  const result = admitCredential(deps, watched.credential, watched.path)
  if (!result.ok || result.principal.user.id !== watched.userId) return false
  const { role } = result.principal.user
  return watched.needs === 'admin' ? role === 'admin' : role !== 'pending'
}

/** Starts watching until `stop()` or `until` aborts; `signal` aborts on either a revocation or `until`. */
export function watchCredential(deps: AuthDeps, watched: WatchedCredential, until: AbortSignal): CredentialWatch {
  const changes = deps.store.accountChanges
  const revocation = new AbortController()
  let generation = changes.generationOf(watched.userId)
  const admits = () => {
    try {
      return isStillAdmitted(deps, watched)
    } catch {
      return false
    }
  }
  const revokeUnlessAdmitted = () => {
    if (admits()) return
    stop()
    revocation.abort(new Error('The credential was revoked.'))
  }
  const unsubscribe = changes.subscribe(() => {
    const now = changes.generationOf(watched.userId)
    if (now === generation) return // note: another user's change, or one about chats only
    generation = now
    revokeUnlessAdmitted()
  })
  const stop = () => {
    unsubscribe()
    until.removeEventListener('abort', stop)
  }
  until.addEventListener('abort', stop, { once: true })
  if (until.aborted) stop()
  // note: the request was authenticated a moment ago, but a revocation since then moved a generation this watch never saw.
  else revokeUnlessAdmitted()
  return { revoked: revocation.signal, signal: AbortSignal.any([until, revocation.signal]), stop }
}
