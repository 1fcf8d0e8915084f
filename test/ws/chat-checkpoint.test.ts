import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { Elysia } from 'elysia'
import { createAuthDeps } from '../../src/auth/auth-deps.ts'
import { createConnections } from '../../src/chat/connections.ts'
import { SocketHub } from '../../src/chat/socket-hub.ts'
import type { ChatId, UserId } from '../../src/db/ids.ts'
import { httpErrors } from '../../src/http/http-error.ts'
import { DEFAULT_SOCKET_LIMITS, socketRoutes } from '../../src/http/routes/socket.ts'
import { startFakeOllama, type FakeOllama } from '../fakes/ollama.ts'
import { signUp } from '../helpers/accounts.ts'
import { startTestApp } from '../helpers/test-app.ts'
import { connect, ofType, type TestSocket } from '../helpers/ws.ts'

const MODEL = 'qwen2.5:0.5b'
const LONG_QUESTION = 'one two three four five six seven eight nine ten eleven twelve'
const CHECKPOINT_MS = 40

let fake: FakeOllama
let started: ReturnType<typeof startTestApp>
let sockets: Elysia
let ada: { id: UserId; token: string }
let socket: TestSocket

beforeAll(async () => {
  fake = await startFakeOllama()
  started = startTestApp({ OLLAMA_BASE_URL: fake.url, ENABLE_TITLE_GENERATION: 'false' })
  const { deps } = started
  const user = await signUp(started.app, 'ada@example.com')
  ada = { id: user.id as UserId, token: user.token }
  // note: the app's own socket routes checkpoint every second; these, over the same store, every 40 ms.
  const auth = createAuthDeps({ store: deps.store, auth: deps.config.auth, sessionSecret: deps.sessionSecret, audit: deps.audit, now: deps.now, setupGate: deps.setupGate })
  const connections = createConnections({ ...deps.config.ollama, settings: deps.store.settings, now: deps.now })
  sockets = new Elysia().use(httpErrors(deps.log))
    .use(socketRoutes({ auth, connections, config: deps.config, log: deps.log, hub: new SocketHub() }, { ...DEFAULT_SOCKET_LIMITS, checkpointIntervalMs: CHECKPOINT_MS }))
    .listen({ hostname: '127.0.0.1', port: 0 }) as unknown as Elysia
  socket = await connect(`ws://127.0.0.1:${sockets.server!.port}/api/ws`, { token: ada.token })
})
afterAll(async () => {
  await socket.close()
  await sockets.stop(true)
  await fake.stop()
})

const assistantRowsOf = async (chatId: unknown) =>
  (await started.deps.store.chats.listMessagesInChat(ada.id, chatId as ChatId)).filter((message) => message.role === 'assistant')

describe('checkpoints of an answer in progress', () => {
  test('a stream slower than the interval: the partial text is stored mid-stream, the full text at the end, in one row', async () => {
    fake.setBehaviour({ chunkDelayMs: 4 * CHECKPOINT_MS })
    socket.send({ type: 'chat:send', model: MODEL, content: LONG_QUESTION })
    const first = await socket.nextFrame(ofType('chat:started'))
    for (let i = 0; i < 4; i++) await socket.nextFrame(ofType('chat:delta', first.messageId), 2_000)
    await Bun.sleep(2 * CHECKPOINT_MS)

    const midStream = await assistantRowsOf(first.chatId)
    expect(midStream).toHaveLength(1)
    expect(midStream[0]!.stats).toEqual({ partial: true })
    expect(midStream[0]!.status).toBe('pending') // note: so a crash now leaves it shown as cut off (done: false)
    expect(midStream[0]!.content.length).toBeGreaterThan(0)
    expect(LONG_QUESTION.startsWith(midStream[0]!.content)).toBe(true)
    expect(midStream[0]!.content).not.toBe(LONG_QUESTION)

    const end = await socket.nextFrame(ofType('chat:done', first.messageId), 10_000)
    const atEnd = await assistantRowsOf(first.chatId)
    expect(atEnd).toHaveLength(1)
    expect(atEnd[0]).toMatchObject({ id: end.storedMessageId, content: LONG_QUESTION, parentId: first.userMessageId, model: MODEL })
    expect(atEnd[0]!.stats).not.toHaveProperty('partial')
    expect(atEnd[0]!.status).toBe('done')
    const raw = started.deps.store.db!.query('SELECT content FROM message').all() as { content: Uint8Array }[]
    expect(raw.some((row) => Buffer.from(row.content).includes(Buffer.from('twelve')))).toBe(false)
  })

  test('an answer shorter than one interval is stored once, never marked partial', async () => {
    fake.setBehaviour({ chunkDelayMs: 0 })
    socket.send({ type: 'chat:send', model: MODEL, content: 'short one' })
    const first = await socket.nextFrame(ofType('chat:started'))
    const end = await socket.nextFrame(ofType('chat:done', first.messageId))
    await Bun.sleep(2 * CHECKPOINT_MS)
    const rows = await assistantRowsOf(first.chatId)
    expect(rows.map(({ id, content }) => [id, content] as unknown[])).toEqual([[end.storedMessageId, 'short one']])
    expect(rows[0]!.stats).not.toHaveProperty('partial')
  })

  test('a cancel after a checkpoint rewrites the same row with stats { cancelled: true }', async () => {
    fake.setBehaviour({ chunkDelayMs: 4 * CHECKPOINT_MS })
    socket.send({ type: 'chat:send', model: MODEL, content: LONG_QUESTION })
    const first = await socket.nextFrame(ofType('chat:started'))
    for (let i = 0; i < 2; i++) await socket.nextFrame(ofType('chat:delta', first.messageId), 2_000)
    await Bun.sleep(2 * CHECKPOINT_MS)
    socket.send({ type: 'chat:cancel', messageId: first.messageId as string })
    const end = await socket.nextFrame(ofType('chat:done', first.messageId), 5_000)
    const rows = await assistantRowsOf(first.chatId)
    expect(rows).toHaveLength(1)
    expect(rows[0]).toMatchObject({ id: end.storedMessageId, stats: { cancelled: true }, status: 'cancelled' })
    expect(LONG_QUESTION.startsWith(rows[0]!.content)).toBe(true)
  })

  test('an answer that fails after a checkpoint keeps its row, unfinished, with the reason', async () => {
    fake.setBehaviour({ chunkDelayMs: 2 * CHECKPOINT_MS, fault: { kind: 'error_line', afterChunks: 4, error: 'model ran out of memory' } })
    socket.send({ type: 'chat:send', model: MODEL, content: LONG_QUESTION })
    const first = await socket.nextFrame(ofType('chat:started'))
    await socket.nextFrame(ofType('chat:error', first.messageId), 5_000)
    fake.setBehaviour({ chunkDelayMs: 0, fault: null })
    const rows = await assistantRowsOf(first.chatId)
    expect(rows).toHaveLength(1)
    expect(rows[0]).toMatchObject({ status: 'pending', error: { content: expect.stringContaining('out of memory') } })
    expect(rows[0]!.content.length).toBeGreaterThan(0)
  })
})
