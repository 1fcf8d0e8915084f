/**
 * A socket upgrade request as raw bytes over TCP, and the answer's head and body as they came
 * (a 101 is read up to its head, then the connection dropped), for tests that compare what two
 * servers answer to one request, malformed ones included, which `fetch` and `WebSocket` won't send.
 */
import { expect } from 'bun:test'
import { connect as tcpConnect } from 'node:net'
import { apiKeyHeader, bearer, signUp, statusOf } from './accounts.ts'
import { req } from './test-app.ts'

export type Answer = { status: number; headers: Record<string, string>; body: string }

/** Sends `head` (the request line and headers, `{host}` replaced) and reads the answer's head and body. */
export function exchange(port: number, head: string): Promise<Answer> {
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

export const HANDSHAKE = 'Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n'
export const upgrade = (headers: string, { method = 'GET', path = '/api/ws', handshake = HANDSHAKE } = {}) => `${method} ${path} HTTP/1.1\r\nHost: {host}\r\n${handshake}${headers}\r\n`
/** What must be alike: the status, the body, and every header but the date and the handshake's accept value. */
export const comparable = ({ status, headers, body }: Answer) => {
  const { date: _date, 'sec-websocket-accept': _accept, ...rest } = headers
  return { status, headers: rest, body }
}


const protocol = (token: string) => `Sec-WebSocket-Protocol: enclave, ${token}\r\n`
/** The accounts the cases use: made by the test, each as its name says. */
export type UpgradeAccounts = Record<'admin' | 'user' | 'pending' | 'deleted' | 'signedOut' | 'demoted', { id: string; token: string }>

/**
 * The upgrade requests both paths must answer alike: [what, the request, the status it must get (-1: any, as long as it is the same)].
 * `restrictedKey` is an API key limited to routes other than /api/ws.
 */
export type UpgradeCase = [what: string, head: (accounts: UpgradeAccounts, restrictedKey: string) => string, status: number]

export function upgradeCases(): UpgradeCase[] {
  const forged = (accounts: UpgradeAccounts) => forgedToken(accounts.user.token, accounts.admin.id)
  return [
    ['a session token as the subprotocol, no Origin', (accounts) => upgrade(protocol(accounts.user.token)), 101],
    ['the cookie from this server\'s own origin', (accounts) => upgrade(`Cookie: token=${accounts.user.token}\r\nOrigin: http://{host}\r\n`), 101],
    ['the cookie from another site (cross-site WebSocket hijacking)', (accounts) => upgrade(`Cookie: token=${accounts.user.token}\r\nOrigin: https://evil.example\r\n`), 403],
    ['the token from another site', (accounts) => upgrade(`${protocol(accounts.user.token)}Origin: https://evil.example\r\n`), 403],
    ['the cookie from the same host over another scheme', (accounts) => upgrade(`Cookie: token=${accounts.user.token}\r\nOrigin: https://{host}\r\n`), 403],
    ['the cookie with Origin: null', (accounts) => upgrade(`Cookie: token=${accounts.user.token}\r\nOrigin: null\r\n`), 403],
    ['the cookie without an Origin', (accounts) => upgrade(`Cookie: token=${accounts.user.token}\r\n`), 403],
    ['an API key limited to other routes', (_, restrictedKey) => upgrade(protocol(restrictedKey)), 403],
    ['an API key limited to other routes, as x-api-key', (_, restrictedKey) => upgrade(`X-Api-Key: ${restrictedKey}\r\n`), 403],
    ['a signed-out (revoked) session', (accounts) => upgrade(protocol(accounts.signedOut.token)), 401],
    ['a pending (disabled) account', (accounts) => upgrade(protocol(accounts.pending.token)), 403],
    ['an account made pending after its session was used', (accounts) => upgrade(protocol(accounts.demoted.token)), 403],
    ['a deleted account', (accounts) => upgrade(protocol(accounts.deleted.token)), 401],
    ['a forged token', () => upgrade(protocol('eyJhbGciOiJIUzI1NiJ9.e30.x')), 401],
    ['a token re-signed with another payload', (accounts) => upgrade(protocol(forged(accounts))), 401],
    ['no credential', () => upgrade(''), 401],
    ['an empty protocol list', () => upgrade('Sec-WebSocket-Protocol: , ,\r\n'), 401],
    ['the protocol alone, the token in a header', (accounts) => upgrade(`Sec-WebSocket-Protocol: enclave\r\nAuthorization: Bearer ${accounts.user.token}\r\n`), 101],
    ['a malformed Authorization header', () => upgrade('Authorization: Bearer\r\n'), 401],
    ['an oversized token in the protocol', () => upgrade(protocol('a'.repeat(5000))), 401],
    ['a protocol header of many entries', () => upgrade(`Sec-WebSocket-Protocol: enclave, ${Array.from({ length: 500 }, (_, i) => `p${i}`).join(', ')}\r\n`), 401],
    ['a protocol entry with bytes outside ASCII', () => upgrade(`Sec-WebSocket-Protocol: enclave, t\u00ff\u00fe\r\n`), 401],
    ['a protocol header over the server\'s header limit', () => upgrade(`Sec-WebSocket-Protocol: enclave, ${'a'.repeat(70_000)}\r\n`), -1],
    ['the cookie from another site naming it in X-Forwarded-Host (no trusted proxy)', (accounts) => upgrade(`Cookie: token=${accounts.user.token}\r\nOrigin: https://evil.example\r\nX-Forwarded-Host: evil.example\r\nX-Forwarded-Proto: https\r\n`), 403],
    ['X-Forwarded-Proto: https from a client that is no trusted proxy', (accounts) => upgrade(`${protocol(accounts.user.token)}X-Forwarded-Proto: https\r\n`), 101],
    ['a Host outside ALLOWED_HOSTS', (accounts) => upgrade(protocol(accounts.user.token)).replace('Host: {host}', 'Host: rebound.example'), 421],
    ['a request with a body', (accounts) => upgrade(`${protocol(accounts.user.token)}Content-Length: 2\r\n`) + '{}', -1],
    ['HEAD', (accounts) => upgrade(protocol(accounts.user.token), { method: 'HEAD' }), -1],
    ['Upgrade: WebSocket (capitalised)', (accounts) => upgrade(protocol(accounts.user.token), { handshake: HANDSHAKE.replace('websocket', 'WebSocket') }), -1],
    ['no Sec-WebSocket-Key', (accounts) => upgrade(protocol(accounts.user.token), { handshake: HANDSHAKE.replace(/Sec-WebSocket-Key:[^\n]*\n/, '') }), -1],
    ['a query string', (accounts) => upgrade(protocol(accounts.user.token), { path: '/api/ws?token=x' }), 101],
    ['a trailing slash', (accounts) => upgrade(protocol(accounts.user.token), { path: '/api/ws/' }), -1],
  ]
}

/** The token with its payload's user id changed and the signature kept (an HMAC that no longer matches). */
function forgedToken(token: string, otherId: string): string {
  const [header, payload, signature] = token.split('.')
  const claims = JSON.parse(Buffer.from(payload!, 'base64url').toString()) as Record<string, unknown>
  return [header, Buffer.from(JSON.stringify({ ...claims, id: otherId })).toString('base64url'), signature].join('.')
}


/** The settings the cases assume: API keys limited to /api/v1/chats, and loopback no trusted proxy (FORWARDED_ALLOW_IPS' default), so a client's forwarded headers count for nothing. */
export const UPGRADE_CASES_ENV = { FORWARDED_ALLOW_IPS: '10.9.9.9', ENABLE_API_KEYS: 'true', ENABLE_API_KEYS_ENDPOINT_RESTRICTIONS: 'true', API_KEYS_ALLOWED_ENDPOINTS: '/api/v1/chats' }

/** Makes the cases' accounts on a fresh app or binary (UPGRADE_CASES_ENV), and the admin's key limited to other routes. */
export async function makeUpgradeAccounts(app: Parameters<typeof signUp>[0]): Promise<{ accounts: UpgradeAccounts; restrictedKey: string }> {
  const accounts = {} as UpgradeAccounts
  const admin = accounts.admin = await signUp(app, 'ada@example.com')
  for (const name of ['user', 'pending', 'deleted', 'signedOut', 'demoted'] as const) accounts[name] = await signUp(app, `${name.toLowerCase()}@example.com`)
  for (const name of ['user', 'deleted', 'signedOut', 'demoted'] as const) expect(await statusOf(app, 'POST', `/api/v1/users/${accounts[name].id}/update`, bearer(admin.token), { role: 'user' })).toBe(200)
  const created = await app.handle(req('POST', '/api/v1/auths/api_key', {}, bearer(admin.token)))
  expect(created.status).toBe(200)
  const restrictedKey = ((await created.json()) as { api_key: string }).api_key
  expect(await statusOf(app, 'GET', '/api/v1/chats/', apiKeyHeader(restrictedKey))).toBe(200)
  // note: each credential is used once before it is revoked, so the principal cache has it (the fast route's common case).
  for (const name of ['deleted', 'signedOut', 'demoted'] as const) expect(await statusOf(app, 'GET', '/api/v1/chats/', bearer(accounts[name].token))).toBe(200)
  expect(await statusOf(app, 'POST', `/api/v1/users/${accounts.demoted.id}/update`, bearer(admin.token), { role: 'pending' })).toBe(200)
  expect(await statusOf(app, 'DELETE', `/api/v1/users/${accounts.deleted.id}`, bearer(admin.token))).toBe(200)
  expect(await statusOf(app, 'GET', '/api/v1/auths/signout', bearer(accounts.signedOut.token))).toBe(200)
  return { accounts, restrictedKey }
}
