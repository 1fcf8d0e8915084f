/**
 * A fresh second-factor code before a sensitive change (an API key, a new password) on an account
 * with TOTP: a stolen session alone must not mint a lasting credential or lock the owner out.
 * Attempts count per user like password-change attempts; each failure is audited.
 */
import type { AuthDeps } from '../auth/auth-deps.ts'
import { checkTotpCode } from '../auth/second-factor.ts'
import type { User } from '../db/users.ts'
import { HttpError } from './http-error.ts'

/** Throws unless the user has no TOTP factor or `code` is a current, unused code of it. */
export function requireFreshCode(deps: AuthDeps, user: User, code: string | undefined, ip: string, set: { headers: Record<string, string | number> }): void {
  if (deps.store.secondFactors.findTotp(user.id)?.enabled !== true) return
  if (code === undefined || code.trim() === '') {
    throw new HttpError(403, 'second_factor_required', 'Enter a current code from your authenticator app to do this.')
  }
  const check = deps.signinLimits.perAccount.hit(`second-factor:${user.id}`)
  if (!check.allowed) {
    set.headers['retry-after'] = String(check.retryAfterSeconds)
    throw new HttpError(429, 'rate_limited', `Too many attempts. Try again in ${check.retryAfterSeconds} seconds.`)
  }
  if (!checkTotpCode(deps, user.id, code)) {
    deps.audit.record({ event: 'second_factor_failed', actorId: user.id, ip, method: 'totp', reason: 'wrong_code' })
    throw new HttpError(400, 'invalid_code', 'That code is not right, or it was used already. Wait for the next one.')
  }
  deps.audit.record({ event: 'second_factor_used', actorId: user.id, ip, method: 'totp', details: { purpose: 'fresh_code' } })
}
