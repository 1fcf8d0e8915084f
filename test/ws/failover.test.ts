/**
 * Failover over several Ollama connections (OLLAMA_BASE_URLS): while nothing of the answer has
 * arrived, a connection that is unreachable or silent past OLLAMA_TIMEOUT gives way to the next
 * one that lists the model. The model listing is cached for MODEL_LIST_TTL_MS on the app's clock,
 * which these tests hold still, so a stand-in listed as having the model can then go down.
 */
import { afterEach, expect, test } from 'bun:test'
import type { ChatId, UserId } from '../../src/db/ids.ts'
import { startFakeOllama, type FakeFault, type FakeOllama } from '../fakes/ollama.ts'
import { signUp } from '../helpers/accounts.ts'
import { startTestApp } from '../helpers/test-app.ts'
import { connect, ofType, type TestSocket } from '../helpers/ws.ts'

const MODEL = 'qwen2.5:0.5b'
const QUESTION = 'is anyone out there today'

const cleanups: (() => Promise<unknown> | void)[] = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

/** Two stand-ins with the same models, and the app using both, in that order, on a clock that stands still. */
async function startSetup(env: Record<string, string> = {}) {
  const first = await startFakeOllama()
  const second = await startFakeOllama()
  cleanups.push(() => first.stop(), () => second.stop())
  const time = Date.now()
  // note: titles off: a title request would be one more /api/chat call on the first stand-in.
  const started = startTestApp({ OLLAMA_BASE_URLS: `${first.url};${second.url}`, ENABLE_TITLE_GENERATION: 'false', ...env }, () => time)
  const user = await signUp(started.app, 'ada@example.com')
  started.app.listen({ hostname: '127.0.0.1', port: 0 })
  cleanups.push(() => started.app.stop(true))
  const socket = await connect(`ws://127.0.0.1:${started.app.server!.port}/api/ws`, { token: user.token })
  cleanups.push(() => socket.ws.close())
  const messagesOf = async (chatId: unknown) =>
    (await started.deps.store.chats.listMessagesInChat(user.id as UserId, chatId as ChatId)).map(({ role, content }) => [role, content])
  /** The stored answer's status and error: a failed answer is kept unfinished, with the reason. */
  const failureOf = async (chatId: unknown) => {
    const answer = (await started.deps.store.chats.listMessagesInChat(user.id as UserId, chatId as ChatId)).find((message) => message.role === 'assistant')
    return answer === undefined ? null : { status: answer.status, error: answer.error }
  }
  return { first, second, socket, messagesOf, failureOf }
}

/** Sends a question and collects the turn up to its final frame. */
async function turn(socket: TestSocket, content: string, timeoutMs = 3_000) {
  socket.send({ type: 'chat:send', model: MODEL, content })
  const begun = await socket.nextFrame(ofType('chat:started'))
  const end = await socket.nextFrame((frame) => (frame.type === 'chat:done' || frame.type === 'chat:error') && frame.messageId === begun.messageId, timeoutMs)
  const text = socket.frames.filter(ofType('chat:delta', begun.messageId)).map((frame) => frame.content).join('')
  return { begun, end, text }
}

const chatRequests = (fake: FakeOllama) => fake.requests.filter((request) => request.path === '/api/chat')

/** Answers one turn from the first stand-in, so both are listed as having the model (and the listing is cached). */
async function warmUp(setup: Awaited<ReturnType<typeof startSetup>>) {
  const { end } = await turn(setup.socket, 'warm up')
  expect(end.type).toBe('chat:done')
  expect([chatRequests(setup.first).length, chatRequests(setup.second).length]).toEqual([1, 0])
}

test('the first connection is down: the answer comes from the second, and both messages are stored', async () => {
  const setup = await startSetup()
  await warmUp(setup)
  await setup.first.stop()

  const { begun, end, text } = await turn(setup.socket, QUESTION)
  expect(end).toMatchObject({ type: 'chat:done', cancelled: false })
  expect(text).toBe(QUESTION)
  expect(chatRequests(setup.second)).toHaveLength(1)
  expect(await setup.messagesOf(begun.chatId)).toEqual([['user', QUESTION], ['assistant', QUESTION]])
})

test('the first connection hangs before its first byte: after OLLAMA_TIMEOUT the second answers, and the first request is dropped', async () => {
  const setup = await startSetup({ OLLAMA_TIMEOUT: '1' })
  await warmUp(setup)
  setup.first.setBehaviour({ fault: { kind: 'hang_before_first_byte' } })

  const { begun, end, text } = await turn(setup.socket, QUESTION, 5_000)
  expect(end).toMatchObject({ type: 'chat:done', cancelled: false })
  expect(text).toBe(QUESTION)
  expect(await chatRequests(setup.first).at(-1)!.settled).toBe('aborted')
  expect(chatRequests(setup.second)).toHaveLength(1)
  expect(await setup.messagesOf(begun.chatId)).toEqual([['user', QUESTION], ['assistant', QUESTION]])
})

test.each<[string, FakeFault, string]>([
  ['a failing status (Ollama answered)', { kind: 'status', status: 500, error: 'boom' }, 'ollama_error'],
  ['a drop after part of the answer', { kind: 'close', afterChunks: 2 }, 'unreachable'],
  ['an error line after part of the answer', { kind: 'error_line', afterChunks: 2, error: 'out of memory' }, 'ollama_error'],
])('no failover on %s: chat:error, the second is never asked, the user message kept, the answer stored failed', async (_, fault, code) => {
  const setup = await startSetup()
  await warmUp(setup)
  // note: paced chunks, so the part before the fault has surely reached Enclave when it strikes;
  // at zero delay a drop can overtake the chunks written before it, and no text means failover.
  setup.first.setBehaviour({ fault, chunkDelayMs: 15 })

  const { begun, end } = await turn(setup.socket, QUESTION)
  expect(end).toMatchObject({ type: 'chat:error', code })
  expect(chatRequests(setup.second)).toHaveLength(0)
  expect(await setup.messagesOf(begun.chatId)).toEqual([['user', QUESTION], ['assistant', expect.any(String)]])
  expect(await setup.failureOf(begun.chatId)).toEqual({ status: 'pending', error: { content: end.message } })
})

test('both connections down after listing the model: chat:error unreachable, with no URL, the user message kept, the answer stored failed', async () => {
  const setup = await startSetup()
  await warmUp(setup)
  await setup.first.stop()
  await setup.second.stop()

  const { begun, end } = await turn(setup.socket, QUESTION)
  expect(end).toMatchObject({ type: 'chat:error', chatId: begun.chatId, messageId: begun.messageId, code: 'unreachable' })
  expect(JSON.stringify(end)).not.toContain('127.0.0.1')
  expect(await setup.messagesOf(begun.chatId)).toEqual([['user', QUESTION], ['assistant', expect.any(String)]])
  expect(await setup.failureOf(begun.chatId)).toEqual({ status: 'pending', error: { content: end.message } })
})

test('both connections down from the start: chat:error unreachable, the user message kept, the answer stored failed', async () => {
  const setup = await startSetup()
  await setup.first.stop()
  await setup.second.stop()

  const { begun, end } = await turn(setup.socket, QUESTION)
  expect(end).toMatchObject({ type: 'chat:error', code: 'unreachable' })
  expect(JSON.stringify(end)).not.toContain('127.0.0.1')
  expect(await setup.messagesOf(begun.chatId)).toEqual([['user', QUESTION], ['assistant', expect.any(String)]])
  expect(await setup.failureOf(begun.chatId)).toEqual({ status: 'pending', error: { content: end.message } })
})

test('the first down from the start (never listed): the second answers', async () => {
  const setup = await startSetup()
  await setup.first.stop()

  const { begun, end, text } = await turn(setup.socket, QUESTION)
  expect(end).toMatchObject({ type: 'chat:done', cancelled: false })
  expect(text).toBe(QUESTION)
  expect(await setup.messagesOf(begun.chatId)).toEqual([['user', QUESTION], ['assistant', QUESTION]])
})
