/**
 * Beyond the answer itself: the title the model writes for a new chat, the cap on answers one user
 * streams at once, and pull progress on the admin's sockets. The stand-in echoes the prompt it
 * gets, so a template that is itself a JSON title shows exactly what reached the model.
 */
import { afterEach, describe, expect, test } from 'bun:test'
import type { ChatId, UserId } from '../../src/db/ids.ts'
import { startFakeOllama, type FakeOllama } from '../fakes/ollama.ts'
import { bearer, signUp } from '../helpers/accounts.ts'
import { req, startTestApp } from '../helpers/test-app.ts'
import { connect, ofType, type TestSocket } from '../helpers/ws.ts'

const MODEL = 'qwen2.5:0.5b'
const TASK_MODEL = 'llama3.2:1b'
const TEMPLATE = '{"title": "About {{prompt:start:9}}"}'

const cleanups: (() => unknown)[] = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

async function startSetup(env: Record<string, string>, behaviour: { chunkDelayMs?: number } = {}) {
  const fake = await startFakeOllama({ behaviour })
  cleanups.push(() => fake.stop())
  const started = startTestApp({ OLLAMA_BASE_URL: fake.url, ...env })
  const user = await signUp(started.app, 'ada@example.com')
  started.app.listen({ hostname: '127.0.0.1', port: 0 })
  cleanups.push(() => started.app.stop(true))
  const open = async () => {
    const socket = await connect(`ws://127.0.0.1:${started.app.server!.port}/api/ws`, { token: user.token })
    cleanups.push(() => socket.ws.close())
    return socket
  }
  const chatOf = async (chatId: unknown) => await started.deps.store.chats.findChatForUser(user.id as UserId, chatId as ChatId)
  return { fake, started, user, open, chatOf }
}

async function turn(socket: TestSocket, frame: Record<string, unknown>) {
  socket.send({ type: 'chat:send', model: MODEL, ...frame })
  const begun = await socket.nextFrame(ofType('chat:started'))
  const end = await socket.nextFrame((candidate) => ['chat:done', 'chat:error'].includes(candidate.type) && candidate.messageId === begun.messageId)
  return { begun, end }
}

const chatRequests = (fake: FakeOllama) => fake.requests.filter((request) => request.path === '/api/chat')

describe('titles', () => {
  test('after a new chat\'s first answer, the model names it and every socket of the user hears the title', async () => {
    const { fake, open, chatOf } = await startSetup({ TITLE_GENERATION_PROMPT_TEMPLATE: TEMPLATE, TASK_MODEL })
    const [first, second] = [await open(), await open()]
    const { begun, end } = await turn(first, { content: 'Tides and the moon' })
    expect(end.type).toBe('chat:done')
    for (const socket of [first, second]) {
      const titled = await socket.nextFrame(ofType('chat:title'))
      expect(titled).toEqual({ type: 'chat:title', chatId: begun.chatId, title: 'About Tides and' })
    }
    expect((await chatOf(begun.chatId))?.title).toBe('About Tides and')
    const titleRequest = chatRequests(fake)[1]!.body as { model: string; messages: { content: string }[] }
    expect(titleRequest.model).toBe(TASK_MODEL)
    expect(titleRequest.messages.at(-1)!.content).toBe(TEMPLATE.replace('{{prompt:start:9}}', 'Tides and'))
  })

  test('only the first answer of a new chat asks for a title', async () => {
    const { fake, open, chatOf } = await startSetup({ TITLE_GENERATION_PROMPT_TEMPLATE: TEMPLATE })
    const socket = await open()
    const { begun } = await turn(socket, { content: 'First question' })
    await socket.nextFrame(ofType('chat:title'))
    await turn(socket, { chatId: begun.chatId, content: 'Second question' })
    await Bun.sleep(100)
    expect(chatRequests(fake)).toHaveLength(3)
    expect(socket.frames.filter(ofType('chat:title'))).toHaveLength(1)
    expect((await chatOf(begun.chatId))?.title).toBe('About First que')
  })

  test('ENABLE_TITLE_GENERATION=false keeps the first line as the title and asks nothing more', async () => {
    const { fake, open, chatOf } = await startSetup({ ENABLE_TITLE_GENERATION: 'false' })
    const socket = await open()
    const { begun } = await turn(socket, { content: 'Line one of the question\nline two' })
    await Bun.sleep(100)
    expect(chatRequests(fake)).toHaveLength(1)
    expect((await chatOf(begun.chatId))?.title).toBe('Line one of the question')
  })

  test('a chat the user renamed while the answer streamed keeps the user\'s title', async () => {
    const { started, user, open, chatOf } = await startSetup({ TITLE_GENERATION_PROMPT_TEMPLATE: TEMPLATE }, { chunkDelayMs: 30 })
    const socket = await open()
    socket.send({ type: 'chat:send', model: MODEL, content: 'one two three four five six' })
    const begun = await socket.nextFrame(ofType('chat:started'))
    const renamed = await started.app.handle(req('POST', `/api/v1/chats/${begun.chatId}/rename`, { title: 'Mine' }, bearer(user.token)))
    expect(renamed.status).toBe(200)
    await socket.nextFrame((frame) => frame.type === 'chat:done', 5_000)
    await Bun.sleep(300)
    expect((await chatOf(begun.chatId))?.title).toBe('Mine')
    expect(socket.frames.filter(ofType('chat:title'))).toHaveLength(0)
  })

  test('a failed or cancelled answer asks for no title', async () => {
    const { fake, open } = await startSetup({ TITLE_GENERATION_PROMPT_TEMPLATE: TEMPLATE }, { chunkDelayMs: 30 })
    const socket = await open()
    socket.send({ type: 'chat:send', model: MODEL, content: 'a b c d e f g h i j' })
    const begun = await socket.nextFrame(ofType('chat:started'))
    await socket.nextFrame(ofType('chat:delta'))
    socket.send({ type: 'chat:cancel', messageId: begun.messageId })
    expect((await socket.nextFrame(ofType('chat:done'))).cancelled).toBe(true)
    fake.setBehaviour({ chunkDelayMs: 0, fault: { kind: 'status', status: 500, error: 'out of memory' } })
    socket.send({ type: 'chat:send', model: MODEL, content: 'again' })
    await socket.nextFrame(ofType('chat:error'))
    await Bun.sleep(100)
    expect(chatRequests(fake)).toHaveLength(2)
  })

  test('a title request that fails leaves the first-line title and the socket working', async () => {
    const { fake, open, chatOf } = await startSetup({ TITLE_GENERATION_PROMPT_TEMPLATE: TEMPLATE, TASK_MODEL: 'no-such-model:1b' })
    const socket = await open()
    const { begun, end } = await turn(socket, { content: 'Kept title' })
    expect(end.type).toBe('chat:done')
    await Bun.sleep(100)
    expect((await chatOf(begun.chatId))?.title).toBe('Kept title')
    expect(chatRequests(fake)).toHaveLength(1)
    expect((await turn(socket, { chatId: begun.chatId, content: 'still here' })).end.type).toBe('chat:done')
  })
})

describe('answers at once', () => {
  test('past CHAT_MAX_CONCURRENT_ANSWERS a send is refused and stores nothing; after one ends it is accepted', async () => {
    const { started, user, open } = await startSetup({ CHAT_MAX_CONCURRENT_ANSWERS: '1', ENABLE_TITLE_GENERATION: 'false' }, { chunkDelayMs: 20 })
    const socket = await open()
    socket.send({ type: 'chat:send', model: MODEL, content: 'one two three four five' })
    const begun = await socket.nextFrame(ofType('chat:started'))
    socket.send({ type: 'chat:send', model: MODEL, content: 'refused question' })
    expect(await socket.nextFrame(ofType('error'))).toMatchObject({ type: 'error', code: 'too_many_answers' })
    await socket.nextFrame((frame) => frame.type === 'chat:done' && frame.messageId === begun.messageId, 5_000)
    const chats = await started.deps.store.chats.listChatsForUser(user.id as UserId, { limit: 10, offset: 0 })
    expect(chats).toHaveLength(1)
    expect((await turn(socket, { content: 'accepted now' })).end.type).toBe('chat:done')
  })

  test('the limit is per user: another user still streams', async () => {
    const { started, open } = await startSetup({ CHAT_MAX_CONCURRENT_ANSWERS: '1', ENABLE_TITLE_GENERATION: 'false', DEFAULT_USER_ROLE: 'user' }, { chunkDelayMs: 20 })
    const socket = await open()
    socket.send({ type: 'chat:send', model: MODEL, content: 'one two three four five' })
    await socket.nextFrame(ofType('chat:started'))
    const bob = await signUp(started.app, 'bob@example.com')
    const bobSocket = await connect(`ws://127.0.0.1:${started.app.server!.port}/api/ws`, { token: bob.token })
    cleanups.push(() => bobSocket.ws.close())
    expect((await turn(bobSocket, { content: 'mine too' })).end.type).toBe('chat:done')
  })

  test.each(['0', '101', 'many', '-1'])('CHAT_MAX_CONCURRENT_ANSWERS=%p is refused at start', (value) => {
    expect(() => startTestApp({ CHAT_MAX_CONCURRENT_ANSWERS: value })).toThrow('CHAT_MAX_CONCURRENT_ANSWERS')
  })
})

describe('pull progress on the admin\'s sockets', () => {
  test('every socket of the admin who pulls gets model:pull frames ending in success; other users get none', async () => {
    const { started, user, open } = await startSetup({ DEFAULT_USER_ROLE: 'user' })
    const [first, second] = [await open(), await open()]
    const bob = await signUp(started.app, 'bob@example.com')
    const bobSocket = await connect(`ws://127.0.0.1:${started.app.server!.port}/api/ws`, { token: bob.token })
    cleanups.push(() => bobSocket.ws.close())
    const response = await fetch(`http://127.0.0.1:${started.app.server!.port}/api/v1/ollama/pull`, {
      method: 'POST', headers: { ...bearer(user.token), 'content-type': 'application/json' }, body: JSON.stringify({ name: 'tinyllama:latest' }),
    })
    expect(response.status).toBe(200)
    const lines = (await response.text()).trim().split('\n').map((line) => JSON.parse(line) as { status: string })
    for (const socket of [first, second]) {
      const done = await socket.nextFrame((frame) => frame.type === 'model:pull' && frame.status === 'success')
      expect(done).toMatchObject({ name: 'tinyllama:latest', connection: 0 })
      expect(socket.frames.filter(ofType('model:pull')).map((frame) => frame.status)).toEqual(lines.map((line) => line.status))
    }
    expect(bobSocket.frames.filter(ofType('model:pull'))).toHaveLength(0)
  })
})
