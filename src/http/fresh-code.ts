/**
 * A fresh second factor before a lasting change (an API key, a new password, another passkey) on
 * an account that has one: a stolen session alone must not mint a lasting credential or lock the
 * owner out. With an authenticator app, a current code (`mfa_code`); with passkeys, a confirmation
 * made a moment before through POST /api/v1/auths/passkeys/confirm (either will do when the account
 * has both). Code attempts count per user like password-change attempts; each failure is audited.
 */
import type { AuthDeps } from '../auth/auth-deps.ts'
import type { Principal } from '../auth/principal.ts'
import { checkTotpCode } from '../auth/second-factor.ts'
import { HttpError } from './http-error.ts'

/** Throws unless the user has no second factor, or proves one now. */
export async function requireFreshCode(deps: AuthDeps, principal: Principal, code: string | undefined, ip: string, set: { headers: Record<string, string | number> }): Promise<void> {
  const user = principal.user
  const hasTotp = (await deps.store.secondFactors.findTotp(user.id))?.enabled === true
  if (!hasTotp && (await deps.store.secondFactors.listPasskeys(user.id)).length === 0) return
  const hasCode = code !== undefined && code.trim() !== ''
  if (!hasCode && principal.via === 'session' && deps.freshConfirmations.consume(principal.sessionId)) return
  if (!hasTotp) throw new HttpError(403, 'second_factor_required', 'Confirm with your passkey to do this.')
  if (!hasCode) throw new HttpError(403, 'second_factor_required', 'Enter a current code from your authenticator app to do this.')
  const check = await deps.signinLimits.perAccount.hit(`second-factor:${user.id}`)
  if (!check.allowed) {
    set.headers['retry-after'] = String(check.retryAfterSeconds)
    throw new HttpError(429, 'rate_limited', `Too many attempts. Try again in ${check.retryAfterSeconds} seconds.`)
  }
  if (!await checkTotpCode(deps, user.id, code)) {
    deps.audit.record({ event: 'second_factor_failed', actorId: user.id, ip, method: 'totp', reason: 'wrong_code' })
    throw new HttpError(400, 'invalid_code', 'That code is not right, or it was used already. Wait for the next one.')
  }
  deps.audit.record({ event: 'second_factor_used', actorId: user.id, ip, method: 'totp', details: { purpose: 'fresh_code' } })
}
