import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { PASSWORD, signUp } from '../helpers/accounts.ts'
import { startOidcProvider, type TestOidcProvider } from '../helpers/oidc-provider.ts'
import { startSsoApp, type SsoApp, type SsoAppOptions } from '../helpers/sso-app.ts'
import { fetchWithJar, signIn, type CookieJar } from '../helpers/sso-browser.ts'
import { req } from '../helpers/test-app.ts'

let op: TestOidcProvider
const apps: SsoApp[] = []
beforeAll(async () => { op = await startOidcProvider() })
afterAll(async () => {
  for (const app of apps) await app.stop()
  await op.stop()
})

async function appWith(env: Record<string, string>, options: SsoAppOptions = {}) {
  const app = await startSsoApp(op, env, options)
  apps.push(app)
  return app
}

const me = (app: SsoApp, jar: CookieJar) => fetch(`${app.url}/api/v1/auths/`, { headers: { cookie: `token=${jar.get('token')}` } })
const errorOf = (location: string) => new URL(location, 'http://x').searchParams.get('error')

describe('accounts from single sign-on', () => {
  test('first sign-in creates the user when sign-up is on, signed in with the same cookie as password sign-in', async () => {
    const app = await appWith({ ENABLE_OAUTH_SIGNUP: 'true' })
    const jar: CookieJar = new Map()
    const outcome = await signIn(jar, app.url, op, 'bob')
    expect(outcome.location).toBe('/')
    const cookie = outcome.response!.headers.getSetCookie().find((line) => line.startsWith('token='))!
    expect(cookie).toContain('HttpOnly')
    expect(cookie).toContain('SameSite=Lax')
    expect(cookie).toContain('Path=/')
    expect(jar.has('oauth_flow')).toBe(false)
    const res = await me(app, jar)
    expect(res.status).toBe(200)
    const user = await res.json() as { id: string; email: string; name: string; role: string }
    expect(user).toMatchObject({ email: 'bob@example.org', name: 'Bob Builder', role: 'admin' }) // the first account
    expect(await app.deps.store.identities.listIdentitiesOfUser(user.id as never)).toHaveLength(1)
    expect(app.audit.entries.map((entry) => [entry.event, entry.method])).toEqual([['signup', 'oidc'], ['signin_succeeded', 'oidc']])
    // no token, email or secret in the audit log or the server log
    const written = JSON.stringify(app.audit.entries) + app.logLines.join('\n')
    for (const secret of [jar.get('token')!, 'eyJ', 'bob@example.org', app.clientSecret]) expect(written).not.toContain(secret)
  })

  test('first sign-in is refused when sign-up is off, and nothing is created', async () => {
    const app = await appWith({})
    const jar: CookieJar = new Map()
    const outcome = await signIn(jar, app.url, op, 'bob')
    expect(outcome.location.startsWith('/auth?error=')).toBe(true)
    expect(errorOf(outcome.location)).toContain('sign-up through single sign-on is turned off')
    expect(jar.has('token')).toBe(false)
    expect(await app.deps.store.users.countUsers()).toBe(0)
    expect(app.audit.entries.at(-1)).toMatchObject({ event: 'signin_failed', method: 'oidc', reason: 'signup_disabled' })
  })

  test('beyond loopback, the first account is not made by single sign-on without the setup token', async () => {
    let closed = false
    const setupGate = { tokenFile: '/data/.setup_token', admits: (given: string | undefined) => given === 'the-token', close: () => { closed = true } }
    const app = await appWith({ ENABLE_OAUTH_SIGNUP: 'true' }, { setupGate })
    const refused = await signIn(new Map(), app.url, op, 'bob')
    expect(errorOf(refused.location)).toContain('setup token')
    expect(await app.deps.store.users.countUsers()).toBe(0)
    // when the provider's roles decide, the first account is not an automatic admin, so no token is needed
    const managed = await appWith({ ENABLE_OAUTH_SIGNUP: 'true', ENABLE_OAUTH_ROLE_MANAGEMENT: 'true' }, { setupGate })
    expect((await signIn(new Map(), managed.url, op, 'bob')).location).toBe('/')
    expect(closed).toBe(true)
  })

  test('a second sign-in finds the same user, and each sign-in gets its own session', async () => {
    const app = await appWith({ ENABLE_OAUTH_SIGNUP: 'true' })
    const first: CookieJar = new Map()
    await signIn(first, app.url, op, 'alice')
    const second: CookieJar = new Map()
    expect((await signIn(second, app.url, op, 'alice')).location).toBe('/')
    const [a, b] = await Promise.all([me(app, first).then((r) => r.json()), me(app, second).then((r) => r.json())]) as { id: string }[]
    expect(a!.id).toBe(b!.id)
    expect(await app.deps.store.users.countUsers()).toBe(1)
    expect(await app.deps.store.sessions.listLiveSessions(a!.id as never)).toHaveLength(2)
  })

  test('/oauth/{provider}/callback finishes a sign-in as /oauth/{provider}/login/callback does', async () => {
    const app = await appWith({ ENABLE_OAUTH_SIGNUP: 'true' })
    const jar: CookieJar = new Map()
    const { callbackUrl } = await signIn(jar, app.url, op, 'bob', { stopAtCallback: true })
    callbackUrl!.pathname = '/oauth/oidc/callback'
    const res = await fetchWithJar(jar, callbackUrl!)
    expect(res.headers.get('location')).toBe('/')
    expect((await me(app, jar)).status).toBe(200)
  })

  test.each<[string, Record<string, string>, SsoAppOptions]>([
    ['a public client (PKCE, no secret)', {}, { publicClient: true }],
    ['client_secret_post', { OAUTH_TOKEN_ENDPOINT_AUTH_METHOD: 'client_secret_post' }, {}],
  ])('signs in as %s', async (_, env, options) => {
    const app = await appWith({ ENABLE_OAUTH_SIGNUP: 'true', ...env }, options)
    const jar: CookieJar = new Map()
    expect((await signIn(jar, app.url, op, 'bob')).location).toBe('/')
    expect((await me(app, jar)).status).toBe(200)
  })

  test('a wrong client secret is refused by the provider, and nothing is created', async () => {
    const app = await appWith({ ENABLE_OAUTH_SIGNUP: 'true' })
    op.registerClient({ clientId: app.clientId, clientSecret: 'another-secret', redirectUris: [`${app.url}/oauth/oidc/login/callback`] })
    const outcome = await signIn(new Map(), app.url, op, 'bob')
    expect(errorOf(outcome.location)).toBe('The sign-in provider refused the request. Please try again.')
    expect(await app.deps.store.users.countUsers()).toBe(0)
  })

  test('OAUTH_ALLOWED_DOMAINS refuses other email domains and creates nothing', async () => {
    const app = await appWith({ ENABLE_OAUTH_SIGNUP: 'true', OAUTH_ALLOWED_DOMAINS: 'example.org' })
    const refused = await signIn(new Map(), app.url, op, 'erin')
    expect(errorOf(refused.location)).toContain('email domain')
    expect(await app.deps.store.users.countUsers()).toBe(0)
    expect((await signIn(new Map(), app.url, op, 'bob')).location).toBe('/')
    // carol's address is in the domain, but her provider says it is not verified: it can't vouch for the domain
    const unverified = await signIn(new Map(), app.url, op, 'carol')
    expect(errorOf(unverified.location)).toContain('not verified')
    expect(await app.deps.store.users.countUsers()).toBe(1)
  })

  test('OAUTH_BLOCKED_GROUPS refuses members of those groups and creates nothing', async () => {
    const app = await appWith({ ENABLE_OAUTH_SIGNUP: 'true', OAUTH_BLOCKED_GROUPS: '["contractors"]' })
    const refused = await signIn(new Map(), app.url, op, 'dave')
    expect(errorOf(refused.location)).toBe('Your account is not allowed to sign in here.')
    expect(await app.deps.store.users.countUsers()).toBe(0)
    expect(app.audit.entries.at(-1)).toMatchObject({ event: 'signin_failed', reason: 'blocked_group' })
  })

  test('a local account with the same email is never taken over without OAUTH_MERGE_ACCOUNTS_BY_EMAIL', async () => {
    const app = await appWith({ ENABLE_OAUTH_SIGNUP: 'true' })
    const local = await signUp(app.app, 'bob@example.org')
    const refused = await signIn(new Map(), app.url, op, 'bob')
    expect(errorOf(refused.location)).toContain('already exists')
    expect(await app.deps.store.identities.listIdentitiesOfUser(local.id as never)).toHaveLength(0)
    expect(await app.deps.store.users.countUsers()).toBe(1)
  })

  test('OAUTH_MERGE_ACCOUNTS_BY_EMAIL links to the local account only when email_verified is true', async () => {
    const app = await appWith({ ENABLE_OAUTH_SIGNUP: 'true', OAUTH_MERGE_ACCOUNTS_BY_EMAIL: 'true' })
    const bobLocal = await signUp(app.app, 'bob@example.org')
    const carolLocal = await signUp(app.app, 'carol@example.org')
    const jar: CookieJar = new Map()
    expect((await signIn(jar, app.url, op, 'bob')).location).toBe('/')
    expect(((await (await me(app, jar)).json()) as { id: string }).id).toBe(bobLocal.id)
    // carol's provider has not verified her address: no link, no new account
    const refused = await signIn(new Map(), app.url, op, 'carol')
    expect(errorOf(refused.location)).toContain('not verified')
    expect(await app.deps.store.identities.listIdentitiesOfUser(carolLocal.id as never)).toHaveLength(0)
    expect(await app.deps.store.users.countUsers()).toBe(2)
    // the merged account keeps its local password
    const signin = await app.app.handle(req('POST', '/api/v1/auths/signin', { email: 'bob@example.org', password: PASSWORD }))
    expect(signin.status).toBe(200)
  })

  test('merging by email never links an account that is already linked to another person at the same provider', async () => {
    const app = await appWith({ ENABLE_OAUTH_SIGNUP: 'true', OAUTH_MERGE_ACCOUNTS_BY_EMAIL: 'true' })
    const bobLocal = await signUp(app.app, 'bob@example.org')
    expect((await signIn(new Map(), app.url, op, 'bob')).location).toBe('/')
    // the provider hands bob's verified address to a new person (another sub)
    const original = op.accounts.get('dave')
    op.accounts.set('dave', { ...op.accounts.get('bob')!, email: 'bob@example.org', email_verified: true })
    try {
      const refused = await signIn(new Map(), app.url, op, 'dave')
      expect(errorOf(refused.location)).toContain('already exists')
      expect(await app.deps.store.identities.listIdentitiesOfUser(bobLocal.id as never)).toHaveLength(1)
    } finally {
      if (original === undefined) op.accounts.delete('dave')
      else op.accounts.set('dave', original)
    }
  })

  test('an account made by single sign-on can never set a local password', async () => {
    const app = await appWith({ ENABLE_OAUTH_SIGNUP: 'true' })
    const jar: CookieJar = new Map()
    await signIn(jar, app.url, op, 'bob')
    const res = await fetch(`${app.url}/api/v1/auths/update/password`, {
      method: 'POST', headers: { cookie: `token=${jar.get('token')}`, 'content-type': 'application/json', origin: app.url },
      body: JSON.stringify({ password: '', new_password: 'a brand new password 1!' }),
    })
    expect(res.status).toBe(400)
    expect(((await res.json()) as { code: string }).code).toBe('no_local_password')
    const signin = await app.app.handle(req('POST', '/api/v1/auths/signin', { email: 'bob@example.org', password: 'a brand new password 1!' }))
    expect(signin.status).toBe(400)
  })

  test('GET /api/config lists the provider by name', async () => {
    const app = await appWith({ OAUTH_PROVIDER_NAME: 'Company SSO' })
    const config = await (await fetch(`${app.url}/api/config`)).json() as { oauth: { providers: Record<string, string> } }
    expect(config.oauth.providers).toEqual({ oidc: 'Company SSO' })
  })

  test('userinfo wins over the ID token, and claim names are configurable', async () => {
    const app = await appWith({ ENABLE_OAUTH_SIGNUP: 'true', OAUTH_USERNAME_CLAIM: 'preferred_username' })
    const original = op.accounts.get('bob')!
    try {
      op.accounts.set('bob', { ...original, userinfo: { preferred_username: 'robert' } })
      const jar: CookieJar = new Map()
      await signIn(jar, app.url, op, 'bob')
      expect(await (await me(app, jar)).json()).toMatchObject({ name: 'robert' })
    } finally {
      op.accounts.set('bob', original)
    }
  })

  test('the callback URL comes from WEBUI_URL when it is set', async () => {
    const app = await appWith({ WEBUI_URL: 'https://chat.example.com/enclave' })
    const res = await fetch(`${app.url}/oauth/oidc/login`, { redirect: 'manual' })
    expect(new URL(res.headers.get('location')!).searchParams.get('redirect_uri')).toBe('https://chat.example.com/enclave/oauth/oidc/login/callback')
  })

  test('a forged Host or X-Forwarded-Host never reaches the callback URL: it is WEBUI_URL\'s', async () => {
    // note: every Host is let through here (ALLOWED_HOSTS=*), so that the callback URL itself is what is checked.
    const app = await appWith({ WEBUI_URL: 'https://chat.example.com', FORWARDED_ALLOW_IPS: '127.0.0.1', ALLOWED_HOSTS: '*' })
    for (const headers of [{ host: 'evil.example' }, { 'x-forwarded-host': 'evil.example', 'x-forwarded-proto': 'https' }, { host: 'evil.example', forwarded: 'host=evil.example;proto=https' }] as Record<string, string>[]) {
      const res = await fetch(`${app.url}/oauth/oidc/login`, { redirect: 'manual', headers })
      expect(res.status).toBe(302)
      expect(new URL(res.headers.get('location')!).searchParams.get('redirect_uri')).toBe('https://chat.example.com/oauth/oidc/login/callback')
    }
  })

  test('OPENID_REDIRECT_URI and OAUTH_AUDIENCE go into the authorization request as given', async () => {
    const app = await appWith({ OPENID_REDIRECT_URI: 'https://chat.example.com/oauth/oidc/callback', OAUTH_AUDIENCE: 'api://enclave' })
    const res = await fetch(`${app.url}/oauth/oidc/login`, { redirect: 'manual' })
    const location = new URL(res.headers.get('location')!)
    expect(location.searchParams.get('redirect_uri')).toBe('https://chat.example.com/oauth/oidc/callback')
    expect(location.searchParams.get('audience')).toBe('api://enclave')
    expect(location.searchParams.get('scope')).toBe('openid email profile groups roles')
  })

  test('the login redirect carries state, nonce and PKCE S256, and a sealed HttpOnly flow cookie', async () => {
    const app = await appWith({})
    const res = await fetch(`${app.url}/oauth/oidc/login`, { redirect: 'manual' })
    expect(res.status).toBe(302)
    const location = new URL(res.headers.get('location')!)
    expect(location.origin).toBe(op.issuer)
    for (const name of ['state', 'nonce', 'code_challenge']) expect(location.searchParams.get(name)?.length).toBeGreaterThan(20)
    expect(location.searchParams.get('code_challenge_method')).toBe('S256')
    expect(location.searchParams.get('redirect_uri')).toBe(`${app.url}/oauth/oidc/login/callback`)
    const cookie = res.headers.getSetCookie().find((line) => line.startsWith('oauth_flow='))!
    expect(cookie).toMatch(/HttpOnly; Path=\/oauth; SameSite=Lax; Max-Age=600/)
    // the cookie is sealed: neither the state nor the nonce shows in it
    expect(cookie).not.toContain(location.searchParams.get('state')!)
    expect(cookie).not.toContain(location.searchParams.get('nonce')!)
  })
})
