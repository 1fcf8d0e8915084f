/**
 * A user's second factors under /api/v1/auths/mfa (see docs/second-factors.md):
 *
 *   GET    /mfa                   what the user has, and whether MFA_REQUIRED makes them enrol
 *   POST   /mfa/totp/setup        a new secret (text and otpauth URI), pending until confirmed
 *   POST   /mfa/totp/enable       { code }: switches it on, answers ten recovery codes, shown once
 *   POST   /mfa/totp/disable      { code }: a TOTP or recovery code; refused if the policy needs it
 *   POST   /mfa/recovery_codes    { code }: a current TOTP code; ten new codes replace the old
 *   GET    /mfa/users             admin: every user's factors
 *   DELETE /mfa/users/:id         admin: removes another user's factors (audited)
 *
 * Managing factors needs a session (not an API key). Wrong codes count per user (429 past
 * SIGNIN_RATE_LIMIT) and are audited; secrets and codes leave only in these answers, marked no-store.
 */
import { encodeBase32UpperCaseNoPadding } from '@oslojs/encoding'
import { Elysia, t } from 'elysia'
import type { AuthDeps } from '../../auth/auth-deps.ts'
import { generateRecoveryCodes } from '../../auth/recovery-codes.ts'
import { checkSecondFactorCode, checkTotpCode, isSecondFactorRequired, mustEnrolSecondFactor } from '../../auth/second-factor.ts'
import { findTotpStep, newTotpSecret, totpKeyUri } from '../../auth/totp.ts'
import type { AddressList } from '../../config/network.ts'
import { parseUserId } from '../../db/ids.ts'
import type { User } from '../../db/users.ts'
import { resolveClientAddress } from '../client-address.ts'
import { HttpError } from '../http-error.ts'
import { requireAuth } from '../plugins/require-auth.ts'

const CodeBody = t.Object({ code: t.String({ minLength: 1, maxLength: 64 }) })
const IdParams = t.Object({ id: t.String({ maxLength: 64 }) })
const ISSUER = 'Enclave'

type SetHeaders = { headers: Record<string, string | number> }

const wrongCode = () => new HttpError(400, 'invalid_code', 'That code is not right, or it was used already. Wait for the next one.')

export const secondFactorRoutes = (deps: AuthDeps, trustedProxies: AddressList) => {
  const ipOf = (request: Request, server: Parameters<typeof resolveClientAddress>[1]) => resolveClientAddress(request, server, trustedProxies).ip
  const factors = deps.store.secondFactors

  /** Counts an attempt at a code for this user; throws 429 past the limit. */
  const admitCodeAttempt = async (user: User, set: SetHeaders) => {
    const check = await deps.signinLimits.perAccount.hit(`second-factor:${user.id}`)
    if (check.allowed) return
    set.headers['retry-after'] = String(check.retryAfterSeconds)
    throw new HttpError(429, 'rate_limited', `Too many attempts. Try again in ${check.retryAfterSeconds} seconds.`)
  }

  const describeFactors = async (user: User) => {
    const totp = await factors.findTotp(user.id)
    return {
      totp_enabled: totp?.enabled === true,
      totp_pending: totp !== null && !totp.enabled,
      recovery_codes_left: await factors.countRecoveryCodesLeft(user.id),
      passkeys: (await factors.listPasskeys(user.id)).length,
      required: await isSecondFactorRequired(deps, user),
      enrolment_required: await mustEnrolSecondFactor(deps, user),
      passkey_login: deps.auth.passkeyLogin,
    }
  }

  return new Elysia({ prefix: '/api/v1/auths/mfa' })
    .use(requireAuth(deps, trustedProxies))
    .get('/', ({ principal, set }) => {
      set.headers['cache-control'] = 'no-store'
      return describeFactors(principal.user)
    }, { auth: 'any' })

    .post('/totp/setup', async ({ principal, set }) => {
      if ((await factors.findTotp(principal.user.id))?.enabled === true) throw new HttpError(409, 'totp_already_enabled', 'An authenticator app is already set up; turn it off first to set up another.')
      const secret = newTotpSecret()
      await factors.setPendingTotp(principal.user.id, secret)
      set.headers['cache-control'] = 'no-store'
      return { secret: encodeBase32UpperCaseNoPadding(secret), otpauth_uri: totpKeyUri(ISSUER, principal.user.email, secret) }
    }, { auth: 'session' })

    .post('/totp/enable', async ({ body, principal, request, server, set }) => {
      const user = principal.user
      const pending = await factors.findTotp(user.id)
      if (pending === null || pending.enabled) throw new HttpError(409, 'totp_not_pending', 'Start the set-up again: there is no authenticator app waiting to be confirmed.')
      await admitCodeAttempt(user, set)
      const step = findTotpStep(pending.secret, body.code.replace(/\s/g, ''), deps.now())
      if (step === null || !await factors.enableTotp(user.id, step)) {
        deps.audit.record({ event: 'second_factor_failed', actorId: user.id, ip: ipOf(request, server), method: 'totp', reason: 'wrong_enrolment_code' })
        throw wrongCode()
      }
      const codes = generateRecoveryCodes()
      await factors.replaceRecoveryCodes(user.id, codes)
      deps.audit.record({ event: 'second_factor_enrolled', actorId: user.id, ip: ipOf(request, server), method: 'totp', details: { recovery_codes: codes.length } })
      set.headers['cache-control'] = 'no-store'
      return { recovery_codes: codes }
    }, { auth: 'session', body: CodeBody })

    .post('/totp/disable', async ({ body, principal, request, server, set }) => {
      const user = principal.user
      if ((await factors.findTotp(user.id))?.enabled !== true) throw new HttpError(409, 'totp_not_enabled', 'No authenticator app is set up.')
      if (await isSecondFactorRequired(deps, user) && (await factors.listPasskeys(user.id)).length === 0) {
        throw new HttpError(403, 'mfa_required_by_policy', 'This server requires a second factor for your account: add a passkey before turning the authenticator app off.')
      }
      await admitCodeAttempt(user, set)
      const check = await checkSecondFactorCode(deps, user.id, body.code)
      if (!check.ok) {
        deps.audit.record({ event: 'second_factor_failed', actorId: user.id, ip: ipOf(request, server), method: 'totp', reason: 'wrong_code' })
        throw wrongCode()
      }
      await factors.deleteTotp(user.id)
      deps.audit.record({ event: 'second_factor_removed', actorId: user.id, ip: ipOf(request, server), method: 'totp', details: { confirmed_with: check.method } })
      return describeFactors(user)
    }, { auth: 'session', body: CodeBody })

    .post('/recovery_codes', async ({ body, principal, request, server, set }) => {
      const user = principal.user
      if ((await factors.findTotp(user.id))?.enabled !== true) throw new HttpError(409, 'totp_not_enabled', 'Recovery codes come with an authenticator app; set one up first.')
      await admitCodeAttempt(user, set)
      if (!await checkTotpCode(deps, user.id, body.code)) {
        deps.audit.record({ event: 'second_factor_failed', actorId: user.id, ip: ipOf(request, server), method: 'totp', reason: 'wrong_code' })
        throw wrongCode()
      }
      const codes = generateRecoveryCodes()
      await factors.replaceRecoveryCodes(user.id, codes)
      deps.audit.record({ event: 'recovery_codes_regenerated', actorId: user.id, ip: ipOf(request, server), details: { recovery_codes: codes.length } })
      set.headers['cache-control'] = 'no-store'
      return { recovery_codes: codes }
    }, { auth: 'session', body: CodeBody })

    .get('/users', async () => {
      const summaries = await factors.summariseFactors()
      return Promise.all((await deps.store.users.listUsers({ limit: 100_000, offset: 0 })).map(async (user) => {
        const summary = summaries.get(user.id) ?? { totp: false, passkeys: 0, recoveryCodesLeft: 0 }
        return {
          id: user.id, name: user.name, email: user.email, role: user.role,
          totp: summary.totp, passkeys: summary.passkeys, recovery_codes_left: summary.recoveryCodesLeft, required: await isSecondFactorRequired(deps, user),
        }
      }))
    }, { auth: 'admin' })

    .delete('/users/:id', async ({ params, principal, request, server }) => {
      const id = parseUserId(params.id)
      const target = id === null ? null : await deps.store.users.findUserById(id)
      if (target === null) throw new HttpError(404, 'user_not_found', 'User not found.')
      const removed = await factors.resetSecondFactors(target.id)
      // note: the account's sessions end with its factors (the admin's own current one excepted), so no tab or
      // socket opened under the old factors goes on past the reset; the next sign-in meets MFA_REQUIRED anew.
      const keep = principal.via === 'session' && target.id === principal.user.id ? principal.sessionId : null
      const revoked = await deps.store.sessions.revokeOtherSessions(target.id, keep)
      deps.audit.record({ event: 'second_factors_reset', actorId: principal.user.id, targetId: target.id, ip: ipOf(request, server), method: 'admin', details: { totp: removed.totp, passkeys: removed.passkeys, sessions: revoked } })
      return { status: true, totp: removed.totp, passkeys: removed.passkeys }
    }, { auth: 'admin', params: IdParams })
}
