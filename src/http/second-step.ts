/**
 * Where a password sign-in (local or LDAP) ends: a session, or, for an account with a second
 * factor, a challenge for the second step and no session.
 *
 * The refusal is 401 `second_factor_required` with Open WebUI's `detail`, so an old client
 * (Open WebUI's page, Conduit) that knows nothing of a second step shows a clear sentence and gets
 * no token and no cookie; Enclave's page reads `mfa_token` and `methods` from the same answer and
 * asks for the code (POST /api/v1/auths/signin/mfa, routes/second-step-signin.ts).
 */
import type { HTTPHeaders } from 'elysia'
import type { AuthDeps } from '../auth/auth-deps.ts'
import type { User } from '../db/users.ts'
import type { ClientAddress } from './client-address.ts'
import { HttpError } from './http-error.ts'
import { answerWithSession } from './session-answer.ts'

/** The answer to the first step of a sign-in that needs a second factor. */
export class SecondFactorRequired extends HttpError {
  constructor(readonly challengeToken: string, readonly methods: readonly string[], readonly expiresAtMs: number) {
    super(401, 'second_factor_required', 'This account uses a second factor. Enter the code from your authenticator app (or use a passkey) on Enclave\'s sign-in page; this app cannot ask for it.')
  }

  override toResponse(): Response {
    return Response.json({
      detail: this.message, code: this.code, mfa_token: this.challengeToken, methods: this.methods, expires_at: Math.floor(this.expiresAtMs / 1000),
    }, { status: this.status, headers: { 'cache-control': 'no-store' } })
  }
}

/** The second factors a user can answer a challenge with. */
export async function secondFactorMethods(deps: AuthDeps, user: User): Promise<string[]> {
  const methods: string[] = []
  const totp = await deps.store.secondFactors.findTotp(user.id)
  if (totp?.enabled === true) methods.push('totp')
  if (await deps.store.secondFactors.countRecoveryCodesLeft(user.id) > 0) methods.push('recovery_code')
  if ((await deps.store.secondFactors.listPasskeys(user.id)).length > 0) methods.push('passkey')
  return methods
}

/**
 * Answers a correct password: a session when the user has no second factor, else throws
 * SecondFactorRequired with a fresh challenge. `account` is the throttle's key for the first step.
 */
export async function answerAfterPassword(
  deps: AuthDeps, user: User, first: { account: string; method: 'password' | 'ldap' }, request: Request, client: ClientAddress, set: { headers: HTTPHeaders },
) {
  if (!await deps.store.secondFactors.hasSecondFactor(user.id)) {
    deps.audit.record({ event: 'signin_succeeded', actorId: user.id, ip: client.ip, method: first.method })
    return answerWithSession(deps, user, request, client, set)
  }
  const challenge = deps.signinChallenges.issue(user.id, first.account, first.method)
  deps.audit.record({ event: 'second_factor_challenge_issued', actorId: user.id, ip: client.ip, method: first.method })
  throw new SecondFactorRequired(challenge.token, await secondFactorMethods(deps, user), challenge.expiresAt)
}
