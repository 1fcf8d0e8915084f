/**
 * A turn sends the model no more of a long chat than its context window holds: the turn's own
 * `num_ctx`, else the model's as /api/show names it (asked in the background, so the first turn
 * with a model goes whole); the system prompt and the new question always go, and what goes is the
 * newest part of the path, in order. A short chat goes whole.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import type { ChatId, UserId } from '../../src/db/ids.ts'
import { startFakeOllama, type FakeOllama } from '../fakes/ollama.ts'
import { signUpAdminAndUser } from '../helpers/accounts.ts'
import { startTestApp } from '../helpers/test-app.ts'
import { socketPool, type TestSocket } from '../helpers/ws.ts'

const MODEL = 'qwen2.5:0.5b'

let fake: FakeOllama
let started: ReturnType<typeof startTestApp>
let url: string
let ada: { id: UserId; token: string }
const sockets = socketPool(() => url)

beforeAll(async () => {
  fake = await startFakeOllama({ behaviour: { chunkDelayMs: 0 } })
  started = startTestApp({ OLLAMA_BASE_URL: fake.url, ENABLE_TITLE_GENERATION: 'false' })
  ;({ ada } = await signUpAdminAndUser(started.app))
  started.app.listen({ hostname: '127.0.0.1', port: 0 })
  url = `ws://127.0.0.1:${started.app.server!.port}/api/ws`
})

afterAll(async () => {
  sockets.closeAll()
  await started.app.stop(true)
  await fake.stop()
})

async function turn(socket: TestSocket, frame: object) {
  socket.send(frame)
  const begun = await socket.nextFrame((entry) => entry.type === 'chat:started' || entry.type === 'error')
  if (begun.type === 'error') throw new Error(`refused: ${JSON.stringify(begun)}`)
  return socket.nextFrame((entry) => (entry.type === 'chat:done' || entry.type === 'chat:error') && entry.messageId === begun.messageId)
}

const lastChatRequest = () => fake.requests.filter((entry) => entry.path === '/api/chat').at(-1)!.body as { messages: { role: string; content: string }[] }

/** A linear chat of `count` messages of `chars` characters each, numbered so the test can tell which went. */
async function longChat(count: number, chars: number): Promise<ChatId> {
  const messages = Array.from({ length: count }, (_, i) => ({ role: i % 2 === 0 ? 'user' as const : 'assistant' as const, content: `#${i} `.padEnd(chars, 'x') }))
  return (await started.deps.store.chats.createChat(ada.id, 'long', messages)).id
}

test('num_ctx sent with the turn bounds what goes: system prompt, the newest messages in order, the question', async () => {
  const socket = await sockets.socketOf(ada)
  const chatId = await longChat(40, 400) // about 54 tokens a message at 8 characters a token
  const end = await turn(socket, { type: 'chat:send', chatId, model: MODEL, content: 'the question', system: 'Be brief.', options: { num_ctx: 300 } })
  expect(end.type).toBe('chat:done')
  const sent = lastChatRequest().messages
  expect(sent[0]).toEqual({ role: 'system', content: 'Be brief.' })
  expect(sent.at(-1)).toMatchObject({ role: 'user', content: 'the question' })
  const kept = sent.slice(1, -1).map((message) => Number(/^#(\d+)/.exec(message.content)![1]))
  expect(kept.length).toBeGreaterThan(0)
  expect(kept.length).toBeLessThan(40)
  expect(kept).toEqual(Array.from({ length: kept.length }, (_, i) => 40 - kept.length + i)) // the newest, in order
})

test('without num_ctx, the model\'s own window from /api/show bounds the turns after it is known; a short chat goes whole', async () => {
  const socket = await sockets.socketOf(ada)
  const chatId = await longChat(30, 10_000) // 300,000 characters: past the stand-in's 32,768 tokens at 8 characters a token
  await turn(socket, { type: 'chat:send', chatId, model: MODEL, content: 'first' })
  const shown = fake.requests.find((entry) => entry.path === '/api/show')
  expect(shown?.body).toMatchObject({ model: MODEL })
  await shown!.settled
  const whole = lastChatRequest().messages.length
  // note: the stand-in's answer is read a moment after it settles; a few turns at most, never a sleep.
  for (let tries = 0; tries < 5 && lastChatRequest().messages.length >= whole; tries++) await turn(socket, { type: 'chat:send', chatId, model: MODEL, content: 'second' })
  const bounded = lastChatRequest().messages
  expect(bounded.length).toBeLessThan(whole)
  expect(bounded.reduce((sum, message) => sum + message.content.length, 0)).toBeLessThanOrEqual(32_768 * 8)
  expect(bounded.at(-1)).toMatchObject({ content: 'second' })

  const short = await turn(socket, { type: 'chat:send', model: MODEL, content: 'a short chat' })
  await turn(socket, { type: 'chat:send', chatId: short.chatId, model: MODEL, content: 'goes whole' })
  expect(lastChatRequest().messages.map((message) => message.content)).toEqual(['a short chat', 'a short chat', 'goes whole'])
})
