import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { Elysia } from 'elysia'
import { connect as connectTcp, type Socket as TcpSocket } from 'node:net'
import { createAuthDeps } from '../../src/auth/auth-deps.ts'
import { createConnections } from '../../src/chat/connections.ts'
import { SocketHub } from '../../src/chat/socket-hub.ts'
import { httpErrors } from '../../src/http/http-error.ts'
import { DEFAULT_SOCKET_LIMITS, socketRoutes } from '../../src/http/routes/socket.ts'
import { signUp } from '../helpers/accounts.ts'
import { startTestApp } from '../helpers/test-app.ts'
import { connect } from '../helpers/ws.ts'

const PING_INTERVAL_MS = 30
const PING_TIMEOUT_MS = 60

let sockets: Elysia
let port: number
let token: string

beforeAll(async () => {
  const { app, deps } = startTestApp()
  token = (await signUp(app, 'ada@example.com')).token
  // note: the app's own socket routes ping every 25 s; these, over the same store, every 30 ms.
  const auth = createAuthDeps({ store: deps.store, auth: deps.config.auth, sessionSecret: deps.sessionSecret, audit: deps.audit, now: deps.now, setupGate: deps.setupGate })
  const connections = createConnections({ ...deps.config.ollama, settings: deps.store.settings, now: deps.now })
  const limits = { ...DEFAULT_SOCKET_LIMITS, pingIntervalMs: PING_INTERVAL_MS, pingTimeoutMs: PING_TIMEOUT_MS }
  sockets = new Elysia().use(httpErrors(deps.log)).use(socketRoutes({ auth, connections, config: deps.config, log: deps.log, hub: new SocketHub() }, limits))
    .listen({ hostname: '127.0.0.1', port: 0 }) as unknown as Elysia
  port = sockets.server!.port!
})
afterAll(async () => {
  await sockets.stop(true)
})

/** A client that completes the upgrade by hand, then never answers anything: a peer gone silent. */
function openSilentClient() {
  const bytes: Buffer[] = []
  const socket: TcpSocket = connectTcp(port, '127.0.0.1')
  const ended = new Promise<void>((resolve) => socket.on('close', () => resolve()))
  socket.on('data', (chunk: Buffer) => void bytes.push(chunk))
  socket.on('error', () => {})
  socket.write([
    'GET /api/ws HTTP/1.1', `Host: 127.0.0.1:${port}`, 'Connection: Upgrade', 'Upgrade: websocket', 'Sec-WebSocket-Version: 13',
    'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==', `Authorization: Bearer ${token}`, '', '',
  ].join('\r\n'))
  /** Whether the server sent a ping frame (FIN + opcode 0x9, unmasked, after the 101 headers). */
  const hasSeenPing = () => {
    const all = Buffer.concat(bytes)
    const body = all.subarray(all.indexOf('\r\n\r\n') + 4)
    return all.toString('latin1').startsWith('HTTP/1.1 101') && body.includes(0x89)
  }
  return { ended, hasSeenPing }
}

describe('heartbeat', () => {
  test('a client that answers pings (every WebSocket does) stays open over many intervals', async () => {
    const socket = await connect(`ws://127.0.0.1:${port}/api/ws`, { token })
    let pings = 0
    socket.ws.addEventListener('ping' as 'message', () => void (pings += 1))
    await Bun.sleep(8 * PING_INTERVAL_MS)
    expect(socket.ws.readyState).toBe(WebSocket.OPEN)
    expect(pings).toBeGreaterThanOrEqual(2)
    await socket.close()
  })

  test('a client that never answers is pinged, then dropped within interval + timeout', async () => {
    const client = openSilentClient()
    const outcome = await Promise.race([client.ended.then(() => 'dropped'), Bun.sleep(20 * PING_INTERVAL_MS).then(() => 'still open')])
    expect(outcome).toBe('dropped')
    expect(client.hasSeenPing()).toBe(true)
  })
})
