/**
 * Socket frames nested too deep, against the compiled binary with WEBSOCKET_MAX_FRAME_SIZE raised to
 * 2 MB: a chat:send whose `options` nest 150,000 arrays deep (300 KB, under the raised limit) is
 * answered `invalid_frame` like any frame in no expected shape, on a socket from either upgrade
 * route, and the socket stays open and answers the next frame; the server does not overflow its
 * stack or log a failure. A frame nesting exactly MAX_JSON_NESTING (1,000) levels is not refused for
 * its depth. Threat: a frame that overflows the stack in the message handler (docs/security.md says
 * the nesting limit holds on every route).
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { bearer, PASSWORD } from '../helpers/accounts.ts'
import { startBinary, tempDirsRemovedAfterAll, type RunningBinary } from '../helpers/binary.ts'
import { connect } from '../helpers/ws.ts'

const tempDir = tempDirsRemovedAfterAll()
let server: RunningBinary

beforeAll(async () => {
  server = await startBinary({ cwd: tempDir(), env: { WEBSOCKET_MAX_FRAME_SIZE: '2mb' } })
}, 60_000)
afterAll(async () => {
  await server?.stop()
})

const wsUrl = () => `${server.url.replace('http', 'ws')}/api/ws`
/** A frame nesting `levels` deep in all (the frame itself is the first level, its `options` the second). */
const nested = (levels: number, head = '"type":"chat:send","model":"llama3.2:1b","content":"hi"') => `{${head},"options":{"deep":${'['.repeat(levels - 2)}${']'.repeat(levels - 2)}}}`
const CANCEL = '"type":"chat:cancel","messageId":"live-x"'

async function signIn(email: string, isFirst: boolean) {
  const path = isFirst ? '/api/v1/auths/signup' : '/api/v1/auths/signin'
  const response = await fetch(`${server.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'Ada', email, password: PASSWORD }) })
  expect(response.status).toBe(200)
  return ((await response.json()) as { token: string }).token
}

describe('a frame nested deeper than 1,000 levels, under a raised frame size', () => {
  test.each([
    ['the app\'s route (a credential not yet seen)', false],
    ['the fast route (a credential the server remembers)', true],
  ])('through %s: invalid_frame, the socket stays open, nothing logged as failed', async (_, remembered) => {
    const token = await signIn('ada@example.com', !remembered)
    if (remembered) expect((await fetch(`${server.url}/api/v1/chats/`, { headers: bearer(token) })).status).toBe(200)
    const socket = await connect(wsUrl(), { token })
    try {
      const frame = nested(150_000)
      expect(frame.length).toBeGreaterThan(256 * 1024)
      socket.send(frame)
      expect(await socket.nextFrame(undefined, 10_000)).toMatchObject({ type: 'error', code: 'invalid_frame', message: expect.stringContaining('1000 levels') })
      socket.send({ type: 'chat:cancel', messageId: 'live-still-open' })
      expect(await socket.nextFrame(undefined, 10_000)).toMatchObject({ type: 'error', code: 'stream_not_found' })
      expect(server.output()).not.toMatch(/RangeError|Maximum call stack|socket frame failed/)
    } finally {
      socket.ws.close()
    }
  })

  test('exactly 1,000 levels is not refused for its depth (the frame is then checked as usual)', async () => {
    const token = await signIn('ada@example.com', false)
    const socket = await connect(wsUrl(), { token })
    try {
      socket.send(nested(1000, CANCEL))
      const answer = await socket.nextFrame(undefined, 10_000)
      expect(answer.type).toBe('error')
      expect(String(answer.message)).not.toContain('levels')
      socket.send(nested(1001, CANCEL))
      expect(await socket.nextFrame(undefined, 10_000)).toMatchObject({ type: 'error', code: 'invalid_frame', message: expect.stringContaining('1000 levels') })
    } finally {
      socket.ws.close()
    }
  })
})
