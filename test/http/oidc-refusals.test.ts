import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { deriveCookieKey, openCookieValue, sealCookieValue } from '../../src/crypto/sealed-cookie.ts'
import type { LoginFlow } from '../../src/auth/oidc-providers.ts'
import { startOidcProvider, type TestOidcProvider } from '../helpers/oidc-provider.ts'
import { startSsoApp, type SsoApp } from '../helpers/sso-app.ts'
import { fetchWithJar, signIn, type CookieJar } from '../helpers/sso-browser.ts'

let op: TestOidcProvider
const apps: SsoApp[] = []
const stoppers: (() => unknown)[] = []
beforeAll(async () => { op = await startOidcProvider() })
afterAll(async () => {
  for (const stop of stoppers) await stop()
  for (const app of apps) await app.stop()
  await op.stop()
})

async function appWith(env: Record<string, string> = {}, providerUrl?: string) {
  const app = await startSsoApp(op, { ENABLE_OAUTH_SIGNUP: 'true', ...env }, providerUrl === undefined ? {} : { providerUrl })
  apps.push(app)
  return app
}

/** Runs the provider's part of a sign-in and stops before the callback; answers the jar and the callback URL. */
async function upToCallback(app: SsoApp, login = 'bob') {
  const jar: CookieJar = new Map()
  const outcome = await signIn(jar, app.url, op, login, { stopAtCallback: true })
  expect(outcome.callbackUrl).not.toBeNull()
  return { jar, callbackUrl: outcome.callbackUrl! }
}

/** Requests the callback and answers where the app sent the browser. */
async function finish(jar: CookieJar, url: URL) {
  const res = await fetchWithJar(jar, url)
  expect(res.status).toBe(302)
  return res.headers.get('location')!
}

const flowKeyOf = (app: SsoApp) => deriveCookieKey(app.deps.sessionSecret, 'oauth_flow')

/** Nothing was created: no user, no session, no link, and the failure was audited. */
async function expectNothingCreated(app: SsoApp, reason: string) {
  expect(await app.deps.store.users.countUsers()).toBe(0)
  expect(app.audit.entries.filter((entry) => entry.event === 'signin_succeeded')).toHaveLength(0)
  expect(app.audit.entries.at(-1)).toMatchObject({ event: 'signin_failed', method: 'oidc', reason })
}

describe('a callback that does not check out is refused, and nothing is created', () => {
  test('tampered state', async () => {
    const app = await appWith()
    const { jar, callbackUrl } = await upToCallback(app)
    callbackUrl.searchParams.set('state', `${callbackUrl.searchParams.get('state')}x`)
    expect(await finish(jar, callbackUrl)).toStartWith('/auth?error=')
    await expectNothingCreated(app, 'state_mismatch')
  })

  test('callback without the flow cookie (another browser)', async () => {
    const app = await appWith()
    const { jar, callbackUrl } = await upToCallback(app)
    jar.delete('oauth_flow')
    const location = await finish(jar, callbackUrl)
    expect(new URL(location, app.url).searchParams.get('error')).toContain('another browser')
    await expectNothingCreated(app, 'missing_flow')
  })

  test.each([
    ['a flipped character', (cookie: string) => cookie.slice(0, 20) + (cookie[20] === 'A' ? 'B' : 'A') + cookie.slice(21)],
    ['a truncated value', (cookie: string) => cookie.slice(0, 30)],
    ['not base64url', () => '%00<script>'],
    ['a huge value', () => 'A'.repeat(5000)],
  ])('flow cookie with %s', async (_, tamper) => {
    const app = await appWith()
    const { jar, callbackUrl } = await upToCallback(app)
    jar.set('oauth_flow', tamper(jar.get('oauth_flow')!))
    expect(await finish(jar, callbackUrl)).toStartWith('/auth?error=')
    await expectNothingCreated(app, 'missing_flow')
  })

  test('an expired flow cookie', async () => {
    const app = await appWith()
    const { jar, callbackUrl } = await upToCallback(app)
    const flow = openCookieValue(flowKeyOf(app), 'oauth_flow', jar.get('oauth_flow')!, Date.now()) as LoginFlow
    jar.set('oauth_flow', sealCookieValue(flowKeyOf(app), 'oauth_flow', flow, Date.now() - 1))
    expect(await finish(jar, callbackUrl)).toStartWith('/auth?error=')
    await expectNothingCreated(app, 'missing_flow')
  })

  test('wrong nonce: the ID token was issued for another sign-in', async () => {
    const app = await appWith()
    const { jar, callbackUrl } = await upToCallback(app)
    const flow = openCookieValue(flowKeyOf(app), 'oauth_flow', jar.get('oauth_flow')!, Date.now()) as LoginFlow
    jar.set('oauth_flow', sealCookieValue(flowKeyOf(app), 'oauth_flow', { ...flow, nonce: 'a-nonce-this-provider-never-saw' }, Date.now() + 60_000))
    expect(await finish(jar, callbackUrl)).toStartWith('/auth?error=')
    await expectNothingCreated(app, 'invalid_response')
    expect(app.logLines.join('\n')).toContain('(claim nonce)')
  })

  test('replayed code: the second use is refused and makes no second session', async () => {
    const app = await appWith()
    const { jar, callbackUrl } = await upToCallback(app)
    const flowCookie = jar.get('oauth_flow')!
    expect(await finish(jar, callbackUrl)).toBe('/')
    const attacker: CookieJar = new Map([['oauth_flow', flowCookie]])
    expect(await finish(attacker, callbackUrl)).toStartWith('/auth?error=')
    expect(attacker.has('token')).toBe(false)
    const userId = app.audit.entries.find((entry) => entry.event === 'signin_succeeded')!.actorId!
    expect(await app.deps.store.sessions.listLiveSessions(userId as never)).toHaveLength(1)
    expect(app.audit.entries.at(-1)).toMatchObject({ event: 'signin_failed', reason: 'provider_refused' })
  })

  test('an ID token from another issuer', async () => {
    // A discovery document that names this proxy as issuer but points at the real provider's
    // endpoints: the provider's genuine, well-signed ID token then carries the wrong `iss`.
    const proxy: Bun.Server<undefined> = Bun.serve({
      hostname: '127.0.0.1', port: 0,
      async fetch(): Promise<Response> {
        const metadata = await (await fetch(op.discoveryUrl)).json() as Record<string, unknown>
        delete metadata.authorization_response_iss_parameter_supported
        return Response.json({ ...metadata, issuer: `http://127.0.0.1:${proxy.port}` })
      },
    })
    stoppers.push(() => proxy.stop(true))
    const app = await appWith({}, `http://127.0.0.1:${proxy.port}/.well-known/openid-configuration`)
    const { jar, callbackUrl } = await upToCallback(app)
    callbackUrl.searchParams.delete('iss') // else the authorization response's own iss is refused first
    expect(await finish(jar, callbackUrl)).toStartWith('/auth?error=')
    await expectNothingCreated(app, 'invalid_response')
    expect(app.logLines.join('\n')).toContain('(claim iss)')
  })

  test('the provider answers access_denied', async () => {
    const app = await appWith()
    const { jar, callbackUrl } = await upToCallback(app)
    const denied = new URL(callbackUrl.pathname, callbackUrl)
    denied.searchParams.set('error', 'access_denied')
    denied.searchParams.set('state', callbackUrl.searchParams.get('state')!)
    denied.searchParams.set('iss', callbackUrl.searchParams.get('iss')!)
    const location = await finish(jar, denied)
    expect(new URL(location, app.url).searchParams.get('error')).toBe('Sign-in was cancelled at the provider.')
    await expectNothingCreated(app, 'access_denied')
  })
})

describe('the login route', () => {
  test('provider down at sign-in: a clear error, the flow cookie cleared', async () => {
    const probe = Bun.serve({ hostname: '127.0.0.1', port: 0, fetch: () => new Response('') })
    const port = probe.port
    probe.stop(true)
    const app = await appWith({}, `http://127.0.0.1:${port}/.well-known/openid-configuration`)
    const res = await fetch(`${app.url}/oauth/oidc/login`, { redirect: 'manual' })
    expect(res.status).toBe(302)
    expect(new URL(res.headers.get('location')!, app.url).searchParams.get('error')).toBe('The sign-in provider could not be reached. Please try again later.')
    expect(res.headers.getSetCookie().some((line) => line.startsWith('oauth_flow=;'))).toBe(true)
    expect(app.audit.entries.at(-1)).toMatchObject({ event: 'signin_failed', reason: 'provider_unreachable' })
    expect(app.logLines.join('\n')).toMatch(/single sign-on failed.*provider_unreachable/)
    expect(app.logLines.join('\n')).not.toContain(app.clientSecret)
  })

  test('provider down at the callback: a clear error, nothing created', async () => {
    const doomed = await startOidcProvider()
    const app = await startSsoApp(doomed, { ENABLE_OAUTH_SIGNUP: 'true' })
    apps.push(app)
    const jar: CookieJar = new Map()
    const { callbackUrl } = await signIn(jar, app.url, doomed, 'bob', { stopAtCallback: true })
    await doomed.stop()
    const location = await finish(jar, callbackUrl!)
    expect(new URL(location, app.url).searchParams.get('error')).toBe('The sign-in provider could not be reached. Please try again later.')
    await expectNothingCreated(app, 'provider_unreachable')
  })

  test('an unknown provider is refused with a clear error', async () => {
    const app = await appWith()
    for (const path of ['/oauth/nope/login', '/oauth/nope/login/callback', '/oauth/nope/callback']) {
      const res = await fetch(`${app.url}${path}`, { redirect: 'manual' })
      expect(new URL(res.headers.get('location')!, app.url).searchParams.get('error')).toBe('That sign-in provider is not configured on this server.')
    }
  })

  test('hostile provider ids and callback queries are refused without reaching the provider', async () => {
    const app = await appWith()
    expect((await fetch(`${app.url}/oauth/${'x'.repeat(200)}/login`, { redirect: 'manual' })).status).toBe(422)
    const res = await fetch(`${app.url}/oauth/oidc/callback?code=${'a'.repeat(5000)}&state=%00`, { redirect: 'manual', headers: { cookie: 'oauth_flow=garbage' } })
    expect(res.headers.get('location')).toStartWith('/auth?error=')
    expect(await app.deps.store.users.countUsers()).toBe(0)
  })
})
