/**
 * /health and /api/version answered by Bun's router (src/http/fixed-answers.ts), and the page (`/`,
 * src/http/page-answer.ts), must be the answers the app gave before: the same status, body and headers for the same request, over real sockets.
 * "Before" is the same app served without the fast routes, so every request goes through Elysia.
 */
import { afterAll, describe, expect, test } from 'bun:test'
import { listen } from '../../src/http/listen.ts'
import { startTestApp } from '../helpers/test-app.ts'

type Shape = [name: string, method: string, path: string, headers: Record<string, string>, body?: string]

const shapes: Shape[] = [
  ['GET /health', 'GET', '/health', {}],
  ['GET /health with a query string', 'GET', '/health?probe=1&x=%20', {}],
  ['GET /api/version', 'GET', '/api/version', {}],
  ['GET /api/version with a query string', 'GET', '/api/version?x=1', {}],
  ['HTTPS behind the trusted proxy', 'GET', '/health', { 'x-forwarded-proto': 'https' }],
  ['HTTPS behind the trusted proxy, /api/version', 'GET', '/api/version', { 'x-forwarded-proto': 'https', 'x-forwarded-for': '203.0.113.9' }],
  ['HTTP behind the trusted proxy', 'GET', '/health', { 'x-forwarded-proto': 'http' }],
  ['HEAD /health', 'HEAD', '/health', {}],
  ['HEAD /api/version over HTTPS', 'HEAD', '/api/version', { 'x-forwarded-proto': 'https' }],
  ['POST /health', 'POST', '/health', { 'content-type': 'application/json' }, '{}'],
  ['DELETE /health', 'DELETE', '/health', {}],
  ['PUT /api/version', 'PUT', '/api/version', { 'content-type': 'application/json' }, '{}'],
  ['GET /health with a body', 'GET', '/health', { 'content-type': 'text/plain', 'content-length': '3' }, 'abc'],
  ['GET /health/ (trailing slash)', 'GET', '/health/', {}],
  ['a Host outside ALLOWED_HOSTS', 'GET', '/health', { host: 'rebound.example' }],
  ['a Host outside ALLOWED_HOSTS, /api/version', 'GET', '/api/version', { host: 'rebound.example:8080' }],
  ['an allowed Host with a port', 'GET', '/health', { host: 'localhost:3000' }],
  ['GET / (the page)', 'GET', '/', {}],
  ['GET / gzipped', 'GET', '/', { 'accept-encoding': 'gzip, deflate, br' }],
  ['GET / refusing gzip', 'GET', '/', { 'accept-encoding': 'gzip;q=0, br' }],
  ['GET / with a query string', 'GET', '/?next=%2Fc%2F1&x', { 'accept-encoding': 'gzip' }],
  ['HEAD /', 'HEAD', '/', {}],
  ['HEAD / gzipped', 'HEAD', '/', { 'accept-encoding': 'gzip' }],
  ['GET / over HTTPS behind the trusted proxy', 'GET', '/', { 'x-forwarded-proto': 'https', 'x-forwarded-for': '203.0.113.9', 'accept-encoding': 'gzip' }],
  ['POST /', 'POST', '/', { 'content-type': 'application/json' }, '{}'],
  ['GET / with a body', 'GET', '/', { 'content-type': 'text/plain', 'content-length': '3' }, 'abc'],
  ['GET / from a Host outside ALLOWED_HOSTS', 'GET', '/', { host: 'rebound.example' }],
  ['GET / with a cross-site Origin', 'GET', '/', { origin: 'https://evil.example', 'sec-fetch-site': 'cross-site' }],
  ['GET /index.html (the app\'s)', 'GET', '/index.html', {}],
]

test('a Host outside the default ALLOWED_HOSTS is refused on the fast routes too', async () => {
  const pair = servePair({})
  try {
    const answer = await answerOf(pair.fast, shapes.find(([name]) => name === 'a Host outside ALLOWED_HOSTS')!)
    expect(answer.status).toBe('HTTP/1.1 421 Misdirected Request')
  } finally {
    await pair.stop()
  }
})

/** The answer as comparable data: status, body, and every header but the date (raw HTTP/1.1, so the Host and a GET's body are as written). */
async function answerOf(base: string, [, method, path, headers, body]: Shape) {
  const { hostname, port } = new URL(base)
  const head = { host: `${hostname}:${port}`, connection: 'close', ...headers }
  const text = `${method} ${path} HTTP/1.1\r\n${Object.entries(head).map(([name, value]) => `${name}: ${value}\r\n`).join('')}\r\n${body ?? ''}`
  const chunks: Uint8Array[] = []
  const { promise: closed, resolve } = Promise.withResolvers<void>()
  const socket = await Bun.connect({ hostname, port: Number(port), socket: { data: (_, chunk) => void chunks.push(new Uint8Array(chunk)), close: () => resolve(), error: () => resolve() } })
  socket.write(text)
  await closed
  const raw = Buffer.concat(chunks).toString('utf8')
  const [top = '', ...rest] = raw.split('\r\n\r\n')
  const [statusLine = '', ...lines] = top.split('\r\n')
  const entries = lines.map((line) => [line.slice(0, line.indexOf(':')).toLowerCase(), line.slice(line.indexOf(':') + 1).trim()]).filter(([name]) => name !== 'date').sort(([a = ''], [b = '']) => a.localeCompare(b))
  return { status: statusLine, body: rest.join('\r\n\r\n'), headers: entries }
}

/** Serves one app with the fast routes and one without, on loopback. */
function servePair(env: Record<string, string>) {
  const fast = startTestApp(env).app
  const before = startTestApp(env).app
  // note: the fast routes reach Bun through the app's `serve` settings; without them every request goes to Elysia.
  ;(before.config as { serve?: unknown }).serve = undefined
  // note: the fast app is served as `enclave serve` serves it (http/listen.ts), the other by Elysia's listen.
  listen(fast, { hostname: '127.0.0.1', port: 0, maxRequestBodySize: 128 * 1024 * 1024, reusePort: false })
  before.listen({ hostname: '127.0.0.1', port: 0 })
  return {
    fast: `http://127.0.0.1:${fast.server!.port}`,
    before: `http://127.0.0.1:${before.server!.port}`,
    stop: () => Promise.all([fast.stop(), before.stop()]),
  }
}

const settings: [string, Record<string, string>][] = [
  ['defaults (loopback host, loopback trusted proxy)', {}],
  ['HSTS and CACHE_CONTROL off', { HSTS: '', CACHE_CONTROL: '' }],
  ['custom header values, any host', { HOST: '0.0.0.0', X_FRAME_OPTIONS: 'SAMEORIGIN', HSTS: 'max-age=600', CACHE_CONTROL: 'no-cache' }],
  ['no trusted proxy', { FORWARDED_ALLOW_IPS: '' }],
  ['ALLOWED_HOSTS set', { ALLOWED_HOSTS: 'chat.example,*.corp.example' }],
  ['CORS allowed origins (no fast path)', { CORS_ALLOW_ORIGIN: 'https://app.example' }],
]

describe.each(settings)('%s', (_, env) => {
  const pair = servePair(env)
  afterAll(() => pair.stop())

  // note: a rest parameter, so bun:test passes no done callback (a shape without a body has four elements).
  test.each(shapes)('%s: the same answer as through the app', async (...each: unknown[]) => {
    const shape = each as Shape
    const [fast, before] = await Promise.all([answerOf(pair.fast, shape), answerOf(pair.before, shape)])
    expect(fast).toEqual(before)
  })
})

test('the fast path is taken: /health answers without the app being asked', async () => {
  const { app } = startTestApp()
  let asked = 0
  app.onRequest(() => void asked++)
  app.listen({ hostname: '127.0.0.1', port: 0 })
  try {
    const res = await fetch(`http://127.0.0.1:${app.server!.port}/health`)
    expect(await res.json()).toEqual({ status: true })
    expect(res.headers.get('x-content-type-options')).toBe('nosniff')
    expect(asked).toBe(0)
    await (await fetch(`http://127.0.0.1:${app.server!.port}/health`, { method: 'DELETE' })).arrayBuffer()
    expect(asked).toBe(1)
    const page = await fetch(`http://127.0.0.1:${app.server!.port}/`)
    expect(await page.text()).toContain('<html')
    expect(asked).toBe(1)
  } finally {
    await app.stop()
  }
})
