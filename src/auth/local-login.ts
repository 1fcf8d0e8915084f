import { addressBytes } from '../config/network.ts'
import type { User } from '../db/users.ts'
import type { AuthDeps } from './auth-deps.ts'
import { hashPassword, MAX_PASSWORD_LENGTH, spendPasswordWork, verifyPassword } from './passwords.ts'

export type LoginResult =
  | { ok: true; user: User }
  | { ok: false; reason: 'invalid_credentials' | 'password_auth_disabled' }
  | { ok: false; reason: 'rate_limited'; retryAfterSeconds: number }

/**
 * Signs in with email and password. Rate limits are checked before any hashing; an unknown email
 * costs the same hashing work as a wrong password, and both get the same answer.
 */
export async function localLogin(deps: AuthDeps, input: { email: string; password: string }, ip: string): Promise<LoginResult> {
  if (!deps.auth.enablePasswordAuth) return { ok: false, reason: 'password_auth_disabled' }
  const email = input.email.trim().normalize('NFC').toLowerCase()
  for (const [limiter, key] of [[deps.signinLimits.perIp, `ip:${ipBucket(ip)}`], [deps.signinLimits.perEmail, `email:${email}`]] as const) {
    const check = limiter.hit(key)
    if (!check.allowed) {
      deps.audit.record({ event: 'rate_limited', ip, method: 'password', reason: key.startsWith('ip:') ? 'per_ip' : 'per_email' })
      return { ok: false, reason: 'rate_limited', retryAfterSeconds: check.retryAfterSeconds }
    }
  }
  const password = input.password.slice(0, MAX_PASSWORD_LENGTH + 1)
  const user = deps.store.users.findUserByEmail(email)
  const hash = user === null ? null : deps.store.credentials.findPasswordHash(user.id)
  if (user === null || hash === null) {
    await spendPasswordWork(password)
    deps.audit.record({ event: 'signin_failed', ip, method: 'password', reason: user === null ? 'unknown_account' : 'no_local_password', targetId: user?.id ?? null })
    return { ok: false, reason: 'invalid_credentials' }
  }
  const check = await verifyPassword(password, hash)
  if (!check.matches) {
    deps.audit.record({ event: 'signin_failed', ip, method: 'password', reason: 'wrong_password', targetId: user.id })
    return { ok: false, reason: 'invalid_credentials' }
  }
  if (check.needsRehash) deps.store.credentials.setPasswordHash(user.id, await hashPassword(password))
  return { ok: true, user }
}

/** The rate-limit bucket of an address: itself for IPv4, its /64 for IPv6 (one host often holds a whole /64). */
export function ipBucket(ip: string): string {
  if (!ip.includes(':')) return ip
  const bytes = addressBytes(ip)
  return bytes === null || bytes.length === 4 ? ip : `${Buffer.from(bytes.subarray(0, 8)).toString('hex')}::/64`
}
