/**
 * Direct connections in process: a user's own OpenAI-compatible endpoint, saved in their settings
 * as Open WebUI's page saves it, listed for them alone and answered through the server; refused
 * addresses get no request at all; off by default. The only real target is 127.0.0.1, allowed by
 * DIRECT_CONNECTIONS_ALLOWED_HOSTS. Ollama connection URLs on link-local or metadata addresses are refused too.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { defaultFakeModels } from '../fakes/ollama-replies.ts'
import { startFakeOllama, type FakeOllama } from '../fakes/ollama.ts'
import { bearer, signUp, statusOf } from '../helpers/accounts.ts'
import { req, startTestApp } from '../helpers/test-app.ts'

let ollama: FakeOllama
let remote: FakeOllama
beforeAll(async () => {
  ollama = await startFakeOllama()
  remote = await startFakeOllama({ models: [{ ...defaultFakeModels[0]!, name: 'remote-model:latest', model: 'remote-model:latest' }] })
})
afterAll(() => Promise.all([ollama.stop(), remote.stop()]))

const KEY = 'sk-direct-' + crypto.randomUUID()

async function startApp(env: Record<string, string>) {
  const { app } = startTestApp({ OLLAMA_BASE_URL: ollama.url, ...env })
  const admin = await signUp(app, 'admin@example.com')
  const bob = await signUp(app, 'bob@example.com')
  expect(await statusOf(app, 'POST', `/api/v1/users/${bob.id}/update`, bearer(admin.token), { role: 'user' })).toBe(200)
  const send = async (token: string, method: string, path: string, body?: unknown) => {
    const res = await app.handle(req(method, path, body, bearer(token)))
    const text = await res.text()
    return { status: res.status, text, body: text === '' ? null : JSON.parse(text) }
  }
  const saveConnection = (token: string, baseUrl: string) => send(token, 'POST', '/api/v1/users/user/settings/update', {
    ui: { directConnections: { OPENAI_API_BASE_URLS: [baseUrl], OPENAI_API_KEYS: [KEY], OPENAI_API_CONFIGS: { 0: { enable: true, prefix_id: 'mine', model_ids: [] } } } },
  })
  const listed = async (token: string) => (await send(token, 'GET', '/api/models')).body.data.map((model: { id: string }) => model.id) as string[]
  return { app, admin, bob, send, saveConnection, listed }
}

const remoteRequests = () => remote.requests.filter((request) => request.path.startsWith('/v1/'))

test('an answer from the user\'s own endpoint stored into a chat with background_tasks: titled by its first message, no model asked (not even TASK_MODEL) with its conversation', async () => {
  const { bob, send, saveConnection } = await startApp({ ENABLE_DIRECT_CONNECTIONS: 'true', DIRECT_CONNECTIONS_ALLOWED_HOSTS: '127.0.0.1', TASK_MODEL: defaultFakeModels[0]!.name })
  expect((await saveConnection(bob.token, `${remote.url}/v1`)).status).toBe(200)
  const question = 'Direct tides over the bay'
  const messages = [
    { id: 'q1', parentId: null, childrenIds: ['a1'], role: 'user', content: question, timestamp: 1 },
    { id: 'a1', parentId: 'q1', childrenIds: [], role: 'assistant', content: '', model: 'mine.remote-model:latest', done: false, timestamp: 1 },
  ]
  const created = await send(bob.token, 'POST', '/api/v1/chats/new', { chat: { title: 'New Chat', history: { messages: Object.fromEntries(messages.map((m) => [m.id, m])), currentId: 'a1' }, messages } })
  expect(created.status).toBe(200)
  const chatId = created.body.id as string
  const ollamaChats = () => ollama.requests.filter((request) => request.path === '/api/chat').length
  const [ollamaBefore, remoteBefore] = [ollamaChats(), remoteRequests().length]
  const answer = await send(bob.token, 'POST', '/api/chat/completions', {
    model: 'mine.remote-model:latest', messages: [{ role: 'user', content: question }], chat_id: chatId, id: 'a1',
    background_tasks: { title_generation: true, tags_generation: true, follow_up_generation: true },
  })
  expect(answer.status).toBe(200)
  let title = ''
  for (const deadline = Date.now() + 3_000; Date.now() < deadline && title !== question; await Bun.sleep(20)) title = (await send(bob.token, 'GET', `/api/v1/chats/${chatId}`)).body.title
  expect(title).toBe(question)
  await Bun.sleep(100)
  expect((await send(bob.token, 'GET', `/api/v1/chats/${chatId}/tags`)).body).toEqual([])
  expect(ollamaChats()).toBe(ollamaBefore)
  expect(remoteRequests().slice(remoteBefore).filter((request) => request.path === '/v1/chat/completions')).toHaveLength(1)
})

test('an allowed endpoint\'s models are listed for its user alone and answer through the server with their key', async () => {
  const { admin, bob, send, saveConnection, listed } = await startApp({ ENABLE_DIRECT_CONNECTIONS: 'true', DIRECT_CONNECTIONS_ALLOWED_HOSTS: '127.0.0.1' })
  expect((await send(admin.token, 'GET', '/api/config')).body.features.enable_direct_connections).toBe(true)
  expect((await saveConnection(bob.token, `${remote.url}/v1`)).status).toBe(200)
  const models = await send(bob.token, 'GET', '/api/models')
  expect(models.body.data.find((model: { id: string }) => model.id === 'mine.remote-model:latest')).toMatchObject({ owned_by: 'openai', direct: true })
  expect(models.text).not.toContain(KEY)
  expect(await listed(admin.token)).not.toContain('mine.remote-model:latest')

  const before = remoteRequests().length
  const answer = await send(bob.token, 'POST', '/api/chat/completions', { model: 'mine.remote-model:latest', messages: [{ role: 'user', content: 'hello direct world' }] })
  expect(answer.status).toBe(200)
  expect(answer.body.choices[0].message.content).toContain('hello')
  const sent = remoteRequests().slice(before).find((request) => request.path === '/v1/chat/completions')!
  expect(sent.headers.authorization).toBe(`Bearer ${KEY}`)
  expect(sent.body).toMatchObject({ model: 'remote-model:latest', stream: true })
  expect((await send(admin.token, 'POST', '/api/chat/completions', { model: 'mine.remote-model:latest', messages: [{ role: 'user', content: 'hi' }] })).status).toBe(404)
})

test.each([
  ['loopback, not allowed', { ENABLE_DIRECT_CONNECTIONS: 'true' }, (url: string) => `${url}/v1`],
  ['loopback in decimal, not allowed', { ENABLE_DIRECT_CONNECTIONS: 'true' }, (url: string) => `${url.replace('127.0.0.1', '2130706433')}/v1`],
  ['loopback, mapped IPv6', { ENABLE_DIRECT_CONNECTIONS: 'true' }, (url: string) => `${url.replace('127.0.0.1', '[::ffff:7f00:1]')}/v1`],
  ['with a user name', { ENABLE_DIRECT_CONNECTIONS: 'true', DIRECT_CONNECTIONS_ALLOWED_HOSTS: '127.0.0.1' }, (url: string) => `${url.replace('127.0.0.1', 'x@127.0.0.1')}/v1`],
  ['another loopback address than the one allowed', { ENABLE_DIRECT_CONNECTIONS: 'true', DIRECT_CONNECTIONS_ALLOWED_HOSTS: '127.0.0.2' }, (url: string) => `${url}/v1`],
  ['direct connections off (the default)', { DIRECT_CONNECTIONS_ALLOWED_HOSTS: '127.0.0.1' }, (url: string) => `${url}/v1`],
])('no request is sent, nothing is listed and chats find no model: %s', async (_, env, urlOf) => {
  const { bob, send, saveConnection, listed } = await startApp(env)
  expect((await saveConnection(bob.token, urlOf(remote.url))).status).toBe(200)
  const before = remoteRequests().length
  expect(await listed(bob.token)).not.toContain('mine.remote-model:latest')
  expect((await send(bob.token, 'POST', '/api/chat/completions', { model: 'mine.remote-model:latest', messages: [{ role: 'user', content: 'hi' }] })).status).toBe(404)
  expect(remoteRequests().length).toBe(before)
})

test('an admin may not point Ollama at a link-local or metadata address, in any spelling', async () => {
  const { admin, send } = await startApp({})
  for (const url of ['http://169.254.169.254', 'http://2852039166', 'http://[::ffff:a9fe:a9fe]', 'http://[fe80::1]:11434', 'http://metadata.google.internal']) {
    const saved = await send(admin.token, 'POST', '/api/v1/ollama/connections', { urls: [url] })
    expect([url, saved.status]).toEqual([url, 400])
    expect(saved.body.detail).toMatch(/link-local|metadata/)
    expect((await send(admin.token, 'POST', '/ollama/config/update', { ENABLE_OLLAMA_API: true, OLLAMA_BASE_URLS: [url], OLLAMA_API_CONFIGS: {} })).status).toBe(400)
    expect((await send(admin.token, 'POST', '/ollama/verify', { url })).status).toBe(400)
  }
  expect((await send(admin.token, 'GET', '/api/v1/ollama/connections')).body.urls).toEqual([ollama.url])
  expect((await send(admin.token, 'POST', '/api/v1/ollama/connections', { urls: ['http://10.0.0.5:11434'] })).status).toBe(200)
})

test('with grants deciding, a user\'s own direct model answers them on every chat path; another user naming it gets model_not_found, and a restricted Ollama model of the same name stays refused', async () => {
  const { app, admin, bob, send, saveConnection, listed } = await startApp({ ENABLE_DIRECT_CONNECTIONS: 'true', DIRECT_CONNECTIONS_ALLOWED_HOSTS: '127.0.0.1', BYPASS_MODEL_ACCESS_CONTROL: 'false' })
  const carol = await signUp(app, 'carol@example.com')
  expect(await statusOf(app, 'POST', `/api/v1/users/${carol.id}/update`, bearer(admin.token), { role: 'user' })).toBe(200)
  // note: every Ollama model is admins-only, so only the direct-model exemption can let bob chat.
  for (const model of ['qwen2.5:0.5b', 'llama3.2:1b']) {
    expect((await send(admin.token, 'POST', '/api/v1/models/model/access/update', { id: model, access_grants: [] })).status).toBe(200)
  }
  expect((await saveConnection(bob.token, `${remote.url}/v1`)).status).toBe(200)
  expect((await saveConnection(carol.token, `${remote.url}/v1`.replace('/v1', '/nowhere'))).status).toBe(200)
  expect(await listed(bob.token)).toEqual(['mine.remote-model:latest'])

  const before = remoteRequests().length
  const answer = await send(bob.token, 'POST', '/api/v1/chat/completions', { model: 'mine.remote-model:latest', messages: [{ role: 'user', content: 'hello again' }] })
  expect(answer.status).toBe(200)
  expect(remoteRequests().slice(before).filter((request) => request.path === '/v1/chat/completions')).toHaveLength(1)

  const server = app.listen({ port: 0, hostname: '127.0.0.1' })
  try {
    const { connect } = await import('../helpers/ws.ts')
    const socket = await connect(`ws://127.0.0.1:${server.server!.port}/api/ws`, { token: bob.token })
    socket.send({ type: 'chat:send', model: 'mine.remote-model:latest', content: 'over the socket' })
    expect(await socket.nextFrame((frame) => frame.type === 'chat:done' || frame.type === 'error' || frame.type === 'chat:error')).toMatchObject({ type: 'chat:done' })
    await socket.close()
    const other = await connect(`ws://127.0.0.1:${server.server!.port}/api/ws`, { token: carol.token })
    other.send({ type: 'chat:send', model: 'mine.remote-model:latest', content: 'not mine' })
    expect(await other.nextFrame((frame) => frame.type === 'error')).toMatchObject({ code: 'model_not_found' })
    await other.close()
  } finally {
    await server.stop()
  }
  const afterSocket = remoteRequests().length
  expect((await send(carol.token, 'POST', '/api/chat/completions', { model: 'mine.remote-model:latest', messages: [{ role: 'user', content: 'hi' }] })).status).toBe(404)
  expect((await send(bob.token, 'POST', '/api/chat/completions', { model: 'qwen2.5:0.5b', messages: [{ role: 'user', content: 'hi' }] })).status).toBe(404)
  expect(remoteRequests().length).toBe(afterSocket)
})
