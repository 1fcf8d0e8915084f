import { describe, expect, test } from 'bun:test'
import { signSessionToken } from '../../src/auth/tokens.ts'
import { bearer, PASSWORD, signIn, signUp, startClockedApp, statusOf } from '../helpers/accounts.ts'
import { req, startTestApp } from '../helpers/test-app.ts'

const ME = '/api/v1/auths/'
const USERS = '/api/v1/users/'
const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url')
const claimsOf = (token: string) => JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as Record<string, unknown>

describe('who am I, and who may go where', async () => {
  const { app } = startTestApp()
  const admin = await signUp(app, 'admin@example.com')
  const pending = await signUp(app, 'pending@example.com')
  const user = await signUp(app, 'user@example.com')
  await app.handle(req('POST', `/api/v1/users/${user.id}/update`, { role: 'user' }, bearer(admin.token)))

  test('GET /api/v1/auths/ works with a Bearer token and with the cookie; only the Bearer caller gets the token back', async () => {
    const cases: [Record<string, string>, string | null][] = [
      [bearer(admin.token), admin.token],
      [{ cookie: `other=1; token=${admin.token}` }, null],
      [{ authorization: `Basic ${btoa('proxy:secret')}`, cookie: `token=${admin.token}` }, null],
    ]
    for (const [headers, token] of cases) {
      const res = await app.handle(req('GET', ME, undefined, headers))
      expect(res.status).toBe(200)
      expect(await res.json()).toMatchObject({ id: admin.id, email: 'admin@example.com', role: 'admin', token, token_type: 'Bearer' })
    }
  })

  test('no credential → 401', async () => {
    expect(await statusOf(app, 'GET', ME, {})).toBe(401)
    expect(await statusOf(app, 'GET', USERS, {})).toBe(401)
  })

  test.each([
    ['admin route, normal user', USERS, 'user', 403, 'admin_only'],
    ['admin route, pending', USERS, 'pending', 403, 'account_pending'],
    ['active route, pending', '/api/v1/auths/signout/all', 'pending', 403, 'account_pending'],
    ['admin route, admin', USERS, 'admin', 200, undefined],
  ] as const)('%s → %i', async (_, path, who, status, code) => {
    const token = { admin, pending, user }[who].token
    const res = await app.handle(req(path.endsWith('all') ? 'POST' : 'GET', path, undefined, bearer(token)))
    expect(res.status).toBe(status)
    if (code !== undefined) expect((await res.json()).code).toBe(code)
  })

  test('a pending account may still see itself, the config and sign out', async () => {
    expect(await statusOf(app, 'GET', ME, bearer(pending.token))).toBe(200)
    expect(await statusOf(app, 'GET', '/api/config', bearer(pending.token))).toBe(200)
    expect(await statusOf(app, 'POST', '/api/v1/auths/signout', bearer(pending.token))).toBe(200)
  })
})

describe('sign-out and the list of sessions', async () => {
  const { app } = startTestApp()
  const first = await signUp(app, 'ada@example.com')
  const other = await signUp(app, 'bob@example.com')

  test('POST /signout revokes that session only and clears the cookie', async () => {
    const second = await signIn(app, 'ada@example.com')
    const res = await app.handle(req('POST', '/api/v1/auths/signout', undefined, bearer(second.token)))
    expect(res.status).toBe(200)
    expect(res.headers.get('set-cookie')).toMatch(/^token=;.*Max-Age=0/)
    expect(await statusOf(app, 'GET', ME, bearer(second.token))).toBe(401)
    expect(await statusOf(app, 'GET', ME, bearer(first.token))).toBe(200)
  })

  test('GET /signout works too, also with the cookie', async () => {
    const session = await signIn(app, 'ada@example.com')
    expect(await statusOf(app, 'GET', '/api/v1/auths/signout', { cookie: `token=${session.token}` })).toBe(200)
    expect(await statusOf(app, 'GET', ME, bearer(session.token))).toBe(401)
  })

  test('GET /sessions lists the live sessions, marking the calling one', async () => {
    const second = await signIn(app, 'ada@example.com')
    const res = await app.handle(req('GET', '/api/v1/auths/sessions', undefined, { ...bearer(second.token), 'user-agent': 'probe/1' }))
    const sessions = (await res.json()) as { id: string; current: boolean }[]
    const ids = sessions.map((s) => s.id)
    expect(ids).toContain(claimsOf(first.token).jti as string)
    expect(ids).not.toContain(claimsOf(other.token).jti as string)
    expect(sessions.filter((s) => s.current).map((s) => s.id)).toEqual([claimsOf(second.token).jti as string])
  })

  test('DELETE /sessions/:id revokes another of my sessions; another user\'s id → 404', async () => {
    const spare = await signIn(app, 'ada@example.com')
    const res = await app.handle(req('DELETE', `/api/v1/auths/sessions/${claimsOf(spare.token).jti}`, undefined, bearer(first.token)))
    expect(res.status).toBe(200)
    expect(await statusOf(app, 'GET', ME, bearer(spare.token))).toBe(401)
    expect(await statusOf(app, 'DELETE', `/api/v1/auths/sessions/${claimsOf(other.token).jti}`, bearer(first.token))).toBe(404)
    expect(await statusOf(app, 'GET', ME, bearer(other.token))).toBe(200)
    expect(await statusOf(app, 'DELETE', '/api/v1/auths/sessions/not-a-session', bearer(first.token))).toBe(404)
  })

  test('POST /signout/all revokes every session of the user, not other users\'', async () => {
    const a = await signIn(app, 'ada@example.com')
    const b = await signIn(app, 'ada@example.com')
    const res = await app.handle(req('POST', '/api/v1/auths/signout/all', undefined, bearer(a.token)))
    expect(res.status).toBe(200)
    expect(res.headers.get('set-cookie')).toContain('Max-Age=0')
    for (const token of [a.token, b.token, first.token]) expect(await statusOf(app, 'GET', ME, bearer(token))).toBe(401)
    expect(await statusOf(app, 'GET', ME, bearer(other.token))).toBe(200)
  })
})

describe('password change', async () => {
  const { app } = startTestApp()
  await signUp(app, 'ada@example.com')
  const calling = await signIn(app, 'ada@example.com')
  const elsewhere = await signIn(app, 'ada@example.com')
  const change = (body: unknown) => app.handle(req('POST', '/api/v1/auths/update/password', body, bearer(calling.token)))

  test('needs the right current password and a valid new one', async () => {
    expect((await change({ password: 'wrong password', new_password: 'brand new secret' })).status).toBe(400)
    expect((await change({ password: PASSWORD, new_password: 'short' })).status).toBe(400)
    expect((await change({ password: PASSWORD })).status).toBe(422)
    expect(await statusOf(app, 'GET', ME, bearer(elsewhere.token))).toBe(200)
  })

  test('revokes the other sessions, keeps this one; new password works, old does not', async () => {
    expect((await change({ password: PASSWORD, new_password: 'brand new secret' })).status).toBe(200)
    expect(await statusOf(app, 'GET', ME, bearer(elsewhere.token))).toBe(401)
    expect(await statusOf(app, 'GET', ME, bearer(calling.token))).toBe(200)
    await signIn(app, 'ada@example.com', 'brand new secret')
    expect(await statusOf(app, 'POST', '/api/v1/auths/signin', {}, { email: 'ada@example.com', password: PASSWORD })).toBe(400)
  })
})

describe('forged, damaged and stale tokens → 401', async () => {
  const clocked = startClockedApp({ JWT_EXPIRES_IN: '30m' })
  const { app, deps } = clocked
  const admin = await signUp(app, 'admin@example.com')
  const user = await signUp(app, 'user@example.com')
  const [header, payload, signature] = user.token.split('.') as [string, string, string]
  const claims = claimsOf(user.token)
  const hmac = (alg: string, body: string, secret: string) => new Bun.CryptoHasher(alg as 'sha256', secret).update(body).digest('base64url')
  const signedAs = (alg: string, hash: string, secret: string, body = payload) => {
    const head = b64({ alg, typ: 'JWT' })
    return `${head}.${body}.${hmac(hash, `${head}.${body}`, secret)}`
  }
  const resign = (edited: Record<string, unknown>) => `${header}.${b64(edited)}.${hmac('sha256', `${header}.${b64(edited)}`, 'secret')}`
  const withKfp = (kfp: string) => signSessionToken({
    userId: user.id, sessionId: claims.jti as string, issuedAtMs: deps.now(), expiresAtMs: deps.now() + 60_000, keyFingerprint: kfp,
  }, deps.sessionSecret)

  test('control: the same claims signed with the right secret and fingerprint pass', async () => {
    expect(await statusOf(app, 'GET', ME, bearer(withKfp(deps.store.info.keyFingerprint)))).toBe(200)
  })

  test.each([
    ['alg none', () => `${b64({ alg: 'none', typ: 'JWT' })}.${payload}.`],
    ['HS256 with a guessed secret', () => signedAs('HS256', 'sha256', 'secret')],
    ['header alg HS512, right secret', () => signedAs('HS512', 'sha512', deps.sessionSecret)],
    ['header alg RS256, HMAC with right secret', () => signedAs('RS256', 'sha256', deps.sessionSecret)],
    ['payload role edited', () => `${header}.${b64({ ...claims, role: 'admin' })}.${signature}`],
    ['payload id edited to the admin', () => `${header}.${b64({ ...claims, id: admin.id })}.${signature}`],
    ['payload exp edited, re-signed with a guess', () => resign({ ...claims, exp: 9_999_999_999 })],
    ['truncated', () => user.token.slice(0, -6)],
    ['signature dropped', () => `${header}.${payload}`],
    ['garbage', () => 'garbage'],
    ['three dots', () => 'a.b.c'],
    ['10 KB', () => `${header}.${'A'.repeat(10 * 1024)}.${signature}`],
    ['another key fingerprint, right secret', () => withKfp('0000000000000000')],
    ['the sk- prefix on a token', () => `sk-${user.token}`],
  ])('%s', async (_, forge) => {
    const token = forge()
    expect(await statusOf(app, 'GET', ME, bearer(token))).toBe(401)
    expect(await statusOf(app, 'GET', ME, { cookie: `token=${token}` })).toBe(401)
  })

  test('an expired token (JWT_EXPIRES_IN=30m, clock moved 31 minutes) → 401', async () => {
    const fresh = await signIn(app, 'user@example.com')
    expect(fresh.expires_at).toBe(Math.floor((deps.now() + 30 * 60_000) / 1000))
    clocked.advance(29 * 60_000)
    expect(await statusOf(app, 'GET', ME, bearer(fresh.token))).toBe(200)
    clocked.advance(2 * 60_000)
    expect(await statusOf(app, 'GET', ME, bearer(fresh.token))).toBe(401)
  })
})

test('JWT_EXPIRES_IN=-1 gives expires_at null and a session cookie without Expires', async () => {
  const { app } = startTestApp({ JWT_EXPIRES_IN: '-1' })
  const res = await app.handle(req('POST', '/api/v1/auths/signup', { name: 'A', email: 'a@example.com', password: PASSWORD }))
  expect((await res.json()).expires_at).toBeNull()
  expect(res.headers.get('set-cookie')).not.toContain('Expires=')
})

describe('admins manage roles and accounts', async () => {
  const { app, deps } = startTestApp({ DEFAULT_USER_ROLE: 'user' })
  const admin = await signUp(app, 'admin@example.com')
  const second = await signUp(app, 'second@example.com')
  const user = await signUp(app, 'user@example.com')
  const asAdmin = bearer(admin.token)
  const dataKeys = (id: string) => (deps.store.db!.query('SELECT count(*) AS n FROM data_key WHERE owner_id = ?').get(id) as { n: number }).n

  test('a normal user may neither change roles nor delete', async () => {
    expect(await statusOf(app, 'POST', `/api/v1/users/${second.id}/update`, bearer(user.token), { role: 'admin' })).toBe(403)
    expect(await statusOf(app, 'DELETE', `/api/v1/users/${second.id}`, bearer(user.token))).toBe(403)
  })

  test('an admin may not change their own role nor delete themselves', async () => {
    expect(await statusOf(app, 'POST', `/api/v1/users/${admin.id}/update`, asAdmin, { role: 'user' })).toBe(403)
    expect(await statusOf(app, 'DELETE', `/api/v1/users/${admin.id}`, asAdmin)).toBe(403)
  })

  test.each([['unknown uuid', crypto.randomUUID()], ['not a uuid', 'not-a-uuid'], ['sql', "1' OR '1'='1"]])('%s → 404', async (_, id) => {
    expect(await statusOf(app, 'POST', `/api/v1/users/${encodeURIComponent(id)}/update`, asAdmin, { role: 'user' })).toBe(404)
    expect(await statusOf(app, 'DELETE', `/api/v1/users/${encodeURIComponent(id)}`, asAdmin)).toBe(404)
  })

  test('a demoted user gets 403 account_pending on the next request with the same token', async () => {
    expect(await statusOf(app, 'GET', '/api/v1/auths/sessions', bearer(second.token))).toBe(200)
    const res = await app.handle(req('POST', `/api/v1/users/${second.id}/update`, { role: 'pending' }, asAdmin))
    expect(await res.json()).toMatchObject({ id: second.id, role: 'pending' })
    const next = await app.handle(req('POST', '/api/v1/auths/signout/all', undefined, bearer(second.token)))
    expect(next.status).toBe(403)
    expect((await next.json()).code).toBe('account_pending')
  })

  test('a deleted user\'s token → 401, and their data key is gone', async () => {
    expect(dataKeys(user.id)).toBe(1)
    expect(await statusOf(app, 'DELETE', `/api/v1/users/${user.id}`, asAdmin)).toBe(200)
    expect(await statusOf(app, 'GET', ME, bearer(user.token))).toBe(401)
    expect(dataKeys(user.id)).toBe(0)
    expect(await statusOf(app, 'POST', '/api/v1/auths/signin', {}, { email: 'user@example.com', password: PASSWORD })).toBe(400)
  })
})

describe('the cookie behind other credentials and other sites', async () => {
  const { app } = startTestApp({ DEFAULT_USER_ROLE: 'user' })
  const admin = await signUp(app, 'admin@example.com')
  const user = await signUp(app, 'user@example.com')

  // A basic-auth reverse proxy makes the browser send `Authorization: Basic ...` on every request;
  // Open WebUI then falls back to the cookie (HTTPBearer ignores other schemes).
  test('Authorization: Basic from a proxy does not hide the session cookie', async () => {
    const headers = { authorization: `Basic ${btoa('proxy:secret')}`, cookie: `token=${admin.token}` }
    expect(await statusOf(app, 'GET', ME, headers)).toBe(200)
  })

  test('a cross-site form POST carrying the cookie does not change a role', async () => {
    const res = await app.handle(req('POST', `/api/v1/users/${user.id}/update`, 'role=admin', {
      'content-type': 'application/x-www-form-urlencoded', cookie: `token=${admin.token}`, origin: 'https://evil.example', 'sec-fetch-site': 'cross-site',
    }))
    expect(res.status).toBeGreaterThanOrEqual(400)
    const listed = await (await app.handle(req('GET', USERS, undefined, bearer(admin.token)))).json()
    expect(listed.users.find((u: { id: string }) => u.id === user.id).role).toBe('user')
  })
})
