import { describe, expect, test } from 'bun:test'
import { PASSWORD, signIn, signUp } from '../helpers/accounts.ts'
import { req, startTestApp } from '../helpers/test-app.ts'

const SIGNUP = '/api/v1/auths/signup'
const SIGNIN = '/api/v1/auths/signin'
const FOUR_WEEKS_MS = 4 * 7 * 86_400_000

describe('sign-up answers the session object and sets the cookie', () => {
  const T = Date.now()
  const { app } = startTestApp({}, () => T)

  test('the first account is admin, with the Open WebUI session shape', async () => {
    const res = await app.handle(req('POST', SIGNUP, { name: 'Ada', email: 'ada@example.com', password: PASSWORD }))
    expect(res.status).toBe(200)
    const body = await res.json()
    expect(Object.keys(body).sort()).toEqual(['email', 'expires_at', 'id', 'name', 'permissions', 'profile_image_url', 'role', 'token', 'token_type'])
    expect(body).toMatchObject({ token_type: 'Bearer', email: 'ada@example.com', name: 'Ada', role: 'admin', profile_image_url: '/user.png' })
    expect(body.expires_at).toBe(Math.floor((T + FOUR_WEEKS_MS) / 1000))
    expect(typeof body.permissions).toBe('object')
    expect(JSON.stringify(body)).not.toContain(PASSWORD)
    const cookie = res.headers.get('set-cookie')!
    const attributes = cookie.split(';').map((part) => part.trim())
    expect(attributes[0]).toBe(`token=${body.token}`)
    expect(attributes).toContain('HttpOnly')
    expect(attributes).toContain('Path=/')
    expect(attributes).toContain('SameSite=Lax')
    expect(attributes.map((a) => a.toLowerCase())).not.toContain('secure')
  })

  test('later accounts get DEFAULT_USER_ROLE, pending by default', async () => {
    expect((await signUp(app, 'bob@example.com')).role).toBe('pending')
  })

  test('DEFAULT_USER_ROLE=user makes later accounts users', async () => {
    const { app } = startTestApp({ DEFAULT_USER_ROLE: 'user' })
    expect((await signUp(app, 'first@example.com')).role).toBe('admin')
    expect((await signUp(app, 'second@example.com')).role).toBe('user')
  })
})

describe('simultaneous first sign-ups make exactly one admin', () => {
  test.each([[2], [10]])('%i at once', async (n) => {
    const { app } = startTestApp()
    const answers = await Promise.all(Array.from({ length: n }, (_, i) =>
      app.handle(req('POST', SIGNUP, { name: `U${i}`, email: `u${i}@example.com`, password: PASSWORD }))))
    expect(answers.map((res) => res.status)).toEqual(Array(n).fill(200))
    const roles = await Promise.all(answers.map(async (res) => (await res.json()).role))
    expect(roles.filter((role) => role === 'admin')).toHaveLength(1)
    expect(roles.filter((role) => role === 'pending')).toHaveLength(n - 1)
  })

  test('five simultaneous sign-ups with one email make one account', async () => {
    const { app } = startTestApp()
    const answers = await Promise.all(Array.from({ length: 5 }, () => app.handle(req('POST', SIGNUP, { name: 'A', email: 'same@example.com', password: PASSWORD }))))
    expect(answers.map((res) => res.status).sort()).toEqual([200, 400, 400, 400, 400])
  })
})

describe.each([['ENABLE_SIGNUP'], ['ENABLE_LOGIN_FORM']])('%s=false', (variable) => {
  test('the first account may still sign up; later ones get 403', async () => {
    const { app } = startTestApp({ [variable]: 'false' })
    expect((await signUp(app, 'first@example.com')).role).toBe('admin')
    const res = await app.handle(req('POST', SIGNUP, { name: 'B', email: 'second@example.com', password: PASSWORD }))
    expect(res.status).toBe(403)
    expect((await res.json()).code).toBe('signup_disabled')
  })

  test('of five simultaneous first sign-ups, exactly one gets in', async () => {
    const { app } = startTestApp({ [variable]: 'false' })
    const answers = await Promise.all(Array.from({ length: 5 }, (_, i) =>
      app.handle(req('POST', SIGNUP, { name: `U${i}`, email: `u${i}@example.com`, password: PASSWORD }))))
    expect(answers.map((res) => res.status).sort()).toEqual([200, 403, 403, 403, 403])
  })
})

describe('sign-up refuses bad emails and passwords', () => {
  const { app } = startTestApp()
  const taken = 'jos\u00e9@example.com' // NFC

  test('setup: one account exists', async () => {
    await signUp(app, taken)
  })

  test.each([
    ['the same', taken], ['upper-cased', 'JOS\u00c9@EXAMPLE.COM'], ['with spaces', `  ${taken}  `],
    ['NFD', 'jose\u0301@example.com'], ['NFD upper-cased', 'JOSE\u0301@Example.Com'],
  ])('duplicate email (%s) → 400', async (_, email) => {
    const res = await app.handle(req('POST', SIGNUP, { name: 'X', email, password: PASSWORD }))
    expect(res.status).toBe(400)
    expect((await res.json()).code).toBe('email_taken')
  })

  test.each([['plain'], ['a@b'], ['@example.com'], ['a b@example.com'], ['a@@example.com'], [''], [' '], ['a@example.'], [`${'x'.repeat(65)}@example.com`]])(
    'invalid email %p → 400', async (email) => {
      const res = await app.handle(req('POST', SIGNUP, { name: 'X', email, password: PASSWORD }))
      expect(res.status).toBe(400)
      expect((await res.json()).code).toBe('invalid_email')
    })

  test.each([[''], ['1234567'], ['\u{1F600}'.repeat(7)]])('password %p is too short → 400', async (password) => {
    const res = await app.handle(req('POST', SIGNUP, { name: 'X', email: 'short@example.com', password }))
    expect(res.status).toBe(400)
    expect((await res.json()).code).toBe('password_too_short')
  })

  test('a 100-character password works', async () => {
    const password = 'p4ss-'.repeat(20)
    await signUp(app, 'long@example.com', password)
    await signIn(app, 'long@example.com', password)
  })

  test('no 72-byte truncation: a password differing only after byte 72 does not sign in', async () => {
    const prefix = 'a'.repeat(72)
    await signUp(app, 'bcrypt@example.com', `${prefix}-right`)
    const res = await app.handle(req('POST', SIGNIN, { email: 'bcrypt@example.com', password: `${prefix}-wrong` }))
    expect(res.status).toBe(400)
    await signIn(app, 'bcrypt@example.com', `${prefix}-right`)
  })
})

describe('ENABLE_PASSWORD_VALIDATION=true', () => {
  test('the default pattern refuses all-lowercase-and-digit passwords, accepts a mixed one', async () => {
    const { app } = startTestApp({ ENABLE_PASSWORD_VALIDATION: 'true' })
    const res = await app.handle(req('POST', SIGNUP, { name: 'X', email: 'weak@example.com', password: 'alllowercase1' }))
    expect(res.status).toBe(400)
    expect((await res.json()).code).toBe('password_too_weak')
    await signUp(app, 'strong@example.com', 'Mixed-Case-1')
  })

  test('PASSWORD_VALIDATION_HINT is the detail shown', async () => {
    const hint = 'Use upper and lower case, a digit and a symbol.'
    const { app } = startTestApp({ ENABLE_PASSWORD_VALIDATION: 'true', PASSWORD_VALIDATION_HINT: hint })
    const res = await app.handle(req('POST', SIGNUP, { name: 'X', email: 'weak@example.com', password: 'alllowercase1' }))
    expect(res.status).toBe(400)
    expect((await res.json()).detail).toBe(hint)
  })
})

describe('sign-in', () => {
  const { app } = startTestApp()

  test('setup', async () => {
    await signUp(app, 'ada@example.com')
  })

  test('right password → 200 with a token; emails compare case- and space-insensitively', async () => {
    expect((await signIn(app, 'ada@example.com')).token).toBeString()
    expect((await signIn(app, '  ADA@Example.COM ')).email).toBe('ada@example.com')
  })

  test('wrong password and unknown email get byte-identical 400s', async () => {
    const wrong = await app.handle(req('POST', SIGNIN, { email: 'ada@example.com', password: 'not the password' }))
    const unknown = await app.handle(req('POST', SIGNIN, { email: 'nobody@example.com', password: 'not the password' }))
    expect([wrong.status, unknown.status]).toEqual([400, 400])
    expect(await wrong.text()).toBe(await unknown.text())
    expect(wrong.headers.get('set-cookie')).toBeNull()
  })

  test.each([[{ email: 'ada@example.com' }], [{ password: PASSWORD }], [{}], [{ email: 1, password: true }], [[]]])('shape %j → 422', async (body) => {
    expect((await app.handle(req('POST', SIGNIN, body))).status).toBe(422)
  })

  test('malformed JSON → 400', async () => {
    const res = await app.handle(req('POST', SIGNIN, '{"email": "ada@', { 'content-type': 'application/json' }))
    expect(res.status).toBe(400)
  })

  test('a text/plain body is refused, not a 500', async () => {
    const res = await app.handle(req('POST', SIGNIN, JSON.stringify({ email: 'ada@example.com', password: PASSWORD }), { 'content-type': 'text/plain' }))
    expect(res.status).toBeGreaterThanOrEqual(400)
    expect(res.status).toBeLessThan(500)
  })

  test('ENABLE_PASSWORD_AUTH=false makes sign-in 403 (the first account can still sign up)', async () => {
    const { app } = startTestApp({ ENABLE_PASSWORD_AUTH: 'false' })
    await signUp(app, 'first@example.com')
    const res = await app.handle(req('POST', SIGNIN, { email: 'first@example.com', password: PASSWORD }))
    expect(res.status).toBe(403)
    expect((await res.json()).code).toBe('password_auth_disabled')
  })
})

describe('hostile input in every field never gives a 500 nor comes back in an error', () => {
  const { app } = startTestApp({ SIGNIN_RATE_LIMIT: '1000/1m', SIGNIN_RATE_LIMIT_PER_IP: '1000/1m' })
  const payloads: [string, string][] = [
    ['SQL', "' OR 1=1 --"], ['LDAP', '*)(uid=*'], ['NUL', 'nul\u0000byte\u0000'], ['RTL override', '\u202Emoc.live@\u202Cevil'],
    ['emoji', '\u{1F600}\u{1F525}\u{1F480}'.repeat(3)], ['1 MB', 'm'.repeat(1024 * 1024)],
  ]
  let n = 0
  const fresh = () => `fuzz${++n}@example.com`
  const probe = (payload: string) => (payload.length > 64 ? payload.slice(0, 64) : payload)

  test('setup', async () => {
    await signUp(app, 'target@example.com')
  })

  describe.each(payloads)('%s', (_, payload) => {
    test.each([['name'], ['email'], ['password']])('sign-up %s', async (field) => {
      const body = { name: 'Fuzz', email: fresh(), password: PASSWORD, [field]: payload }
      const res = await app.handle(req('POST', SIGNUP, body))
      expect([200, 400, 413, 422]).toContain(res.status)
      const text = await res.text()
      if (payload.length > 4096) expect(res.status).not.toBe(200)
      if (res.status !== 200 || field !== 'name') expect(text).not.toContain(probe(payload))
      if (res.status === 200) expect(text).not.toContain(body.password)
    })

    test.each([['email'], ['password']])('sign-in %s', async (field) => {
      const res = await app.handle(req('POST', SIGNIN, { email: 'target@example.com', password: 'wrong password', [field]: payload }))
      expect([400, 413, 422]).toContain(res.status)
      expect(await res.text()).not.toContain(probe(payload))
    })
  })
})
