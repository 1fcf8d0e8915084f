import type { User } from '../db/users.ts'
import type { AuthDeps } from './auth-deps.ts'
import { hashPassword, MAX_PASSWORD_LENGTH, spendPasswordWork, verifyPassword } from './passwords.ts'
import { admitSigninAttempt, recordSigninFailure } from './signin-throttle.ts'

export type LoginResult =
  | { ok: true; user: User }
  | { ok: false; reason: 'invalid_credentials' | 'password_auth_disabled' }
  | { ok: false; reason: 'rate_limited'; retryAfterSeconds: number }

/** The sign-in throttle's account key for an email as typed (signin-throttle.ts). */
export const passwordThrottleAccount = (email: string) => `email:${email.trim().normalize('NFC').toLowerCase()}`

/**
 * Signs in with email and password. Rate limits (signin-throttle.ts) are checked before any
 * hashing; an unknown email costs the same hashing work as a wrong password, and both get the
 * same answer and count as the same failure.
 */
export async function localLogin(deps: AuthDeps, input: { email: string; password: string }, ip: string): Promise<LoginResult> {
  if (!deps.auth.enablePasswordAuth) return { ok: false, reason: 'password_auth_disabled' }
  const email = input.email.trim().normalize('NFC').toLowerCase()
  const account = passwordThrottleAccount(input.email)
  const refused = await admitSigninAttempt(deps, account, ip)
  if (refused !== null) {
    deps.audit.record({ event: 'rate_limited', ip, method: 'password', reason: refused.reason === 'per_ip' ? 'per_ip' : 'per_email' })
    return { ok: false, reason: 'rate_limited', retryAfterSeconds: refused.retryAfterSeconds }
  }
  const password = input.password.slice(0, MAX_PASSWORD_LENGTH + 1)
  const user = await deps.store.users.findUserByEmail(email)
  const hash = user === null ? null : await deps.store.credentials.findPasswordHash(user.id)
  if (user === null || hash === null) {
    await spendPasswordWork(password)
    await recordSigninFailure(deps, account, ip)
    deps.audit.record({ event: 'signin_failed', ip, method: 'password', reason: user === null ? 'unknown_account' : 'no_local_password', targetId: user?.id ?? null })
    return { ok: false, reason: 'invalid_credentials' }
  }
  const check = await verifyPassword(password, hash)
  if (!check.matches) {
    await recordSigninFailure(deps, account, ip)
    deps.audit.record({ event: 'signin_failed', ip, method: 'password', reason: 'wrong_password', targetId: user.id })
    return { ok: false, reason: 'invalid_credentials' }
  }
  if (check.needsRehash) await deps.store.credentials.setPasswordHash(user.id, await hashPassword(password))
  return { ok: true, user }
}
