import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { importJWK, SignJWT, type JWTPayload } from 'jose'
import { generateKeyPairSync } from 'node:crypto'
import { mkdtempSync, readFileSync, rmSync, existsSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { PASSWORD, signUp } from '../helpers/accounts.ts'
import { startOidcProvider, type TestOidcProvider } from '../helpers/oidc-provider.ts'
import { startSsoApp, type SsoApp } from '../helpers/sso-app.ts'
import { signIn, signOutAtProvider, type CookieJar } from '../helpers/sso-browser.ts'
import { req } from '../helpers/test-app.ts'
import { connect } from '../helpers/ws.ts'

let op: TestOidcProvider
const apps: SsoApp[] = []
const dirs: string[] = []
beforeAll(async () => { op = await startOidcProvider() })
afterAll(async () => {
  for (const app of apps) await app.stop()
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true })
  await op.stop()
})

async function appWith(env: Record<string, string> = {}, dataDir?: string) {
  const app = await startSsoApp(op, { ENABLE_OAUTH_SIGNUP: 'true', ...env }, dataDir === undefined ? {} : { dataDir })
  apps.push(app)
  return app
}

const cookieOf = (jar: CookieJar) => `token=${jar.get('token')}`
const statusOfMe = async (app: SsoApp, jar: CookieJar) => (await fetch(`${app.url}/api/v1/auths/`, { headers: { cookie: cookieOf(jar) } })).status
const signOut = (app: SsoApp, jar: CookieJar) =>
  fetch(`${app.url}/api/v1/auths/signout`, { method: 'POST', headers: { cookie: cookieOf(jar), origin: app.url } })

async function signedIn(app: SsoApp, login: string): Promise<CookieJar> {
  const jar: CookieJar = new Map()
  expect((await signIn(jar, app.url, op, login)).location).toBe('/')
  return jar
}

describe('signing out', () => {
  test('returns the provider\'s logout URL with id_token_hint and WEBUI_AUTH_SIGNOUT_REDIRECT_URL, and ends the session', async () => {
    const app = await appWith({ WEBUI_AUTH_SIGNOUT_REDIRECT_URL: 'http://127.0.0.1:1/auth' })
    const jar = await signedIn(app, 'bob')
    const res = await signOut(app, jar)
    expect(res.status).toBe(200)
    const body = await res.json() as { status: boolean; redirect_url: string }
    const logout = new URL(body.redirect_url)
    expect(`${logout.origin}${logout.pathname}`).toBe(`${op.issuer}/session/end`)
    expect(logout.searchParams.get('id_token_hint')!.split('.')).toHaveLength(3)
    expect(logout.searchParams.get('post_logout_redirect_uri')).toBe('http://127.0.0.1:1/auth')
    expect(logout.searchParams.get('client_id')).toBe(app.clientId)
    expect(await statusOfMe(app, jar)).toBe(401)
  })

  test('the logout URL works at the provider and brings the browser back', async () => {
    const app = await appWith()
    const jar = await signedIn(app, 'bob')
    const { redirect_url: url } = await (await signOut(app, jar)).json() as { redirect_url: string }
    const withReturn = new URL(url)
    withReturn.searchParams.set('post_logout_redirect_uri', `${app.url}/`)
    const landed = await signOutAtProvider(jar, withReturn.href)
    expect(landed.href).toBe(`${app.url}/`)
    // the provider session is over: the next sign-in asks for the password again
    const again = await signIn(jar, app.url, op, 'bob', { password: 'wrong' }).catch((error: Error) => error.message)
    expect(again).toContain('refused the password')
  })

  test('a password session gets no provider URL, only WEBUI_AUTH_SIGNOUT_REDIRECT_URL when set', async () => {
    const plain = await appWith()
    const session = await signUp(plain.app, 'ada@example.org')
    const res = await plain.app.handle(req('POST', '/api/v1/auths/signout', undefined, { authorization: `Bearer ${session.token}` }))
    expect(await res.json()).toEqual({ status: true })
    const redirecting = await appWith({ WEBUI_AUTH_SIGNOUT_REDIRECT_URL: 'https://intranet.example.org/' })
    const other = await signUp(redirecting.app, 'ada@example.org', PASSWORD)
    const answer = await redirecting.app.handle(req('POST', '/api/v1/auths/signout', undefined, { authorization: `Bearer ${other.token}` }))
    expect(await answer.json()).toEqual({ status: true, redirect_url: 'https://intranet.example.org' })
  })

  test('OAUTH_MAX_SESSIONS_PER_USER ends the oldest single sign-on sessions', async () => {
    const app = await appWith({ OAUTH_MAX_SESSIONS_PER_USER: '2' })
    const jars = [await signedIn(app, 'alice'), await signedIn(app, 'alice'), await signedIn(app, 'alice')]
    expect(await Promise.all(jars.map((jar) => statusOfMe(app, jar)))).toEqual([401, 200, 200])
    expect(app.audit.entries.at(-1)).toMatchObject({ event: 'signin_succeeded', details: { sessions_pruned: 1 } })
  })
})

describe('back-channel logout', () => {
  test('the provider\'s logout token ends every session of that user from it and closes their live sockets at once', async () => {
    const app = await appWith({ ENABLE_OAUTH_BACKCHANNEL_LOGOUT: 'true' })
    const first = await signedIn(app, 'alice')
    const second = await signedIn(app, 'alice')
    const bystander = await signedIn(app, 'bob')
    // note: the socket is on the second session, which only the back-channel logout ends.
    const socket = await connect(`${app.url.replace('http', 'ws')}/api/ws`, { cookie: second.get('token')!, origin: app.url })
    const { redirect_url: url } = await (await signOut(app, first)).json() as { redirect_url: string }
    const withReturn = new URL(url)
    withReturn.searchParams.set('post_logout_redirect_uri', `${app.url}/`)
    const [delivered, failed] = [op.backchannel.ok, op.backchannel.failed.length]
    await signOutAtProvider(first, withReturn.href)
    expect(op.backchannel.ok).toBe(delivered + 1)
    expect(op.backchannel.failed).toHaveLength(failed)
    expect(await statusOfMe(app, second)).toBe(401)
    expect(await statusOfMe(app, bystander)).toBe(200)
    const closed = await Promise.race([socket.closed, Bun.sleep(300).then(() => null)])
    expect(closed?.code).toBe(4401)
    expect(app.audit.entries.find((entry) => entry.event === 'backchannel_logout')).toMatchObject({ method: 'oidc', details: { provider: 'oidc' } })
  }, 15_000)

  describe('tokens that must not count', () => {
    let app: SsoApp
    let jar: CookieJar
    const post = (body: BodyInit | null, type = 'application/x-www-form-urlencoded') =>
      fetch(`${app.url}/oauth/backchannel-logout`, { method: 'POST', body, headers: { 'content-type': type } })
    const logoutToken = async (overrides: JWTPayload = {}, key: Record<string, unknown> = op.signingJwk as Record<string, unknown>) => {
      const now = Math.floor(Date.now() / 1000)
      const claims = { iss: op.issuer, aud: app.clientId, iat: now, events: { 'http://schemas.openid.net/event/backchannel-logout': {} }, jti: crypto.randomUUID(), sub: 'alice', ...overrides }
      return new SignJWT(claims).setProtectedHeader({ alg: 'RS256', kid: String(key.kid), typ: 'logout+jwt' }).sign(await importJWK(key as never, 'RS256'))
    }
    beforeAll(async () => {
      app = await appWith({ ENABLE_OAUTH_BACKCHANNEL_LOGOUT: 'true' })
      jar = await signedIn(app, 'alice')
    })

    const otherKey = { ...generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'jwk' }), kid: 'forger' }
    test.each([
      ['no token', async () => new URLSearchParams()],
      ['garbage', async () => new URLSearchParams({ logout_token: 'not.a.jwt' })],
      ['a huge value', async () => new URLSearchParams({ logout_token: 'a'.repeat(20_000) })],
      ['a key the provider never had', async () => new URLSearchParams({ logout_token: await logoutToken({}, otherKey) })],
      ['the wrong audience', async () => new URLSearchParams({ logout_token: await logoutToken({ aud: 'someone-else' }) })],
      ['another issuer', async () => new URLSearchParams({ logout_token: await logoutToken({ iss: 'http://127.0.0.1:9' }) })],
      ['no logout event', async () => new URLSearchParams({ logout_token: await logoutToken({ events: {} }) })],
      ['a nonce (an ID token)', async () => new URLSearchParams({ logout_token: await logoutToken({ nonce: 'n' }) })],
      ['neither sub nor sid', async () => new URLSearchParams({ logout_token: await logoutToken({ sub: undefined }) })],
      ['a stale iat', async () => new URLSearchParams({ logout_token: await logoutToken({ iat: Math.floor(Date.now() / 1000) - 3600 }) })],
    ])('refused: %s', async (_, body) => {
      const res = await post(await body())
      expect(res.status).toBe(400)
      expect(res.headers.get('cache-control')).toBe('no-store')
      expect(await statusOfMe(app, jar)).toBe(200)
    })

    test('a JSON body is refused too', async () => {
      expect((await post(JSON.stringify({ logout_token: await logoutToken() }), 'application/json')).status).toBe(400)
      expect(await statusOfMe(app, jar)).toBe(200)
    })

    test('a valid token by sid alone ends that provider session\'s sessions here, not the user\'s others; the same token again is refused', async () => {
      const sessions = app.deps.store.oidcSessions
      const userId = app.audit.entries.find((entry) => entry.event === 'signin_succeeded')!.actorId! as never
      const other = await signedIn(app, 'alice') // another browser: its own provider session, so another sid
      const [firstSessionId] = await sessions.listLiveOidcSessionIds(userId)
      // the sid is only known to the provider and sealed here: read the first browser's from its stored ID token
      const idToken = (await sessions.findOidcSessionTokens(userId, firstSessionId!))!.tokens.idToken!
      const sid = JSON.parse(Buffer.from(idToken.split('.')[1]!, 'base64url').toString()).sid as string
      const token = await logoutToken({ sub: undefined, sid })
      expect((await post(new URLSearchParams({ logout_token: token }))).status).toBe(200)
      expect(await statusOfMe(app, jar)).toBe(401)
      expect(await statusOfMe(app, other)).toBe(200)
      expect((await post(new URLSearchParams({ logout_token: token }))).status).toBe(400)
    })
  })

  test('is off unless ENABLE_OAUTH_BACKCHANNEL_LOGOUT', async () => {
    const app = await appWith()
    const res = await fetch(`${app.url}/oauth/backchannel-logout`, { method: 'POST', body: new URLSearchParams({ logout_token: 'x' }) })
    expect(res.status).toBe(404)
  })
})

describe('at rest', () => {
  test('the provider\'s tokens are not readable in the raw database file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'enclave-oidc-'))
    dirs.push(dir)
    const app = await appWith({}, join(dir, 'data'))
    const jar = await signedIn(app, 'alice')
    const userId = app.audit.entries.find((entry) => entry.event === 'signin_succeeded')!.actorId!
    const sessionId = (await app.deps.store.sessions.listLiveSessions(userId as never))[0]!.id
    const stored = (await app.deps.store.oidcSessions.findOidcSessionTokens(userId as never, sessionId))!
    expect(stored.tokens.idToken).toStartWith('eyJ')
    expect(stored.tokens.accessToken!.length).toBeGreaterThan(20)
    expect(stored.tokens.refreshToken).toBeNull() // no offline_access asked
    expect(await statusOfMe(app, jar)).toBe(200)
    const files = ['enclave.db', 'enclave.db-wal'].map((name) => join(dir, 'data', name)).filter((file) => existsSync(file))
    const raw = Buffer.concat(files.map((file) => readFileSync(file))).toString('latin1')
    expect(raw.length).toBeGreaterThan(0)
    for (const secret of [stored.tokens.idToken!, stored.tokens.idToken!.split('.')[1]!, stored.tokens.accessToken!, 'alice@example.org', 'admins']) {
      expect(raw.includes(secret)).toBe(false)
    }
  })
})
