import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { createMemoryAuditLog } from '../../src/audit/audit-log.ts'
import { createOidcProviders } from '../../src/auth/oidc-providers.ts'
import { openGate } from '../../src/auth/setup-token.ts'
import { loadConfig } from '../../src/config/load-config.ts'
import { openMemoryStore } from '../../src/db/open-store.ts'
import { createApp, type Deps } from '../../src/http/create-app.ts'
import { createLogger } from '../../src/log/logger.ts'
import { startFakeGitHub, type FakeGitHub } from '../fakes/github.ts'
import type { TestOidcProvider } from '../helpers/oidc-provider.ts'
import { freePort } from '../helpers/nginx.ts'
import { signIn, type CookieJar } from '../helpers/sso-browser.ts'

const client = { id: 'Iv1.fake', secret: `github-secret-${crypto.randomUUID()}` }
let github: FakeGitHub
let deps: Deps
let app: ReturnType<typeof createApp>
let url = ''
// note: GitHub has no login page here (the stand-in approves at once), so the harness is never asked for a password.
const noProvider = { passwordOf: () => '' } as unknown as TestOidcProvider

beforeAll(() => {
  github = startFakeGitHub(client, [
    { id: 101, login: 'octo', name: 'Octo Cat', emails: [{ email: 'secondary@example.org', primary: false, verified: true }, { email: 'octo@example.org', primary: true, verified: true }] },
    { id: 102, login: 'unverified', name: null, emails: [{ email: 'unverified@example.org', primary: true, verified: false }] },
  ])
  const port = freePort()
  url = `http://127.0.0.1:${port}`
  const config = loadConfig({ env: { GITHUB_CLIENT_ID: client.id, GITHUB_CLIENT_SECRET: client.secret, ENABLE_OAUTH_SIGNUP: 'true', WEBUI_URL: url }, cwd: process.cwd() })
  deps = {
    config, store: openMemoryStore(), log: createLogger('DEBUG', () => {}), sessionSecret: `secret-${crypto.randomUUID()}`,
    audit: createMemoryAuditLog(), now: Date.now, setupGate: openGate,
    oidcProviders: createOidcProviders(config.oauth, { github: github.endpoints }),
  }
  app = createApp(deps)
  app.listen({ hostname: '127.0.0.1', port })
})
afterAll(async () => {
  await app.stop(true)
  await github.stop()
})

describe('GitHub (plain OAuth 2)', () => {
  test('is listed, and signs in with the primary verified email, linked by GitHub\'s user id', async () => {
    const config = await (await fetch(`${url}/api/config`)).json() as { oauth: { providers: Record<string, string> } }
    expect(config.oauth.providers).toEqual({ github: 'GitHub' })
    github.state.signedInAs = 'octo'
    const jar: CookieJar = new Map()
    expect((await signIn(jar, url, noProvider, 'octo', { providerId: 'github' })).location).toBe('/')
    const me = await (await fetch(`${url}/api/v1/auths/`, { headers: { cookie: `token=${jar.get('token')}` } })).json() as { id: string }
    expect(me).toMatchObject({ email: 'octo@example.org', name: 'Octo Cat' })
    expect(await deps.store.identities.listIdentitiesOfUser(me.id as never)).toMatchObject([{ provider: 'oidc:github', subject: 'https://github.com\u0000101' }])
    const again: CookieJar = new Map()
    await signIn(again, url, noProvider, 'octo', { providerId: 'github' })
    expect(await deps.store.users.countUsers()).toBe(1)
  })

  test('an account whose primary email GitHub has not verified is refused', async () => {
    github.state.signedInAs = 'unverified'
    const before = await deps.store.users.countUsers()
    const outcome = await signIn(new Map(), url, noProvider, 'unverified', { providerId: 'github' })
    expect(new URL(outcome.location, url).searchParams.get('error')).toBe('The sign-in provider did not share a valid email address.')
    expect(await deps.store.users.countUsers()).toBe(before)
  })

  test('the authorization request uses PKCE S256 and no nonce', async () => {
    const res = await fetch(`${url}/oauth/github/login`, { redirect: 'manual' })
    const location = new URL(res.headers.get('location')!)
    expect(location.pathname).toBe('/login/oauth/authorize')
    expect(location.searchParams.get('code_challenge_method')).toBe('S256')
    expect(location.searchParams.get('scope')).toBe('user:email')
    expect(location.searchParams.has('nonce')).toBe(false)
  })
})
