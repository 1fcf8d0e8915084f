import type { HTTPHeaders } from 'elysia'
import type { AuthDeps } from '../auth/auth-deps.ts'
import { permissionsOf } from '../auth/authenticate.ts'
import { issueSession } from '../auth/issue-session.ts'
import { describeSessionUser } from '../auth/principal.ts'
import { mustEnrolSecondFactor } from '../auth/second-factor.ts'
import type { User } from '../db/users.ts'
import type { ClientAddress } from './client-address.ts'
import { sessionCookie } from './session-cookie.ts'

/**
 * Starts a session for a user who just signed in and builds Open WebUI's session object, setting
 * the `token` cookie: the same answer for every sign-in method.
 */
export async function answerWithSession(deps: AuthDeps, user: User, request: Request, client: ClientAddress, set: { headers: HTTPHeaders }) {
  const enrolment = await enrolmentFlag(deps, user)
  const session = await issueSession(deps, user, { ip: client.ip, userAgent: request.headers.get('user-agent') })
  set.headers['set-cookie'] = sessionCookie(session.token, session.expiresAt, deps.auth.cookie, client.isHttps)
  return {
    token: session.token, token_type: 'Bearer', expires_at: session.expiresAt === null ? null : Math.floor(session.expiresAt / 1000),
    ...describeSessionUser(user, await permissionsOf(deps, user)),
    ...enrolment,
  }
}

const MUST_ENROL = Object.freeze({ mfa_enrolment_required: true as const })
const NOTHING = Object.freeze({})

/**
 * `mfa_enrolment_required: true` for a user MFA_REQUIRED holds to enrolment (the page shows only that); nothing otherwise.
 * The same two frozen objects every time, so an answer built from them may be kept (session-user.ts).
 */
export const enrolmentFlag = async (deps: AuthDeps, user: User): Promise<{ readonly mfa_enrolment_required?: true }> => (await mustEnrolSecondFactor(deps, user) ? MUST_ENROL : NOTHING)
