/**
 * An answer asked for through /api/chat/completions with a `chat_id` (Open WebUI's page, Conduit)
 * is announced to the owner's Enclave tabs as `chat:changed` when it is added and when it ends, so
 * a tab showing the chat reads it again; other users hear nothing, nor does a stateless request.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import type { UserId } from '../../src/db/ids.ts'
import { startFakeOllama, type FakeOllama } from '../fakes/ollama.ts'
import { bearer, signUpAdminAndUser } from '../helpers/accounts.ts'
import { req, startTestApp } from '../helpers/test-app.ts'
import { ofType, socketPool } from '../helpers/ws.ts'

const MODEL = 'qwen2.5:0.5b'

let fake: FakeOllama
let started: ReturnType<typeof startTestApp>
let base: string
let ada: { id: UserId; token: string }
let bob: { id: UserId; token: string }
const sockets = socketPool(() => `ws${base.slice(4)}/api/ws`)

beforeAll(async () => {
  fake = await startFakeOllama({ behaviour: { chunkDelayMs: 1 } })
  started = startTestApp({ OLLAMA_BASE_URL: fake.url, ENABLE_TITLE_GENERATION: 'false' })
  ;({ ada, bob } = await signUpAdminAndUser(started.app))
  started.app.listen({ hostname: '127.0.0.1', port: 0 })
  base = `http://127.0.0.1:${started.app.server!.port}`
})

afterAll(async () => {
  sockets.closeAll()
  await started.app.stop(true)
  await fake.stop()
})

async function newChat(user: { token: string }): Promise<string> {
  const q1 = { id: 'q1', parentId: null, childrenIds: [], role: 'user', content: 'why is the sky blue', timestamp: 1 }
  const res = await started.app.handle(req('POST', '/api/v1/chats/new', { chat: { title: 'asked elsewhere', history: { messages: { q1 }, currentId: 'q1' }, messages: [q1] } }, bearer(user.token)))
  expect(res.status).toBe(200)
  return ((await res.json()) as { id: string }).id
}

async function complete(user: { token: string }, extra: Record<string, unknown>): Promise<string> {
  const res = await fetch(`${base}/api/chat/completions`, {
    method: 'POST', headers: { ...bearer(user.token), 'content-type': 'application/json' },
    body: JSON.stringify({ model: MODEL, messages: [{ role: 'user', content: 'why is the sky blue' }], stream: true, ...extra }),
  })
  expect(res.status).toBe(200)
  return await res.text()
}

test('a completion into a chat: every tab of its owner hears chat:changed at the start and at the end, with the answer readable', async () => {
  const chatId = await newChat(ada)
  const tab = await sockets.socketOf(ada)
  const second = await sockets.socketOf(ada)
  const bobs = await sockets.socketOf(bob)
  await complete(ada, { chat_id: chatId, id: 'a1', parent_id: 'q1' })
  for (const socket of [tab, second]) {
    expect(await socket.nextFrame(ofType('chat:changed'))).toEqual({ type: 'chat:changed', chatId })
    expect(await socket.nextFrame(ofType('chat:changed'))).toEqual({ type: 'chat:changed', chatId })
  }
  const res = await started.app.handle(req('GET', `/api/v1/chats/${chatId}`, undefined, bearer(ada.token)))
  const { chat } = (await res.json()) as { chat: { history: { messages: Record<string, { content: string; done?: boolean }>; currentId: string } } }
  expect(chat.history.currentId).toBe('a1')
  expect(chat.history.messages.a1).toMatchObject({ done: true, content: 'why is the sky blue' })
  await Bun.sleep(50)
  expect(bobs.frames.filter(ofType('chat:changed'))).toEqual([])
  expect(tab.frames.filter(ofType('chat:changed'))).toHaveLength(2)
})

test('a stateless completion (no chat_id, or the temporary "local" chat) and a refused one announce nothing', async () => {
  const tab = await sockets.socketOf(ada)
  await complete(ada, {})
  await complete(ada, { chat_id: 'local' })
  const bobsChat = await newChat(bob)
  const refused = await fetch(`${base}/api/chat/completions`, {
    method: 'POST', headers: { ...bearer(ada.token), 'content-type': 'application/json' },
    body: JSON.stringify({ model: MODEL, messages: [{ role: 'user', content: 'hi' }], chat_id: bobsChat, id: 'a1' }),
  })
  expect(refused.status).toBe(404)
  await Bun.sleep(50)
  expect(tab.frames.filter(ofType('chat:changed'))).toEqual([])
})
