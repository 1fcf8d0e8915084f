import { expect, test } from 'bun:test'
import { startTestApp } from '../../test/helpers/test-app.ts'
import { WARM_PATHS, warmUp, warmUpSocket } from './warm-up.ts'

type Route = { method: string; path: string; composed: unknown }

/** The function each warmed route answers with now; Elysia swaps its lazy stub for the composed handler at the first request. */
function composedHandlers(app: unknown): unknown[] {
  const history = (app as { router: { history: Route[] } }).router.history
  return WARM_PATHS.map((path) => history.find((route) => route.method === 'GET' && route.path === path)?.composed)
}

test('the warm-up composes the handlers of /health and /api/config before any request arrives', async () => {
  const { app } = startTestApp()
  const before = composedHandlers(app)
  expect(before.every((handler) => typeof handler === 'function')).toBe(true)
  await warmUp(app)
  const after = composedHandlers(app)
  after.forEach((handler, i) => expect(handler).not.toBe(before[i]))
  // note: composed once: a real request afterwards finds the same handler.
  expect((await app.handle(new Request('http://localhost/api/config'))).status).toBe(200)
  expect(composedHandlers(app)).toEqual(after)
})

test('the warm-up reaches the handlers under a host policy that names only the public host', async () => {
  const { app } = startTestApp({ WEBUI_URL: 'https://chat.example.com', ALLOWED_HOSTS: 'chat.example.com' })
  const answered: number[] = []
  await warmUp({ handle: async (request) => { const response = await app.handle(request); answered.push(response.status); return response } })
  expect(answered).toEqual([200, 200])
})

test('the warm-up writes nothing: no account, no audit entry, no log line above debug', async () => {
  const { app, deps, audit, logLines } = startTestApp()
  await warmUp(app)
  expect(await deps.store.users.countUsers()).toBe(0)
  expect(audit.entries).toEqual([])
  expect(logLines.filter((line) => !/ DEBUG /.test(line))).toEqual([])
})

test('the socket warm-up composes the chat socket\'s handler, upgrading nothing and admitting no one', async () => {
  const { app } = startTestApp()
  const socketRoute = () => (app as unknown as { router: { history: Route[] } }).router.history.find((route) => route.path === '/api/ws')?.composed
  const before = socketRoute()
  const answered: number[] = []
  await warmUpSocket({ handle: async (request) => { const response = await app.handle(request); answered.push(response.status); return response } })
  expect(socketRoute()).not.toBe(before)
  expect(answered).toEqual([401])
})
