/**
 * The second step of a password sign-in (see second-step.ts and auth/signin-challenges.ts):
 *
 *   POST /api/v1/auths/signin/mfa  { mfa_token, code }  -> Open WebUI's session object and cookie
 *
 * `code` is a TOTP code or a recovery code. Before it is checked, the sign-in throttle admits the
 * attempt for the first step's account and the client's address; a wrong code is a sign-in failure
 * there, and the fifth wrong code ends the challenge. A right one redeems the challenge, once.
 */
import { Elysia, t } from 'elysia'
import type { AuthDeps } from '../../auth/auth-deps.ts'
import { checkSecondFactorCode } from '../../auth/second-factor.ts'
import { admitSigninAttempt, recordSigninFailure } from '../../auth/signin-throttle.ts'
import type { SigninChallenge } from '../../auth/signin-challenges.ts'
import type { AddressList } from '../../config/network.ts'
import { resolveClientAddress } from '../client-address.ts'
import { HttpError } from '../http-error.ts'
import { answerWithSession } from '../session-answer.ts'

const StepBody = t.Object({ mfa_token: t.String({ minLength: 1, maxLength: 4096 }), code: t.String({ minLength: 1, maxLength: 64 }) })

export const challengeExpired = () => new HttpError(401, 'mfa_token_invalid', 'This sign-in has expired or was already used. Sign in again.')

/** Finds the live challenge behind a token, after the throttle admits the attempt; throws otherwise. */
export async function admitChallengeAttempt(deps: AuthDeps, token: string, ip: string, set: { headers: Record<string, string | number> }): Promise<SigninChallenge> {
  const challenge = deps.signinChallenges.find(token)
  if (challenge === null) throw challengeExpired()
  const refused = await admitSigninAttempt(deps, challenge.account, ip)
  if (refused !== null) {
    deps.audit.record({ event: 'rate_limited', ip, method: 'second_factor', reason: refused.reason })
    set.headers['retry-after'] = String(refused.retryAfterSeconds)
    throw new HttpError(429, 'rate_limited', `Too many sign-in attempts. Try again in ${refused.retryAfterSeconds} seconds.`)
  }
  return challenge
}

export const secondStepSigninRoutes = (deps: AuthDeps, trustedProxies: AddressList) =>
  new Elysia({ prefix: '/api/v1/auths' })
    .post('/signin/mfa', async ({ body, request, server, set }) => {
      const client = resolveClientAddress(request, server, trustedProxies)
      const challenge = await admitChallengeAttempt(deps, body.mfa_token, client.ip, set)
      const user = await deps.store.users.findUserById(challenge.userId)
      if (user === null) throw challengeExpired()
      const check = await checkSecondFactorCode(deps, user.id, body.code)
      if (!check.ok) {
        await recordSigninFailure(deps, challenge.account, client.ip)
        deps.signinChallenges.recordWrongCode(challenge)
        deps.audit.record({ event: 'second_factor_failed', actorId: user.id, ip: client.ip, method: challenge.method, reason: 'wrong_code' })
        throw new HttpError(400, 'invalid_code', 'That code is not right, or it was used already.')
      }
      if (!deps.signinChallenges.redeem(challenge)) throw challengeExpired()
      deps.audit.record({ event: 'second_factor_used', actorId: user.id, ip: client.ip, method: check.method })
      deps.audit.record({ event: 'signin_succeeded', actorId: user.id, ip: client.ip, method: challenge.method, details: { second_factor: check.method } })
      return answerWithSession(deps, user, request, client, set)
    }, { body: StepBody })
