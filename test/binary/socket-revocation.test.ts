/**
 * The compiled binary closes a signed-out session's socket at once and stops the answer it had
 * running at Ollama (not on the next 5 s re-check), as test/ws/socket-revocation.test.ts shows for
 * the app in-process.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { startFakeOllama, type FakeOllama } from '../fakes/ollama.ts'
import { startBinary, tempDirsRemovedAfterAll, type RunningBinary } from '../helpers/binary.ts'
import { connect, ofType } from '../helpers/ws.ts'

const tempDir = tempDirsRemovedAfterAll()
const AT_ONCE_MS = 300
const PASSWORD = 'binary socket password 5c1e'

let fake: FakeOllama
let server: RunningBinary

beforeAll(async () => {
  fake = await startFakeOllama({ behaviour: { chunkDelayMs: 20, chunkCount: 400 } })
  server = await startBinary({ cwd: tempDir(), env: { OLLAMA_BASE_URL: fake.url, ENABLE_TITLE_GENERATION: 'false' } })
})

afterAll(async () => {
  await server?.stop()
  await fake?.stop()
})

async function post(path: string, body: unknown, token?: string) {
  const res = await fetch(`${server.url}${path}`, {
    method: 'POST', body: JSON.stringify(body), headers: { 'content-type': 'application/json', ...(token === undefined ? {} : { authorization: `Bearer ${token}` }) },
  })
  return { status: res.status, body: (await res.json()) as Record<string, unknown> }
}

test('signing out closes the session\'s socket at once and aborts its running answer at Ollama', async () => {
  const signup = await post('/api/v1/auths/signup', { name: 'Ada', email: 'ada@example.com', password: PASSWORD })
  expect(signup.status).toBe(200)
  const token = signup.body.token as string
  const socket = await connect(`${server.url.replace('http', 'ws')}/api/ws`, { token })
  socket.send({ type: 'chat:send', model: 'qwen2.5:0.5b', content: 'tell me a very long story please' })
  const turn = await socket.nextFrame(ofType('chat:started'), 5_000)
  await socket.nextFrame(ofType('chat:delta', turn.messageId), 5_000)
  const request = fake.requests.findLast((entry) => entry.path === '/api/chat')!
  const chatRequests = fake.requests.filter((entry) => entry.path === '/api/chat').length

  expect((await post('/api/v1/auths/signout', {}, token)).status).toBe(200)
  if (socket.ws.readyState === WebSocket.OPEN) socket.send({ type: 'chat:send', model: 'qwen2.5:0.5b', content: 'one more after signing out' })
  const closed = await Promise.race([socket.closed, Bun.sleep(AT_ONCE_MS).then(() => null)])
  expect(closed?.code).toBe(4401)
  expect(await Promise.race([request.settled, Bun.sleep(AT_ONCE_MS).then(() => 'running')])).toBe('aborted')

  // What was stored of the answer stays as it was at the stop, and the frame after it never reached Ollama.
  const again = await post('/api/v1/auths/signin', { email: 'ada@example.com', password: PASSWORD })
  const chatOf = async () => (await fetch(`${server.url}/api/v1/chats/${turn.chatId}`, { headers: { authorization: `Bearer ${again.body.token}` } })).json()
  const stopped = await chatOf()
  await Bun.sleep(1_200) // note: longer than the 1 s checkpoint interval
  expect(await chatOf()).toEqual(stopped)
  const answer = (stopped as { chat: { messages: { role: string; content: string }[] } }).chat.messages.find((message) => message.role === 'assistant')!
  expect(answer.content.split(' ').length).toBeLessThan(400)
  expect(fake.requests.filter((entry) => entry.path === '/api/chat').length).toBe(chatRequests)
})
