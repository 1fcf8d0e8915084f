import { expect, test } from 'bun:test'
import type { ChatId, UserId } from '../../src/db/ids.ts'
import { describeChat } from '../../src/http/routes/chats.ts'
import { bearer, signUp } from '../helpers/accounts.ts'
import { req, startTestApp } from '../helpers/test-app.ts'

// GET /api/v1/chats/:id builds its answer as text, each message serialised once although both
// `chat.history.messages` and `chat.messages` hold it: the text must be exactly what serialising
// the described chat gives, with the type Elysia gives a JSON answer, and the same refusals.

test('a chat read is the described chat, byte for byte, as JSON', async () => {
  const { app, deps } = startTestApp()
  const ada = await signUp(app, 'ada@example.com')
  const owner = ada.id as UserId
  const chat = await deps.store.chats.createChat(owner, 'a "quoted" title', [
    { role: 'user', content: 'first "question"\n with \u2028 odd text \uD83D\uDE00' },
    { role: 'assistant', content: 'an answer', model: 'llama3.2', status: 'done', usage: { total_duration: 5 }, extra: { '7': 'numeric key', __proto__: 'kept' } as Record<string, unknown> },
  ])
  const first = (await deps.store.chats.listMessagesInChat(owner, chat.id))[0]!
  await deps.store.chats.addMessage(owner, chat.id, { role: 'assistant', content: 'a sibling', parentId: first.id, model: 'other' })
  const res = await app.handle(req('GET', `/api/v1/chats/${chat.id}`, undefined, bearer(ada.token)))
  expect(res.status).toBe(200)
  expect(res.headers.get('content-type')).toBe('application/json;charset=utf-8')
  const text = await res.text()
  expect(text).toBe(JSON.stringify(describeChat((await deps.store.chats.readChatTree(owner, chat.id as ChatId))!)))
  const body = JSON.parse(text) as { chat: { history: { messages: Record<string, unknown> }; messages: { id: string }[] } }
  expect(Object.keys(body.chat.history.messages)).toHaveLength(3)
  expect(body.chat.messages.map((message) => body.chat.history.messages[message.id])).toEqual(body.chat.messages)
})

test("a chat read stays 404 for an unknown id or another user's chat, and 401 without a session", async () => {
  const { app, deps } = startTestApp()
  const ada = await signUp(app, 'ada@example.com')
  const bob = await signUp(app, 'bob@example.com')
  expect((await app.handle(req('POST', `/api/v1/users/${bob.id}/update`, { role: 'user' }, bearer(ada.token)))).status).toBe(200)
  const chat = await deps.store.chats.createChat(ada.id as UserId, 'private', [{ role: 'user', content: 'secret' }])
  for (const [path, headers, status] of [
    [`/api/v1/chats/${chat.id}`, bearer(bob.token), 404], [`/api/v1/chats/${chat.id}`, {}, 401],
    ['/api/v1/chats/not-a-chat-id', bearer(ada.token), 404], [`/api/v1/chats/${chat.id}x`, bearer(ada.token), 404],
  ] as const) {
    const res = await app.handle(req('GET', path, undefined, headers))
    expect(res.status).toBe(status)
    expect(await res.text()).not.toContain('secret')
  }
})
