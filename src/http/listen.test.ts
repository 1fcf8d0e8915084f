import { afterAll, describe, expect, test } from 'bun:test'
import { Elysia, t } from 'elysia'
import { listen } from './listen.ts'

/** An app shaped as createApp's: systemRouter off, an onRequest hook, fast routes, a socket route, a body limit. */
function appOf() {
  return new Elysia({ systemRouter: false, handler: { standardHostname: false }, websocket: { maxPayloadLength: 64 }, serve: { routes: { '/fast': { GET: () => new Response('fast') }, '/fast/*': { GET: () => new Response('fast wildcard') } } } })
    .onRequest(({ set }) => void (set.headers['x-hook'] = 'on'))
    .get('/', () => 'page')
    .get('/api/items/', () => ({ items: [] }))
    .get('/api/items/:id', ({ params }) => ({ id: params.id }))
    .post('/api/echo', ({ body }) => body, { body: t.Object({ text: t.String() }) })
    .get('/server', ({ server }) => ({ hasServer: server !== null && typeof server?.requestIP === 'function' }))
    .ws('/ws', { body: t.Object({ say: t.String() }), message(ws, message) { ws.send({ heard: message.say }) } })
}

const elysias = appOf()
elysias.listen({ hostname: '127.0.0.1', port: 0, maxRequestBodySize: 1024, reusePort: false })
const ours = appOf()
const server = listen(ours, { hostname: '127.0.0.1', port: 0, maxRequestBodySize: 1024, reusePort: false })
afterAll(async () => {
  await elysias.stop(true)
  await server.stop(true)
})

const urlOf = (app: ReturnType<typeof appOf>) => `http://127.0.0.1:${app.server!.port}`

async function answer(base: string, path: string, init?: RequestInit): Promise<unknown> {
  const response = await fetch(`${base}${path}`, init)
  const headers = [...response.headers].filter(([name]) => name !== 'date')
  return { status: response.status, headers, body: await response.text() }
}

/** The frames a socket to `base` hears after sending `frames`, one answer per frame. */
async function socketAnswers(base: string, frames: string[]): Promise<string[]> {
  const socket = new WebSocket(`${base.replace('http', 'ws')}/ws`)
  const heard: string[] = []
  await new Promise<void>((resolve, reject) => {
    socket.onopen = () => { for (const frame of frames) socket.send(frame) }
    socket.onmessage = (event) => {
      heard.push(String(event.data))
      if (heard.length === frames.length) resolve()
    }
    socket.onclose = (event) => { heard.push(`closed ${event.code}`); resolve() }
    socket.onerror = () => reject(new Error('socket error'))
  })
  socket.onclose = null
  socket.close()
  return [...heard]
}

describe('listen', () => {
  test('sets the app\'s server', () => {
    expect(ours.server).toBe(server)
    expect(server.hostname).toBe('127.0.0.1')
  })

  test('answers as Elysia\'s listen does', async () => {
    const requests: [string, RequestInit?][] = [
      ['/'], ['/fast'], ['/fast/x'], ['/api/items/'], ['/api/items'], ['/api/items/7'], ['/missing'], ['/server'],
      ['/', { method: 'HEAD' }],
      ['/api/echo', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ text: 'hi' }) }],
      ['/api/echo', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ text: 3 }) }],
      ['/api/echo', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ text: 'x'.repeat(2000) }) }],
    ]
    for (const [path, init] of requests) expect(await answer(urlOf(ours), path, init)).toEqual(await answer(urlOf(elysias), path, init))
  })

  test('serves the socket route with Elysia\'s socket handler and its settings', async () => {
    const frames = [JSON.stringify({ say: 'hello' }), JSON.stringify({ say: 'again' })]
    expect(await socketAnswers(urlOf(ours), frames)).toEqual(await socketAnswers(urlOf(elysias), frames))
    expect(await socketAnswers(urlOf(ours), frames)).toEqual([JSON.stringify({ heard: 'hello' }), JSON.stringify({ heard: 'again' })])
    // note: over maxPayloadLength, refused by Bun before it is read (close 1009), as with Elysia's listen.
    const tooLong = [JSON.stringify({ say: 'x'.repeat(100) })]
    expect(await socketAnswers(urlOf(ours), tooLong)).toEqual(await socketAnswers(urlOf(elysias), tooLong))
  })
})
