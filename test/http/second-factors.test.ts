import { describe, expect, test } from 'bun:test'
import { mustEnrolSecondFactor } from '../../src/auth/second-factor.ts'
import { TOTP_STEP_MS } from '../../src/auth/totp.ts'
import { bearer, PASSWORD, signUp, signUpAdminAndUser, startClockedApp, type SessionBody } from '../helpers/accounts.ts'
import { codeAt, enrolTotp, firstStep } from '../helpers/second-factor.ts'
import { req } from '../helpers/test-app.ts'
import type { UserId } from '../../src/db/ids.ts'
import type { PasskeyId } from '../../src/db/second-factors.ts'

const secondStep = (mfa_token: string, code: string, headers: Record<string, string> = {}) => req('POST', '/api/v1/auths/signin/mfa', { mfa_token, code }, headers)

/** A clocked app with ada signed up and enrolled, the clock at the start of a step. */
async function enrolledApp(env: Record<string, string> = {}) {
  const clocked = startClockedApp(env)
  clocked.advance(TOTP_STEP_MS - (clocked.deps.now() % TOTP_STEP_MS))
  const ada = await signUp(clocked.app, 'ada@example.com')
  const enrolment = await enrolTotp(clocked.app, bearer(ada.token), clocked.deps.now())
  return { ...clocked, ada, ...enrolment }
}

describe('enrolment', () => {
  test('a secret is pending until a first right code; then ten recovery codes, once', async () => {
    const { app, deps, advance } = startClockedApp()
    const ada = await signUp(app, 'ada@example.com')
    const setup = await app.handle(req('POST', '/api/v1/auths/mfa/totp/setup', undefined, bearer(ada.token)))
    expect(setup.headers.get('cache-control')).toBe('no-store')
    const { secret, otpauth_uri } = (await setup.json()) as { secret: string; otpauth_uri: string }
    expect(secret).toMatch(/^[A-Z2-7]{32}$/)
    expect(otpauth_uri).toContain(`secret=${secret}`)
    expect(await (await app.handle(req('GET', '/api/v1/auths/mfa', undefined, bearer(ada.token)))).json()).toMatchObject({ totp_enabled: false, totp_pending: true })
    // pending: sign-in still has one step
    expect((await app.handle(req('POST', '/api/v1/auths/signin', { email: 'ada@example.com', password: PASSWORD }))).status).toBe(200)
    expect((await app.handle(req('POST', '/api/v1/auths/mfa/totp/enable', { code: '000000' }, bearer(ada.token)))).status).toBe(400)
    advance(1)
    const enrolment = await (async () => {
      const { decodeBase32IgnorePadding } = await import('@oslojs/encoding')
      return app.handle(req('POST', '/api/v1/auths/mfa/totp/enable', { code: codeAt(decodeBase32IgnorePadding(secret), deps.now()) }, bearer(ada.token)))
    })()
    expect(enrolment.status).toBe(200)
    const { recovery_codes } = (await enrolment.json()) as { recovery_codes: string[] }
    expect(recovery_codes).toHaveLength(10)
    expect(await (await app.handle(req('GET', '/api/v1/auths/mfa', undefined, bearer(ada.token)))).json()).toMatchObject({ totp_enabled: true, recovery_codes_left: 10 })
    expect((await app.handle(req('POST', '/api/v1/auths/mfa/totp/setup', undefined, bearer(ada.token)))).status).toBe(409)
  })
})

describe('two-step sign-in', () => {
  test('the password alone gets no token and no cookie, only a challenge; the code finishes it', async () => {
    const { app, deps, secret, audit, advance } = await enrolledApp()
    const token = await firstStep(app, 'ada@example.com', PASSWORD)
    advance(TOTP_STEP_MS)
    expect(token.length).toBeGreaterThan(40)
    // the challenge is no credential
    expect((await app.handle(req('GET', '/api/v1/auths/', undefined, bearer(token)))).status).toBe(401)
    expect((await app.handle(req('GET', '/api/v1/chats/', undefined, { cookie: `token=${token}` }))).status).toBe(401)
    const res = await app.handle(secondStep(token, codeAt(secret, deps.now())))
    expect(res.status).toBe(200)
    expect(res.headers.get('set-cookie')).toContain('token=')
    const session = (await res.json()) as SessionBody
    expect((await app.handle(req('GET', '/api/v1/auths/', undefined, bearer(session.token)))).status).toBe(200)
    expect(audit.entries.map((entry) => entry.event)).toContain('second_factor_used')
    expect(audit.entries.find((entry) => entry.event === 'signin_succeeded' && entry.details?.second_factor === 'totp')).toBeDefined()
  })

  test('a challenge is redeemed once; a forged, truncated or expired one is refused', async () => {
    const { app, deps, secret, advance } = await enrolledApp()
    advance(TOTP_STEP_MS)
    const token = await firstStep(app, 'ada@example.com', PASSWORD)
    expect((await app.handle(secondStep(token, codeAt(secret, deps.now())))).status).toBe(200)
    advance(TOTP_STEP_MS)
    expect(await (await app.handle(secondStep(token, codeAt(secret, deps.now())))).json()).toMatchObject({ code: 'mfa_token_invalid' })
    const fresh = await firstStep(app, 'ada@example.com', PASSWORD)
    for (const bad of [fresh.slice(0, -2), `${fresh}A`, fresh.replace(/^./, (c) => (c === 'A' ? 'B' : 'A')), 'x', '../../etc/passwd', 'a'.repeat(4096)]) {
      expect((await app.handle(secondStep(bad, codeAt(secret, deps.now())))).status).toBe(401)
    }
    advance(5 * 60_000)
    expect((await app.handle(secondStep(fresh, codeAt(secret, deps.now())))).status).toBe(401)
  })

  test('codes of the current and the previous step pass; two steps back does not; a used code never again', async () => {
    const { app, deps, secret, advance } = await enrolledApp()
    advance(5 * TOTP_STEP_MS)
    const now = deps.now()
    expect((await app.handle(secondStep(await firstStep(app, 'ada@example.com', PASSWORD), codeAt(secret, now, 2)))).status).toBe(400)
    expect((await app.handle(secondStep(await firstStep(app, 'ada@example.com', PASSWORD), codeAt(secret, now, 1)))).status).toBe(200)
    // the same code, again: refused
    expect((await app.handle(secondStep(await firstStep(app, 'ada@example.com', PASSWORD), codeAt(secret, now, 1)))).status).toBe(400)
    expect((await app.handle(secondStep(await firstStep(app, 'ada@example.com', PASSWORD), codeAt(secret, now)))).status).toBe(200)
    // the current step's code used: the previous step's (older) code is refused too
    expect((await app.handle(secondStep(await firstStep(app, 'ada@example.com', PASSWORD), codeAt(secret, now)))).status).toBe(400)
    advance(TOTP_STEP_MS)
    expect((await app.handle(secondStep(await firstStep(app, 'ada@example.com', PASSWORD), codeAt(secret, deps.now())))).status).toBe(200)
  })

  test('wrong codes count toward the sign-in limit; the fifth ends the challenge', async () => {
    const { app, deps, secret } = await enrolledApp({ SIGNIN_RATE_LIMIT: '4/3m' })
    const token = await firstStep(app, 'ada@example.com', PASSWORD)
    for (let i = 0; i < 3; i++) expect((await app.handle(secondStep(token, '000000'))).status).toBe(400)
    expect((await app.handle(secondStep(token, 'zzzz-zzzz-zzzz-zzzz'))).status).toBe(400)
    const limited = await app.handle(secondStep(token, codeAt(secret, deps.now())))
    expect(limited.status).toBe(429)
    expect(limited.headers.get('retry-after')).not.toBeNull()
    // the password step is stopped for this address too
    expect((await app.handle(req('POST', '/api/v1/auths/signin', { email: 'ada@example.com', password: PASSWORD }))).status).toBe(429)
  })

  test('five wrong codes end the challenge', async () => {
    const { app, deps, secret } = await enrolledApp()
    const token = await firstStep(app, 'ada@example.com', PASSWORD)
    for (let i = 0; i < 5; i++) expect((await app.handle(secondStep(token, '000000'))).status).toBe(400)
    expect((await app.handle(secondStep(token, codeAt(secret, deps.now())))).status).toBe(401)
  })

  test('a recovery code signs in once; regenerating needs a current code and replaces them all', async () => {
    const { app, deps, recoveryCodes, secret, ada, advance, audit } = await enrolledApp()
    const [first, second] = recoveryCodes as [string, string]
    expect((await app.handle(secondStep(await firstStep(app, 'ada@example.com', PASSWORD), first.toUpperCase().replaceAll('-', ' ')))).status).toBe(200)
    expect((await app.handle(secondStep(await firstStep(app, 'ada@example.com', PASSWORD), first))).status).toBe(400)
    expect(await (await app.handle(req('GET', '/api/v1/auths/mfa', undefined, bearer(ada.token)))).json()).toMatchObject({ recovery_codes_left: 9 })
    expect(audit.entries.find((entry) => entry.event === 'second_factor_used' && entry.method === 'recovery_code')).toBeDefined()
    expect((await app.handle(req('POST', '/api/v1/auths/mfa/recovery_codes', { code: second }, bearer(ada.token)))).status).toBe(400)
    advance(TOTP_STEP_MS)
    const regenerated = await app.handle(req('POST', '/api/v1/auths/mfa/recovery_codes', { code: codeAt(secret, deps.now()) }, bearer(ada.token)))
    expect(regenerated.status).toBe(200)
    const { recovery_codes } = (await regenerated.json()) as { recovery_codes: string[] }
    expect(recovery_codes).toHaveLength(10)
    expect((await app.handle(secondStep(await firstStep(app, 'ada@example.com', PASSWORD), second))).status).toBe(400)
    expect((await app.handle(secondStep(await firstStep(app, 'ada@example.com', PASSWORD), recovery_codes[0]!))).status).toBe(200)
  })

  test('another user\'s code does not finish ada\'s challenge', async () => {
    const { app, deps, advance } = await enrolledApp({ DEFAULT_USER_ROLE: 'user' })
    const bob = await signUp(app, 'bob@example.com')
    advance(1)
    const bobs = await enrolTotp(app, bearer(bob.token), deps.now())
    const token = await firstStep(app, 'ada@example.com', PASSWORD)
    expect((await app.handle(secondStep(token, codeAt(bobs.secret, deps.now() + 1)))).status).toBe(400)
    expect((await app.handle(secondStep(token, bobs.recoveryCodes[0]!))).status).toBe(400)
  })
})

describe('fresh codes for lasting changes', () => {
  test('an API key and a new password need a current code once TOTP is on', async () => {
    const { app, deps, ada, secret, advance } = await enrolledApp({ ENABLE_API_KEYS: 'true' })
    const headers = bearer(ada.token)
    expect(await (await app.handle(req('POST', '/api/v1/auths/api_key', {}, headers))).json()).toMatchObject({ code: 'second_factor_required' })
    expect((await app.handle(req('POST', '/api/v1/auths/api_key', undefined, headers))).status).toBe(403)
    expect((await app.handle(req('POST', '/api/v1/auths/api_key', { mfa_code: '123' }, headers))).status).toBe(400)
    advance(TOTP_STEP_MS)
    expect((await app.handle(req('POST', '/api/v1/auths/api_key', { mfa_code: codeAt(secret, deps.now()) }, headers))).status).toBe(200)
    const change = { password: PASSWORD, new_password: 'another horse battery' }
    expect((await app.handle(req('POST', '/api/v1/auths/update/password', change, headers))).status).toBe(403)
    advance(TOTP_STEP_MS)
    expect((await app.handle(req('POST', '/api/v1/auths/update/password', { ...change, mfa_code: codeAt(secret, deps.now()) }, headers))).status).toBe(200)
  })

  test('turning TOTP off needs a code; then the password alone signs in again', async () => {
    const { app, deps, ada, secret, advance, audit } = await enrolledApp()
    expect((await app.handle(req('POST', '/api/v1/auths/mfa/totp/disable', { code: '999999' }, bearer(ada.token)))).status).toBe(400)
    advance(TOTP_STEP_MS)
    expect((await app.handle(req('POST', '/api/v1/auths/mfa/totp/disable', { code: codeAt(secret, deps.now()) }, bearer(ada.token)))).status).toBe(200)
    expect((await app.handle(req('POST', '/api/v1/auths/signin', { email: 'ada@example.com', password: PASSWORD }))).status).toBe(200)
    expect(audit.entries.map((entry) => entry.event)).toContain('second_factor_removed')
  })
})

describe('MFA_REQUIRED and the admin', () => {
  test('admins: an admin without a factor reaches only enrolment until enrolled; users are not held', async () => {
    const { app, deps, advance } = startClockedApp({ MFA_REQUIRED: 'admins' })
    const { ada, bob } = await (async () => {
      const admin = await signUp(app, 'ada@example.com')
      const other = await signUp(app, 'bob@example.com')
      return { ada: admin, bob: other }
    })()
    const held = await app.handle(req('GET', '/api/v1/chats/', undefined, bearer(ada.token)))
    expect(held.status).toBe(403)
    expect(await held.json()).toMatchObject({ code: 'mfa_enrolment_required' })
    expect((await app.handle(req('POST', `/api/v1/users/${bob.id}/update`, { role: 'user' }, bearer(ada.token)))).status).toBe(403)
    expect((await app.handle(req('GET', '/api/v1/auths/', undefined, bearer(ada.token)))).status).toBe(200)
    expect(await (await app.handle(req('GET', '/api/v1/auths/mfa', undefined, bearer(ada.token)))).json()).toMatchObject({ required: true, enrolment_required: true })
    advance(1)
    await enrolTotp(app, bearer(ada.token), deps.now())
    expect((await app.handle(req('GET', '/api/v1/chats/', undefined, bearer(ada.token)))).status).toBe(200)
    expect((await app.handle(req('POST', `/api/v1/users/${bob.id}/update`, { role: 'user' }, bearer(ada.token)))).status).toBe(200)
    expect((await app.handle(req('GET', '/api/v1/chats/', undefined, bearer(bob.token)))).status).toBe(200)
    // the policy keeps the only factor on
    advance(TOTP_STEP_MS)
    expect(await (await app.handle(req('POST', '/api/v1/auths/mfa/totp/disable', { code: '123456' }, bearer(ada.token)))).json()).toMatchObject({ code: 'mfa_required_by_policy' })
  })

  test('all: single sign-on accounts are left to their provider; local and directory accounts must enrol', async () => {
    const { deps } = startClockedApp({ MFA_REQUIRED: 'all' })
    const rules = { auth: deps.config.auth, store: deps.store }
    const make = async (email: string) => {
      const created = await deps.store.users.createUser({ email, name: email, role: 'user' })
      if (!created.ok) throw new Error(created.reason)
      return created.user
    }
    const sso = await make('sso@example.com')
    await deps.store.identities.linkIdentity('oidc:corp', 'subject-1', sso.id)
    const directory = await make('dir@example.com')
    await deps.store.identities.linkIdentity('ldap', 'uuid:1', directory.id)
    const local = await make('local@example.com')
    await deps.store.credentials.setPasswordHash(local.id, '$argon2id$placeholder')
    const linked = await make('both@example.com')
    await deps.store.credentials.setPasswordHash(linked.id, '$argon2id$placeholder')
    await deps.store.identities.linkIdentity('oidc:corp', 'subject-2', linked.id)
    expect(await Promise.all([sso, directory, local, linked].map((user) => mustEnrolSecondFactor(rules, user)))).toEqual([false, true, true, true])
  })

  test('an admin sees who has which factors and resets another user\'s, audited; users may not', async () => {
    const { app, deps, audit, advance } = startClockedApp()
    const { ada, bob } = await signUpAdminAndUser(app)
    advance(1)
    await enrolTotp(app, bearer(bob.token), deps.now())
    const list = await app.handle(req('GET', '/api/v1/auths/mfa/users', undefined, bearer(ada.token)))
    expect(list.status).toBe(200)
    const rows = (await list.json()) as { id: string; totp: boolean; recovery_codes_left: number }[]
    expect(rows.find((row) => row.id === bob.id)).toMatchObject({ totp: true, recovery_codes_left: 10 })
    expect(rows.find((row) => row.id === ada.id)).toMatchObject({ totp: false })
    expect(JSON.stringify(rows)).not.toMatch(/secret|code_hash/)
    expect((await app.handle(req('GET', '/api/v1/auths/mfa/users', undefined, bearer(bob.token)))).status).toBe(403)
    expect((await app.handle(req('DELETE', `/api/v1/auths/mfa/users/${ada.id}`, undefined, bearer(bob.token)))).status).toBe(403)
    expect((await app.handle(req('DELETE', '/api/v1/auths/mfa/users/00000000-0000-0000-0000-000000000000', undefined, bearer(ada.token)))).status).toBe(404)
    expect((await app.handle(req('DELETE', `/api/v1/auths/mfa/users/${'x'.repeat(65)}`, undefined, bearer(ada.token)))).status).toBe(422)
    expect((await app.handle(req('DELETE', `/api/v1/auths/mfa/users/${bob.id}`, undefined, bearer(ada.token)))).status).toBe(200)
    expect((await app.handle(req('POST', '/api/v1/auths/signin', { email: 'bob@example.com', password: PASSWORD }))).status).toBe(200)
    expect(audit.entries.find((entry) => entry.event === 'second_factors_reset')).toMatchObject({ actorId: ada.id, targetId: bob.id })
  })
})

describe('refusals on every new route', () => {
  const routes: [string, string, unknown][] = [
    ['GET', '/api/v1/auths/mfa', undefined],
    ['POST', '/api/v1/auths/mfa/totp/setup', undefined],
    ['POST', '/api/v1/auths/mfa/totp/enable', { code: '123456' }],
    ['POST', '/api/v1/auths/mfa/totp/disable', { code: '123456' }],
    ['POST', '/api/v1/auths/mfa/recovery_codes', { code: '123456' }],
    ['GET', '/api/v1/auths/mfa/users', undefined],
    ['DELETE', '/api/v1/auths/mfa/users/x', undefined],
  ]
  test.each(routes)('%s %s without a credential: 401', async (method, path, body) => {
    const { app } = startClockedApp()
    expect((await app.handle(req(method, path, body))).status).toBe(401)
  })

  test.each(routes.filter(([method]) => method !== 'GET'))('%s %s from another site with the cookie: 403', async (method, path, body) => {
    const { app } = startClockedApp()
    const ada = await signUp(app, 'ada@example.com')
    const res = await app.handle(req(method, path, body, { cookie: `token=${ada.token}`, origin: 'https://evil.example', 'sec-fetch-site': 'cross-site' }))
    expect(res.status).toBe(403)
  })

  test('the second step refuses cross-site posts, bad shapes and huge input', async () => {
    const { app } = startClockedApp()
    const cross = await app.handle(req('POST', '/api/v1/auths/signin/mfa', { mfa_token: 'x', code: '123456' }, { origin: 'https://evil.example', 'sec-fetch-site': 'cross-site' }))
    expect(cross.status).toBe(403)
    for (const body of [{}, { mfa_token: 'x' }, { mfa_token: 'x', code: 123456 }, { mfa_token: '', code: '1' }, { mfa_token: 'x', code: '1'.repeat(65) }, { mfa_token: 'x'.repeat(4097), code: '1' }]) {
      expect((await app.handle(req('POST', '/api/v1/auths/signin/mfa', body))).status).toBe(422)
    }
    expect((await app.handle(req('POST', '/api/v1/auths/signin/mfa', '{"mfa_token":', { 'content-type': 'application/json' }))).status).toBe(400)
  })

  test('enrolment needs a session: an API key may not set up or change factors', async () => {
    const { app } = startClockedApp({ ENABLE_API_KEYS: 'true' })
    const ada = await signUp(app, 'ada@example.com')
    const { api_key } = (await (await app.handle(req('POST', '/api/v1/auths/api_key', {}, bearer(ada.token)))).json()) as { api_key: string }
    expect((await app.handle(req('POST', '/api/v1/auths/mfa/totp/setup', undefined, bearer(api_key)))).status).toBe(403)
    expect((await app.handle(req('POST', '/api/v1/auths/mfa/totp/enable', { code: '123456' }, bearer(api_key)))).status).toBe(403)
  })

  test('odd codes at enrolment are wrong codes, not errors', async () => {
    const { app } = startClockedApp()
    const ada = await signUp(app, 'ada@example.com')
    await app.handle(req('POST', '/api/v1/auths/mfa/totp/setup', undefined, bearer(ada.token)))
    for (const code of ['１２３４５６', '<script>', "' OR 1=1 --", '\u0000\u0000\u0000\u0000\u0000\u0000', '12 34 56']) {
      expect((await app.handle(req('POST', '/api/v1/auths/mfa/totp/enable', { code }, bearer(ada.token)))).status).toBe(400)
    }
  })
})

describe('passkey routes refuse what they must', () => {
  const same = { origin: 'http://localhost' }
  const junk = Buffer.from('not really a passkey answer').toString('base64url')
  const assertion = { id: junk, authenticator_data: junk, client_data_json: junk, signature: junk }

  test.each([
    ['POST', '/api/v1/auths/passkeys/register/options', undefined],
    ['POST', '/api/v1/auths/passkeys', { name: 'x', credential: { attestation_object: junk, client_data_json: junk } }],
    ['GET', '/api/v1/auths/passkeys', undefined],
    ['DELETE', '/api/v1/auths/passkeys/x', undefined],
  ])('%s %s without a credential: 401', async (method, path, body) => {
    const { app } = startClockedApp()
    expect((await app.handle(req(method, path, body, same))).status).toBe(401)
  })

  test('passwordless is off unless ENABLE_PASSKEY_LOGIN; a cross-site page gets nothing', async () => {
    const { app } = startClockedApp()
    expect(await (await app.handle(req('POST', '/api/v1/auths/signin/passkey/options', {}, same))).json()).toMatchObject({ code: 'passkey_login_disabled' })
    expect((await app.handle(req('POST', '/api/v1/auths/signin/passkey', { credential: assertion }, same))).status).toBe(403)
    const on = startClockedApp({ ENABLE_PASSKEY_LOGIN: 'true' })
    const options = await on.app.handle(req('POST', '/api/v1/auths/signin/passkey/options', {}, same))
    expect(await options.json()).toMatchObject({ rpId: 'localhost', userVerification: 'required', allowCredentials: [] })
    const cross = { origin: 'https://evil.example', 'sec-fetch-site': 'cross-site' }
    expect((await on.app.handle(req('POST', '/api/v1/auths/signin/passkey/options', {}, cross))).status).toBe(403)
    expect((await on.app.handle(req('POST', '/api/v1/auths/signin/passkey', { credential: assertion }, cross))).status).toBe(403)
  })

  test('malformed, oversized and forged answers are refused without a session', async () => {
    const { app, audit } = startClockedApp({ ENABLE_PASSKEY_LOGIN: 'true' })
    for (const credential of [{}, { ...assertion, id: 'has spaces' }, { ...assertion, signature: 'A'.repeat(1401) }, { ...assertion, client_data_json: 7 }]) {
      expect((await app.handle(req('POST', '/api/v1/auths/signin/passkey', { credential }, same))).status).toBe(422)
    }
    const forged = await app.handle(req('POST', '/api/v1/auths/signin/passkey', { credential: assertion }, same))
    expect(forged.status).toBe(400)
    expect(forged.headers.get('set-cookie')).toBeNull()
    const clientData = Buffer.from(JSON.stringify({ type: 'webauthn.get', challenge: 'AAAA', origin: 'http://localhost' })).toString('base64url')
    expect((await app.handle(req('POST', '/api/v1/auths/signin/passkey', { credential: { ...assertion, client_data_json: clientData } }, same))).status).toBe(400)
    expect(audit.entries.filter((entry) => entry.event === 'signin_failed' && entry.method === 'passkey').map((entry) => entry.reason)).toEqual(['malformed', 'unknown_challenge'])
    expect((await app.handle(req('POST', '/api/v1/auths/signin/passkey', { mfa_token: 'forged', credential: assertion }, same))).status).toBe(401)
    expect((await app.handle(req('POST', '/api/v1/auths/signin/passkey/options', { mfa_token: 'forged' }, same))).status).toBe(401)
  })

  test('registration needs a session and the challenge it was given; another user\'s passkey id is 404', async () => {
    const { app } = startClockedApp({ ENABLE_API_KEYS: 'true' })
    const ada = await signUp(app, 'ada@example.com')
    const headers = { ...bearer(ada.token), ...same }
    const options = await app.handle(req('POST', '/api/v1/auths/passkeys/register/options', undefined, headers))
    expect(await options.json()).toMatchObject({ rp: { id: 'localhost' }, authenticatorSelection: { userVerification: 'required' }, attestation: 'none' })
    const clientData = Buffer.from(JSON.stringify({ type: 'webauthn.create', challenge: 'AAAA', origin: 'http://localhost' })).toString('base64url')
    expect((await app.handle(req('POST', '/api/v1/auths/passkeys', { name: 'x', credential: { attestation_object: junk, client_data_json: clientData } }, headers))).status).toBe(400)
    expect((await app.handle(req('POST', '/api/v1/auths/passkeys', { name: 'x'.repeat(101), credential: { attestation_object: junk, client_data_json: junk } }, headers))).status).toBe(422)
    expect((await app.handle(req('DELETE', '/api/v1/auths/passkeys/00000000-0000-0000-0000-000000000000', undefined, headers))).status).toBe(404)
    expect(await (await app.handle(req('GET', '/api/v1/auths/passkeys', undefined, headers))).json()).toEqual([])
    const { api_key } = (await (await app.handle(req('POST', '/api/v1/auths/api_key', {}, bearer(ada.token)))).json()) as { api_key: string }
    expect((await app.handle(req('POST', '/api/v1/auths/passkeys/register/options', undefined, { ...bearer(api_key), ...same }))).status).toBe(403)
  })

  test('with passkeys only, a lasting change needs a passkey confirmation; a forged one is refused', async () => {
    const { app, deps } = startClockedApp({ ENABLE_API_KEYS: 'true' })
    const ada = await signUp(app, 'ada@example.com')
    await deps.store.secondFactors.addPasskey({ id: 'p1' as PasskeyId, userId: ada.id as UserId, credentialId: new Uint8Array([1, 2, 3]), publicKey: new Uint8Array([1, 4]), name: 'Laptop', signCount: 0 })
    const headers = { ...bearer(ada.token), ...same }
    const refused = await app.handle(req('POST', '/api/v1/auths/api_key', {}, headers))
    expect(refused.status).toBe(403)
    expect(await refused.json()).toMatchObject({ code: 'second_factor_required', detail: 'Confirm with your passkey to do this.' })
    expect((await app.handle(req('POST', '/api/v1/auths/update/password', { password: PASSWORD, new_password: 'another horse battery' }, headers))).status).toBe(403)
    const options = await app.handle(req('POST', '/api/v1/auths/passkeys/confirm/options', undefined, headers))
    expect(await options.json()).toMatchObject({ rpId: 'localhost', allowCredentials: [{ type: 'public-key', id: 'AQID' }] })
    expect((await app.handle(req('POST', '/api/v1/auths/passkeys/confirm', { credential: assertion }, headers))).status).toBe(400)
    expect((await app.handle(req('POST', '/api/v1/auths/api_key', {}, headers))).status).toBe(403)
    expect((await app.handle(req('POST', '/api/v1/auths/passkeys/confirm', { credential: assertion }, same))).status).toBe(401)
    // the passkey is also the second step of a password sign-in
    const first = await app.handle(req('POST', '/api/v1/auths/signin', { email: 'ada@example.com', password: PASSWORD }))
    expect(await first.json()).toMatchObject({ code: 'second_factor_required', methods: ['passkey'] })
  })
})
