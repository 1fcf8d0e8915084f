/**
 * WEBSOCKET_MAX_SOCKETS_PER_USER in-process, where upgrades admitted at the same moment can be
 * opened after each other by hand: every one passes the check at the upgrade (none is open yet),
 * and the count taken at open closes those past the limit with 1008, audited; a close gives a place
 * back. The binary's behaviour (the 429, bursts, revocation, the variable) is in
 * test/binary/socket-limit.test.ts.
 * Threat: a burst of upgrades from one account getting past the limit before any of them opens.
 */
import { beforeAll, expect, test } from 'bun:test'
import { signUp } from '../helpers/accounts.ts'
import { startTestApp } from '../helpers/test-app.ts'

const LIMIT = 2
let started: ReturnType<typeof startTestApp>
let token: string
let userId: string

type Hooks = { open(socket: FakeSocket): void; close(socket: FakeSocket): void }
type FastRoute = { GET(request: Request, server: unknown): Promise<Response | undefined> }
const fastRoute = () => (started.app.config.serve as { routes: Record<string, FastRoute> }).routes['/api/ws']!

beforeAll(async () => {
  started = startTestApp({ WEBSOCKET_MAX_SOCKETS_PER_USER: String(LIMIT) })
  const ada = await signUp(started.app, 'ada@example.com')
  token = ada.token
  userId = ada.id
})

/** A stand-in for Bun's ServerWebSocket that records how it was closed. */
class FakeSocket {
  closedWith: number | null = null
  data: unknown
  send() {}
  ping() {}
  terminate() {}
  close(code?: number) { this.closedWith = code ?? 1000 }
}

/** Runs the fast route's upgrade with a server that hands back the socket data instead of upgrading. */
async function upgradeData(): Promise<{ answer: Response | undefined; hooks: Hooks | null }> {
  let hooks: Hooks | null = null
  const server = { upgrade: (_: Request, options: { data?: unknown }) => ((hooks = options.data as Hooks), true), requestIP: () => ({ address: '127.0.0.1', family: 'IPv4', port: 1 }) }
  const request = new Request('http://localhost/api/ws', { headers: { connection: 'Upgrade', upgrade: 'websocket', 'sec-websocket-version': '13', 'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==', 'sec-websocket-protocol': `enclave, ${token}` } })
  const answer = await fastRoute().GET(request, server)
  return { answer, hooks }
}

test('upgrades admitted together open up to the limit; the rest are closed with 1008 and audited', async () => {
  const admitted = await Promise.all(Array.from({ length: LIMIT + 3 }, () => upgradeData()))
  for (const { answer, hooks } of admitted) {
    expect(answer).toBeUndefined()
    expect(hooks).not.toBeNull()
  }
  const before = started.audit.entries.length
  const sockets = admitted.map(({ hooks }) => {
    const socket = new FakeSocket()
    hooks!.open.call(hooks, socket)
    return socket
  })
  expect(sockets.map((socket) => socket.closedWith)).toEqual([null, null, 1008, 1008, 1008])
  const audited = started.audit.entries.slice(before)
  expect(audited).toHaveLength(3)
  for (const entry of audited) expect(entry).toMatchObject({ event: 'socket_limit_reached', actorId: userId, method: 'session', details: { limit: LIMIT, at_open: true } })

  // The next upgrade is refused at once, as the app refuses it.
  const refused = await upgradeData()
  expect(refused.hooks).toBeNull()
  expect(refused.answer?.status).toBe(429)
  expect(await refused.answer?.json()).toMatchObject({ code: 'too_many_sockets' })

  // Bun calls close for the sockets closed at open too: they counted nothing, so they give nothing back.
  for (const [i, socket] of sockets.entries()) if (socket.closedWith !== null) admitted[i]!.hooks!.close.call(admitted[i]!.hooks, socket)
  expect((await upgradeData()).answer?.status).toBe(429)

  // One open socket closed: a place again, exactly one.
  admitted[0]!.hooks!.close.call(admitted[0]!.hooks, sockets[0]!)
  const next = await upgradeData()
  expect(next.answer).toBeUndefined()
  const socket = new FakeSocket()
  next.hooks!.open.call(next.hooks, socket)
  expect(socket.closedWith).toBeNull()
  expect((await upgradeData()).answer?.status).toBe(429)
})
