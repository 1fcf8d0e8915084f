/**
 * /api/chat/completions with a `chat_id`, as Open WebUI's page and Conduit send it: the answer is
 * stored into the caller's chat at the message `id` as it streams (with the official `openai`
 * client and a raw SSE reader), a task its user can list and stop; another user's chat or task is
 * 404 and nothing is written; without `chat_id` nothing is stored. POST /api/chat/completed takes
 * the finished chat back.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import OpenAI from 'openai'
import { startFakeOllama, type FakeOllama, type FakeRequest } from '../fakes/ollama.ts'
import type { ChatId, UserId } from '../../src/db/ids.ts'
import { bearer, signUp, signUpAdminAndUser, statusOf } from '../helpers/accounts.ts'
import { req, startTestApp } from '../helpers/test-app.ts'

const MODEL = 'llama3.2:1b'
const QUESTION = 'why is the sky blue at noon'

let ollama: FakeOllama
let started: ReturnType<typeof startTestApp>
let url: string
let ada: { token: string }
let bob: { token: string }

beforeAll(async () => {
  ollama = await startFakeOllama()
  started = startTestApp({ OLLAMA_BASE_URL: ollama.url, ENABLE_TITLE_GENERATION: 'false' })
  const { app } = started
  ;({ ada, bob } = await signUpAdminAndUser(app))
  app.listen({ hostname: '127.0.0.1', port: 0 })
  url = `http://127.0.0.1:${app.server!.port}`
})
afterAll(async () => {
  await started.app.stop(true)
  await ollama.stop()
})

type WireMessage = { id: string; parentId: string | null; childrenIds: string[]; role: string; content: string; done?: boolean; cancelled?: boolean; model?: string; usage?: Record<string, number>; error?: { content: string } }
type WireChat = { id: string; chat: { history: { messages: Record<string, WireMessage>; currentId: string | null } } }

async function call(user: { token: string }, method: string, path: string, body?: unknown): Promise<Response> {
  return await started.app.handle(req(method, path, body, bearer(user.token)))
}

/** A chat as Open WebUI's page saves it before asking: the question and an empty answer placeholder. */
async function newChat(user: { token: string } = ada): Promise<string> {
  const messages = {
    q1: { id: 'q1', parentId: null, childrenIds: ['a1'], role: 'user', content: QUESTION, timestamp: 1 },
    a1: { id: 'a1', parentId: 'q1', childrenIds: [], role: 'assistant', content: '', model: MODEL, done: false, timestamp: 1 },
  }
  const res = await call(user, 'POST', '/api/v1/chats/new', { chat: { title: 'asked elsewhere', history: { messages, currentId: 'a1' }, messages: Object.values(messages) } })
  expect(res.status).toBe(200)
  return ((await res.json()) as WireChat).id
}

async function getChat(chatId: string, user: { token: string } = ada): Promise<WireChat['chat']> {
  const res = await call(user, 'GET', `/api/v1/chats/${chatId}`)
  expect(res.status).toBe(200)
  return ((await res.json()) as WireChat).chat
}

const countChats = () => (started.deps.store.db!.query('SELECT count(*) AS n FROM chat').get() as { n: number }).n
const countMessages = () => (started.deps.store.db!.query('SELECT count(*) AS n FROM message').get() as { n: number }).n
const chatRequests = () => ollama.requests.filter((request) => request.path === '/api/chat').length
const ask = (extra: Record<string, unknown>) => ({ model: MODEL, messages: [{ role: 'user', content: QUESTION }], ...extra })

function rawCompletion(user: { token: string }, body: unknown, signal?: AbortSignal): Promise<Response> {
  return fetch(`${url}/api/chat/completions`, { method: 'POST', headers: { ...bearer(user.token), 'content-type': 'application/json' }, body: JSON.stringify(body), ...(signal ? { signal } : {}) })
}

describe('an answer stored into the chat it was asked for', () => {
  test('the openai client, streaming, with chat_id and id in the body: the answer is at that id, done, with usage', async () => {
    const chatId = await newChat()
    const openai = new OpenAI({ baseURL: `${url}/api`, apiKey: ada.token, maxRetries: 0 })
    const stream = await openai.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: QUESTION }], stream: true, chat_id: chatId, id: 'a1' } as OpenAI.Chat.ChatCompletionCreateParamsStreaming)
    let text = ''
    for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? ''
    expect(text).toBe(QUESTION)
    const { history } = await getChat(chatId)
    expect(history.messages.a1).toMatchObject({ content: QUESTION, done: true, parentId: 'q1', model: MODEL, usage: { completion_tokens: 7, 'response_token/s': 50 } })
    expect(Object.keys(history.messages)).toEqual(['q1', 'a1'])
  })

  test('the openai client, not streaming: stored the same way', async () => {
    const chatId = await newChat()
    const openai = new OpenAI({ baseURL: `${url}/api`, apiKey: ada.token, maxRetries: 0 })
    const completion = await openai.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: QUESTION }], chat_id: chatId, id: 'a1' } as OpenAI.Chat.ChatCompletionCreateParamsNonStreaming)
    expect(completion.choices[0]!.message.content).toBe(QUESTION)
    expect((await getChat(chatId)).history.messages.a1).toMatchObject({ content: QUESTION, done: true })
  })

  test('raw SSE: an answer id the chat does not hold is made under parent_id; the task id is in a header', async () => {
    const chatId = await newChat()
    const res = await rawCompletion(ada, ask({ stream: true, chat_id: chatId, id: 'a2', parent_id: 'q1' }))
    expect(res.status).toBe(200)
    expect(res.headers.get('x-task-id')).toMatch(/^[0-9a-f-]{36}$/)
    expect((await res.text()).trim().endsWith('data: [DONE]')).toBe(true)
    const { history } = await getChat(chatId)
    expect(history.messages.q1!.childrenIds).toEqual(['a1', 'a2'])
    expect(history.messages.a2).toMatchObject({ role: 'assistant', content: QUESTION, done: true, parentId: 'q1' })
    expect(history.currentId).toBe('a2')
  })

  test('Open WebUI 0.9: the question comes as user_message under parent_id, and both are stored', async () => {
    const chatId = await newChat()
    const res = await rawCompletion(ada, ask({ stream: true, chat_id: chatId, id: 'a3', parent_id: 'a1', user_message: { id: 'q2', parentId: 'a1', role: 'user', content: 'and at dusk?' } }))
    await res.text()
    const { history } = await getChat(chatId)
    expect(history.messages.q2).toMatchObject({ role: 'user', content: 'and at dusk?', parentId: 'a1', childrenIds: ['a3'] })
    expect(history.messages.a3).toMatchObject({ role: 'assistant', done: true, parentId: 'q2' })
  })

  test('Conduit: a user_message with parentId null is a new first question (an edit of the first), one without parentId goes under the selected leaf', async () => {
    // the app's request (api_service.dart, Open WebUI 0.9 shape): `parent_id: null` and `user_message: {id, parentId: null, ...}` for a first question
    const chatId = await newChat()
    const edited = { id: 'q1b', parentId: null, childrenIds: ['a1b'], role: 'user', content: 'edited first question', timestamp: 2, models: [MODEL] }
    await (await rawCompletion(ada, ask({ stream: true, chat_id: chatId, id: 'a1b', parent_id: null, user_message: edited }))).text()
    const { history } = await getChat(chatId)
    expect(history.messages.q1b).toMatchObject({ role: 'user', content: 'edited first question', parentId: null, childrenIds: ['a1b'] })
    expect(history.messages.a1b).toMatchObject({ role: 'assistant', done: true, parentId: 'q1b' })
    expect(history.messages.a1!.childrenIds).toEqual([])
    expect(history.currentId).toBe('a1b')

    // the same question without parentId (nor parent_id) goes under the selected leaf, as before
    await (await rawCompletion(ada, ask({ stream: true, chat_id: chatId, id: 'a2c', user_message: { id: 'q2c', role: 'user', content: 'and then?' } }))).text()
    expect((await getChat(chatId)).history.messages.q2c).toMatchObject({ parentId: 'a1b', childrenIds: ['a2c'] })
  })

  test('without chat_id (or with the temporary "local" chat) nothing is stored', async () => {
    const before = countMessages()
    const openai = new OpenAI({ baseURL: `${url}/api`, apiKey: ada.token, maxRetries: 0 })
    await openai.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: QUESTION }] })
    await (await rawCompletion(ada, ask({ stream: true, chat_id: 'local', id: 'x1' }))).text()
    // note: the page's temporary chat sends `local:<random id>` with the whole conversation and asks for usage.
    const chatsBefore = countChats()
    const temporary = await rawCompletion(ada, ask({ stream: true, stream_options: { include_usage: true }, chat_id: `local:${crypto.randomUUID()}` }))
    expect(temporary.status).toBe(200)
    expect(await temporary.text()).toContain('"completion_tokens"')
    expect(countMessages()).toBe(before)
    expect(countChats()).toBe(chatsBefore)
  })

  test('a model that does not exist: the answer is stored failed, with the reason', async () => {
    const chatId = await newChat()
    const res = await rawCompletion(ada, { ...ask({ chat_id: chatId, id: 'a1' }), model: 'no-such-model:1b' })
    expect(res.status).toBe(404)
    expect((await getChat(chatId)).history.messages.a1).toMatchObject({ done: false, error: { content: 'The model does not exist.' } })
  })
})

describe('refused: nothing is asked and nothing written', () => {
  test.each<[string, (chatId: string) => Record<string, unknown>, 'ada' | 'bob', number]>([
    ['another user\'s chat_id', (chatId) => ({ chat_id: chatId, id: 'a1' }), 'bob', 404],
    ['another user\'s chat_id with a new id', (chatId) => ({ chat_id: chatId, id: 'evil', parent_id: 'q1', stream: true }), 'bob', 404],
    ['an unknown chat_id', () => ({ chat_id: crypto.randomUUID(), id: 'a1' }), 'ada', 404],
    ['a chat_id that is not an id', () => ({ chat_id: '../../etc', id: 'a1' }), 'ada', 404],
    ['an id naming the question', (chatId) => ({ chat_id: chatId, id: 'q1' }), 'ada', 400],
    ['an id out of shape', (chatId) => ({ chat_id: chatId, id: 'a/1' }), 'ada', 400],
    ['a chat_id that is a number', () => ({ chat_id: 7, id: 'a1' }), 'ada', 400],
    ['a chat_id too long', () => ({ chat_id: 'c'.repeat(65), id: 'a1' }), 'ada', 400],
  ])('%s', async (_, fields, who, status) => {
    const chatId = await newChat()
    const before = { chat: await getChat(chatId), messages: countMessages(), requests: chatRequests() }
    const res = await rawCompletion(who === 'bob' ? bob : ada, ask(fields(chatId)))
    expect(res.status).toBe(status)
    await res.text()
    expect({ chat: await getChat(chatId), messages: countMessages(), requests: chatRequests() }).toEqual(before)
  })
})

describe('tasks: Stop from Open WebUI clients', () => {
  test('listed per chat, stopped by its owner only: Ollama\'s request is aborted and the answer kept, marked cancelled', async () => {
    const chatId = await newChat()
    ollama.setBehaviour({ chunkDelayMs: 40, replyChunks: Array.from({ length: 100 }, (_, i) => `w${i} `) })
    try {
      const res = await rawCompletion(ada, ask({ stream: true, chat_id: chatId, id: 'a1' }))
      const taskId = res.headers.get('x-task-id')!
      const reader = res.body!.getReader()
      await reader.read()
      const request = ollama.requests.findLast((entry) => entry.path === '/api/chat')!
      expect(await (await call(ada, 'GET', `/api/tasks/chat/${chatId}`)).json()).toEqual({ task_ids: [taskId] })
      expect((await call(bob, 'GET', `/api/tasks/chat/${chatId}`)).status).toBe(404)
      expect((await call(bob, 'POST', `/api/tasks/stop/${taskId}`)).status).toBe(404)
      expect((await call(ada, 'POST', '/api/tasks/stop/not-a-task')).status).toBe(404)
      await Bun.sleep(100)
      const stop = await call(ada, 'POST', `/api/tasks/stop/${taskId}`)
      expect(stop.status).toBe(200)
      expect(await stop.json()).toMatchObject({ status: true })
      expect(await request.settled).toBe('aborted')
      let rest = ''
      for (let step = await reader.read(); !step.done; step = await reader.read()) rest += new TextDecoder().decode(step.value)
      // note: the stream ends with what happened, a stop, not an outage; no [DONE], since the answer did not finish.
      expect(JSON.parse(rest.trim().split('\n\n').at(-1)!.slice('data: '.length))).toEqual({ error: { message: 'The request was stopped before it finished.', type: 'cancelled', code: 'cancelled' } })
      const answer = (await getChat(chatId)).history.messages.a1!
      expect(answer).toMatchObject({ done: false, cancelled: true })
      expect(answer.content).toStartWith('w0 w1 ')
      expect(answer.content).not.toContain('w99')
      expect(await (await call(ada, 'GET', `/api/tasks/chat/${chatId}`)).json()).toEqual({ task_ids: [] })
    } finally {
      ollama.setBehaviour({ chunkDelayMs: 0, replyChunks: null })
    }
  })

  test('a whole (not streamed) answer stopped through its chat is answered 499 cancelled, not as an outage; the answer is kept, marked cancelled', async () => {
    const chatId = await newChat()
    ollama.setBehaviour({ chunkDelayMs: 40, replyChunks: Array.from({ length: 100 }, (_, i) => `u${i} `) })
    try {
      const answering = rawCompletion(ada, ask({ stream: false, chat_id: chatId, id: 'a1' }))
      while (ollama.requests.findLast((entry) => entry.path === '/api/chat')?.body === undefined || (await (await call(ada, 'GET', `/api/tasks/chat/${chatId}`)).json() as { task_ids: string[] }).task_ids.length === 0) await Bun.sleep(20)
      await Bun.sleep(100)
      const stop = await call(ada, 'POST', `/api/tasks/chat/${chatId}/stop`)
      expect(await stop.json()).toMatchObject({ status: true, message: '1 task(s) stopped.' })
      const res = await answering
      expect(res.status).toBe(499)
      expect(await res.json()).toEqual({ error: { message: 'The request was stopped before it finished.', type: 'cancelled', code: 'cancelled' } })
      await Bun.sleep(50)
      expect((await getChat(chatId)).history.messages.a1).toMatchObject({ done: false, cancelled: true })
    } finally {
      ollama.setBehaviour({ chunkDelayMs: 0, replyChunks: null })
    }
  })

  test('a client that goes away mid-answer: the answer is kept, marked cancelled', async () => {
    const chatId = await newChat()
    ollama.setBehaviour({ chunkDelayMs: 40, replyChunks: Array.from({ length: 100 }, (_, i) => `v${i} `) })
    try {
      const leaving = new AbortController()
      const res = await rawCompletion(ada, ask({ stream: true, chat_id: chatId, id: 'a1' }), leaving.signal)
      await res.body!.getReader().read()
      await Bun.sleep(100)
      leaving.abort()
      const request = ollama.requests.findLast((entry) => entry.path === '/api/chat')!
      expect(await request.settled).toBe('aborted')
      await Bun.sleep(50)
      expect((await getChat(chatId)).history.messages.a1).toMatchObject({ done: false, cancelled: true })
    } finally {
      ollama.setBehaviour({ chunkDelayMs: 0, replyChunks: null })
    }
  })
})

/** Starts a slow answer of `user` into the chat, runs `interrupt` once it streams, then reads the response to its end. */
async function interruptMidAnswer(user: { token: string }, chatId: string, word: string, interrupt: (request: FakeRequest) => Promise<void>): Promise<void> {
  ollama.setBehaviour({ chunkDelayMs: 40, replyChunks: Array.from({ length: 100 }, (_, i) => `${word}${i} `) })
  try {
    const res = await rawCompletion(user, ask({ stream: true, chat_id: chatId, id: 'a1' }))
    const reader = res.body!.getReader()
    await reader.read()
    await Bun.sleep(100)
    await interrupt(ollama.requests.findLast((entry) => entry.path === '/api/chat')!)
    while (!(await reader.read()).done) { /* to the stream's end */ }
  } finally {
    ollama.setBehaviour({ chunkDelayMs: 0, replyChunks: null })
  }
}

test('signing out mid-answer stops it at Ollama; the answer is kept in the chat, marked cancelled', async () => {
  const carol = await signUp(started.app, 'carol@example.com')
  expect(await statusOf(started.app, 'POST', `/api/v1/users/${carol.id}/update`, bearer(ada.token), { role: 'user' })).toBe(200)
  const chatId = await newChat(carol)
  await interruptMidAnswer(carol, chatId, 's', async (request) => {
    expect((await call(carol, 'POST', '/api/v1/auths/signout')).status).toBe(200)
    expect(await request.settled).toBe('aborted')
  })
  const answer = (await started.deps.store.chats.listMessagesInChat(carol.id as UserId, chatId as ChatId)).find((message) => message.uid === 'a1')!
  expect(answer.status).toBe('cancelled')
  expect(answer.content).toStartWith('s0 ')
})

test('deleting the chat mid-answer stops it at Ollama; the chat stays gone', async () => {
  const chatId = await newChat()
  await interruptMidAnswer(ada, chatId, 'd', async (request) => {
    expect((await call(ada, 'DELETE', `/api/v1/chats/${chatId}`)).status).toBe(200)
    expect(await request.settled).toBe('aborted')
  })
  expect((await call(ada, 'GET', `/api/v1/chats/${chatId}`)).status).toBe(404)
})

test('deleting another chat, or all of another user\'s chats, leaves the answer running', async () => {
  const chatId = await newChat()
  const other = await newChat()
  const bobsChat = await newChat(bob)
  ollama.setBehaviour({ chunkDelayMs: 10, replyChunks: Array.from({ length: 30 }, (_, i) => `k${i} `) })
  try {
    const res = await rawCompletion(ada, ask({ stream: true, chat_id: chatId, id: 'a1' }))
    const reader = res.body!.getReader()
    await reader.read()
    const request = ollama.requests.findLast((entry) => entry.path === '/api/chat')!
    expect((await call(ada, 'DELETE', `/api/v1/chats/${other}`)).status).toBe(200)
    expect((await call(bob, 'DELETE', `/api/v1/chats/${bobsChat}`)).status).toBe(200)
    while (!(await reader.read()).done) { /* to the stream's end */ }
    expect(await request.settled).toBe('completed')
    expect((await getChat(chatId)).history.messages.a1).toMatchObject({ done: true, content: Array.from({ length: 30 }, (_, i) => `k${i} `).join('') })
  } finally {
    ollama.setBehaviour({ chunkDelayMs: 0, replyChunks: null })
  }
})

describe('POST /api/chat/completed', () => {
  test('takes the finished chat back: changed text on the path is stored, the form is answered as sent', async () => {
    const chatId = await newChat()
    await (await rawCompletion(ada, ask({ chat_id: chatId, id: 'a1' }))).text()
    const form = { model: MODEL, chat_id: chatId, id: 'a1', session_id: 'abc', messages: [{ id: 'q1', role: 'user', content: QUESTION }, { id: 'a1', role: 'assistant', content: 'polished answer' }] }
    const res = await call(ada, 'POST', '/api/chat/completed', form)
    expect(res.status).toBe(200)
    expect(await res.json()).toEqual(form)
    expect((await getChat(chatId)).history.messages.a1).toMatchObject({ content: 'polished answer', done: true })
  })

  test.each<[string, (chatId: string) => unknown, 'bob' | 'ada', number]>([
    ['another user\'s chat', (chatId) => ({ model: MODEL, chat_id: chatId, messages: [{ id: 'a1', content: 'overwritten' }] }), 'bob', 404],
    ['messages not a list', (chatId) => ({ model: MODEL, chat_id: chatId, messages: 5 }), 'ada', 422],
    ['no model', (chatId) => ({ chat_id: chatId, messages: [] }), 'ada', 422],
  ])('refused: %s, nothing written', async (_, form, who, status) => {
    const chatId = await newChat()
    const before = await getChat(chatId)
    expect((await call(who === 'bob' ? bob : ada, 'POST', '/api/chat/completed', form(chatId))).status).toBe(status)
    expect(await getChat(chatId)).toEqual(before)
  })
})
