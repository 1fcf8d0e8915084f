/**
 * Branches over the socket: regenerate and edit make siblings in the chat's message tree, a branch
 * switch is heard by every tab of the user, the model gets only the path to the parent (after the
 * chat's system prompt, with its params), and frames naming messages elsewhere store nothing.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import type { ChatId, UserId } from '../../src/db/ids.ts'
import { startFakeOllama, type FakeOllama } from '../fakes/ollama.ts'
import { bearer, signUpAdminAndUser } from '../helpers/accounts.ts'
import { req, startTestApp } from '../helpers/test-app.ts'
import { ofType, socketPool, type Frame, type TestSocket } from '../helpers/ws.ts'

const MODEL = 'qwen2.5:0.5b'

let fake: FakeOllama
let started: ReturnType<typeof startTestApp>
let url: string
let ada: { id: UserId; token: string }
let bob: { id: UserId; token: string }
const sockets = socketPool(() => url)
const socketOf = sockets.socketOf

beforeAll(async () => {
  fake = await startFakeOllama({ behaviour: { chunkDelayMs: 1 } })
  started = startTestApp({ OLLAMA_BASE_URL: fake.url, ENABLE_TITLE_GENERATION: 'false' })
  const { app } = started
  ;({ ada, bob } = await signUpAdminAndUser(app))
  app.listen({ hostname: '127.0.0.1', port: 0 })
  url = `ws://127.0.0.1:${app.server!.port}/api/ws`
})

afterAll(async () => {
  sockets.closeAll()
  await started.app.stop(true)
  await fake.stop()
})

/** Sends a frame and waits for its turn's end; fails on an error frame. */
async function turn(socket: TestSocket, frame: object) {
  socket.send(frame)
  const begun = await socket.nextFrame((entry) => entry.type === 'chat:started' || entry.type === 'error')
  if (begun.type === 'error') throw new Error(`refused: ${JSON.stringify(begun)}`)
  const end = await socket.nextFrame((entry) => (entry.type === 'chat:done' || entry.type === 'chat:error') && entry.messageId === begun.messageId)
  return { begun, end }
}

type WireMessage = { id: string; parentId: string | null; childrenIds: string[]; role: string; content: string; done?: boolean; cancelled?: boolean; model?: string; usage?: Record<string, number> }
type WireChat = { chat: { system?: string; params: Record<string, unknown>; history: { messages: Record<string, WireMessage>; currentId: string | null }; messages: WireMessage[] } }

async function getChat(user: { token: string }, chatId: unknown): Promise<WireChat> {
  const res = await started.app.handle(req('GET', `/api/v1/chats/${String(chatId)}`, undefined, bearer(user.token)))
  expect(res.status).toBe(200)
  return await res.json() as WireChat
}

const countMessages = () => (started.deps.store.db!.query('SELECT count(*) AS n FROM message').get() as { n: number }).n
const lastChatRequest = () => fake.requests.filter((entry) => entry.path === '/api/chat').at(-1)!.body as { messages: { role: string; content: string }[]; options?: Record<string, unknown> }

describe('regenerate and edit over the socket', () => {
  test('regenerate twice and edit once: siblings under the same parent, the chat selects the newest, another tab follows', async () => {
    const socket = await socketOf(ada)
    const other = await socketOf(ada)
    const first = await turn(socket, { type: 'chat:send', model: MODEL, content: 'first question' })
    const chatId = first.begun.chatId
    const question = String(first.begun.parentId)
    expect(first.begun).toMatchObject({ currentId: question, regenerate: false })
    expect(first.end).toMatchObject({ type: 'chat:done', parentId: question, storedMessageUid: String(first.end.storedMessageId) })
    const second = await turn(socket, { type: 'chat:send', chatId, model: MODEL, content: 'second question' })
    const secondQuestion = String(second.begun.parentId)

    const again = await turn(socket, { type: 'chat:regenerate', chatId, parentId: secondQuestion, model: MODEL })
    expect(again.begun).toMatchObject({ parentId: secondQuestion, currentId: secondQuestion, regenerate: true })
    // note: the model is asked the path to the question, not the earlier answer to it.
    expect(lastChatRequest().messages.map((message) => message.content)).toEqual(['first question', 'first question', 'second question'])
    const third = await turn(socket, { type: 'chat:regenerate', chatId, parentId: secondQuestion, model: MODEL })
    expect(await other.nextFrame((frame) => frame.type === 'chat:started' && frame.messageId === third.begun.messageId)).toMatchObject({ regenerate: true })

    const edited = await turn(socket, { type: 'chat:send', chatId, parentId: String(first.end.storedMessageUid), model: MODEL, content: 'second question, edited' })
    expect(lastChatRequest().messages.map((message) => message.content)).toEqual(['first question', 'first question', 'second question, edited'])

    const { chat } = await getChat(ada, chatId)
    const firstAnswer = chat.history.messages[String(first.end.storedMessageUid)]!
    expect(firstAnswer.childrenIds).toEqual([secondQuestion, String(edited.begun.parentId)])
    expect(chat.history.messages[secondQuestion]!.childrenIds).toEqual([second.end, again.end, third.end].map((end) => String(end.storedMessageUid)))
    expect(chat.history.currentId).toBe(String(edited.end.storedMessageUid))
    expect(chat.messages.map((message) => message.content)).toEqual(['first question', 'first question', 'second question, edited', 'second question, edited'])
    const answer = chat.history.messages[String(third.end.storedMessageUid)]!
    expect(answer).toMatchObject({ role: 'assistant', model: MODEL, done: true, parentId: secondQuestion })
    expect(answer.usage).toMatchObject({ completion_tokens: 2, eval_count: 2 })
    expect(typeof answer.usage!['response_token/s']).toBe('number')
  })

  test('chat:select switches the branch: stored, and every socket of the user hears chat:current; REST saves are announced too', async () => {
    const socket = await socketOf(ada)
    const first = await turn(socket, { type: 'chat:send', model: MODEL, content: 'pick a branch' })
    const chatId = first.begun.chatId
    await turn(socket, { type: 'chat:regenerate', chatId, parentId: first.begun.parentId, model: MODEL })
    const follower = await socketOf(ada)
    const stranger = await socketOf(bob)

    socket.send({ type: 'chat:select', chatId, messageId: String(first.end.storedMessageUid) })
    expect(await follower.nextFrame(ofType('chat:current'))).toEqual({ type: 'chat:current', chatId, currentId: String(first.end.storedMessageUid) })
    expect(await socket.nextFrame(ofType('chat:current'))).toMatchObject({ currentId: String(first.end.storedMessageUid) })
    expect((await getChat(ada, chatId)).chat.history.currentId).toBe(String(first.end.storedMessageUid))

    const { chat } = await getChat(ada, chatId)
    const saved = await started.app.handle(req('POST', `/api/v1/chats/${String(chatId)}`, { chat: { ...chat, history: { ...chat.history, currentId: first.begun.parentId } } }, bearer(ada.token)))
    expect(saved.status).toBe(200)
    expect(await follower.nextFrame(ofType('chat:current'))).toMatchObject({ chatId, currentId: first.begun.parentId })
    await Bun.sleep(30)
    expect(stranger.frames.filter(ofType('chat:current'))).toEqual([])
  })

  test('a cancelled regenerate is stored as cancelled, beside the finished answer', async () => {
    const socket = await socketOf(ada)
    const first = await turn(socket, { type: 'chat:send', model: MODEL, content: 'tell me a long story' })
    fake.setBehaviour({ chunkDelayMs: 40 })
    try {
      socket.send({ type: 'chat:regenerate', chatId: first.begun.chatId, parentId: first.begun.parentId, model: MODEL })
      const begun = await socket.nextFrame(ofType('chat:started'))
      await socket.nextFrame(ofType('chat:delta', begun.messageId))
      socket.send({ type: 'chat:cancel', messageId: begun.messageId })
      const end = await socket.nextFrame(ofType('chat:done', begun.messageId))
      expect(end).toMatchObject({ cancelled: true })
      const { chat } = await getChat(ada, first.begun.chatId)
      expect(chat.history.messages[String(end.storedMessageUid)]).toMatchObject({ done: false, cancelled: true, parentId: first.begun.parentId })
      expect(chat.history.messages[String(first.end.storedMessageUid)]).toMatchObject({ done: true })
    } finally {
      fake.setBehaviour({ chunkDelayMs: 1 })
    }
  })
})

describe('turn settings: system prompt and model parameters', () => {
  test('sent with a turn, they are stored with the chat, sent to Ollama, and apply to later turns', async () => {
    const socket = await socketOf(ada)
    const options = { temperature: 0.25, top_p: 0.9, top_k: 20, num_ctx: 4096, seed: 42, stop: ['END'] }
    const first = await turn(socket, { type: 'chat:send', model: MODEL, content: 'hello there', system: 'You answer in French.', options })
    expect(lastChatRequest()).toMatchObject({ options, messages: [{ role: 'system', content: 'You answer in French.' }, { role: 'user', content: 'hello there' }] })
    const { chat } = await getChat(ada, first.begun.chatId)
    expect(chat).toMatchObject({ system: 'You answer in French.', params: options })

    await turn(socket, { type: 'chat:regenerate', chatId: first.begun.chatId, parentId: first.begun.parentId, model: MODEL })
    expect(lastChatRequest()).toMatchObject({ options, messages: [{ role: 'system', content: 'You answer in French.' }, { role: 'user', content: 'hello there' }] })

    await turn(socket, { type: 'chat:send', chatId: first.begun.chatId, model: MODEL, content: 'and again', system: '', options: { temperature: 1 } })
    const request = lastChatRequest()
    expect(request.options).toEqual({ temperature: 1 })
    expect(request.messages[0]).toMatchObject({ role: 'user' })
    expect((await getChat(ada, first.begun.chatId)).chat.system).toBeUndefined()
  })

  test('params saved by another client reach Ollama only as valid Ollama options', async () => {
    const socket = await socketOf(ada)
    const first = await turn(socket, { type: 'chat:send', model: MODEL, content: 'saved params' })
    const { chat } = await getChat(ada, first.begun.chatId)
    const params = { temperature: 0.5, num_ctx: 'huge', top_k: 1e12, max_tokens: 64, function_calling: 'native', __proto__x: 1 }
    const saved = await started.app.handle(req('POST', `/api/v1/chats/${String(first.begun.chatId)}`, { chat: { ...chat, params } }, bearer(ada.token)))
    expect(saved.status).toBe(200)
    await turn(socket, { type: 'chat:send', chatId: first.begun.chatId, model: MODEL, content: 'next' })
    expect(lastChatRequest().options).toEqual({ temperature: 0.5, num_predict: 64 })
  })
})

describe('frames naming messages or chats elsewhere store nothing', () => {
  test.each<[string, (own: Frame, theirs: Frame) => object, string]>([
    ['regenerate in another user\'s chat', (_, theirs) => ({ type: 'chat:regenerate', chatId: theirs.chatId, parentId: theirs.parentId, model: MODEL }), 'chat_not_found'],
    ['send under a message of another chat', (_, theirs) => ({ type: 'chat:send', chatId: _.chatId, parentId: theirs.parentId, model: MODEL, content: 'x' }), 'message_not_found'],
    ['send under an unknown message', (own) => ({ type: 'chat:send', chatId: own.chatId, parentId: 'no-such-message', model: MODEL, content: 'x' }), 'message_not_found'],
    ['send with a parent into a new chat', (own) => ({ type: 'chat:send', parentId: own.parentId, model: MODEL, content: 'x' }), 'message_not_found'],
    ['regenerate under an unknown message', (own) => ({ type: 'chat:regenerate', chatId: own.chatId, parentId: 'nope', model: MODEL }), 'message_not_found'],
    ['regenerate under an answer', (own) => ({ type: 'chat:regenerate', chatId: own.chatId, parentId: own.answerUid, model: MODEL }), 'message_not_found'],
    ['select in another user\'s chat', (_, theirs) => ({ type: 'chat:select', chatId: theirs.chatId, messageId: theirs.parentId }), 'chat_not_found'],
    ['select a message of another chat', (own, theirs) => ({ type: 'chat:select', chatId: own.chatId, messageId: theirs.parentId }), 'message_not_found'],
    ['parentId out of shape', (own) => ({ type: 'chat:send', chatId: own.chatId, parentId: '../x', model: MODEL, content: 'x' }), 'invalid_frame'],
    ['options as a string', (own) => ({ type: 'chat:send', chatId: own.chatId, model: MODEL, content: 'x', options: 'hot' }), 'invalid_frame'],
    ['temperature as text', (own) => ({ type: 'chat:send', chatId: own.chatId, model: MODEL, content: 'x', options: { temperature: '0.5' } }), 'invalid_frame'],
    ['a context of a billion tokens', (own) => ({ type: 'chat:send', chatId: own.chatId, model: MODEL, content: 'x', options: { num_ctx: 1e9 } }), 'invalid_frame'],
    ['an option Ollama is not given', (own) => ({ type: 'chat:send', chatId: own.chatId, model: MODEL, content: 'x', options: { num_gpu: 99 } }), 'invalid_frame'],
    ['system as a number', (own) => ({ type: 'chat:regenerate', chatId: own.chatId, parentId: own.parentId, model: MODEL, system: 7 }), 'invalid_frame'],
  ])('%s: an error frame, nothing stored, nothing asked', async (_, frameOf, code) => {
    const mine = await socketOf(ada)
    const theirs = await socketOf(bob)
    const own = await turn(mine, { type: 'chat:send', model: MODEL, content: 'mine' })
    const other = await turn(theirs, { type: 'chat:send', model: MODEL, content: 'theirs' })
    const before = { messages: countMessages(), requests: fake.requests.length, own: await getChat(ada, own.begun.chatId), other: await getChat(bob, other.begun.chatId) }
    mine.send(frameOf({ ...own.begun, answerUid: own.end.storedMessageUid }, other.begun))
    expect(await mine.nextFrame(ofType('error'))).toMatchObject({ type: 'error', code })
    await Bun.sleep(20)
    expect({ messages: countMessages(), requests: fake.requests.length, own: await getChat(ada, own.begun.chatId), other: await getChat(bob, other.begun.chatId) }).toEqual(before)
  })

  test('a system prompt over the frame limit closes the socket with 1009, and nothing is stored', async () => {
    const socket = await socketOf(ada)
    const own = await turn(socket, { type: 'chat:send', model: MODEL, content: 'short' })
    const before = await getChat(ada, own.begun.chatId)
    socket.send({ type: 'chat:regenerate', chatId: own.begun.chatId, parentId: own.begun.parentId, model: MODEL, system: 'x'.repeat(70 * 1024) })
    expect((await socket.closed).code).toBe(1009)
    expect(await getChat(ada, own.begun.chatId)).toEqual(before)
  })
})

test('the stored path is opened only: a regenerate in a chat with other branches decrypts the path, not the branches', async () => {
  const owner = ada.id
  const chats = started.deps.store.chats
  const chat = await chats.createChat(owner, 'wide', [{ role: 'user', content: 'root' }])
  const root = (await chats.listCurrentPath(owner, chat.id))[0]!
  for (let i = 0; i < 5; i++) await chats.addMessage(owner, chat.id, { role: 'assistant', content: `branch ${i}`, parentId: root.id })
  // note: a broken row on another branch would fail a whole-chat read; the path read never opens it.
  const broken = (await chats.addMessage(owner, chat.id, { role: 'assistant', content: 'broken', parentId: root.id }))!
  const kept = (await chats.addMessage(owner, chat.id, { role: 'assistant', content: 'kept', parentId: root.id }))!
  started.deps.store.db!.query('UPDATE message SET content = ? WHERE id = ?').run(new Uint8Array(40), broken.id)
  expect((await chats.listPathTo(owner, chat.id as ChatId))!.map((message) => message.content)).toEqual(['root', 'kept'])
  expect((await chats.listPathTo(owner, chat.id as ChatId, kept.id))!.map((message) => message.content)).toEqual(['root', 'kept'])
  expect(await chats.listPathTo(bob.id, chat.id as ChatId)).toBeNull()
})
