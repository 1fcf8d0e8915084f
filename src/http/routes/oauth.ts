/**
 * Single sign-on routes, as Open WebUI names them:
 * - GET /oauth/{provider}/login: redirect to the provider with state, nonce and PKCE (S256). The
 *   three, with the callback URL, travel in a sealed cookie (AES-GCM under a key derived from the
 *   session secret; HttpOnly, SameSite=Lax, Path=/oauth, ten minutes), so the callback must come
 *   back to the browser that started, and any replica can finish it.
 * - GET /oauth/{provider}/login/callback (and /oauth/{provider}/callback): exchange the code,
 *   sign in, set the session cookie exactly as password sign-in does, redirect to /. Any failure
 *   redirects to /auth?error=<sentence> and creates nothing. The flow cookie is cleared either way.
 * - POST /oauth/backchannel-logout (ENABLE_OAUTH_BACKCHANNEL_LOGOUT): end a user's sessions from
 *   the provider that signed the logout token.
 * Every outcome is audited with a snake_case reason; details go to the log, never to the browser.
 */
import { Elysia, t } from 'elysia'
import type { AuthDeps } from '../../auth/auth-deps.ts'
import { issueSession } from '../../auth/issue-session.ts'
import { oidcIdentityOf, oidcLogin, type OidcLoginRefusal } from '../../auth/oidc-login.ts'
import type { LogoutTokenVerifier } from '../../auth/oidc-logout-token.ts'
import type { LoginFlow, OidcProviders, ProviderFailure } from '../../auth/oidc-providers.ts'
import type { AddressList } from '../../config/network.ts'
import type { OAuthConfig } from '../../config/oauth-variables.ts'
import { deriveCookieKey, openCookieValue, sealCookieValue } from '../../crypto/sealed-cookie.ts'
import type { Logger } from '../../log/logger.ts'
import { resolveClientAddress } from '../client-address.ts'
import { sessionCookie } from '../session-cookie.ts'

export type OAuthRouteDeps = {
  auth: AuthDeps
  oauth: OAuthConfig
  providers: OidcProviders
  logoutTokens: LogoutTokenVerifier
  trustedProxies: AddressList
  publicUrl: string | null
  log: Logger
}

type LoginFailure = ProviderFailure | OidcLoginRefusal | 'access_denied' | 'unknown_provider' | 'missing_flow' | 'state_mismatch'

const FLOW_COOKIE = 'oauth_flow'
const FLOW_PURPOSE = 'oauth_flow'
const FLOW_TTL_MS = 10 * 60_000

/** The sentence the sign-in page shows for each failure: short, fixed, nothing from the provider. */
const failureMessages: Record<LoginFailure, string> = {
  unknown_provider: 'That sign-in provider is not configured on this server.',
  provider_unreachable: 'The sign-in provider could not be reached. Please try again later.',
  provider_refused: 'The sign-in provider refused the request. Please try again.',
  invalid_response: 'The sign-in provider\'s answer could not be verified, so you were not signed in.',
  access_denied: 'Sign-in was cancelled at the provider.',
  missing_flow: 'This sign-in expired or was started in another browser. Please try again.',
  state_mismatch: 'This sign-in could not be verified. Please try again.',
  email_missing: 'The sign-in provider did not share a valid email address.',
  domain_not_allowed: 'Accounts from this email domain may not sign in here.',
  blocked_group: 'Your account is not allowed to sign in here.',
  role_not_allowed: 'Your account has no role that may sign in here.',
  signup_disabled: 'You have no account here, and sign-up through single sign-on is turned off.',
  email_taken: 'An account with this email already exists. Sign in with your password instead.',
  email_not_verified: 'An account with this email already exists, and the provider has not verified the address.',
  setup_token_required: 'This server has no accounts yet. Create the first (admin) account with the setup token shown on the server console, then use single sign-on.',
}

export const oauthRoutes = (deps: OAuthRouteDeps) => {
  const { auth, oauth, providers } = deps
  const flowKey = deriveCookieKey(auth.sessionSecret, FLOW_PURPOSE)
  type Server = Parameters<typeof resolveClientAddress>[1]

  const flowCookie = (value: string, isHttps: boolean, maxAgeSeconds: number) =>
    [`${FLOW_COOKIE}=${value}`, 'HttpOnly', 'Path=/oauth', 'SameSite=Lax', `Max-Age=${maxAgeSeconds}`, ...(isHttps || auth.auth.cookie.alwaysSecure ? ['Secure'] : [])].join('; ')

  const redirect = (location: string, cookies: string[]) => {
    const headers = new Headers({ location, 'cache-control': 'no-store' })
    for (const cookie of cookies) headers.append('set-cookie', cookie)
    return new Response(null, { status: 302, headers })
  }

  /** Redirects to the sign-in page with the failure's sentence, clearing the flow cookie; audits it. */
  const refuse = (reason: LoginFailure, providerId: string, ip: string, isHttps: boolean, detail?: string) => {
    auth.audit.record({ event: 'signin_failed', ip, method: 'oidc', reason, details: { provider: providerId.slice(0, 40) } })
    if (detail !== undefined) deps.log.warn('single sign-on failed', { provider: providerId.slice(0, 40), reason, detail })
    return redirect(`/auth?error=${encodeURIComponent(failureMessages[reason])}`, [flowCookie('', isHttps, 0)])
  }

  // note: from configuration only, never from the request's Host header (loadConfig requires WEBUI_URL).
  const callbackUrlOf = (provider: { id: string; redirectUri: string | null }) => {
    if (provider.redirectUri !== null) return provider.redirectUri
    if (deps.publicUrl === null) throw new Error(`unreachable: single sign-on provider ${provider.id} has no callback URL and WEBUI_URL is unset`)
    return `${deps.publicUrl}/oauth/${provider.id}/login/callback`
  }

  async function callback(providerId: string, request: Request, server: Server): Promise<Response> {
    const client = resolveClientAddress(request, server, deps.trustedProxies)
    const fail = (reason: LoginFailure, detail?: string) => refuse(reason, providerId, client.ip, client.isHttps, detail)
    const provider = providers.findProvider(providerId)
    if (provider === null) return fail('unknown_provider')
    // note: with a base, as Bun gives a bare path as the URL for a Host it cannot put in one.
    const query = new URL(request.url, 'http://localhost').searchParams
    const sealed = readCookie(request.headers.get('cookie'), FLOW_COOKIE)
    const flow = sealed === null ? null : openCookieValue(flowKey, FLOW_PURPOSE, sealed, auth.now()) as LoginFlow | null
    if (flow === null || flow.provider !== provider.id) return fail('missing_flow')
    if (query.get('state') !== flow.state) return fail('state_mismatch')

    const finished = await providers.finishLogin(provider, query, flow)
    if (!finished.ok) return fail(finished.reason, finished.detail)
    const result = await oidcLogin(auth, oauth, { providerId: provider.id, issuer: finished.login.issuer, claims: finished.login.claims })
    if (!result.ok) return fail(result.reason)

    const user = result.user
    const session = await issueSession(auth, user, { ip: client.ip, userAgent: request.headers.get('user-agent') })
    await auth.store.oidcSessions.recordOidcSession({ sessionId: session.sessionId, userId: user.id, provider: provider.id, sid: finished.login.sid, tokens: finished.login.tokens })
    const live = await auth.store.oidcSessions.listLiveOidcSessionIds(user.id)
    const pruned = live.slice(0, Math.max(0, live.length - oauth.maxSessionsPerUser))
    for (const id of pruned) await auth.store.sessions.revokeSession(user.id, id)

    if (result.created) auth.audit.record({ event: 'signup', actorId: user.id, ip: client.ip, method: 'oidc', details: { role: user.role, provider: provider.id } })
    auth.audit.record({
      event: 'signin_succeeded', actorId: user.id, ip: client.ip, method: 'oidc',
      details: { provider: provider.id, role: user.role, linked: result.linked, sessions_pruned: pruned.length, groups_added: result.groups?.added ?? null, groups_removed: result.groups?.removed ?? null },
    })
    return redirect('/', [sessionCookie(session.token, session.expiresAt, auth.auth.cookie, client.isHttps), flowCookie('', client.isHttps, 0)])
  }

  const Params = t.Object({ provider: t.String({ maxLength: 40 }) })

  return new Elysia()
    .get('/oauth/:provider/login', async ({ params, request, server }) => {
      const client = resolveClientAddress(request, server, deps.trustedProxies)
      const provider = providers.findProvider(params.provider)
      if (provider === null) return refuse('unknown_provider', params.provider, client.ip, client.isHttps)
      const started = await providers.startLogin(provider, callbackUrlOf(provider))
      if (!started.ok) return refuse(started.reason, provider.id, client.ip, client.isHttps, started.detail)
      const cookie = sealCookieValue(flowKey, FLOW_PURPOSE, started.flow, auth.now() + FLOW_TTL_MS)
      return redirect(started.url.href, [flowCookie(cookie, client.isHttps, FLOW_TTL_MS / 1000)])
    }, { params: Params })
    .get('/oauth/:provider/login/callback', ({ params, request, server }) => callback(params.provider, request, server), { params: Params })
    .get('/oauth/:provider/callback', ({ params, request, server }) => callback(params.provider, request, server), { params: Params })
    .post('/oauth/backchannel-logout', async ({ body, request, server }) => {
      const ip = resolveClientAddress(request, server, deps.trustedProxies).ip
      const answer = (status: number, error?: string) =>
        new Response(error === undefined ? null : JSON.stringify({ error, error_description: 'The logout token was not accepted.' }), {
          status, headers: { 'cache-control': 'no-store', ...(error === undefined ? {} : { 'content-type': 'application/json' }) },
        })
      if (!oauth.enableBackchannelLogout) return answer(404, 'not_found')
      // note: the spec sends the token as a form field; any other body is not a logout request.
      const isForm = request.headers.get('content-type')?.toLowerCase().startsWith('application/x-www-form-urlencoded') === true
      const token = isForm && typeof body === 'object' && body !== null ? (body as Record<string, unknown>).logout_token : undefined
      if (typeof token !== 'string' || token.length === 0 || token.length > 16_384) {
        auth.audit.record({ event: 'backchannel_logout_refused', ip, method: 'oidc', reason: 'malformed' })
        return answer(400, 'invalid_request')
      }
      const verified = await deps.logoutTokens.verifyLogoutToken(token)
      if (!verified.ok) {
        auth.audit.record({ event: 'backchannel_logout_refused', ip, method: 'oidc', reason: verified.reason })
        return answer(400, 'invalid_request')
      }
      const { providerId, issuer, sub, sid } = verified.logout
      const identity = sub === null ? null : oidcIdentityOf(providerId, issuer, sub)
      const userId = identity !== null ? await auth.store.identities.findUserIdByIdentity(identity.provider, identity.subject)
        : await auth.store.oidcSessions.findUserIdBySid(providerId, sid!)
      // note: a token naming a sub ends every session of that user from the provider; one naming only a
      // sid ends the sessions of that one provider session (one device), as the spec says.
      const revoked = userId === null ? 0 : sub === null
        ? await auth.store.oidcSessions.revokeOidcSessionsOfSid(userId, providerId, sid!)
        : await auth.store.oidcSessions.revokeOidcSessionsOfUser(userId, providerId)
      auth.audit.record({ event: 'backchannel_logout', targetId: userId, ip, method: 'oidc', details: { provider: providerId, sessions_revoked: revoked, by_sid: sub === null } })
      return answer(200)
    })
}

function readCookie(header: string | null, name: string): string | null {
  if (header === null) return null
  for (const part of header.split(';')) {
    const index = part.indexOf('=')
    if (index !== -1 && part.slice(0, index).trim() === name) return part.slice(index + 1).trim()
  }
  return null
}
