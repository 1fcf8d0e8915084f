/**
 * POST /api/v1/auths/claim: sets the first password of a server's passwordless admin (single-user
 * mode's account once the mode is off; see auth/account-claim.ts) and signs the browser in. JSON
 * only, refused from other sites (the global origin check), rate-limited per address like sign-up,
 * gated by the setup token beyond loopback, and refused with 409 once the account has a password.
 */
import { Elysia, t } from 'elysia'
import { claimAdminAccount, type ClaimResult } from '../../auth/account-claim.ts'
import type { AuthDeps } from '../../auth/auth-deps.ts'
import { ipBucket } from '../../auth/signin-throttle.ts'
import type { AddressList } from '../../config/network.ts'
import { resolveClientAddress } from '../client-address.ts'
import { HttpError } from '../http-error.ts'
import { answerWithSession } from '../session-answer.ts'

const ClaimBody = t.Object({
  password: t.String({ maxLength: 4096 }),
  /** Needed only on a server listening beyond loopback. */
  setup_token: t.Optional(t.String({ maxLength: 200 })),
})

/** Maps a refused claim to its answer. */
function claimRefusal(result: Exclude<ClaimResult, { ok: true }>): HttpError {
  switch (result.reason) {
    case 'nothing_to_claim': return new HttpError(409, 'nothing_to_claim', 'No account on this server is waiting for its first password.')
    case 'setup_token_required': return new HttpError(403, 'setup_token_required', 'Setting this password needs the setup token shown on the server console (also in DATA_DIR/.setup_token).')
    case 'weak_password': return new HttpError(400, result.problem.code, result.problem.message)
  }
}

export const accountClaimRoutes = (deps: AuthDeps, trustedProxies: AddressList) =>
  new Elysia().post('/api/v1/auths/claim', async ({ body, request, server, set }) => {
    const client = resolveClientAddress(request, server, trustedProxies)
    const check = await deps.signinLimits.perIp.hit(`claim:${ipBucket(client.ip)}`)
    if (!check.allowed) {
      set.headers['retry-after'] = String(check.retryAfterSeconds)
      throw new HttpError(429, 'rate_limited', `Too many attempts. Try again in ${check.retryAfterSeconds} seconds.`)
    }
    const result = await claimAdminAccount(deps, { password: body.password, setupToken: body.setup_token })
    if (!result.ok) throw claimRefusal(result)
    deps.audit.record({ event: 'account_claimed', actorId: result.user.id, ip: client.ip })
    deps.audit.record({ event: 'signin_succeeded', actorId: result.user.id, ip: client.ip, method: 'password' })
    return answerWithSession(deps, result.user, request, client, set)
  }, { body: ClaimBody })
