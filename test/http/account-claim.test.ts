/**
 * Single-user mode turned off: the passwordless admin it left sets a first password on the sign-in
 * page (POST /api/v1/auths/claim), gated like the first account (the setup token beyond loopback),
 * once, never from another site, and never on a server whose admin has a way in already.
 */
import { afterAll, describe, expect, test } from 'bun:test'
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createAuthDeps } from '../../src/auth/auth-deps.ts'
import { issueSession } from '../../src/auth/issue-session.ts'
import { openSetupGate, readSetupToken, type SetupGate } from '../../src/auth/setup-token.ts'
import { prepareSingleUser, SINGLE_USER_EMAIL } from '../../src/auth/single-user.ts'
import type { User } from '../../src/db/users.ts'
import { req, startTestApp } from '../helpers/test-app.ts'

const dirs: string[] = []
afterAll(() => dirs.forEach((dir) => rmSync(dir, { recursive: true, force: true })))
const password = () => `pw-${crypto.randomUUID()}`

/** A session token for the user, as single-user mode handed one out before the switch. */
async function sessionTokenFor({ deps }: ReturnType<typeof startTestApp>, user: User): Promise<string> {
  const auth = createAuthDeps({ store: deps.store, auth: deps.config.auth, sessionSecret: deps.sessionSecret, audit: deps.audit, now: deps.now, setupGate: deps.setupGate })
  return (await issueSession(auth, user, { ip: '127.0.0.1', userAgent: null })).token
}

/** A server started without single-user mode on a data directory that mode left behind. */
async function afterSingleUser(env: Record<string, string> = {}, gate?: SetupGate) {
  const started = gate === undefined ? startTestApp(env) : startTestApp(env, Date.now, gate)
  const prepared = await prepareSingleUser(started.deps.store)
  if (!prepared.ok) throw new Error('expected one account')
  return { ...started, admin: prepared.user }
}

/** A gate as serve.ts opens it on a server listening on 0.0.0.0 with a claim pending. */
function beyondLoopbackGate(): SetupGate {
  const dataDir = mkdtempSync(join(tmpdir(), 'enclave-claim-'))
  dirs.push(dataDir)
  return openSetupGate({ dataDir, host: '0.0.0.0', hasUsers: false })
}

type App = ReturnType<typeof startTestApp>['app']
const claimOf = async (app: App) => ((await (await app.handle(req('GET', '/api/config'))).json()) as { account_claim?: { email: string } }).account_claim
const claim = (app: App, body: unknown, headers: Record<string, string> = {}) => app.handle(req('POST', '/api/v1/auths/claim', body, headers))
const signIn = (app: App, body: { email: string; password: string }) => app.handle(req('POST', '/api/v1/auths/signin', body))

describe('a passwordless admin on a server listening on loopback', async () => {
  const { app, deps, audit } = await afterSingleUser()
  const chosen = password()

  test('/api/config says the claim is pending, naming the account', async () => {
    expect(await claimOf(app)).toEqual({ email: SINGLE_USER_EMAIL })
  })

  test.each<[string, unknown, number, string | null]>([
    ['a short password', { password: 'short' }, 400, 'password_too_short'],
    ['an empty password', { password: '' }, 400, 'password_too_short'],
    ['an oversized password', { password: 'x'.repeat(5000) }, 422, null],
    ['a number for a password', { password: 12345678 }, 422, null],
    ['no password', {}, 422, null],
    ['an oversized setup token', { password: password(), setup_token: 'x'.repeat(500) }, 422, null],
  ])('refuses %s and sets nothing', async (_, body, status, code) => {
    const res = await claim(app, body)
    expect(res.status).toBe(status)
    if (code !== null) expect(await res.json()).toMatchObject({ code })
    expect(res.headers.get('set-cookie')).toBeNull()
    expect(await deps.store.credentials.findPasswordHash((await deps.store.users.findOnlyAdmin())!.id)).toBeNull()
  })

  test('refuses a form post and another site, setting nothing', async () => {
    const form = await app.handle(req('POST', '/api/v1/auths/claim', `password=${chosen}`, { 'content-type': 'application/x-www-form-urlencoded' }))
    expect(form.status).toBeGreaterThanOrEqual(400)
    const crossSite = await claim(app, { password: chosen }, { origin: 'https://evil.example' })
    expect(crossSite.status).toBe(403)
    expect(await crossSite.json()).toMatchObject({ code: 'cross_site_request' })
    const sameSite = await claim(app, { password: chosen }, { 'sec-fetch-site': 'same-site' })
    expect(sameSite.status).toBe(403)
    expect(await claimOf(app)).toEqual({ email: SINGLE_USER_EMAIL })
  })

  test('sets the password (argon2id) and signs the browser in', async () => {
    const res = await claim(app, { password: chosen }, { origin: 'http://localhost' })
    expect(res.status).toBe(200)
    const body = await res.text()
    expect(JSON.parse(body)).toMatchObject({ email: SINGLE_USER_EMAIL, role: 'admin' })
    expect(body).not.toContain('$argon2')
    const cookie = /token=[^;]+/.exec(res.headers.get('set-cookie') ?? '')![0]
    const me = await app.handle(req('GET', '/api/v1/auths/', undefined, { cookie }))
    expect(me.status).toBe(200)
    expect(await me.json()).toMatchObject({ email: SINGLE_USER_EMAIL })
    expect(await deps.store.credentials.findPasswordHash((await deps.store.users.findOnlyAdmin())!.id)).toStartWith('$argon2id$')
    expect(audit.entries.map((entry) => entry.event)).toContain('account_claimed')
    expect(JSON.stringify(audit.entries)).not.toContain(chosen)
  })

  test('then the claim is gone: config says nothing, a second claim is refused, and the password signs in', async () => {
    expect(await claimOf(app)).toBeUndefined()
    const again = await claim(app, { password: password() })
    expect(again.status).toBe(409)
    expect(await again.json()).toMatchObject({ code: 'nothing_to_claim' })
    expect((await signIn(app, { email: SINGLE_USER_EMAIL, password: chosen })).status).toBe(200)
  })
})

test('two claims at once set exactly one password', async () => {
  const { app } = await afterSingleUser()
  const [first, second] = [password(), password()]
  const answers = await Promise.all([claim(app, { password: first }), claim(app, { password: second })])
  expect(answers.map((res) => res.status).sort()).toEqual([200, 409])
  const winner = answers[0]!.status === 200 ? first : second
  const loser = winner === first ? second : first
  expect((await signIn(app, { email: SINGLE_USER_EMAIL, password: winner })).status).toBe(200)
  expect((await signIn(app, { email: SINGLE_USER_EMAIL, password: loser })).status).toBe(400)
})

describe('a passwordless admin on a server listening beyond loopback', async () => {
  const gate = beyondLoopbackGate()
  const { app, audit } = await afterSingleUser({}, gate)
  const token = readSetupToken(gate)!

  test.each([['no token', undefined], ['a wrong token', 'wrong'], ['an empty token', ''], ['the token with a character more', 'x']])(
    'refuses a claim with %s', async (label, given) => {
      const body = given === undefined ? { password: password() } : { password: password(), setup_token: label.includes('more') ? `${token}x` : given }
      const res = await claim(app, body)
      expect(res.status).toBe(403)
      expect(await res.json()).toMatchObject({ code: 'setup_token_required' })
      expect(res.headers.get('set-cookie')).toBeNull()
      expect(await claimOf(app)).toEqual({ email: SINGLE_USER_EMAIL })
    })

  test('takes the claim with the setup token, which is then removed', async () => {
    const chosen = password()
    const res = await claim(app, { password: chosen, setup_token: token })
    expect(res.status).toBe(200)
    expect(res.headers.get('set-cookie')).toContain('token=')
    expect(existsSync(gate.tokenFile!)).toBe(false)
    expect(JSON.stringify(audit.entries)).not.toContain(token)
    expect((await claim(app, { password: password(), setup_token: token })).status).toBe(409)
    expect((await signIn(app, { email: SINGLE_USER_EMAIL, password: chosen })).status).toBe(200)
  })
})

test('claims are rate-limited per address, like sign-up', async () => {
  const { app } = await afterSingleUser({ SIGNIN_RATE_LIMIT_PER_IP: '3/3m' })
  for (let i = 0; i < 3; i++) expect((await claim(app, { password: 'short' })).status).toBe(400)
  const limited = await claim(app, { password: password() })
  expect(limited.status).toBe(429)
  expect(limited.headers.get('retry-after')).not.toBeNull()
  expect(await claimOf(app)).toEqual({ email: SINGLE_USER_EMAIL })
})

test('a session single-user mode gave before the switch may set the first password in Settings; an SSO account may not', async () => {
  const started = await afterSingleUser()
  const { app } = started
  const token = await sessionTokenFor(started, started.admin)
  const change = (body: unknown) => app.handle(req('POST', '/api/v1/auths/update/password', body, { authorization: `Bearer ${token}` }))
  const chosen = password()
  expect((await change({ password: '', new_password: chosen })).status).toBe(200)
  expect((await signIn(app, { email: SINGLE_USER_EMAIL, password: chosen })).status).toBe(200)
  expect(await claimOf(app)).toBeUndefined()

  const linked = await afterSingleUser()
  await linked.deps.store.identities.linkIdentity('oidc:corp', 'subject-2', linked.admin.id)
  const refused = await linked.app.handle(req('POST', '/api/v1/auths/update/password', { password: '', new_password: password() }, { authorization: `Bearer ${await sessionTokenFor(linked, linked.admin)}` }))
  expect(refused.status).toBe(400)
  expect(await refused.json()).toMatchObject({ code: 'no_local_password' })
})

describe('servers that never offer the claim', () => {
  const expectNoClaim = async (app: App) => {
    expect(await claimOf(app)).toBeUndefined()
    const res = await claim(app, { password: password() })
    expect(res.status).toBe(409)
    expect(res.headers.get('set-cookie')).toBeNull()
  }

  test('a normal server whose admin signed up with a password', async () => {
    const { app } = startTestApp()
    expect((await app.handle(req('POST', '/api/v1/auths/signup', { name: 'Ada', email: 'ada@example.com', password: password() }))).status).toBe(200)
    await expectNoClaim(app)
  })

  test('a fresh server with no account (that is onboarding, not a claim)', async () => {
    await expectNoClaim(startTestApp().app)
  })

  test('an admin linked to LDAP or single sign-on', async () => {
    const { app, deps, admin } = await afterSingleUser()
    await deps.store.identities.linkIdentity('oidc:corp', 'subject-1', admin.id)
    await expectNoClaim(app)
  })

  test('a server whose users sign in through a trusted proxy', async () => {
    await expectNoClaim((await afterSingleUser({ WEBUI_AUTH_TRUSTED_EMAIL_HEADER: 'X-Auth-Email' })).app)
  })

  test('password sign-in turned off', async () => {
    await expectNoClaim((await afterSingleUser({ ENABLE_PASSWORD_AUTH: 'false' })).app)
  })

  test('two passwordless admins (whose would it be?)', async () => {
    const { app, deps } = await afterSingleUser()
    await deps.store.users.createUser({ email: 'second@localhost', name: 'Second', role: 'admin' })
    await expectNoClaim(app)
  })

  test('single-user mode itself (no sign-in at all)', async () => {
    const { app } = await afterSingleUser({ SINGLE_USER_MODE: 'true' })
    const config = await (await app.handle(req('GET', '/api/config'))).json() as { account_claim?: unknown }
    expect(config.account_claim).toBeUndefined()
    expect((await claim(app, { password: password() }, { host: 'localhost', origin: 'http://localhost' })).status).toBe(409)
  })
})
