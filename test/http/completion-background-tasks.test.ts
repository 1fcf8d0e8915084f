/**
 * /api/chat/completions with `chat_id` and `background_tasks`, as Open WebUI's page sends its first
 * question in a chat it made as "New Chat": once the answer is stored, the model titles the chat
 * (the stand-in echoes the prompt, so a template that is itself a JSON title shows what reached
 * it) and tags it; with titles off, the first message becomes the title, as Open WebUI does. A chat
 * with a title of its own past its first exchange keeps it, and tags come only with the first
 * exchange; a stopped answer starts nothing. A task running after the answer is the answer's task
 * continued: deleting the chat or stopping the task (its x-task-id) aborts the request to Ollama, and
 * a user past CHAT_MAX_CONCURRENT_ANSWERS of them gets the first message as title, no model asked.
 * `background_tasks` of the wrong shape are a 400 before anything is asked or written.
 */
import { afterEach, describe, expect, test } from 'bun:test'
import { startFakeOllama, type FakeOllama, type FakeRequest } from '../fakes/ollama.ts'
import { bearer, signUp, statusOf } from '../helpers/accounts.ts'
import { req, startTestApp } from '../helpers/test-app.ts'

const MODEL = 'qwen2.5:0.5b'
const TASK_MODEL = 'llama3.2:1b'
const QUESTION = 'Tides and the moon over the bay'
const TEMPLATE = '{"title": "About {{prompt:start:9}}"}'
const ALL_TASKS = { title_generation: true, tags_generation: true, follow_up_generation: true }

const cleanups: (() => unknown)[] = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

async function startSetup(env: Record<string, string>) {
  const fake = await startFakeOllama()
  cleanups.push(() => fake.stop())
  const started = startTestApp({ OLLAMA_BASE_URL: fake.url, ...env })
  const { token, id: adaId } = await signUp(started.app, 'ada@example.com')
  started.app.listen({ hostname: '127.0.0.1', port: 0 })
  cleanups.push(() => started.app.stop(true))
  const url = `http://127.0.0.1:${started.app.server!.port}`
  const call = async (method: string, path: string, body?: unknown) => await started.app.handle(req(method, path, body, bearer(token)))
  /** A chat as Open WebUI's page saves it before asking: the question(s) and an empty answer placeholder. */
  const newChat = async (title = 'New Chat', earlier: Record<string, unknown>[] = []) => {
    const last = earlier.at(-1) as { id: string } | undefined
    const messages = [
      ...earlier,
      { id: 'q1', parentId: last?.id ?? null, childrenIds: ['a1'], role: 'user', content: QUESTION, timestamp: 1 },
      { id: 'a1', parentId: 'q1', childrenIds: [], role: 'assistant', content: '', model: MODEL, done: false, timestamp: 1 },
    ]
    const res = await call('POST', '/api/v1/chats/new', { chat: { title, history: { messages: Object.fromEntries(messages.map((m) => [m.id, m])), currentId: 'a1' }, messages } })
    expect(res.status).toBe(200)
    return ((await res.json()) as { id: string }).id
  }
  const complete = (body: Record<string, unknown>) =>
    fetch(`${url}/api/chat/completions`, { method: 'POST', headers: { ...bearer(token), 'content-type': 'application/json' }, body: JSON.stringify({ model: MODEL, messages: [{ role: 'user', content: QUESTION }], ...body }) })
  const titleOf = async (chatId: string) => ((await (await call('GET', `/api/v1/chats/${chatId}`)).json()) as { title: string }).title
  const tagsOf = async (chatId: string) => ((await (await call('GET', `/api/v1/chats/${chatId}/tags`)).json()) as { name: string }[]).map((tag) => tag.name)
  const isAnswerStored = async (chatId: string) => {
    const chat = (await (await call('GET', `/api/v1/chats/${chatId}`)).json()) as { chat: { history: { messages: Record<string, { done?: boolean; cancelled?: boolean }> } } }
    const answer = chat.chat.history.messages.a1
    return answer?.done === true || answer?.cancelled === true
  }
  /** Streams an answer to its end, while the requests made after it (the tasks) hang until their caller leaves. */
  const completeThenHang = async (chatId: string) => {
    // note: the answer's chunks come 50 ms apart, so it is still streaming when the fault is set below:
    // with no delay the answer could end and its title request start before this code ran again (seen
    // once in a loaded run), and that request would not hang.
    fake.setBehaviour({ chunkDelayMs: 50 })
    const res = await complete({ stream: true, chat_id: chatId, id: 'a1', background_tasks: ALL_TASKS })
    // note: the answer's request to Ollama has started (its first chunk came before the headers), so only later ones hang.
    fake.setBehaviour({ fault: { kind: 'hang_before_first_byte' }, chunkDelayMs: 0 })
    await res.text()
    return res.headers.get('x-task-id')!
  }
  return { fake, app: started.app, adaId, call, newChat, complete, completeThenHang, titleOf, tagsOf, isAnswerStored }
}

const chatRequests = (fake: FakeOllama) => fake.requests.filter((request) => request.path === '/api/chat')
/** How the request to Ollama ended, or 'running' when it has not within `ms`. */
const outcomeWithin = (request: FakeRequest, ms: number) => Promise.race([request.settled, Bun.sleep(ms).then(() => 'running' as const)])

/** Waits up to `ms` for `check` to hold. */
async function eventually(check: () => Promise<boolean>, ms = 3_000): Promise<boolean> {
  for (const deadline = Date.now() + ms; Date.now() < deadline; await Bun.sleep(20)) if (await check()) return true
  return check()
}

describe('after the answer is stored', () => {
  test('Open WebUI\'s page, streaming into a "New Chat" with all background tasks: the model titles and tags the chat', async () => {
    const { fake, newChat, complete, titleOf, tagsOf } = await startSetup({ TITLE_GENERATION_PROMPT_TEMPLATE: TEMPLATE, TASK_MODEL })
    const chatId = await newChat()
    const res = await complete({ stream: true, chat_id: chatId, id: 'a1', background_tasks: ALL_TASKS, params: {} })
    expect((await res.text()).trim().split('\n\n').at(-1)).toBe('data: [DONE]')
    expect(await eventually(async () => (await titleOf(chatId)) === 'About Tides and')).toBe(true)
    expect(await eventually(async () => (await tagsOf(chatId)).length > 0)).toBe(true)
    // note: the stand-in echoes the tags prompt, whose example answer is {"tags": ["tag1", "tag2"]}.
    expect(await tagsOf(chatId)).toEqual(['tag1', 'tag2'])
    const asked = fake.requests.filter((request) => request.path === '/api/chat').map((request) => (request.body as { model: string }).model)
    expect(asked).toEqual([MODEL, TASK_MODEL, TASK_MODEL])
  })

  test('not streamed, titles off: the first message becomes the title, as Open WebUI does, and the model is not asked for one', async () => {
    const { fake, newChat, complete, titleOf } = await startSetup({ ENABLE_TITLE_GENERATION: 'false' })
    const chatId = await newChat()
    const res = await complete({ stream: false, chat_id: chatId, id: 'a1', background_tasks: { title_generation: true } })
    expect(res.status).toBe(200)
    expect(await eventually(async () => (await titleOf(chatId)) === QUESTION)).toBe(true)
    expect(fake.requests.filter((request) => request.path === '/api/chat')).toHaveLength(1)
  })

  test('without background_tasks, or with them all false, the title stays "New Chat"', async () => {
    const { fake, newChat, complete, titleOf, isAnswerStored } = await startSetup({ TITLE_GENERATION_PROMPT_TEMPLATE: TEMPLATE })
    for (const extra of [{}, { background_tasks: { title_generation: false, tags_generation: false } }, { background_tasks: null }]) {
      const chatId = await newChat()
      await (await complete({ stream: true, chat_id: chatId, id: 'a1', ...extra })).text()
      expect(await eventually(() => isAnswerStored(chatId))).toBe(true)
      await Bun.sleep(100)
      expect(await titleOf(chatId)).toBe('New Chat')
    }
    expect(fake.requests.filter((request) => request.path === '/api/chat')).toHaveLength(3)
  })

  test('a chat past its first exchange, with a title of its own, keeps it', async () => {
    const { newChat, complete, titleOf, isAnswerStored } = await startSetup({ TITLE_GENERATION_PROMPT_TEMPLATE: TEMPLATE })
    const earlier = [
      { id: 'q0', parentId: null, childrenIds: ['a0'], role: 'user', content: 'first question', timestamp: 1 },
      { id: 'a0', parentId: 'q0', childrenIds: ['q1'], role: 'assistant', content: 'first answer', timestamp: 1 },
    ]
    const chatId = await newChat('Moon notes', earlier)
    await (await complete({ stream: true, chat_id: chatId, id: 'a1', background_tasks: { title_generation: true } })).text()
    expect(await eventually(() => isAnswerStored(chatId))).toBe(true)
    await Bun.sleep(100)
    expect(await titleOf(chatId)).toBe('Moon notes')
  })

  test('a stopped answer starts no task', async () => {
    const { fake, call, newChat, complete, titleOf, isAnswerStored } = await startSetup({ TITLE_GENERATION_PROMPT_TEMPLATE: TEMPLATE })
    fake.setBehaviour({ chunkDelayMs: 40, replyChunks: Array.from({ length: 100 }, (_, i) => `w${i} `) })
    const chatId = await newChat()
    const res = await complete({ stream: true, chat_id: chatId, id: 'a1', background_tasks: ALL_TASKS })
    const reader = res.body!.getReader()
    await reader.read()
    expect((await call('POST', `/api/tasks/stop/${res.headers.get('x-task-id')}`)).status).toBe(200)
    while (!(await reader.read()).done) { /* to the stream's end */ }
    expect(await eventually(() => isAnswerStored(chatId))).toBe(true)
    await Bun.sleep(100)
    expect(await titleOf(chatId)).toBe('New Chat')
    expect(fake.requests.filter((request) => request.path === '/api/chat')).toHaveLength(1)
  })
})

describe('the tasks after an answer are the answer\'s task, continued', () => {
  test('a chat past its first exchange, still "New Chat", asked for all tasks: titled, but no tags are asked for (Open WebUI\'s page asks only with the first question)', async () => {
    const { fake, newChat, complete, titleOf, tagsOf } = await startSetup({ TITLE_GENERATION_PROMPT_TEMPLATE: TEMPLATE, TASK_MODEL })
    const earlier = [
      { id: 'q0', parentId: null, childrenIds: ['a0'], role: 'user', content: 'first question', timestamp: 1 },
      { id: 'a0', parentId: 'q0', childrenIds: ['q1'], role: 'assistant', content: 'first answer', timestamp: 1 },
    ]
    const chatId = await newChat('New Chat', earlier)
    await (await complete({ stream: true, chat_id: chatId, id: 'a1', background_tasks: ALL_TASKS })).text()
    expect(await eventually(async () => (await titleOf(chatId)) !== 'New Chat')).toBe(true)
    await Bun.sleep(100)
    expect(await tagsOf(chatId)).toEqual([])
    expect(chatRequests(fake).map((request) => (request.body as { model: string }).model)).toEqual([MODEL, TASK_MODEL])
  })

  test('deleting the chat aborts the title request to Ollama; nothing is written', async () => {
    const { fake, call, newChat, completeThenHang } = await startSetup({ TITLE_GENERATION_PROMPT_TEMPLATE: TEMPLATE })
    const chatId = await newChat()
    await completeThenHang(chatId)
    expect(await eventually(async () => chatRequests(fake).length === 2)).toBe(true)
    expect((await call('DELETE', `/api/v1/chats/${chatId}`)).status).toBe(200)
    expect(await outcomeWithin(chatRequests(fake)[1]!, 3_000)).toBe('aborted')
    await Bun.sleep(100)
    expect(chatRequests(fake)).toHaveLength(2)
    expect((await call('GET', `/api/v1/chats/${chatId}`)).status).toBe(404)
  })

  test('the task is listed for the chat while it runs, and stopping it (the answer\'s x-task-id) aborts the request; the title stays', async () => {
    const { fake, call, newChat, completeThenHang, titleOf } = await startSetup({ TITLE_GENERATION_PROMPT_TEMPLATE: TEMPLATE })
    const chatId = await newChat()
    const taskId = await completeThenHang(chatId)
    expect(await eventually(async () => chatRequests(fake).length === 2)).toBe(true)
    expect(((await (await call('GET', `/api/tasks/chat/${chatId}`)).json()) as { task_ids: string[] }).task_ids).toEqual([taskId])
    expect((await call('POST', `/api/tasks/stop/${taskId}`)).status).toBe(200)
    expect(await outcomeWithin(chatRequests(fake)[1]!, 3_000)).toBe('aborted')
    await Bun.sleep(100)
    expect(await titleOf(chatId)).toBe('New Chat')
    expect(chatRequests(fake)).toHaveLength(2)
    expect(((await (await call('GET', `/api/tasks/chat/${chatId}`)).json()) as { task_ids: string[] }).task_ids).toEqual([])
  })

  test('the owner made pending by an admin: the title request to Ollama is aborted, nothing written', async () => {
    const { fake, app, adaId, call, newChat, completeThenHang } = await startSetup({ TITLE_GENERATION_PROMPT_TEMPLATE: TEMPLATE })
    const chatId = await newChat()
    await completeThenHang(chatId)
    expect(await eventually(async () => chatRequests(fake).length === 2)).toBe(true)
    // note: a second admin demotes the first (the only admin may not demote itself).
    const admin2 = await signUp(app, 'root@example.com')
    expect((await call('POST', `/api/v1/users/${admin2.id}/update`, { role: 'admin' })).status).toBe(200)
    expect(await statusOf(app, 'POST', `/api/v1/users/${adaId}/update`, bearer(admin2.token), { role: 'pending' })).toBe(200)
    expect(await outcomeWithin(chatRequests(fake)[1]!, 3_000)).toBe('aborted')
    await Bun.sleep(100)
    expect(chatRequests(fake)).toHaveLength(2)
  })

  test('past CHAT_MAX_CONCURRENT_ANSWERS running, a chat is titled by its first message and no model is asked', async () => {
    const { fake, call, newChat, complete, completeThenHang, titleOf, tagsOf } = await startSetup({ TITLE_GENERATION_PROMPT_TEMPLATE: TEMPLATE, CHAT_MAX_CONCURRENT_ANSWERS: '1' })
    const first = await newChat()
    const taskId = await completeThenHang(first)
    expect(await eventually(async () => chatRequests(fake).length === 2)).toBe(true)
    fake.setBehaviour({ fault: null })
    const second = await newChat()
    await (await complete({ stream: true, chat_id: second, id: 'a1', background_tasks: ALL_TASKS })).text()
    expect(await eventually(async () => (await titleOf(second)) === QUESTION)).toBe(true)
    await Bun.sleep(100)
    expect(await tagsOf(second)).toEqual([])
    expect(chatRequests(fake)).toHaveLength(3)
    expect((await call('POST', `/api/tasks/stop/${taskId}`)).status).toBe(200)
  })
})

describe('refused: a 400, nothing asked or written', () => {
  test.each<[string, unknown]>([
    ['background_tasks that are not an object', 'title_generation'],
    ['a flag that is not true or false', { title_generation: 'yes' }],
  ])('%s', async (_, background) => {
    const { fake, newChat, complete, titleOf, call } = await startSetup({})
    const chatId = await newChat()
    const before = await (await call('GET', `/api/v1/chats/${chatId}`)).json()
    const res = await complete({ stream: true, chat_id: chatId, id: 'a1', background_tasks: background })
    expect(res.status).toBe(400)
    expect(((await res.json()) as { error: { code: string; message: string } }).error).toMatchObject({ code: 'invalid_request', message: expect.stringContaining('background_tasks') })
    expect(fake.requests.filter((request) => request.path === '/api/chat')).toHaveLength(0)
    expect(await (await call('GET', `/api/v1/chats/${chatId}`)).json()).toEqual(before)
    expect(await titleOf(chatId)).toBe('New Chat')
  })
})
