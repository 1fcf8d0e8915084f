/**
 * The cross-site and anonymous refusals, against the compiled binary over real sockets: a foreign
 * page's form can't make the first admin, sign a browser in or out; a rebound host name gets 421;
 * anonymous and oversized bodies get our 413 (with the security headers), and an anonymous caller
 * of a protected route 401 before any validation.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { connect } from 'node:net'
import { PASSWORD } from '../helpers/accounts.ts'
import { startBinary, tempDirsRemovedAfterAll, type RunningBinary } from '../helpers/binary.ts'

const FOREIGN = { origin: 'http://evil.example', 'sec-fetch-site': 'cross-site' }
const FORM = { 'content-type': 'application/x-www-form-urlencoded' }

let server: RunningBinary
let port: number
beforeAll(async () => {
  server = await startBinary({ cwd: tempDirsRemovedAfterAll()() })
  port = Number(new URL(server.url).port)
})
afterAll(async () => {
  await server?.stop()
})

const post = (path: string, body: string, headers: Record<string, string>) => fetch(`${server.url}${path}`, { method: 'POST', body, headers })
const onboarding = async () => ((await (await fetch(`${server.url}/api/config`)).json()) as { onboarding: boolean }).onboarding

/** Sends raw request bytes and returns the whole answer once the server closes. */
function rawRequest(head: string, body = ''): Promise<string> {
  return new Promise((resolve, reject) => {
    let answer = ''
    const socket = connect(port, '127.0.0.1', () => socket.write(head + body))
    socket.on('data', (chunk) => void (answer += chunk.toString()))
    socket.on('close', () => resolve(answer))
    socket.on('error', (error) => (answer === '' ? reject(error) : resolve(answer)))
    socket.setTimeout(5_000, () => socket.destroy())
  })
}

test('a fresh server: a foreign page\'s sign-up form makes no admin; the server\'s own sign-up still can', async () => {
  const form = `name=Mallory&email=mallory%40evil.example&password=${encodeURIComponent('mallory password 42')}`
  const refused = await post('/api/v1/auths/signup', form, { ...FORM, ...FOREIGN })
  expect(refused.status).toBe(403)
  expect(refused.headers.get('set-cookie')).toBeNull()
  expect(refused.headers.get('x-frame-options')).toBe('DENY')
  expect((await post('/api/v1/auths/signup', form, FORM)).status).toBe(415)
  expect(await onboarding()).toBe(true)

  const signup = await post('/api/v1/auths/signup', JSON.stringify({ name: 'Ada', email: 'ada@example.com', password: PASSWORD }), { 'content-type': 'application/json' })
  expect(signup.status).toBe(200)
  expect(await onboarding()).toBe(false)
})

test('login CSRF: a foreign page\'s sign-in form sets no cookie', async () => {
  const form = `email=ada%40example.com&password=${encodeURIComponent(PASSWORD)}`
  const res = await post('/api/v1/auths/signin', form, { ...FORM, ...FOREIGN })
  expect(res.status).toBe(403)
  expect(res.headers.get('set-cookie')).toBeNull()
})

test('a cross-site GET to sign-out leaves the session; the page\'s own GET ends it', async () => {
  const signin = await post('/api/v1/auths/signin', JSON.stringify({ email: 'ada@example.com', password: PASSWORD }), { 'content-type': 'application/json' })
  const cookie = `token=${((await signin.json()) as { token: string }).token}`
  const me = async () => fetch(`${server.url}/api/v1/auths/`, { headers: { cookie } })
  const signout = (site: string) => fetch(`${server.url}/api/v1/auths/signout`, { headers: { cookie, 'sec-fetch-site': site } })

  expect((await signout('cross-site')).status).toBe(403)
  const live = await me()
  expect(live.status).toBe(200)
  expect(((await live.json()) as { token: unknown }).token).toBeNull()
  expect((await signout('same-origin')).status).toBe(200)
  expect((await me()).status).toBe(401)
})

test('DNS rebinding: a request naming another host gets 421 with the security headers', async () => {
  const answer = await rawRequest(`GET /api/config HTTP/1.1\r\nHost: evil.example:${port}\r\nConnection: close\r\n\r\n`)
  expect(answer.split('\r\n')[0]).toBe('HTTP/1.1 421 Misdirected Request')
  expect(answer).toContain('"code":"host_not_allowed"')
  expect(answer.toLowerCase()).toContain('x-content-type-options: nosniff')
  const own = await rawRequest(`GET /api/config HTTP/1.1\r\nHost: localhost:${port}\r\nConnection: close\r\n\r\n`)
  expect(own.split('\r\n')[0]).toBe('HTTP/1.1 200 OK')
})

test('bodies: anonymous over 64 KB and anyone over MAX_REQUEST_BODY_SIZE get our 413, with the security headers', async () => {
  const anonymous = await post('/api/v1/auths/signin', JSON.stringify({ email: 'ada@example.com', password: 'x'.repeat(100 * 1024) }), { 'content-type': 'application/json' })
  expect(anonymous.status).toBe(413)
  expect(anonymous.headers.get('x-content-type-options')).toBe('nosniff')
  // note: 20 MB declared, a few bytes sent: the answer must come before the body does.
  const huge = await rawRequest(`POST /api/v1/auths/signin HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nContent-Type: application/json\r\nContent-Length: ${20 * 1024 * 1024}\r\nConnection: close\r\n\r\n`, '{"email":')
  expect(huge.split('\r\n')[0]).toBe('HTTP/1.1 413 Payload Too Large')
  expect(huge.toLowerCase()).toContain('x-content-type-options: nosniff')
  expect(huge).toContain('"code":"body_too_large"')
})

test('chunked bodies (no declared length) are stopped at the limit as they are read', async () => {
  const streamOf = (bytes: number) => new ReadableStream<Uint8Array>({
    start(controller) {
      controller.enqueue(new TextEncoder().encode('{"email":"ada@example.com","password":"'))
      for (let sent = 0; sent < bytes; sent += 64 * 1024) controller.enqueue(new Uint8Array(64 * 1024).fill(120))
      controller.enqueue(new TextEncoder().encode('"}'))
      controller.close()
    },
  })
  const anonymous = await fetch(`${server.url}/api/v1/auths/signin`, { method: 'POST', body: streamOf(256 * 1024), headers: { 'content-type': 'application/json' } })
  expect(anonymous.status).toBe(413)
  expect(anonymous.headers.get('x-content-type-options')).toBe('nosniff')
  const signin = await post('/api/v1/auths/signin', JSON.stringify({ email: 'ada@example.com', password: PASSWORD }), { 'content-type': 'application/json' })
  const { token } = (await signin.json()) as { token: string }
  const signedIn = await fetch(`${server.url}/api/v1/chats/new`, { method: 'POST', body: streamOf(17 * 1024 * 1024), headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` } })
  expect(signedIn.status).toBe(413)
  expect(((await signedIn.json()) as { code: string }).code).toBe('body_too_large')
  expect(await (await fetch(`${server.url}/health`)).json()).toEqual({ status: true })
})

test('an anonymous POST to a protected route with a bad body gets 401, naming no field', async () => {
  const res = await post('/api/v1/chats/new', JSON.stringify({ chat: 5 }), { 'content-type': 'application/json' })
  expect(res.status).toBe(401)
  expect(await res.text()).not.toContain('chat')
})
