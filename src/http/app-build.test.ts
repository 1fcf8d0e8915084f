/**
 * A server whose port opened before its app was built (cli/serve.ts: listenAhead, then the build in
 * steps) must answer every request as the built app served by `listen` does, whenever the request
 * arrives: before the first step, between any two, or after the last. Each request shape is sent at
 * every step of a build driven by hand, and every answer (status, body, every header but Date) is
 * compared with the same request's answer from the app built at once (createApp) over the same store.
 * The same for a chat socket opened and asked during the build: its frames get the built app's
 * answers, and with the fast routes on they get them before the build goes on (the upgrade and the
 * socket's frames need nothing of the app).
 */
import { afterAll, describe, expect, test } from 'bun:test'
import type { Server } from 'bun'
import { bearer, signUp } from '../../test/helpers/accounts.ts'
import { startTestApp } from '../../test/helpers/test-app.ts'
import { connect, type Frame } from '../../test/helpers/ws.ts'
import { TurnActivity } from '../chat/turn-activity.ts'
import { buildAfterListen, type OpenedSockets } from './app-build.ts'
import { appRoutes, prepareApp, type App } from './create-app.ts'
import { appBuilt, listen, listenAhead } from './listen.ts'

type Shape = [name: string, method: string, path: string, headers: Record<string, string>, body?: string]
type Answer = { status: number; headers: [string, string][]; body: string }

const OPTIONS = { hostname: '127.0.0.1', port: 0, maxRequestBodySize: 128 * 1024 * 1024, reusePort: false }

async function answerOf(base: string, [, method, path, headers, body]: Shape): Promise<Answer> {
  const response = await fetch(`${base}${path}`, { method, headers, body, redirect: 'manual' })
  return { status: response.status, headers: [...response.headers].filter(([name]) => name !== 'date'), body: await response.text() }
}

function shapesFor(token: string): Shape[] {
  return [
    ['GET /health', 'GET', '/health', {}],
    ['GET /api/version', 'GET', '/api/version', {}],
    ['GET / (the page)', 'GET', '/', {}],
    ['GET / gzipped', 'GET', '/', { 'accept-encoding': 'gzip' }],
    ['HEAD /', 'HEAD', '/', {}],
    ['GET /api/config, anonymous', 'GET', '/api/config', {}],
    ['GET /api/config, signed in', 'GET', '/api/config', bearer(token)],
    ['GET /api/v1/auths/, signed in', 'GET', '/api/v1/auths/', bearer(token)],
    ['GET /api/v1/auths/, no credential', 'GET', '/api/v1/auths/', {}],
    ['GET /api/v1/chats/, signed in', 'GET', '/api/v1/chats/', bearer(token)],
    ['GET /api/v1/chats/, no credential', 'GET', '/api/v1/chats/', {}],
    ['GET /api/models, signed in', 'GET', '/api/models', bearer(token)],
    ['GET a page path (the page, from the app)', 'GET', '/c/some-chat', {}],
    ['GET a missing API path', 'GET', '/api/v1/nothing-here', {}],
    ['GET a missing asset', 'GET', '/assets/missing.js', {}],
    ['POST /health', 'POST', '/health', { 'content-type': 'application/json' }, '{}'],
    ['GET /health from a Host outside ALLOWED_HOSTS', 'GET', '/health', { host: 'rebound.example' }],
    ['a cross-site POST', 'POST', '/api/v1/chats/new', { ...bearer(token), 'content-type': 'application/json', origin: 'https://evil.example' }, '{"chat":{}}'],
  ]
}

/** Frames that are no chat turn, each answered with one frame (an error), whatever the store holds. */
const SOCKET_FRAMES = ['plain words', '{broken', JSON.stringify({ type: 'nope' }), JSON.stringify({ type: 'chat:cancel', messageId: 'unknown' }), JSON.stringify({ type: 'chat:select', chatId: 'missing', messageId: 'missing' }), JSON.stringify({ type: 'chat:send' })]

/** Opens a socket with `token`, sends every frame at once, and gives the one answer to each, in order. */
async function socketAnswersOf(base: string, token: string): Promise<Frame[]> {
  const socket = await connect(`${base.replace('http:', 'ws:')}/api/ws`, { token })
  for (const frame of SOCKET_FRAMES) socket.send(frame)
  const answers: Frame[] = []
  for (let i = 0; i < SOCKET_FRAMES.length; i++) answers.push(await socket.nextFrame())
  await socket.close()
  return answers
}

const settings: [string, Record<string, string>][] = [
  ['defaults', {}],
  ['custom header values, HSTS', { X_FRAME_OPTIONS: 'SAMEORIGIN', HSTS: 'max-age=600', CACHE_CONTROL: 'no-cache' }],
  ['CORS allowed origins (no fast routes: everything waits for the app)', { CORS_ALLOW_ORIGIN: 'https://app.example' }],
]

describe.each(settings)('%s', async (_, env) => {
  const { app: built, deps } = startTestApp(env)
  listen(built, OPTIONS)
  const reference = `http://127.0.0.1:${built.server!.port}`
  const { token } = await signUp(built, 'ada@example.com')
  const shapes = shapesFor(token)
  const expected = new Map<string, Answer>()
  for (const shape of shapes) expected.set(shape[0], await answerOf(reference, shape))
  const servers: Server<unknown>[] = []
  afterAll(async () => {
    await built.stop()
    for (const server of servers) await server.stop(true)
  })

  test('every request, sent before and between every step of the build, gets the built app\'s answer', async () => {
    const prepared = prepareApp(deps)
    const server = listenAhead(prepared.served, OPTIONS, prepared.fetch)
    servers.push(server)
    const base = `http://127.0.0.1:${server.port}`
    const sent: Promise<[string, Answer]>[] = []
    const sendAll = () => { for (const shape of shapes) sent.push(answerOf(base, shape).then((answer) => [shape[0], answer])) }
    const steps = prepared.build(appRoutes)
    let step = steps.next()
    let count = 0
    while (step.done !== true) {
      sendAll()
      // note: the server reads and answers what it can (the fast routes) while the build waits here.
      await Bun.sleep(1)
      step = steps.next()
      count++
    }
    expect(count).toBeGreaterThan(30)
    sendAll()
    await Bun.sleep(1)
    appBuilt(step.value, server)
    prepared.built(step.value)
    sendAll()
    for (const [name, answer] of await Promise.all(sent)) expect({ name, ...answer }).toEqual({ name, ...expected.get(name)! })
  })

  test('a socket opened and asked before the build and between its steps gets the built app\'s answers (before the build goes on, with the fast routes)', async () => {
    const afterBuild = await socketAnswersOf(reference, token)
    expect(new Set(afterBuild.map((frame) => frame.code)).size).toBeGreaterThan(3)
    const prepared = prepareApp(deps)
    const server = listenAhead(prepared.served, OPTIONS, prepared.fetch)
    servers.push(server)
    const base = `http://127.0.0.1:${server.port}`
    const fastRoutes = env.CORS_ALLOW_ORIGIN === undefined
    const steps = prepared.build(appRoutes)
    const waiting: Promise<Frame[]>[] = []
    let step = steps.next()
    for (let count = 0; step.done !== true; count++) {
      if (count === 0 || count === 20) {
        const answers = socketAnswersOf(base, token)
        // note: with the fast routes the socket is upgraded and served while the build waits here; without them it waits for the app.
        if (fastRoutes) expect(await answers).toEqual(afterBuild)
        else waiting.push(answers)
      }
      step = steps.next()
    }
    appBuilt(step.value, server)
    prepared.built(step.value)
    for (const answers of await Promise.all(waiting)) expect(answers).toEqual(afterBuild)
    expect(await socketAnswersOf(base, token)).toEqual(afterBuild)
  })

  test('a socket opened as the build begins is counted as opened and gets the built app\'s answers (with the fast routes or through the app)', async () => {
    const activity = new TurnActivity()
    const prepared = prepareApp({ ...deps, turnActivity: activity })
    const server = listenAhead(prepared.served, OPTIONS, prepared.fetch)
    servers.push(server)
    const base = `http://127.0.0.1:${server.port}`
    const afterBuild = await socketAnswersOf(reference, token)
    const answers = socketAnswersOf(base, token)
    const app = await buildAfterListen(prepared, server, activity)
    expect(app.server).toBe(server)
    expect(await answers).toEqual(afterBuild)
    expect(activity.socketsOpened).toBe(1)
  })

  test('buildAfterListen: requests sent as the build begins get the built app\'s answers', async () => {
    const prepared = prepareApp(deps)
    const server = listenAhead(prepared.served, OPTIONS, prepared.fetch)
    servers.push(server)
    const base = `http://127.0.0.1:${server.port}`
    const sent = shapes.map((shape) => answerOf(base, shape).then((answer): [string, Answer] => [shape[0], answer]))
    const app: App = await buildAfterListen(prepared, server)
    expect(app.server).toBe(server)
    for (const [name, answer] of await Promise.all(sent)) expect({ name, ...answer }).toEqual({ name, ...expected.get(name)! })
  })
})

test('buildAfterListen: once a chat socket has opened, the event loop gets a turn after every step of the build', async () => {
  const { deps } = startTestApp()
  /** Builds with `sockets`; gives how many steps there were and how many of them the event loop had a turn after. */
  const build = async (sockets: OpenedSockets) => {
    const prepared = prepareApp(deps)
    const server = listenAhead(prepared.served, OPTIONS, prepared.fetch)
    let steps = 0
    let turnsAfter = 0
    const counted = {
      ...prepared,
      build: function* (routes: Parameters<typeof prepared.build>[0]) {
        const inner = prepared.build(routes)
        for (;;) {
          const step = inner.next()
          if (step.done === true) return step.value
          steps++
          let hadTurn = false
          setImmediate(() => { hadTurn = true })
          yield
          if (hadTurn) turnsAfter++
        }
      },
    }
    try {
      const app = await buildAfterListen(counted, server, sockets)
      expect(app.server).toBe(server)
      expect((await fetch(`http://127.0.0.1:${server.port}/api/config`)).status).toBe(200)
    } finally {
      await server.stop(true)
    }
    return { steps, turnsAfter }
  }
  const opened = await build({ socketsOpened: 1, begun: 1, running: 0, firstTurn: Promise.resolve(), standAside: async () => {} })
  expect(opened.steps).toBeGreaterThan(30)
  expect(opened.turnsAfter).toBe(opened.steps)
  const none = await build({ socketsOpened: 0, begun: 0, running: 0, firstTurn: Promise.resolve(), standAside: async () => {} })
  expect(none.steps).toBe(opened.steps)
  expect(none.turnsAfter).toBeLessThan(none.steps)
})

test('a build that throws fails the requests waiting for the app (Bun answers them 500), and is reported', async () => {
  const { deps } = startTestApp()
  const prepared = prepareApp(deps)
  const server = listenAhead(prepared.served, OPTIONS, prepared.fetch)
  try {
    const waiting = Promise.resolve(prepared.fetch(new Request('http://localhost/api/config')))
    // note: handled from the start (the server's fetch handler would be): the build fails a turn after the listen,
    // when the test is not yet awaiting the request.
    waiting.catch(() => {})
    const broken = { ...prepared, build: function* () { yield; throw new Error('a route could not be registered') } }
    await expect(buildAfterListen(broken as typeof prepared, server)).rejects.toThrow('a route could not be registered')
    await expect(waiting).rejects.toThrow('a route could not be registered')
  } finally {
    await server.stop(true)
  }
})

test('buildAfterListen: while a user\'s turn runs on an opened socket the build waits, until the turn ends or a request waits for the app', async () => {
  const { deps } = startTestApp()
  /** A socket opened and a turn running, whose end the test decides; gives whether the build ended by then. */
  const run = async (end: (prepared: ReturnType<typeof prepareApp>, server: Server<unknown>, turnEnds: () => void) => Promise<void>) => {
    const prepared = prepareApp(deps)
    const server = listenAhead(prepared.served, OPTIONS, prepared.fetch)
    const turn = Promise.withResolvers<void>()
    const sockets = { socketsOpened: 1, begun: 1, running: 1, firstTurn: Promise.resolve(), standAside: () => turn.promise }
    let ended = false
    const building = buildAfterListen(prepared, server, sockets).then((app) => { ended = true; return app })
    try {
      await Bun.sleep(50)
      expect(ended).toBe(false)
      await end(prepared, server, () => { sockets.running = 0; turn.resolve() })
      expect((await building).server).toBe(server)
    } finally {
      await server.stop(true)
    }
  }
  await run(async (_prepared, _server, turnEnds) => turnEnds())
  await run(async (_prepared, server) => {
    expect((await fetch(`http://127.0.0.1:${server.port}/api/config`)).status).toBe(200)
  })
})

test('buildAfterListen: a socket opened whose question never comes holds the build back once, briefly, and then not again', async () => {
  const { deps } = startTestApp()
  const prepared = prepareApp(deps)
  const server = listenAhead(prepared.served, OPTIONS, prepared.fetch)
  let looked = 0
  let waited = 0
  const never = new Promise<void>(() => {})
  const sockets = {
    socketsOpened: 1, running: 0,
    get begun() { looked++; return 0 },
    get firstTurn() { waited++; return never },
    standAside: async () => {},
  }
  try {
    expect((await buildAfterListen(prepared, server, sockets)).server).toBe(server)
    // note: asked at each of the build's 40-odd steps whether a turn began, and waited (for the first turn, bounded) once.
    expect(looked).toBeGreaterThan(30)
    expect(waited).toBe(1)
  } finally {
    await server.stop(true)
  }
})
