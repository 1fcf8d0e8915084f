/**
 * Open WebUI's page asking in a chat, against the compiled binary with the Ollama stand-in: its
 * chat controls sent only in `params` reach Ollama as options; with `background_tasks`, the
 * "New Chat" it made is titled once the answer is stored; a `params.format` nested too deep is a 400
 * naming it, nothing asked or written; and an answer it stops ends as stopped (`cancelled`), not as an
 * unreachable Ollama. One binary for the file.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { startFakeOllama, type FakeOllama } from '../fakes/ollama.ts'
import { bearer, signUp } from '../helpers/accounts.ts'
import { binaryAppStarter, type BinaryApp } from '../helpers/binary-app.ts'
import { req } from '../helpers/test-app.ts'

const MODEL = 'qwen2.5:0.5b'
const QUESTION = 'Tides and the moon'
const startApp = binaryAppStarter()
let fake: FakeOllama
let binary: BinaryApp
let token: string

beforeAll(async () => {
  fake = await startFakeOllama()
  binary = await startApp({ OLLAMA_BASE_URL: fake.url, TITLE_GENERATION_PROMPT_TEMPLATE: '{"title": "About {{prompt:start:9}}"}' })
  token = (await signUp(binary.app, 'ada@example.com')).token
})
afterAll(() => fake.stop())

const call = (method: string, path: string, body?: unknown) => binary.app.handle(req(method, path, body, bearer(token)))
const complete = (body: Record<string, unknown>) => call('POST', '/api/chat/completions', { model: MODEL, messages: [{ role: 'user', content: QUESTION }], ...body })

/** A chat as the page makes it before asking: "New Chat", the question and an empty answer. */
async function newChat(): Promise<string> {
  const messages = [
    { id: 'q1', parentId: null, childrenIds: ['a1'], role: 'user', content: QUESTION, timestamp: 1 },
    { id: 'a1', parentId: 'q1', childrenIds: [], role: 'assistant', content: '', model: MODEL, done: false, timestamp: 1 },
  ]
  const res = await call('POST', '/api/v1/chats/new', { chat: { title: 'New Chat', history: { messages: { q1: messages[0], a1: messages[1] }, currentId: 'a1' }, messages } })
  return ((await res.json()) as { id: string }).id
}

test('the page\'s params reach Ollama, and the chat is titled after the answer', async () => {
  const chatId = await newChat()
  const res = await complete({
    stream: true, chat_id: chatId, id: 'a1', session_id: 's1',
    params: { temperature: 0.1, top_p: 0.5, max_tokens: 42, seed: 7, num_ctx: 8192, stop: ['END'], top_k: 5, keep_alive: '5m' },
    background_tasks: { title_generation: true, tags_generation: true, follow_up_generation: true },
  })
  expect((await res.text()).trim().split('\n\n').at(-1)).toBe('data: [DONE]')
  const sent = fake.requests.find((request) => request.path === '/api/chat')!.body as Record<string, unknown>
  expect(sent.options).toEqual({ temperature: 0.1, top_p: 0.5, num_predict: 42, seed: 7, num_ctx: 8192, stop: ['END'], top_k: 5 })
  expect(sent.keep_alive).toBe('5m')
  let title = ''
  for (const deadline = Date.now() + 3_000; Date.now() < deadline && title !== 'About Tides and'; await Bun.sleep(50)) {
    title = ((await (await call('GET', `/api/v1/chats/${chatId}`)).json()) as { title: string }).title
  }
  expect(title).toBe('About Tides and')
  const bad = await complete({ params: { temperature: 'hot' } })
  expect(bad.status).toBe(400)
})

test('a params.format JSON text 100,000 levels deep is a 400 naming it; Ollama is not asked and the chat\'s answer is untouched', async () => {
  const chatId = await newChat()
  const before = await (await call('GET', `/api/v1/chats/${chatId}`)).json()
  const asked = fake.requests.length
  const deep = `{"a":${'['.repeat(100_000)}${']'.repeat(100_000)}}`
  for (const params of [{ format: deep }, { custom_params: { format: deep } }]) {
    const res = await complete({ stream: true, chat_id: chatId, id: 'a1', params })
    expect(res.status).toBe(400)
    expect(((await res.json()) as { error: { message: string } }).error.message).toContain('nested deeper')
  }
  expect(fake.requests.length).toBe(asked)
  expect(await (await call('GET', `/api/v1/chats/${chatId}`)).json()).toEqual(before)
})

test('a stopped answer ends as stopped, not as an unreachable Ollama', async () => {
  const chatId = await newChat()
  fake.setBehaviour({ chunkDelayMs: 40, replyChunks: Array.from({ length: 100 }, (_, i) => `w${i} `) })
  try {
    const res = await complete({ stream: true, chat_id: chatId, id: 'a1' })
    const reader = res.body!.getReader()
    await reader.read()
    expect((await call('POST', `/api/tasks/stop/${res.headers.get('x-task-id')}`)).status).toBe(200)
    let rest = ''
    for (let step = await reader.read(); !step.done; step = await reader.read()) rest += new TextDecoder().decode(step.value)
    expect(JSON.parse(rest.trim().split('\n\n').at(-1)!.slice('data: '.length))).toMatchObject({ error: { code: 'cancelled' } })
  } finally {
    fake.setBehaviour({ chunkDelayMs: 0, replyChunks: null })
  }
})
