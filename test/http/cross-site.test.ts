/**
 * What a page on another site can make a visitor's browser send, refused: a form that makes the
 * admin of a fresh server, a sign-in to the attacker's account (login CSRF), a sign-out. And what
 * an anonymous caller can make the server do before it knows who is asking: hold large bodies,
 * or tell a protected route's field names.
 */
import { describe, expect, test } from 'bun:test'
import { bearer, PASSWORD, signUp } from '../helpers/accounts.ts'
import { req, startTestApp } from '../helpers/test-app.ts'

const FOREIGN = { origin: 'http://evil.example', 'sec-fetch-site': 'cross-site' }
const FORM = { 'content-type': 'application/x-www-form-urlencoded' }
const signupForm = `name=Mallory&email=mallory%40evil.example&password=${encodeURIComponent('mallory password 42')}`
const ME = '/api/v1/auths/'

const hasNoUsers = async (app: ReturnType<typeof startTestApp>['app']) =>
  ((await (await app.handle(req('GET', '/api/config'))).json()) as { onboarding: boolean }).onboarding

describe('a fresh server (no account yet) is not taken over from another site', () => {
  test.each<[string, string, Record<string, string>, number, string]>([
    ['cross-site form (Origin and Sec-Fetch-Site)', signupForm, { ...FORM, ...FOREIGN }, 403, 'cross_site_request'],
    ['cross-site form, Origin only', signupForm, { ...FORM, origin: 'http://evil.example' }, 403, 'cross_site_request'],
    ['cross-site form, Sec-Fetch-Site only', signupForm, { ...FORM, 'sec-fetch-site': 'cross-site' }, 403, 'cross_site_request'],
    ['a sandboxed frame (Origin: null)', signupForm, { ...FORM, origin: 'null' }, 403, 'cross_site_request'],
    ['a form body without any site markers', signupForm, FORM, 415, 'unsupported_media_type'],
    ['JSON smuggled as text/plain', JSON.stringify({ name: 'M', email: 'm@evil.example', password: 'mallory password 42' }), { 'content-type': 'text/plain' }, 415, 'unsupported_media_type'],
    ['multipart form', '--b\r\nContent-Disposition: form-data; name="name"\r\n\r\nM\r\n--b--\r\n', { 'content-type': 'multipart/form-data; boundary=b' }, 415, 'unsupported_media_type'],
    ['a body without Content-Type', JSON.stringify({ name: 'M', email: 'm@evil.example', password: 'mallory password 42' }), {}, 415, 'unsupported_media_type'],
  ])('%s: refused, no account made', async (_, body, headers, status, code) => {
    const { app } = startTestApp()
    const res = await app.handle(req('POST', '/api/v1/auths/signup', body, headers))
    expect(res.status).toBe(status)
    expect(((await res.json()) as { code: string }).code).toBe(code)
    expect(res.headers.get('set-cookie')).toBeNull()
    expect(res.headers.get('x-frame-options')).toBe('DENY')
    expect(await hasNoUsers(app)).toBe(true)
  })

  test('the same sign-up as JSON from an API client (no Origin, no Sec-Fetch-Site) still works', async () => {
    const { app } = startTestApp()
    await signUp(app, 'admin@example.com')
    expect(await hasNoUsers(app)).toBe(false)
  })

  test.each([['http://localhost'], ['same-origin']])('from the server\'s own page (%s) it works', async (marker) => {
    const { app } = startTestApp()
    const headers: Record<string, string> = marker === 'same-origin' ? { 'sec-fetch-site': 'same-origin' } : { origin: marker, 'sec-fetch-site': 'same-origin' }
    const res = await app.handle(req('POST', '/api/v1/auths/signup', { name: 'Ada', email: 'ada@example.com', password: PASSWORD }, headers))
    expect(res.status).toBe(200)
  })
})

describe('login CSRF: another site can\'t sign the visitor\'s browser in to the attacker\'s account', () => {
  test.each<[string, string | object, Record<string, string>]>([
    ['a form', `email=mallory%40example.com&password=${encodeURIComponent(PASSWORD)}`, { ...FORM, ...FOREIGN }],
    ['a fetch with a JSON content type', { email: 'mallory@example.com', password: PASSWORD }, FOREIGN],
    ['same-site (a sibling subdomain)', { email: 'mallory@example.com', password: PASSWORD }, { origin: 'http://other.localhost', 'sec-fetch-site': 'same-site' }],
  ])('%s → 403 and no cookie', async (_, body, headers) => {
    const { app, audit } = startTestApp()
    await signUp(app, 'mallory@example.com')
    const res = await app.handle(req('POST', '/api/v1/auths/signin', body, headers))
    expect(res.status).toBe(403)
    expect(res.headers.get('set-cookie')).toBeNull()
    expect(audit.entries.filter((entry) => entry.event === 'signin_succeeded')).toEqual([])
  })

  test('an origin listed in CORS_ALLOW_ORIGIN may sign in', async () => {
    const { app } = startTestApp({ CORS_ALLOW_ORIGIN: 'https://chat.example.com' })
    await signUp(app, 'ada@example.com')
    const res = await app.handle(req('POST', '/api/v1/auths/signin', { email: 'ada@example.com', password: PASSWORD }, { origin: 'https://chat.example.com', 'sec-fetch-site': 'cross-site' }))
    expect(res.status).toBe(200)
  })

  test('with CORS_ALLOW_ORIGIN=*, another origin may call with a token it holds, but not sign in or out, token or not', async () => {
    const { app } = startTestApp({ CORS_ALLOW_ORIGIN: '*' })
    const ada = await signUp(app, 'ada@example.com')
    const withToken = await app.handle(req('POST', '/api/v1/chats/new', { chat: { title: 'from a tool' } }, { ...FOREIGN, ...bearer(ada.token) }))
    expect(withToken.status).toBe(200)
    for (const headers of [FOREIGN, { ...FOREIGN, ...bearer('made-up') }, { ...FOREIGN, ...bearer(ada.token) }, { ...FOREIGN, 'x-api-key': 'sk-made-up' }]) {
      const signin = await app.handle(req('POST', '/api/v1/auths/signin', { email: 'ada@example.com', password: PASSWORD }, headers))
      expect(signin.status).toBe(403)
      expect(signin.headers.get('set-cookie')).toBeNull()
    }
    expect((await app.handle(req('POST', '/api/v1/auths/signout/all', undefined, { ...FOREIGN, ...bearer(ada.token) }))).status).toBe(403)
  })
})

describe('sign-out: a GET from another site does not end the session', () => {
  async function signedIn() {
    const started = startTestApp()
    const ada = await signUp(started.app, 'ada@example.com')
    const cookie = { cookie: `token=${ada.token}` }
    const isLive = async () => (await started.app.handle(req('GET', ME, undefined, cookie))).status === 200
    return { ...started, cookie, isLive }
  }

  test.each<[string, Record<string, string>]>([
    ['a link or image on another site', { 'sec-fetch-site': 'cross-site' }],
    ['a fetch from another site', FOREIGN],
    ['a sibling subdomain', { 'sec-fetch-site': 'same-site' }],
  ])('%s → 403, still signed in', async (_, headers) => {
    const { app, cookie, isLive } = await signedIn()
    const res = await app.handle(req('GET', '/api/v1/auths/signout', undefined, { ...cookie, ...headers }))
    expect(res.status).toBe(403)
    expect(res.headers.get('set-cookie')).toBeNull()
    expect(await isLive()).toBe(true)
    expect((await app.handle(req('GET', '/api/v1/auths/signout/', undefined, { ...cookie, ...headers }))).status).toBe(403)
    expect(await isLive()).toBe(true)
  })

  test.each<[string, Record<string, string>]>([
    ['the page itself (Open WebUI signs out with GET)', { 'sec-fetch-site': 'same-origin' }],
    ['the address bar', { 'sec-fetch-site': 'none' }],
    ['a client without browser headers', {}],
  ])('%s → signed out', async (_, headers) => {
    const { app, cookie, isLive } = await signedIn()
    const res = await app.handle(req('GET', '/api/v1/auths/signout', undefined, { ...cookie, ...headers }))
    expect(res.status).toBe(200)
    expect(await isLive()).toBe(false)
  })

  test('a cross-site POST sign-out → 403, still signed in', async () => {
    const { app, cookie, isLive } = await signedIn()
    expect((await app.handle(req('POST', '/api/v1/auths/signout', undefined, { ...cookie, ...FOREIGN }))).status).toBe(403)
    expect(await isLive()).toBe(true)
  })
})

describe('GET /api/v1/auths/ does not hand the cookie\'s token to page script', () => {
  test('signed in by cookie: token null; by Bearer: the token; sign-in answers carry it', async () => {
    const { app } = startTestApp()
    const ada = await signUp(app, 'ada@example.com')
    expect(ada.token).toMatch(/^ey/)
    const byCookie = (await (await app.handle(req('GET', ME, undefined, { cookie: `token=${ada.token}` }))).json()) as { token: unknown; email: string }
    expect(byCookie).toMatchObject({ token: null, email: 'ada@example.com' })
    expect(JSON.stringify(byCookie)).not.toContain(ada.token)
    const byBearer = (await (await app.handle(req('GET', ME, undefined, bearer(ada.token)))).json()) as { token: unknown }
    expect(byBearer.token).toBe(ada.token)
  })
})

describe('anonymous requests: a small body limit, and 401 before any validation', () => {
  const big = JSON.stringify({ email: 'ada@example.com', password: 'x'.repeat(100 * 1024) })

  test('a declared body over 64 KB without a credential → 413 before it is read, with the security headers', async () => {
    const { app } = startTestApp()
    const res = await app.handle(req('POST', '/api/v1/auths/signin', big, { 'content-type': 'application/json', 'content-length': String(big.length) }))
    expect(res.status).toBe(413)
    expect(((await res.json()) as { code: string }).code).toBe('body_too_large')
    expect(res.headers.get('x-content-type-options')).toBe('nosniff')
  })

  test('a body without a declared length (chunked) is stopped at 64 KB as it is read', async () => {
    const { app } = startTestApp()
    const res = await app.handle(req('POST', '/api/v1/auths/signin', big, { 'content-type': 'application/json' }))
    expect(res.status).toBe(413)
  })

  test('a made-up credential does not lift the limit; a valid one does', async () => {
    const { app } = startTestApp()
    const ada = await signUp(app, 'ada@example.com')
    const body = JSON.stringify({ chat: { title: 't'.repeat(100 * 1024) } })
    for (const headers of [bearer('not-a-token'), bearer(`${ada.token}x`), { cookie: 'token=forged' }]) {
      expect((await app.handle(req('POST', '/api/v1/chats/new', body, { 'content-type': 'application/json', ...headers }))).status).toBe(413)
    }
    const allowed = await app.handle(req('POST', '/api/v1/chats/new', body, { 'content-type': 'application/json', 'content-length': String(body.length), ...bearer(ada.token) }))
    expect(allowed.status).not.toBe(413)
  })

  test.each<[string, unknown]>([
    ['a body of the wrong shape', { nothing: true }],
    ['a body with a wrong field type', { chat: 5 }],
    ['an empty object', {}],
  ])('an anonymous POST to a protected route with %s → 401 that names no field', async (_, body) => {
    const { app } = startTestApp()
    const res = await app.handle(req('POST', '/api/v1/chats/new', body))
    expect(res.status).toBe(401)
    const text = await res.text()
    expect(text).not.toContain('chat')
    expect(text).not.toContain('expected')
  })

  test('a bad query on a protected route without a credential → 401, not 422', async () => {
    const { app } = startTestApp()
    expect((await app.handle(req('GET', '/api/v1/chats/?page=not-a-number'))).status).toBe(401)
  })

  test('signed in, the same bad body gets its 422', async () => {
    const { app } = startTestApp()
    const ada = await signUp(app, 'ada@example.com')
    expect((await app.handle(req('POST', '/api/v1/chats/new', { chat: 5 }, bearer(ada.token)))).status).toBe(422)
  })
})
