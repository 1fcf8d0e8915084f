/**
 * Checking a second-factor code, and who must have a second factor. A TOTP code is good for its
 * step once: the step is recorded as used in the same call that accepts it (second-factors.ts), so
 * a code seen over someone's shoulder is refused the second time. A recovery code is used up.
 * MFA_REQUIRED decides who must enrol; OIDC accounts are left to their provider, so they never must.
 */
import type { UserId } from '../db/ids.ts'
import type { User } from '../db/users.ts'
import type { AuthDeps } from './auth-deps.ts'
import { normaliseRecoveryCode } from './recovery-codes.ts'
import { findTotpStep } from './totp.ts'

export type CodeCheck = { ok: true; method: 'totp' | 'recovery_code' } | { ok: false }

/** Accepts a current TOTP code of the user's enabled factor, once. */
export async function checkTotpCode(deps: Pick<AuthDeps, 'store' | 'now'>, userId: UserId, code: string): Promise<boolean> {
  const factor = await deps.store.secondFactors.findTotp(userId)
  if (factor === null || !factor.enabled) return false
  const step = findTotpStep(factor.secret, code.replace(/\s/g, ''), deps.now())
  return step !== null && await deps.store.secondFactors.useTotpStep(userId, step)
}

/** Accepts a TOTP code (six digits) or an unused recovery code of the user. */
export async function checkSecondFactorCode(deps: Pick<AuthDeps, 'store' | 'now'>, userId: UserId, code: string): Promise<CodeCheck> {
  if (/^\d{6}$/.test(code.replace(/\s/g, ''))) return await checkTotpCode(deps, userId, code) ? { ok: true, method: 'totp' } : { ok: false }
  const recovery = normaliseRecoveryCode(code)
  return recovery !== null && await deps.store.secondFactors.useRecoveryCode(userId, recovery) ? { ok: true, method: 'recovery_code' } : { ok: false }
}

/** Whether MFA_REQUIRED covers this user (whether or not they have enrolled); single sign-on accounts never. */
export async function isSecondFactorRequired(deps: Pick<AuthDeps, 'auth' | 'store'>, user: User): Promise<boolean> {
  return isCoveredByRule(deps, user) && !await isSingleSignOnAccount(deps, user.id)
}

/** Whether MFA_REQUIRED names this user's role (the account's kind aside). */
function isCoveredByRule(deps: Pick<AuthDeps, 'auth'>, user: User): boolean {
  const rule = deps.auth.mfaRequired
  return !deps.auth.singleUser && (rule === 'all' || (rule === 'admins' && user.role === 'admin'))
}

/** Whether this user must enrol a second factor before doing anything else. */
export async function mustEnrolSecondFactor(deps: Pick<AuthDeps, 'auth' | 'store'>, user: User): Promise<boolean> {
  // note: the rule first (no lookup), then the factor check: one indexed lookup, while the account's kind opens sealed rows.
  return isCoveredByRule(deps, user) && !await deps.store.secondFactors.hasSecondFactor(user.id) && !await isSingleSignOnAccount(deps, user.id)
}

/** An account that signs in only through an OpenID provider: no password here, no directory entry. */
async function isSingleSignOnAccount(deps: Pick<AuthDeps, 'store'>, userId: UserId): Promise<boolean> {
  if (await deps.store.credentials.findPasswordHash(userId) !== null) return false
  const identities = await deps.store.identities.listIdentitiesOfUser(userId)
  return identities.length > 0 && identities.every((identity) => identity.provider !== 'ldap')
}

/**
 * What a user who must enrol may still reach: their session, sign-out, the enrolment routes, and the
 * page's configuration. Everything else answers 403 mfa_enrolment_required.
 */
export function isEnrolmentPath(path: string): boolean {
  const trimmed = path.length > 1 ? path.replace(/\/+$/, '') : path
  return trimmed === '/api/v1/auths' || trimmed === '/api/v1/auths/signout' || trimmed === '/api/v1/auths/mfa'
    || trimmed.startsWith('/api/v1/auths/mfa/totp/') || trimmed.startsWith('/api/v1/auths/passkeys') || trimmed === '/api/config'
}
