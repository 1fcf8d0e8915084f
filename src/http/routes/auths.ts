/**
 * Open WebUI's sign-in routes under /api/v1/auths: sign-up, sign-in, the current session user,
 * sign-out, password change, API keys, and the user's own sessions.
 */
import { Elysia, t, type HTTPHeaders } from 'elysia'
import type { AuthDeps } from '../../auth/auth-deps.ts'
import { authenticate, findCredential, permissionsOf } from '../../auth/authenticate.ts'
import { localLogin, passwordThrottleAccount } from '../../auth/local-login.ts'
import type { SignOutRedirect } from '../../auth/oidc-sign-out.ts'
import { describeSessionUser } from '../../auth/principal.ts'
import { ipBucket } from '../../auth/signin-throttle.ts'
import { signUp, type SignUpResult } from '../../auth/sign-up.ts'
import { trustedHeaderLogin } from '../../auth/trusted-header-login.ts'
import type { AddressList } from '../../config/network.ts'
import type { SessionId } from '../../db/sessions.ts'
import type { User } from '../../db/users.ts'
import { resolveClientAddress } from '../client-address.ts'
import { HttpError } from '../http-error.ts'
import { requireAuth } from '../plugins/require-auth.ts'
import { answerAfterPassword } from '../second-step.ts'
import { answerWithSession } from '../session-answer.ts'
import { sessionUserAnswers, type SessionUserAnswers } from '../session-user.ts'
import { clearedSessionCookie } from '../session-cookie.ts'
import { apiKeyRoutes } from './api-keys.ts'
import { changePasswordRoute } from './change-password.ts'

const Credentials = t.Object({ email: t.String({ maxLength: 320 }), password: t.String({ maxLength: 4096 }) })
const SignUpBody = t.Object({
  name: t.String({ minLength: 1, maxLength: 200 }), email: t.String({ maxLength: 320 }), password: t.String({ maxLength: 4096 }),
  /** Needed only for the first account on a server listening beyond loopback. */
  setup_token: t.Optional(t.String({ maxLength: 200 })),
})
const AddUserBody = t.Object({
  name: t.String({ minLength: 1, maxLength: 200 }), email: t.String({ maxLength: 320 }), password: t.String({ maxLength: 4096 }),
  role: t.Optional(t.Union([t.Literal('pending'), t.Literal('user'), t.Literal('admin')])),
})

const invalidCredentials = () => new HttpError(400, 'invalid_credentials', 'The email or password provided is incorrect.')

type PeerSource = Parameters<typeof resolveClientAddress>[1]
type SetHeaders = { headers: HTTPHeaders }

/** Maps a refused sign-up to its answer. */
function signUpRefusal(result: Exclude<SignUpResult, { ok: true }>): HttpError {
  switch (result.reason) {
    case 'signup_disabled': return new HttpError(403, 'signup_disabled', 'Sign-up is turned off on this server.')
    case 'email_taken': return new HttpError(400, 'email_taken', 'An account with this email already exists.')
    case 'invalid_email': return new HttpError(400, 'invalid_email', 'That is not a valid email address.')
    case 'blank_name': return new HttpError(400, 'blank_name', 'Please give a name.')
    case 'setup_token_required': return new HttpError(403, 'setup_token_required', 'The first account needs the setup token shown on the server console (also in DATA_DIR/.setup_token).')
    case 'weak_password': return new HttpError(400, result.problem.code, result.problem.message)
  }
}

export const authRoutes = (deps: AuthDeps, trustedProxies: AddressList, signOutRedirect: SignOutRedirect | null = null, sessionUser: SessionUserAnswers = sessionUserAnswers(deps)) => {
  const clientOf = (request: Request, server: PeerSource) => resolveClientAddress(request, server, trustedProxies)

  /** Starts a session for the user and answers Open WebUI's session object with the cookie set. */
  const startSession = (user: User, request: Request, server: PeerSource, set: SetHeaders) =>
    answerWithSession(deps, user, request, clientOf(request, server), set)

  /**
   * Revokes this session, if the request has a live one, and always clears the cookie. A session
   * from single sign-on also gets `redirect_url`: the provider's sign-out (see oidc-sign-out.ts).
   */
  const signOut = async (request: Request, server: PeerSource, set: SetHeaders) => {
    const client = clientOf(request, server)
    const result = await authenticate(deps, findCredential(request.headers), '/api/v1/auths/signout')
    let redirectUrl: string | null = null
    if (result.ok && result.principal.via === 'session') {
      await deps.store.sessions.revokeSession(result.principal.user.id, result.principal.sessionId)
      deps.audit.record({ event: 'signout', actorId: result.principal.user.id, ip: client.ip })
      redirectUrl = signOutRedirect === null ? null : await signOutRedirect(result.principal.user.id, result.principal.sessionId)
    }
    set.headers['set-cookie'] = clearedSessionCookie(deps.auth.cookie, client.isHttps)
    return redirectUrl === null ? { status: true } : { status: true, redirect_url: redirectUrl }
  }

  return new Elysia({ prefix: '/api/v1/auths' })
    .use(requireAuth(deps, trustedProxies))
    // note: with the fast routes served, a remembered credential is answered before Elysia (session-user.ts), with this same body.
    .get('/', ({ principal, request }) => sessionUser.object(principal, request), { auth: 'any' })

    .post('/signin', async ({ body, request, server, set }) => {
      const client = clientOf(request, server)
      const trusted = deps.auth.trustedHeaders
      if (trusted !== null && request.headers.has(trusted.email)) {
        if (client.viaTrustedProxy) {
          const vouched = await trustedHeaderLogin(deps, request.headers)
          if (!vouched.ok) throw new HttpError(400, 'invalid_email', 'The trusted proxy sent an email address that is not valid.')
          deps.audit.record({ event: 'signin_succeeded', actorId: vouched.user.id, ip: client.ip, method: 'trusted_header' })
          return startSession(vouched.user, request, server, set)
        }
        // note: from anyone but a trusted proxy the header is a forgery: record it, then ignore it.
        deps.audit.record({ event: 'forged_trusted_header', ip: client.ip, method: 'trusted_header' })
      }
      const result = await localLogin(deps, body, client.ip)
      if (!result.ok) {
        switch (result.reason) {
          case 'invalid_credentials': throw invalidCredentials()
          case 'password_auth_disabled': throw new HttpError(403, 'password_auth_disabled', 'Password sign-in is turned off on this server.')
          case 'rate_limited':
            set.headers['retry-after'] = String(result.retryAfterSeconds)
            throw new HttpError(429, 'rate_limited', `Too many sign-in attempts. Try again in ${result.retryAfterSeconds} seconds.`)
        }
      }
      return answerAfterPassword(deps, result.user, { account: passwordThrottleAccount(body.email), method: 'password' }, request, client, set)
    }, { body: Credentials })

    .post('/signup', async ({ body, request, server, set }) => {
      const ip = clientOf(request, server).ip
      const check = await deps.signinLimits.perIp.hit(`signup:${ipBucket(ip)}`)
      if (!check.allowed) {
        set.headers['retry-after'] = String(check.retryAfterSeconds)
        throw new HttpError(429, 'rate_limited', `Too many attempts. Try again in ${check.retryAfterSeconds} seconds.`)
      }
      const result = await signUp(deps, { ...body, setupToken: body.setup_token }, false)
      if (!result.ok) throw signUpRefusal(result)
      deps.audit.record({ event: 'signup', actorId: result.user.id, ip: clientOf(request, server).ip, details: { role: result.user.role } })
      return startSession(result.user, request, server, set)
    }, { body: SignUpBody })

    .post('/add', async ({ body, principal, request, server }) => {
      const result = await signUp(deps, body, true)
      if (!result.ok) throw signUpRefusal(result)
      deps.audit.record({ event: 'user_created', actorId: principal.user.id, targetId: result.user.id, ip: clientOf(request, server).ip, details: { role: result.user.role } })
      return describeSessionUser(result.user, await permissionsOf(deps, result.user))
    }, { auth: 'admin', body: AddUserBody })

    .post('/signout', ({ request, server, set }) => signOut(request, server, set))
    // note: Open WebUI's page signs out with a GET; origin-check refuses it from other sites like a POST.
    .get('/signout', ({ request, server, set }) => signOut(request, server, set))

    .post('/signout/all', async ({ principal, request, server, set }) => {
      const revoked = await deps.store.sessions.revokeOtherSessions(principal.user.id, null)
      deps.audit.record({ event: 'sessions_revoked_all', actorId: principal.user.id, ip: clientOf(request, server).ip, details: { count: revoked } })
      set.headers['set-cookie'] = clearedSessionCookie(deps.auth.cookie, clientOf(request, server).isHttps)
      return { status: true, revoked }
    }, { auth: 'session' })

    .get('/sessions', async ({ principal }) => (await deps.store.sessions.listLiveSessions(principal.user.id)).map((session) => ({
      id: session.id, created_at: Math.floor(session.createdAt / 1000), last_seen_at: Math.floor(session.lastSeenAt / 1000),
      expires_at: session.expiresAt === null ? null : Math.floor(session.expiresAt / 1000),
      user_agent: session.userAgent, ip: session.ip, current: principal.via === 'session' && principal.sessionId === session.id,
    })), { auth: 'any' })

    .delete('/sessions/:id', async ({ principal, params, request, server }) => {
      if (!await deps.store.sessions.revokeSession(principal.user.id, params.id as SessionId)) throw new HttpError(404, 'session_not_found', 'Session not found.')
      deps.audit.record({ event: 'session_revoked', actorId: principal.user.id, ip: clientOf(request, server).ip })
      return { status: true }
    }, { auth: 'session', params: t.Object({ id: t.String({ maxLength: 64 }) }) })

    .use(changePasswordRoute(deps, trustedProxies))
    .use(apiKeyRoutes(deps, trustedProxies))
}
