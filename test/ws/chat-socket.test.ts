import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import type { ChatId, UserId } from '../../src/db/ids.ts'
import { startFakeOllama, type FakeOllama } from '../fakes/ollama.ts'
import { signUp, signUpAdminAndUser } from '../helpers/accounts.ts'
import { startTestApp } from '../helpers/test-app.ts'
import { connect, ofType, socketPool, type Frame, type TestSocket } from '../helpers/ws.ts'

const MODEL = 'qwen2.5:0.5b'
const QUESTION = 'why is the sky blue at noon today'

let fake: FakeOllama
let started: ReturnType<typeof startTestApp>
let url: string
let origin: string
let ada: { id: UserId; token: string }
let bob: { id: UserId; token: string }
const sockets = socketPool(() => url)
const socketOf = sockets.socketOf

beforeAll(async () => {
  fake = await startFakeOllama({ behaviour: { chunkDelayMs: 2 } })
  started = startTestApp({ OLLAMA_BASE_URL: fake.url, ENABLE_TITLE_GENERATION: 'false' }) // note: titles are tested in chat-titles-and-limits.test.ts; here a title frame would land among the frames a test waits for
  const { app } = started
  ;({ ada, bob } = await signUpAdminAndUser(app))
  app.listen({ hostname: '127.0.0.1', port: 0 })
  origin = `http://127.0.0.1:${app.server!.port}`
  url = `ws://127.0.0.1:${app.server!.port}/api/ws`
})

afterAll(async () => {
  sockets.closeAll()
  await started.app.stop(true)
  await fake.stop()
})

/** Waits for the turn's started frame, then collects its deltas up to the final frame. */
async function answerOf(socket: TestSocket) {
  const startedFrame = await socket.nextFrame(ofType('chat:started'))
  const messageId = startedFrame.messageId
  const end = await socket.nextFrame((frame) => (frame.type === 'chat:done' || frame.type === 'chat:error') && frame.messageId === messageId)
  const deltas = socket.frames.filter(ofType('chat:delta', messageId))
  return { started: startedFrame, end, deltas, text: deltas.map((frame) => frame.content).join('') }
}

const messagesOf = async (owner: UserId, chatId: unknown) => await started.deps.store.chats.listMessagesInChat(owner, chatId as ChatId)

describe('a chat turn over the socket', () => {
  test('send: started, deltas in order, done; both messages are stored, encrypted at rest', async () => {
    const socket = await socketOf(ada)
    expect(socket.ws.protocol).toBe('enclave')
    socket.send({ type: 'chat:send', model: MODEL, content: QUESTION })
    const { started: first, end, deltas, text } = await answerOf(socket)

    // note: Bun's toMatchObject writes asymmetric matchers into the object it checks, so plain checks here.
    expect([typeof first.chatId, typeof first.userMessageId, String(first.messageId).startsWith('live-')]).toEqual(['string', 'number', true])
    expect(deltas.map((frame) => frame.index)).toEqual(deltas.map((_, i) => i))
    expect(text).toBe(QUESTION)
    expect(end).toMatchObject({ type: 'chat:done', chatId: first.chatId, cancelled: false, stats: { evalCount: QUESTION.split(' ').length } })

    const messages = await messagesOf(ada.id, first.chatId)
    expect(messages.map(({ role, content }) => [role, content])).toEqual([['user', QUESTION], ['assistant', QUESTION]])
    expect(messages[1]).toMatchObject({ id: end.storedMessageId, parentId: first.userMessageId, model: MODEL })
    const raw = started.deps.store.db!.query('SELECT content FROM message').all() as { content: Uint8Array }[]
    expect(raw.some((row) => Buffer.from(row.content).includes(Buffer.from('sky blue')))).toBe(false)
  })

  test('a second turn in the same chat sends the history and appends', async () => {
    const socket = await socketOf(ada)
    socket.send({ type: 'chat:send', model: MODEL, content: 'first question' })
    const first = await answerOf(socket)
    socket.send({ type: 'chat:send', chatId: first.started.chatId, model: MODEL, content: 'second one' })
    const second = await answerOf(socket)
    expect(second.started.chatId).toBe(first.started.chatId)
    expect((await messagesOf(ada.id, first.started.chatId)).map(({ content }) => content)).toEqual(['first question', 'first question', 'second one', 'second one'])
    expect((fake.requests.at(-1)!.body as { messages: unknown[] }).messages).toHaveLength(3)
  })

  test('every socket of the same user sees the stream; another user\'s socket sees nothing', async () => {
    const alsoMine = await connect(url, { cookie: ada.token, origin }) // a browser tab, signed in by cookie
    sockets.keep(alsoMine)
    const [mine, theirs] = [await socketOf(ada), await socketOf(bob)]
    mine.send({ type: 'chat:send', model: MODEL, content: QUESTION })
    const [a, b] = await Promise.all([answerOf(mine), answerOf(alsoMine)])
    expect(b.started.messageId).toBe(a.started.messageId)
    expect(b.text).toBe(QUESTION)
    expect(b.end.type).toBe('chat:done')
    await Bun.sleep(20)
    expect(theirs.frames).toEqual([])
  })

  test('a burst from Ollama (no delay) arrives as fewer, larger deltas: numbered without gaps, the text whole, on every tab, stored whole', async () => {
    const [mine, alsoMine] = [await socketOf(ada), await socketOf(ada)]
    fake.setBehaviour({ chunkDelayMs: 0, chunkCount: 3_000 })
    try {
      mine.send({ type: 'chat:send', model: MODEL, content: QUESTION })
      const [a, b] = await Promise.all([answerOf(mine), answerOf(alsoMine)])
      const expected = Array.from({ length: 3_000 }, (_, i) => (i === 0 ? '' : ' ') + QUESTION.split(' ')[i % 8]).join('')
      expect(a.deltas.length).toBeLessThan(3_000)
      expect(a.deltas[0]?.content).toBe('why') // note: the first chunk goes out alone, before the rest of its read
      for (const { deltas, text } of [a, b]) {
        expect(deltas.map((frame) => frame.index)).toEqual(deltas.map((_, i) => i))
        expect(text).toBe(expected)
      }
      expect(a.end).toMatchObject({ type: 'chat:done', stats: { evalCount: 3_000 } })
      expect((await messagesOf(ada.id, a.started.chatId)).at(-1)?.content).toBe(expected)
    } finally {
      fake.setBehaviour({ chunkDelayMs: 2, chunkCount: null })
    }
  })

  test('another user cannot send into, cancel or resume someone else\'s chat', async () => {
    const mine = await socketOf(ada)
    const theirs = await socketOf(bob)
    fake.setBehaviour({ chunkDelayMs: 20 })
    mine.send({ type: 'chat:send', model: MODEL, content: QUESTION })
    const first = await mine.nextFrame(ofType('chat:started'))
    theirs.send({ type: 'chat:send', chatId: first.chatId, model: MODEL, content: 'hijack' })
    expect(await theirs.nextFrame()).toMatchObject({ type: 'error', code: 'chat_not_found' })
    theirs.send({ type: 'chat:cancel', messageId: first.messageId })
    expect(await theirs.nextFrame()).toMatchObject({ type: 'error', code: 'stream_not_found' })
    theirs.send({ type: 'chat:resume', messageId: first.messageId, index: 0 })
    expect(await theirs.nextFrame()).toMatchObject({ type: 'error', code: 'stream_not_found' })
    expect(await mine.nextFrame(ofType('chat:done', first.messageId))).toMatchObject({ cancelled: false })
    fake.setBehaviour({ chunkDelayMs: 2 })
    expect((await messagesOf(ada.id, first.chatId)).map(({ content }) => content)).not.toContain('hijack')
  })

  test('cancel aborts the request to Ollama and stores the partial answer with stats { cancelled: true }', async () => {
    const socket = await socketOf(ada)
    fake.setBehaviour({ chunkDelayMs: 30, chunkCount: 100 })
    socket.send({ type: 'chat:send', model: MODEL, content: QUESTION })
    const first = await socket.nextFrame(ofType('chat:started'))
    await socket.nextFrame(ofType('chat:delta'))
    const request = fake.requests.at(-1)!
    socket.send({ type: 'chat:cancel', messageId: first.messageId })
    const end = await socket.nextFrame(ofType('chat:done'))
    fake.setBehaviour({ chunkDelayMs: 2, chunkCount: null })

    expect(end).toMatchObject({ cancelled: true, stats: { cancelled: true } })
    expect(await request.settled).toBe('aborted')
    const partial = socket.frames.filter(ofType('chat:delta', first.messageId)).map((frame) => frame.content).join('')
    const stored = await messagesOf(ada.id, first.chatId)
    expect(stored.map(({ role }) => role)).toEqual(['user', 'assistant'])
    expect(stored[1]).toMatchObject({ content: partial, stats: { cancelled: true } })
    expect(partial.length).toBeGreaterThan(0)
    expect(partial.split(' ').length).toBeLessThan(100)
  })

  test('resume after a reconnect yields the whole answer exactly once, in order', async () => {
    const first = await socketOf(ada)
    fake.setBehaviour({ chunkDelayMs: 15, chunkCount: 30 })
    first.send({ type: 'chat:send', model: MODEL, content: QUESTION })
    const begun = await first.nextFrame(ofType('chat:started'))
    await first.nextFrame((frame) => frame.type === 'chat:delta' && frame.index === 2)
    await first.close()
    const seenBefore = first.frames.filter(ofType('chat:delta', begun.messageId))

    await Bun.sleep(60) // deltas keep coming while nobody listens
    const second = await socketOf(ada)
    second.send({ type: 'chat:resume', messageId: begun.messageId, index: seenBefore.length })
    const end = await second.nextFrame(ofType('chat:done', begun.messageId), 3_000)
    fake.setBehaviour({ chunkDelayMs: 2, chunkCount: null })

    const seenAfter = second.frames.filter(ofType('chat:delta', begun.messageId))
    const indexes = [...seenBefore, ...seenAfter].map((frame) => frame.index)
    expect(indexes).toEqual(Array.from({ length: 30 }, (_, i) => i))
    const text = [...seenBefore, ...seenAfter].map((frame) => frame.content).join('')
    expect(text).toBe((await messagesOf(ada.id, begun.chatId))[1]!.content)
    expect(end).toMatchObject({ cancelled: false })
  })

  test('resume after the answer ended sends the backlog and the final frame', async () => {
    const socket = await socketOf(ada)
    socket.send({ type: 'chat:send', model: MODEL, content: QUESTION })
    const { started: begun, text } = await answerOf(socket)
    const later = await socketOf(ada)
    later.send({ type: 'chat:resume', messageId: begun.messageId, index: 0 })
    await later.nextFrame(ofType('chat:done'))
    expect(later.frames.filter(ofType('chat:delta')).map((frame) => frame.content).join('')).toBe(text)
  })
})

describe('upstream failures', () => {
  test('a model no connection has: chat:error model_not_found; the user message stays stored, the answer stored failed with the reason', async () => {
    const socket = await socketOf(ada)
    socket.send({ type: 'chat:send', model: 'no-such-model:7b', content: 'hello there' })
    const { started: begun, end } = await answerOf(socket)
    expect(end).toMatchObject({ type: 'chat:error', chatId: begun.chatId, messageId: begun.messageId, code: 'model_not_found' })
    const stored = await messagesOf(ada.id, begun.chatId)
    expect(stored.map(({ role, content }) => [role, content])).toEqual([['user', 'hello there'], ['assistant', '']])
    expect(stored[1]).toMatchObject({ status: 'pending', error: { content: end.message }, model: 'no-such-model:7b', parentId: begun.userMessageId })
  })

  test('Ollama answering 404 for a listed model: chat:error model_not_found', async () => {
    const socket = await socketOf(ada)
    socket.send({ type: 'chat:send', model: MODEL, content: 'warm the model list' })
    await answerOf(socket)
    await fetch(`${fake.url}/api/delete`, { method: 'DELETE', body: JSON.stringify({ model: 'llama3.2:1b' }) })
    socket.send({ type: 'chat:send', model: 'llama3.2:1b', content: 'hello again' })
    const { started: begun, end } = await answerOf(socket)
    expect(end).toMatchObject({ type: 'chat:error', code: 'model_not_found' })
    expect((await messagesOf(ada.id, begun.chatId)).map(({ content, status }) => [content, status])).toEqual([['hello again', null], ['', 'pending']])
  })

  test('a failure mid-stream: chat:error ollama_error; what arrived is stored unfinished, with the reason', async () => {
    const socket = await socketOf(ada)
    fake.setBehaviour({ fault: { kind: 'error_line', afterChunks: 2, error: 'out of memory' } })
    socket.send({ type: 'chat:send', model: MODEL, content: QUESTION })
    const { started: begun, end } = await answerOf(socket)
    fake.setBehaviour({ fault: null })
    expect(end).toMatchObject({ type: 'chat:error', code: 'ollama_error' })
    const stored = await messagesOf(ada.id, begun.chatId)
    expect(stored.map(({ role }) => role)).toEqual(['user', 'assistant'])
    expect(stored[1]).toMatchObject({ status: 'pending', error: { content: end.message } })
    expect(QUESTION.startsWith(stored[1]!.content)).toBe(true)
  })
})

test('Ollama down: chat:error unreachable, with no URL; the user message stays stored, the answer stored failed', async () => {
  const down = await startFakeOllama()
  const downUrl = down.url
  await down.stop()
  const app = startTestApp({ OLLAMA_BASE_URL: downUrl })
  const user = await signUp(app.app, 'ada@example.com')
  app.app.listen({ hostname: '127.0.0.1', port: 0 })
  try {
    const socket = await connect(`ws://127.0.0.1:${app.app.server!.port}/api/ws`, { token: user.token })
    socket.send({ type: 'chat:send', model: MODEL, content: 'anyone there' })
    const { started: begun, end } = await answerOf(socket)
    expect(end).toMatchObject({ type: 'chat:error', code: 'unreachable' })
    expect(JSON.stringify(end)).not.toContain('127.0.0.1')
    expect((await app.deps.store.chats.listMessagesInChat(user.id as UserId, begun.chatId as ChatId)).map(({ role, status }) => [role, status])).toEqual([['user', null], ['assistant', 'pending']])
    socket.ws.close()
  } finally {
    await app.app.stop(true)
  }
})

describe('frames the server refuses', () => {
  test.each<[string, string | object, string]>([
    ['malformed JSON', '{"type": "chat:send", ', 'invalid_json'],
    ['plain text', 'hello', 'invalid_json'],
    ['a number', '42', 'invalid_frame'],
    ['an array', '[1, 2]', 'invalid_frame'],
    ['no type', { model: MODEL }, 'unknown_type'],
    ['an unknown type', { type: 'chat:delete' }, 'unknown_type'],
    ['a prototype key as type', { type: 'constructor' }, 'unknown_type'],
    ['chat:send without content', { type: 'chat:send', model: MODEL }, 'invalid_frame'],
    ['chat:send with an empty model', { type: 'chat:send', model: '', content: 'hi' }, 'invalid_frame'],
    ['chat:resume with a negative index', { type: 'chat:resume', messageId: 'live-x', index: -1 }, 'invalid_frame'],
    ['chat:cancel of an unknown answer', { type: 'chat:cancel', messageId: 'live-x' }, 'stream_not_found'],
    ['chat:send into a chat id that is not one', { type: 'chat:send', chatId: '../1', model: MODEL, content: 'hi' }, 'chat_not_found'],
  ])('%s: an error frame, and the socket stays open', async (_, frame, code) => {
    const socket = await socketOf(ada)
    socket.send(frame)
    expect(await socket.nextFrame()).toMatchObject({ type: 'error', code, message: expect.any(String) })
    socket.send({ type: 'chat:cancel', messageId: 'live-still-open' })
    expect(await socket.nextFrame()).toMatchObject({ type: 'error', code: 'stream_not_found' })
  })

  test('a frame over 64 KiB closes the socket with 1009, and nothing is stored', async () => {
    const socket = await socketOf(ada)
    const before = started.deps.store.db!.query('SELECT count(*) AS n FROM message').get() as { n: number }
    socket.send({ type: 'chat:send', model: MODEL, content: 'x'.repeat(65 * 1024) })
    expect((await socket.closed).code).toBe(1009)
    expect(started.deps.store.db!.query('SELECT count(*) AS n FROM message').get()).toEqual(before)
  })

  test('more than 20 frames a second: rate_limited errors, then the socket is closed with 1008', async () => {
    const socket = await socketOf(ada)
    for (let i = 0; i < 60; i++) socket.send({ type: 'chat:cancel', messageId: `live-${i}` })
    expect((await socket.closed).code).toBe(1008)
    const codes = socket.frames.map((frame: Frame) => frame.code)
    expect(codes.slice(0, 20).every((code) => code === 'stream_not_found')).toBe(true)
    expect(codes).toContain('rate_limited')
  })
})
