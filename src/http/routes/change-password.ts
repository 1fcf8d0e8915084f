import { Elysia, t } from 'elysia'
import { findClaimableAdmin } from '../../auth/account-claim.ts'
import type { AuthDeps } from '../../auth/auth-deps.ts'
import { findPasswordProblem, hashPassword, verifyPassword } from '../../auth/passwords.ts'
import type { AddressList } from '../../config/network.ts'
import { resolveClientAddress } from '../client-address.ts'
import { requireFreshCode } from '../fresh-code.ts'
import { HttpError } from '../http-error.ts'
import { requireAuth } from '../plugins/require-auth.ts'

const Body = t.Object({
  password: t.String({ maxLength: 4096 }), new_password: t.String({ maxLength: 4096 }),
  /** A current authenticator code, needed when the account has TOTP (see fresh-code.ts). */
  mfa_code: t.Optional(t.String({ maxLength: 64 })),
})

/** POST /update/password: needs the current password (and a current authenticator code, `mfa_code`, with TOTP on) (none for single-user mode's first one, or its claimable admin's); ends every other session of the user. */
export const changePasswordRoute = (deps: AuthDeps, trustedProxies: AddressList) =>
  new Elysia()
    .use(requireAuth(deps, trustedProxies))
    .post('/update/password', async ({ body, principal, request, server, set }) => {
      if (principal.via !== 'session') throw new HttpError(403, 'session_required', 'Sign in with a session to do this; API keys may not.')
      const check = await deps.signinLimits.perAccount.hit(`password-change:${principal.user.id}`)
      if (!check.allowed) {
        set.headers['retry-after'] = String(check.retryAfterSeconds)
        throw new HttpError(429, 'rate_limited', `Too many attempts. Try again in ${check.retryAfterSeconds} seconds.`)
      }
      const hash = await deps.store.credentials.findPasswordHash(principal.user.id)
      // note: single-user mode's account has no password until it sets one here, for the day the mode is turned off;
      // after the switch, a session it still holds may set it here too, as the sign-in page's claim would.
      if (hash === null && !deps.auth.singleUser && (await findClaimableAdmin(deps))?.id !== principal.user.id) throw new HttpError(400, 'no_local_password', 'This account signs in through single sign-on and has no password here.')
      if (hash !== null && !(await verifyPassword(body.password, hash)).matches) throw new HttpError(400, 'invalid_credentials', 'The current password is incorrect.')
      const problem = findPasswordProblem(body.new_password, deps.auth.passwordPattern)
      if (problem !== null) throw new HttpError(400, problem.code, problem.message)
      await requireFreshCode(deps, principal, body.mfa_code, resolveClientAddress(request, server, trustedProxies).ip, set)
      await deps.store.credentials.setPasswordHash(principal.user.id, await hashPassword(body.new_password))
      const revoked = await deps.store.sessions.revokeOtherSessions(principal.user.id, principal.sessionId)
      deps.audit.record({ event: 'password_changed', actorId: principal.user.id, ip: resolveClientAddress(request, server, trustedProxies).ip, details: { sessions_revoked: revoked } })
      return true
    }, { auth: 'session', body: Body })
