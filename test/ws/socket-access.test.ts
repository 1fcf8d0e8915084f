import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { Elysia } from 'elysia'
import { createAuthDeps } from '../../src/auth/auth-deps.ts'
import { createConnections } from '../../src/chat/connections.ts'
import { SocketHub } from '../../src/chat/socket-hub.ts'
import { httpErrors } from '../../src/http/http-error.ts'
import { DEFAULT_SOCKET_LIMITS, socketRoutes } from '../../src/http/routes/socket.ts'
import { bearer, signUp, statusOf } from '../helpers/accounts.ts'
import { req, startTestApp } from '../helpers/test-app.ts'
import { connect } from '../helpers/ws.ts'

let started: ReturnType<typeof startTestApp>
let port: number
let url: string
let ownOrigin: string
let admin: { id: string; token: string }
let pending: { id: string; token: string }

beforeAll(async () => {
  started = startTestApp({ CORS_ALLOW_ORIGIN: 'https://chat.example.com' })
  admin = await signUp(started.app, 'ada@example.com')
  pending = await signUp(started.app, 'pat@example.com')
  started.app.listen({ hostname: '127.0.0.1', port: 0 })
  port = started.app.server!.port!
  url = `ws://127.0.0.1:${port}/api/ws`
  ownOrigin = `http://127.0.0.1:${port}`
})
afterAll(async () => {
  await started.app.stop(true)
})

const upgradeHeaders = { connection: 'Upgrade', upgrade: 'websocket', 'sec-websocket-version': '13', 'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==' }

/** The status the upgrade request gets, without opening a socket. */
async function upgradeStatus(headers: Record<string, string>): Promise<number> {
  const res = await fetch(`http://127.0.0.1:${port}/api/ws`, { headers: { ...upgradeHeaders, ...headers } })
  await res.body?.cancel()
  return res.status
}

describe('who may open the socket', () => {
  test.each<[string, () => { token?: string; cookie?: string; origin?: string | null }]>([
    ['the token as a subprotocol, no Origin (a non-browser client)', () => ({ token: admin.token })],
    ['the token as a subprotocol, from this server\'s origin', () => ({ token: admin.token, origin: ownOrigin })],
    ['the cookie, from this server\'s origin', () => ({ cookie: admin.token, origin: ownOrigin })],
    ['the cookie, from an origin in CORS_ALLOW_ORIGIN', () => ({ cookie: admin.token, origin: 'https://chat.example.com' })],
  ])('opens with %s', async (_, options) => {
    const socket = await connect(url, options())
    expect(socket.ws.readyState).toBe(WebSocket.OPEN)
    await socket.close()
  })

  test.each<[string, () => Record<string, string>, number]>([
    ['no credential', () => ({}), 401],
    ['no credential, own origin', () => ({ origin: ownOrigin }), 401],
    ['a forged token', () => ({ 'sec-websocket-protocol': 'enclave, eyJhbGciOiJIUzI1NiJ9.e30.x' }), 401],
    ['a garbage cookie', () => ({ cookie: 'token=nope', origin: ownOrigin }), 401],
    ['the cookie from another site', () => ({ cookie: `token=${admin.token}`, origin: 'https://evil.example' }), 403],
    ['the cookie without an Origin', () => ({ cookie: `token=${admin.token}` }), 403],
    ['the token from another site', () => ({ 'sec-websocket-protocol': `enclave, ${admin.token}`, origin: 'https://evil.example' }), 403],
    ['an origin that only differs in scheme', () => ({ cookie: `token=${admin.token}`, origin: `https://127.0.0.1:${port}` }), 403],
    ['a pending account', () => ({ 'sec-websocket-protocol': `enclave, ${pending.token}` }), 403],
  ])('refuses %s before the socket opens', async (_, headers, status) => {
    expect(await upgradeStatus(headers())).toBe(status)
  })

  test('a real WebSocket from another site, with the cookie, never opens', async () => {
    await expect(connect(url, { cookie: admin.token, origin: 'https://evil.example' })).rejects.toThrow()
    await expect(connect(url, {})).rejects.toThrow()
  })

  test('app.handle gives the same refusals (the upgrade is checked before Bun is asked)', async () => {
    const res = await started.app.handle(req('GET', '/api/ws', undefined, { ...upgradeHeaders, origin: 'https://evil.example', cookie: `token=${admin.token}` }))
    expect(res.status).toBe(403)
    expect(await res.json()).toMatchObject({ code: 'cross_site_request' })
  })
})

describe('revocation', () => {
  test('signing out closes the session\'s open socket with 4401 within the re-check interval; other sessions stay', async () => {
    const app = startTestApp()
    const user = await signUp(app.app, 'ada@example.com')
    const other = await (await app.app.handle(req('POST', '/api/v1/auths/signin', { email: 'ada@example.com', password: 'correct horse battery' }))).json() as { token: string }
    const { deps } = app
    // note: the app's own socket routes re-check every 5 s; this one, over the same store, every 30 ms.
    const auth = createAuthDeps({ store: deps.store, auth: deps.config.auth, sessionSecret: deps.sessionSecret, audit: deps.audit, now: deps.now, setupGate: deps.setupGate })
    const connections = createConnections({ ...deps.config.ollama, settings: deps.store.settings, now: deps.now })
    const sockets = new Elysia().use(httpErrors(deps.log))
      .use(socketRoutes({ auth, connections, config: deps.config, log: deps.log, hub: new SocketHub() }, { ...DEFAULT_SOCKET_LIMITS, recheckIntervalMs: 30 }))
      .listen({ hostname: '127.0.0.1', port: 0 })
    try {
      const socketUrl = `ws://127.0.0.1:${sockets.server!.port}/api/ws`
      const revoked = await connect(socketUrl, { token: user.token })
      const kept = await connect(socketUrl, { token: other.token })
      await Bun.sleep(80)
      expect(revoked.ws.readyState).toBe(WebSocket.OPEN)

      expect(await statusOf(app.app, 'POST', '/api/v1/auths/signout', bearer(user.token))).toBe(200)
      const closed = await Promise.race([revoked.closed, Bun.sleep(1_000).then(() => null)])
      expect(closed?.code).toBe(4401)
      expect(kept.ws.readyState).toBe(WebSocket.OPEN)
      await kept.close()
    } finally {
      await sockets.stop(true)
    }
  })
})
