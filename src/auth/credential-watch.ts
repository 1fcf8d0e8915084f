/**
 * Watches the credential a running answer was started with. Threat: a stream (an OpenAI- or
 * Ollama-compatible answer, a model pull) outlives the request that was allowed to start it, so a
 * revocation (sign-out, a session or API key deleted, a password change, the user deleted or made
 * pending, the master key changed) must stop it at once, not when it ends.
 *
 * While a watch runs it listens to the store's account changes (db/account-changes.ts). A notice
 * about its user that says what it revoked (this session or key, all of them, the new role, the
 * deletion) is decided at once, within the notice, from the notice alone. A notice that does not
 * say (the master key, admin settings, one relayed without it) starts an authentication of the
 * credential again through the one auth path; until its answer is in, `checked()` returns it, and
 * whoever streams awaits it before sending anything more. If the credential no longer admits the
 * user, `revoked` aborts (and with it `signal`, which the upstream request carries). A check that
 * throws counts as revoked: a stream on a credential that can't be checked is not worth keeping.
 * The listener lives exactly as long as the stream: `stop()`, the revocation itself or `until`
 * aborting (the client went away) removes it.
 */
import type { Revocation } from '../db/account-changes.ts'
import type { ApiKeyId } from '../db/api-keys.ts'
import type { UserId } from '../db/ids.ts'
import type { SessionId } from '../db/sessions.ts'
import type { AuthDeps } from './auth-deps.ts'
import { admitCredential, type AuthResult } from './authenticate.ts'
import type { Principal } from './principal.ts'

/** A credential as it was admitted: whose, which session or key it is, for which path (API keys may be limited to some), and what role it needs. */
export type WatchedCredential = {
  userId: UserId; credential: string; path: string; needs: 'active' | 'admin'
  held: { via: 'session'; sessionId: SessionId } | { via: 'api_key'; apiKeyId: ApiKeyId }
}

/** The running watch; `stop()` may be called any number of times. `checked()`: a re-check in progress (await it before streaming more), or null. */
export type CredentialWatch = { revoked: AbortSignal; signal: AbortSignal; stop: () => void; checked: () => Promise<void> | null }

/** The credential a request was admitted with, to watch while its answer runs. */
export function credentialOf(principal: Principal, path: string, needs: WatchedCredential['needs']): WatchedCredential {
  const held: WatchedCredential['held'] = principal.via === 'session' ? { via: 'session', sessionId: principal.sessionId } : { via: 'api_key', apiKeyId: principal.apiKeyId }
  return { userId: principal.user.id, credential: principal.token, path, needs, held }
}

/**
 * Whether a notice's revocation ends this credential: true (revoked), false (it still admits), or
 * null when the notice says nothing about it and the credential must be read again.
 */
export function isRevokedBy(watched: Pick<WatchedCredential, 'needs' | 'held'>, revoked: Revocation | undefined): boolean | null {
  if (revoked === undefined) return null
  const { held } = watched
  switch (revoked.kind) {
    case 'session': return held.via === 'session' && held.sessionId === revoked.sessionId
    case 'sessions': return held.via === 'session' && held.sessionId !== revoked.keep
    case 'api_key': return held.via === 'api_key' && (revoked.apiKeyId === null || held.apiKeyId === revoked.apiKeyId)
    case 'role': return watched.needs === 'admin' ? revoked.role !== 'admin' : revoked.role === 'pending'
    case 'deleted': return true
  }
}

/**
 * Whether the credential still authenticates the same user for `path`, with a role that may do what it
 * started (admitCredential: no second-factor enrolment rule, which held when it started). At once
 * while the principal cache holds the credential, else a promise.
 */
export function isStillAdmitted(deps: AuthDeps, watched: Pick<WatchedCredential, 'userId' | 'credential' | 'path' | 'needs'>): boolean | Promise<boolean> {
  const admits = (result: AuthResult) => {
    if (!result.ok || result.principal.user.id !== watched.userId) return false
    const { role } = result.principal.user
    return watched.needs === 'admin' ? role === 'admin' : role !== 'pending'
  }
  const result = admitCredential(deps, watched.credential, watched.path)
  return result instanceof Promise ? result.then(admits) : admits(result)
}

/** Starts watching until `stop()` or `until` aborts; `signal` aborts on either a revocation or `until`. */
export function watchCredential(deps: AuthDeps, watched: WatchedCredential, until: AbortSignal): CredentialWatch {
  const changes = deps.store.accountChanges
  const revocation = new AbortController()
  let generation = changes.generationOf(watched.userId)
  let checking: Promise<void> | null = null
  const revoke = () => {
    stop()
    if (!revocation.signal.aborted) revocation.abort(new Error('The credential was revoked.'))
  }
  const recheck = () => {
    let verdict: boolean | Promise<boolean>
    try {
      verdict = isStillAdmitted(deps, watched)
    } catch {
      verdict = false
    }
    if (typeof verdict === 'boolean') {
      if (!verdict) revoke()
      return
    }
    const current: Promise<void> = verdict.then((admits) => { if (!admits) revoke() }, () => revoke()).finally(() => {
      if (checking === current) checking = null
    })
    checking = current
  }
  const unsubscribe = changes.subscribe((change) => {
    if (change.kind !== 'access') return
    const now = changes.generationOf(watched.userId)
    if (now === generation) return // note: another user's change
    generation = now
    const decided = change.userId === null ? null : isRevokedBy(watched, change.revoked)
    if (decided === true) revoke()
    else if (decided === null) recheck()
  })
  const stop = () => {
    unsubscribe()
    until.removeEventListener('abort', stop)
  }
  until.addEventListener('abort', stop, { once: true })
  if (until.aborted) stop()
  // note: the request was authenticated a moment ago, but a revocation since then moved a generation this watch never saw.
  else recheck()
  return { revoked: revocation.signal, signal: AbortSignal.any([until, revocation.signal]), stop, checked: () => checking }
}
