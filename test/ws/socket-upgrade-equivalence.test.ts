/**
 * The chat socket's upgrade sent over the wire to two servers of one app: one as `serve` runs it
 * (listen.ts: Bun's router takes `GET /api/ws` first, socket-upgrade.ts) and one with the app's
 * handler alone (every upgrade through the app's plugins and its socket route). Each request, raw
 * bytes over TCP, must get the same answer from both: the status, the headers that matter and the
 * body. Threat: the fast path admitting what the app refuses (another site's Origin, a key not
 * allowed on /api/ws, a revoked session, a pending or deleted account, a forged or malformed
 * credential) or answering a refusal differently.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { connect as tcpConnect } from 'node:net'
import type { Server } from 'bun'
import { websocket } from 'elysia/ws'
import { listen } from '../../src/http/listen.ts'
import { apiKeyHeader, bearer, signUp, statusOf } from '../helpers/accounts.ts'
import { req, startTestApp } from '../helpers/test-app.ts'

let started: ReturnType<typeof startTestApp>
let fastServer: Server<unknown>
let appServer: Server<unknown>
const accounts: Record<string, { id: string; token: string }> = {}
let restrictedKey: string

beforeAll(async () => {
  // note: loopback is no trusted proxy here (FORWARDED_ALLOW_IPS' default), so a client's forwarded headers must count for nothing on both paths.
  started = startTestApp({ FORWARDED_ALLOW_IPS: '10.9.9.9', ENABLE_API_KEYS: 'true', ENABLE_API_KEYS_ENDPOINT_RESTRICTIONS: 'true', API_KEYS_ALLOWED_ENDPOINTS: '/api/v1/chats' })
  const { app } = started
  const admin = accounts.admin = await signUp(app, 'ada@example.com')
  for (const name of ['user', 'pending', 'deleted', 'signedOut', 'demoted']) accounts[name] = await signUp(app, `${name.toLowerCase()}@example.com`)
  for (const name of ['user', 'deleted', 'signedOut', 'demoted']) expect(await statusOf(app, 'POST', `/api/v1/users/${accounts[name]!.id}/update`, bearer(admin.token), { role: 'user' })).toBe(200)
  const created = await app.handle(req('POST', '/api/v1/auths/api_key', {}, bearer(admin.token)))
  expect(created.status).toBe(200)
  restrictedKey = ((await created.json()) as { api_key: string }).api_key
  expect(await statusOf(app, 'GET', '/api/v1/chats/', apiKeyHeader(restrictedKey))).toBe(200)
  // note: each credential is used once before it is revoked, so the principal cache has it (the fast route's common case).
  for (const name of ['deleted', 'signedOut', 'demoted']) expect(await statusOf(app, 'GET', '/api/v1/chats/', bearer(accounts[name]!.token))).toBe(200)
  expect(await statusOf(app, 'POST', `/api/v1/users/${accounts.demoted!.id}/update`, bearer(admin.token), { role: 'pending' })).toBe(200)
  expect(await statusOf(app, 'DELETE', `/api/v1/users/${accounts.deleted!.id}`, bearer(admin.token))).toBe(200)
  expect(await statusOf(app, 'GET', '/api/v1/auths/signout', bearer(accounts.signedOut!.token))).toBe(200)
  fastServer = listen(app, { hostname: '127.0.0.1', port: 0, maxRequestBodySize: 1024 ** 3, reusePort: false })
  appServer = Bun.serve({ hostname: '127.0.0.1', port: 0, fetch: (request) => app.fetch(request), websocket: { ...app.config.websocket, ...websocket } as never })
})
afterAll(async () => {
  await fastServer.stop(true)
  await appServer.stop(true)
})

type Answer = { status: number; headers: Record<string, string>; body: string }

/** Sends `head` (the request line and headers, `{host}` replaced) and reads the answer's head and body. */
function exchange(port: number, head: string): Promise<Answer> {
  const isHead = head.startsWith('HEAD ')
  return new Promise((resolve, reject) => {
    const socket = tcpConnect(port, '127.0.0.1')
    let received = Buffer.alloc(0)
    const finish = () => {
      socket.destroy()
      const text = received.toString('latin1')
      const end = text.indexOf('\r\n\r\n')
      if (end === -1) return resolve({ status: 0, headers: {}, body: text })
      const [statusLine, ...lines] = text.slice(0, end).split('\r\n')
      const headers: Record<string, string> = {}
      for (const line of lines) {
        const colon = line.indexOf(':')
        headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim()
      }
      resolve({ status: Number(statusLine!.split(' ')[1]), headers, body: text.slice(end + 4) })
    }
    socket.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk])
      const text = received.toString('latin1')
      const end = text.indexOf('\r\n\r\n')
      if (end === -1) return
      const status = Number(text.split(' ')[1])
      const length = Number(/\r\ncontent-length:\s*(\d+)/i.exec(text.slice(0, end))?.[1] ?? 0)
      if (status === 101 || isHead || received.length >= Buffer.byteLength(text.slice(0, end + 4), 'latin1') + length) finish()
    })
    socket.on('end', finish)
    socket.on('error', reject)
    socket.write(head.replaceAll('{host}', `127.0.0.1:${port}`))
  })
}

const HANDSHAKE = 'Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n'
const upgrade = (headers: string, { method = 'GET', path = '/api/ws', handshake = HANDSHAKE } = {}) => `${method} ${path} HTTP/1.1\r\nHost: {host}\r\n${handshake}${headers}\r\n`
/** What must be alike: the status, the body, and every header but the date and the handshake's accept value. */
const comparable = ({ status, headers, body }: Answer) => {
  const { date: _date, 'sec-websocket-accept': _accept, ...rest } = headers
  return { status, headers: rest, body }
}

/** The answer of each server, one after the other: the app upgrades through `app.server`, so it names the server asked. */
async function bothAnswers(head: string) {
  const { app } = started
  try {
    const fast = await exchange(fastServer.port!, head)
    app.server = appServer
    const viaApp = await exchange(appServer.port!, head)
    return { fast: comparable(fast), viaApp: comparable(viaApp) }
  } finally {
    app.server = fastServer
  }
}

const protocol = (token: string) => `Sec-WebSocket-Protocol: enclave, ${token}\r\n`
const cases: [string, () => string, number][] = [
  ['a session token as the subprotocol, no Origin', () => upgrade(protocol(accounts.user!.token)), 101],
  ['the cookie from this server\'s own origin', () => upgrade(`Cookie: token=${accounts.user!.token}\r\nOrigin: http://{host}\r\n`), 101],
  ['the cookie from another site (cross-site WebSocket hijacking)', () => upgrade(`Cookie: token=${accounts.user!.token}\r\nOrigin: https://evil.example\r\n`), 403],
  ['the token from another site', () => upgrade(`${protocol(accounts.user!.token)}Origin: https://evil.example\r\n`), 403],
  ['the cookie from the same host over another scheme', () => upgrade(`Cookie: token=${accounts.user!.token}\r\nOrigin: https://{host}\r\n`), 403],
  ['the cookie with Origin: null', () => upgrade(`Cookie: token=${accounts.user!.token}\r\nOrigin: null\r\n`), 403],
  ['the cookie without an Origin', () => upgrade(`Cookie: token=${accounts.user!.token}\r\n`), 403],
  ['an API key limited to other routes', () => upgrade(protocol(restrictedKey)), 401],
  ['an API key limited to other routes, as x-api-key', () => upgrade(`X-Api-Key: ${restrictedKey}\r\n`), 401],
  ['a signed-out (revoked) session', () => upgrade(protocol(accounts.signedOut!.token)), 401],
  ['a pending (disabled) account', () => upgrade(protocol(accounts.pending!.token)), 403],
  ['an account made pending after its session was used', () => upgrade(protocol(accounts.demoted!.token)), 403],
  ['a deleted account', () => upgrade(protocol(accounts.deleted!.token)), 401],
  ['a forged token', () => upgrade(protocol('eyJhbGciOiJIUzI1NiJ9.e30.x')), 401],
  ['a token re-signed with another payload', () => upgrade(protocol(forged(accounts.user!.token))), 401],
  ['no credential', () => upgrade(''), 401],
  ['an empty protocol list', () => upgrade('Sec-WebSocket-Protocol: , ,\r\n'), 401],
  ['the protocol alone, the token in a header', () => upgrade(`Sec-WebSocket-Protocol: enclave\r\nAuthorization: Bearer ${accounts.user!.token}\r\n`), 101],
  ['a malformed Authorization header', () => upgrade('Authorization: Bearer\r\n'), 401],
  ['an oversized token in the protocol', () => upgrade(protocol('a'.repeat(5000))), 401],
  ['a protocol header of many entries', () => upgrade(`Sec-WebSocket-Protocol: enclave, ${Array.from({ length: 500 }, (_, i) => `p${i}`).join(', ')}\r\n`), 401],
  ['a protocol entry with bytes outside ASCII', () => upgrade(`Sec-WebSocket-Protocol: enclave, t\u00ff\u00fe\r\n`), 401],
  ['a protocol header over the server\'s header limit', () => upgrade(`Sec-WebSocket-Protocol: enclave, ${'a'.repeat(70_000)}\r\n`), -1],
  ['the cookie from another site naming it in X-Forwarded-Host (no trusted proxy)', () => upgrade(`Cookie: token=${accounts.user!.token}\r\nOrigin: https://evil.example\r\nX-Forwarded-Host: evil.example\r\nX-Forwarded-Proto: https\r\n`), 403],
  ['X-Forwarded-Proto: https from a client that is no trusted proxy', () => upgrade(`${protocol(accounts.user!.token)}X-Forwarded-Proto: https\r\n`), 101],
  ['a Host outside ALLOWED_HOSTS', () => upgrade(protocol(accounts.user!.token)).replace('Host: {host}', 'Host: rebound.example'), 421],
  ['a request with a body', () => upgrade(`${protocol(accounts.user!.token)}Content-Length: 2\r\n`) + '{}', -1],
  ['HEAD', () => upgrade(protocol(accounts.user!.token), { method: 'HEAD' }), -1],
  ['Upgrade: WebSocket (capitalised)', () => upgrade(protocol(accounts.user!.token), { handshake: HANDSHAKE.replace('websocket', 'WebSocket') }), -1],
  ['no Sec-WebSocket-Key', () => upgrade(protocol(accounts.user!.token), { handshake: HANDSHAKE.replace(/Sec-WebSocket-Key:[^\n]*\n/, '') }), -1],
  ['a query string', () => upgrade(protocol(accounts.user!.token), { path: '/api/ws?token=x' }), 101],
  ['a trailing slash', () => upgrade(protocol(accounts.user!.token), { path: '/api/ws/' }), -1],
]

/** The token with its payload's user id changed and the signature kept (an HMAC that no longer matches). */
function forged(token: string): string {
  const [header, payload, signature] = token.split('.')
  const claims = JSON.parse(Buffer.from(payload!, 'base64url').toString()) as Record<string, unknown>
  return [header, Buffer.from(JSON.stringify({ ...claims, id: accounts.admin!.id })).toString('base64url'), signature].join('.')
}

describe('the same answer through Bun\'s router and through the app', () => {
  test.each(cases)('%s', async (_, headOf, status) => {
    const { fast, viaApp } = await bothAnswers(headOf())
    expect(fast).toEqual(viaApp)
    if (status !== -1) expect(fast.status).toBe(status)
  })
})
