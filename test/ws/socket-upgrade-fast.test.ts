/**
 * The chat socket's upgrade through Bun's router (src/http/socket-upgrade.ts) against the same
 * upgrade through the app's route: a socket from either answers the same frames the same way, one
 * from the fast route is closed on a revocation, and every refusal is the app's own answer (a refused
 * admission answered by the fast route itself, with the app's status and body; the rest by the app).
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { bearer, signIn, signUp, startClockedApp } from '../helpers/accounts.ts'
import { req, startTestApp } from '../helpers/test-app.ts'
import { connect, type Frame } from '../helpers/ws.ts'

let started: ReturnType<typeof startTestApp>
let port: number
let url: string
let ownOrigin: string

type UpgradeCall = { request: Request; options: { headers?: Record<string, string>; data?: unknown } }
type FastRoute = { GET(request: Request, server: unknown): Promise<Response | undefined> }
const fastRoute = () => (started.app.config.serve as { routes: Record<string, FastRoute> }).routes['/api/ws']!

beforeAll(async () => {
  started = startTestApp()
  await signUp(started.app, 'ada@example.com')
  started.app.listen({ hostname: '127.0.0.1', port: 0 })
  port = started.app.server!.port!
  url = `ws://127.0.0.1:${port}/api/ws`
  ownOrigin = `http://127.0.0.1:${port}`
})
afterAll(async () => {
  await started.app.stop(true)
})

/** A new session for ada: not remembered until a request authenticates with it. */
const newToken = async () => (await signIn(started.app, 'ada@example.com')).token
/** Makes the principal cache remember the token, so its upgrade takes the fast route. */
const remember = async (token: string) => expect((await started.app.handle(req('GET', '/api/v1/chats/', undefined, bearer(token)))).status).toBe(200)

const upgradeRequest = (headers: Record<string, string>) => new Request(`${ownOrigin}/api/ws`, {
  headers: { connection: 'Upgrade', upgrade: 'websocket', 'sec-websocket-version': '13', 'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==', ...headers },
})

/** Calls the fast route with a server that records the upgrade instead of making it. */
async function takeFastRoute(headers: Record<string, string>) {
  const upgrades: UpgradeCall[] = []
  const server = { upgrade: (request: Request, options: UpgradeCall['options']) => (upgrades.push({ request, options }), true), requestIP: () => ({ address: '127.0.0.1', family: 'IPv4', port: 1 }) }
  const answer = await fastRoute().GET(upgradeRequest(headers), server)
  return { answer, upgrades }
}

describe('the fast route', () => {
  test.each([true, false])('upgrades a credential itself (remembered: %p), with the protocol and the security headers, its data the socket state', async (remembered) => {
    const token = await newToken()
    if (remembered) await remember(token)
    else await started.app.handle(req('GET', '/api/config'))
    const { answer, upgrades } = await takeFastRoute({ 'sec-websocket-protocol': `enclave, ${token}` })
    expect(answer).toBeUndefined()
    expect(upgrades).toHaveLength(1)
    const { headers, data } = upgrades[0]!.options
    expect(headers?.['sec-websocket-protocol']).toBe('enclave')
    expect(headers?.['x-content-type-options']).toBe('nosniff')
    expect(headers?.['cache-control']).toBeDefined()
    for (const hook of ['open', 'message', 'close', 'pong']) expect(typeof (data as Record<string, unknown>)[hook]).toBe('function')
    expect(Object.keys(data as object)).not.toContain('request')
  })

  test.each<[string, (token: string) => Record<string, string>, number]>([
    ['no credential', () => ({}), 401],
    ['a forged token', () => ({ 'sec-websocket-protocol': 'enclave, eyJhbGciOiJIUzI1NiJ9.e30.x' }), 401],
    ['the cookie from another site', (token) => ({ cookie: `token=${token}`, origin: 'https://evil.example' }), 403],
    ['the cookie without an Origin', (token) => ({ cookie: `token=${token}` }), 403],
    ['a request with a body', (token) => ({ 'sec-websocket-protocol': `enclave, ${token}`, 'content-length': '2' }), 400],
    ['Upgrade: WebSocket, which the app\'s router does not route to the socket', (token) => ({ 'sec-websocket-protocol': `enclave, ${token}`, upgrade: 'WebSocket' }), 404],
  ])('refuses %s with the app\'s answer, upgrading nothing', async (name, headersOf, status) => {
    const token = await newToken()
    await remember(token)
    const { answer, upgrades } = await takeFastRoute(headersOf(token))
    expect(upgrades).toHaveLength(0)
    // note: the app cannot upgrade a request that did not come through Bun's server: it answers, never undefined.
    expect(answer).toBeInstanceOf(Response)
    if (status !== 400) expect(answer!.status).toBe(status)
  })
})

test('settings older than their second are read again and the fast route upgrades itself (a start\'s first upgrade), not the app', async () => {
  const clocked = startClockedApp()
  const ada = await signUp(clocked.app, 'ada@example.com')
  const route = (clocked.app.config.serve as { routes: Record<string, FastRoute> }).routes['/api/ws']!
  const upgrades: UpgradeCall[] = []
  const server = { upgrade: (request: Request, options: UpgradeCall['options']) => (upgrades.push({ request, options }), true), requestIP: () => ({ address: '127.0.0.1', family: 'IPv4', port: 1 }) }
  try {
    clocked.advance(5_000)
    expect(await route.GET(upgradeRequest({ 'sec-websocket-protocol': `enclave, ${ada.token}` }), server)).toBeUndefined()
    expect(upgrades).toHaveLength(1)
    expect(upgrades[0]!.options.headers?.['sec-websocket-protocol']).toBe('enclave')
  } finally {
    await clocked.app.stop(true)
  }
})

/** The frames a socket answers to frames that are no chat turn (parsed as the app's route parses them). */
async function answersOf(socketUrl: string, token: string): Promise<Frame[]> {
  const socket = await connect(socketUrl, { token })
  const sent = ['123', 'true', 'null', '"text"', 'plain words', '{broken', '[1]', JSON.stringify({ type: 'nope' }), JSON.stringify({ type: 'chat:cancel', messageId: 'unknown' }), JSON.stringify({ type: 'chat:send' })]
  const answers: Frame[] = []
  for (const frame of sent) {
    socket.send(frame)
    answers.push(await socket.nextFrame())
  }
  await socket.close()
  return answers
}

test('a socket through the fast route answers every frame as one through the app (CORS configured: no fast route)', async () => {
  const withCors = startTestApp({ CORS_ALLOW_ORIGIN: 'https://chat.example.com' })
  const ada = await signUp(withCors.app, 'ada@example.com')
  withCors.app.listen({ hostname: '127.0.0.1', port: 0 })
  let throughApp: Frame[]
  try {
    expect((withCors.app.config.serve as { routes: Record<string, unknown> }).routes['/api/ws']).toBeUndefined()
    throughApp = await answersOf(`ws://127.0.0.1:${withCors.app.server!.port}/api/ws`, ada.token)
  } finally {
    await withCors.app.stop(true)
  }
  expect(await answersOf(url, await newToken())).toEqual(throughApp)
  expect(new Set(throughApp.map((frame) => frame.code)).size).toBeGreaterThan(2)
})

test('a socket through the fast route is closed with 4401 when its session is signed out', async () => {
  const token = await newToken()
  await remember(token)
  const socket = await connect(url, { token, origin: ownOrigin })
  expect((await started.app.handle(req('POST', '/api/v1/auths/signout', undefined, bearer(token)))).status).toBe(200)
  expect((await socket.closed).code).toBe(4401)
})
