import { describe, expect, test } from 'bun:test'
import type { App } from '../../src/http/create-app.ts'
import { bearer, signUp, startClockedApp } from '../helpers/accounts.ts'
import { conduitSyncBody, messagesList, OpenWebUiPage, type ClientHistory } from '../helpers/open-webui-client.ts'
import { req } from '../helpers/test-app.ts'

// The saves Open WebUI's page and the Conduit app really make, replayed: every one is stored whole,
// and GET gives back exactly the tree that was saved. A save that cannot be stored is refused with
// what is wrong; the stored chat is then as before.

const CHATS = '/api/v1/chats'

type OpenChat = {
  id: string; title: string; folder_id: string | null
  chat: { title: string; models: string[]; params: Record<string, unknown>; system?: string; files?: unknown[]; history: ClientHistory; messages: unknown[] }
}

async function start() {
  const started = startClockedApp()
  const ada = bearer((await signUp(started.app, 'ada@example.com')).token)
  const bob = await signUp(started.app, 'bob@example.com')
  const promoted = await started.app.handle(req('POST', `/api/v1/users/${bob.id}/update`, { role: 'user' }, ada))
  expect(promoted.status).toBe(200)
  return { ...started, ada, bob: bearer(bob.token) }
}

async function call<T>(app: App, method: string, path: string, headers: Record<string, string>, body?: unknown): Promise<T> {
  const res = await app.handle(req(method, path, body, headers))
  if (res.status !== 200) throw new Error(`${method} ${path} answered ${res.status}: ${await res.text()}`)
  return (await res.json()) as T
}

/** Checks the stored chat is the page's: the whole history, the path shown, models and params. */
async function expectStoredAsPage(app: App, headers: Record<string, string>, id: string, page: OpenWebUiPage) {
  const stored = await call<OpenChat>(app, 'GET', `${CHATS}/${id}`, headers)
  expect(stored.chat.history).toEqual(page.history)
  expect(stored.chat.messages).toEqual(messagesList(page.history, page.history.currentId))
  expect(stored.chat.models).toEqual(page.models)
  expect(stored.chat.params).toEqual(page.params)
  return stored
}

/** The sealed message blobs by id: a rewritten row gets a fresh nonce, so a changed blob is a row written. */
const messageBlobs = (deps: ReturnType<typeof startClockedApp>['deps']) =>
  new Map(deps.store.db!.query<{ id: number; content: Uint8Array }, []>('SELECT id, content FROM message').all().map((row) => [row.id, Buffer.from(row.content).toString('hex')]))

describe("Open WebUI's page", async () => {
  const { app, ada, deps } = await start()

  test('saves after each step (ask, answer, regenerate, edit, branch switch, failure) are stored whole', async () => {
    const page = new OpenWebUiPage()
    const first = page.ask('What is the capital of Portugal?')
    const created = await call<OpenChat>(app, 'POST', `${CHATS}/new`, ada, page.newChatBody())
    await expectStoredAsPage(app, ada, created.id, page)

    const answer = page.startAnswer(first.id)
    await call(app, 'POST', `${CHATS}/${created.id}`, ada, page.saveBody())
    const pending = await expectStoredAsPage(app, ada, created.id, page)
    expect(pending.chat.history.messages[answer.id]).toMatchObject({ done: false, content: '' })

    // the save that fills in the answer: the old code answered 200 and dropped it
    page.finishAnswer(answer, 'Lisbon.')
    await call(app, 'POST', `${CHATS}/${created.id}`, ada, page.saveBody())
    await expectStoredAsPage(app, ada, created.id, page)

    const second = page.regenerate(first.id, 'It is Lisbon, on the Tagus.')
    await call(app, 'POST', `${CHATS}/${created.id}`, ada, page.saveBody())
    const regenerated = await expectStoredAsPage(app, ada, created.id, page)
    expect(regenerated.chat.history.messages[first.id]!.childrenIds).toEqual([answer.id, second.id])

    const edited = page.ask('What is the capital of Spain?', null)
    const editAnswer = page.startAnswer(edited.id)
    page.failAnswer(editAnswer, 'Ollama could not be reached.')
    await call(app, 'POST', `${CHATS}/${created.id}`, ada, page.saveBody())
    await expectStoredAsPage(app, ada, created.id, page)

    page.switchTo(first.id)
    expect(page.history.currentId).toBe(second.id)
    page.params = { ...page.params, temperature: 0.2, system: 'Answer in French.' }
    page.models = ['qwen2.5:7b']
    await call(app, 'POST', `${CHATS}/${created.id}`, ada, page.saveBody())
    const switched = await expectStoredAsPage(app, ada, created.id, page)
    expect(switched.chat.messages.map((message) => (message as { id: string }).id)).toEqual([first.id, second.id])
    expect(deps.store.db!.query('SELECT count(*) AS n FROM message').get()).toEqual({ n: 5 })
  })

  test('a save sent twice (a retry) writes no message the second time; a save with one change rewrites one row', async () => {
    const page = new OpenWebUiPage()
    const created = await call<OpenChat>(app, 'POST', `${CHATS}/new`, ada, page.newChatBody())
    for (let turn = 0; turn < 10; turn++) page.finishAnswer(page.startAnswer(page.ask(`question ${turn}`).id), `answer ${turn}.`)
    await call(app, 'POST', `${CHATS}/${created.id}`, ada, page.saveBody())
    const before = messageBlobs(deps)
    await call(app, 'POST', `${CHATS}/${created.id}`, ada, page.saveBody())
    expect(messageBlobs(deps)).toEqual(before)

    const target = Object.values(page.history.messages)[7]!
    target.content = 'an edited answer.'
    await call(app, 'POST', `${CHATS}/${created.id}`, ada, page.saveBody())
    const after = messageBlobs(deps)
    expect([...after].filter(([id, blob]) => before.get(id) !== blob)).toHaveLength(1)
    await expectStoredAsPage(app, ada, created.id, page)
  })

  test('a message absent from the saved history is removed; DELETE removes a message and its answers, keeping the turns after', async () => {
    const page = new OpenWebUiPage()
    const q1 = page.ask('one')
    const created = await call<OpenChat>(app, 'POST', `${CHATS}/new`, ada, page.newChatBody())
    const a1 = page.regenerate(q1.id, 'first')
    const a2 = page.regenerate(q1.id, 'second')
    const q2 = page.ask('two', a2.id)
    const a3 = page.regenerate(q2.id, 'third')
    await call(app, 'POST', `${CHATS}/${created.id}`, ada, page.saveBody())

    // the page's own delete: the branch leaves the history, and the parent's child list
    delete page.history.messages[a1.id]
    page.history.messages[q1.id]!.childrenIds = [a2.id]
    await call(app, 'POST', `${CHATS}/${created.id}`, ada, page.saveBody())
    await expectStoredAsPage(app, ada, created.id, page)

    // as Open WebUI's page deletes a message (Messages.svelte, deleteMessage): the answer and the question under it go, the answer after moves up
    const afterDelete = await call<OpenChat>(app, 'DELETE', `${CHATS}/${created.id}/messages/${a2.id}`, ada)
    expect(Object.keys(afterDelete.chat.history.messages)).toEqual([q1.id, a3.id])
    expect(afterDelete.chat.history.messages[q1.id]).toMatchObject({ parentId: null, childrenIds: [a3.id] })
    expect(afterDelete.chat.history.messages[a3.id]).toMatchObject({ parentId: q1.id, childrenIds: [], content: 'third' })
    expect(afterDelete.chat.history.currentId).toBe(a3.id)
    expect((await app.handle(req('DELETE', `${CHATS}/${created.id}/messages/${a2.id}`, undefined, ada))).status).toBe(404)
  })

  test('clone copies every branch under a new id, titled "Clone of …" unless a title is given', async () => {
    const page = new OpenWebUiPage()
    const q = page.ask('clone me')
    page.regenerate(q.id, 'one')
    page.regenerate(q.id, 'two')
    const created = await call<OpenChat>(app, 'POST', `${CHATS}/new`, ada, page.newChatBody('Original'))
    const copy = await call<OpenChat>(app, 'POST', `${CHATS}/${created.id}/clone`, ada, {})
    expect(copy.id).not.toBe(created.id)
    expect(copy.title).toBe('Clone of Original')
    expect(copy.chat.history).toEqual(page.history)
    expect(copy.chat).toMatchObject({ originalChatId: created.id, branchPointMessageId: page.history.currentId })
    expect((await call<OpenChat>(app, 'POST', `${CHATS}/${created.id}/clone`, ada, { title: 'Mine' })).title).toBe('Mine')
  })

  test('a save without history keeps the tree; fields not sent are kept (title, system prompt only)', async () => {
    const page = new OpenWebUiPage()
    page.regenerate(page.ask('hello').id, 'hi')
    const created = await call<OpenChat>(app, 'POST', `${CHATS}/new`, ada, page.newChatBody())
    const renamed = await call<OpenChat>(app, 'POST', `${CHATS}/${created.id}`, ada, { chat: { title: 'Greetings', system: 'Be terse.' } })
    expect(renamed.title).toBe('Greetings')
    expect(renamed.chat.system).toBe('Be terse.')
    expect(renamed.chat.history).toEqual(page.history)
    expect(renamed.chat.params).toEqual(page.params)
  })

  test('import takes Open WebUI export objects with their trees, times and flags', async () => {
    const page = new OpenWebUiPage()
    const q = page.ask('imported question')
    page.regenerate(q.id, 'a')
    page.regenerate(q.id, 'b')
    const body = { chats: [{ chat: { ...page.saveBody().chat, title: 'Imported' }, folder_id: null, meta: { tags: [] }, pinned: true, created_at: 1_700_000_000, updated_at: 1_700_000_500 }] }
    const [imported] = await call<(OpenChat & { pinned: boolean; created_at: number; updated_at: number })[]>(app, 'POST', `${CHATS}/import`, ada, body)
    expect(imported).toMatchObject({ title: 'Imported', pinned: true, created_at: 1_700_000_000, updated_at: 1_700_000_500 })
    expect(imported!.chat.history).toEqual(page.history)
    const refused = await app.handle(req('POST', `${CHATS}/import`, { chats: [body.chats[0], { chat: { history: { messages: { x: { role: 'tool', content: '' } } } } }] }, ada))
    expect(refused.status).toBe(422)
    expect((await call<OpenChat[]>(app, 'GET', `${CHATS}/?include_pinned=true`, ada)).filter((chat) => chat.title === 'Imported')).toHaveLength(1)
  })
})

test('odd fields round-trip as sent: __proto__, a null model, a done that is not a boolean, a timestamp in ms', async () => {
  const { app, ada } = await start()
  const raw = `{"chat":{"history":{"currentId":"b","messages":{
    "a":{"id":"a","parentId":null,"childrenIds":["b"],"role":"user","content":"q","timestamp":1750000000,"__proto__":{"polluted":true},"model":null},
    "b":{"id":"b","parentId":"a","childrenIds":[],"role":"assistant","content":"r","timestamp":1750000000123,"done":"yes","cancelled":false,"error":null}}}}}`
  const res = await app.handle(req('POST', `${CHATS}/new`, raw, { ...ada, 'content-type': 'application/json' }))
  expect(res.status).toBe(200)
  const stored = (await res.json()) as OpenChat
  expect(stored.chat.history).toEqual(JSON.parse(raw).chat.history)
  expect(Object.getOwnPropertyDescriptor(stored.chat.history.messages.a, '__proto__')?.value).toEqual({ polluted: true })
  expect(({} as Record<string, unknown>).polluted).toBeUndefined()
})

test('a chat made over the socket, with no models saved, offers the model of its last answer', async () => {
  const { app, ada, deps } = await start()
  const owner = (await deps.store.users.findUserByEmail('ada@example.com'))!.id
  const { chat } = await deps.store.chats.startChat(owner, crypto.randomUUID() as never, 'socket chat', { role: 'user', content: 'hi' })
  await deps.store.chats.addMessage(owner, chat.id, { role: 'assistant', content: 'hello', model: 'qwen2.5:7b', status: 'done' })
  const opened = await call<OpenChat>(app, 'GET', `${CHATS}/${chat.id}`, ada)
  expect(opened.chat.models).toEqual(['qwen2.5:7b'])
  expect(opened.chat.messages.map((message) => (message as { done?: boolean }).done)).toEqual([undefined, true])
})

test('a message moved by a database writer into another chat of its owner is refused, never served', async () => {
  const { app, ada, deps, advance } = await start()
  const page = new OpenWebUiPage()
  const secret = page.ask('MOVED-SECRET-71d2')
  const from = await call<OpenChat>(app, 'POST', `${CHATS}/new`, ada, page.newChatBody())
  const to = await call<OpenChat>(app, 'POST', `${CHATS}/new`, ada, new OpenWebUiPage().newChatBody())
  deps.store.db!.query('UPDATE message SET chat_seq = (SELECT seq FROM chat WHERE id = ?) WHERE uid = ?').run(to.id, secret.id)
  // note: while the server holds the chat open (chat-history-cache.ts) it serves what it wrote; the move is refused once the chat is read from disk again.
  expect(await (await app.handle(req('GET', `${CHATS}/${to.id}`, undefined, ada))).text()).not.toContain('MOVED-SECRET')
  advance(10 * 60_000 + 1)
  const res = await app.handle(req('GET', `${CHATS}/${to.id}`, undefined, ada))
  expect(res.status).toBe(500)
  const body = await res.text()
  expect(JSON.parse(body)).toMatchObject({ code: 'stored_data_unreadable' })
  expect(body).not.toContain('MOVED-SECRET')
  expect((await app.handle(req('GET', `${CHATS}/${from.id}`, undefined, ada))).status).toBe(200)
})

describe('the Conduit app', async () => {
  const { app, ada } = await start()

  test('its full sync (system prompt, its own message fields) round-trips; its title-and-system update keeps the tree', async () => {
    const page = new OpenWebUiPage()
    const q = page.ask('from my phone')
    const created = await call<OpenChat>(app, 'POST', `${CHATS}/new`, ada, page.newChatBody())
    page.regenerate(q.id, 'an answer')
    const body = conduitSyncBody(page, 'You are a phone assistant.')
    await call(app, 'POST', `${CHATS}/${created.id}`, ada, body)
    const stored = await call<OpenChat>(app, 'GET', `${CHATS}/${created.id}`, ada)
    expect(stored.chat.history).toEqual(body.chat.history)
    expect(stored.chat).toMatchObject({ title: 'From Conduit', system: 'You are a phone assistant.', params: {}, files: [], models: page.models })

    await call(app, 'POST', `${CHATS}/${created.id}`, ada, { chat: { title: 'Renamed', system: 'Shorter.' } })
    const updated = await call<OpenChat>(app, 'GET', `${CHATS}/${created.id}`, ada)
    expect(updated.chat.history).toEqual(body.chat.history)
    expect(updated.chat.system).toBe('Shorter.')
    expect(updated.title).toBe('Renamed')
  })

  test('deleting the second of three turns keeps the third, as the app shows it', async () => {
    // the chat of the app's delete (chat_page.dart _deleteMessageGroup, then DELETE /api/v1/chats/{id}/messages/{id})
    const ids = ['u1', 'a1', 'u2', 'a2', 'u3', 'a3']
    const messages = Object.fromEntries(ids.map((id, i) => [id, {
      id, parentId: i === 0 ? null : ids[i - 1], childrenIds: i < ids.length - 1 ? [ids[i + 1]] : [],
      role: id.startsWith('u') ? 'user' : 'assistant', content: `text of ${id}`, timestamp: 1_750_000_000 + i,
    }]))
    const created = await call<OpenChat>(app, 'POST', `${CHATS}/new`, ada, { chat: { title: 'three turns', history: { messages, currentId: 'a3' }, messages: Object.values(messages) } })
    const deleted = await call<OpenChat>(app, 'DELETE', `${CHATS}/${created.id}/messages/u2`, ada)
    const opened = await call<OpenChat>(app, 'GET', `${CHATS}/${created.id}`, ada)
    for (const chat of [deleted, opened]) {
      expect(Object.keys(chat.chat.history.messages).sort()).toEqual(['a1', 'a3', 'u1', 'u3'])
      expect(chat.chat.history.messages.a1).toMatchObject({ parentId: 'u1', childrenIds: ['u3'] })
      expect(chat.chat.history.messages.u3).toMatchObject({ parentId: 'a1', childrenIds: ['a3'] })
      expect(chat.chat.history.currentId).toBe('a3')
      expect(chat.chat.messages.map((message) => (message as { id: string }).id)).toEqual(['u1', 'a1', 'u3', 'a3'])
    }
    // the first question deleted: its answer goes, the next question becomes the first
    const rooted = await call<OpenChat>(app, 'DELETE', `${CHATS}/${created.id}/messages/u1`, ada)
    expect(Object.keys(rooted.chat.history.messages).sort()).toEqual(['a3', 'u3'])
    expect(rooted.chat.history.messages.u3).toMatchObject({ parentId: null, childrenIds: ['a3'] })
    expect(rooted.chat.history.currentId).toBe('a3')
    // a message gone, a malformed id, one over 200 characters, and one of another chat change nothing
    const other = await call<OpenChat>(app, 'POST', `${CHATS}/new`, ada, new OpenWebUiPage().newChatBody())
    for (const [id, status] of [['u2', 404], ['not%20an%20id', 404], ['x'.repeat(201), 422]] as const) {
      expect((await app.handle(req('DELETE', `${CHATS}/${created.id}/messages/${id}`, undefined, ada))).status).toBe(status)
    }
    expect((await app.handle(req('DELETE', `${CHATS}/${other.id}/messages/u3`, undefined, ada))).status).toBe(404)
    expect((await call<OpenChat>(app, 'GET', `${CHATS}/${created.id}`, ada)).chat.history).toEqual(rooted.chat.history)
  })
})

describe('a save that cannot be stored whole is refused, saying what, and changes nothing', async () => {
  const { app, ada, bob } = await start()
  const page = new OpenWebUiPage()
  page.regenerate(page.ask('keep me').id, 'kept')
  const created = await call<OpenChat>(app, 'POST', `${CHATS}/new`, ada, page.newChatBody())
  const good = page.saveBody()
  const [userId, answerId] = Object.keys(good.chat.history.messages) as [string, string]
  const withMessages = (messages: Record<string, unknown>, currentId: unknown = answerId) => ({ chat: { history: { messages, currentId } } })
  const user = { ...good.chat.history.messages[userId] }
  const answer = { ...good.chat.history.messages[answerId] }

  test.each<[string, unknown, number, string]>([
    ['a parent the chat does not hold', withMessages({ [userId]: user, [answerId]: { ...answer, parentId: 'missing' } }), 422, 'bad_parent'],
    ['a cycle of two', withMessages({ [userId]: { ...user, parentId: answerId }, [answerId]: answer }), 422, 'cycle'],
    ['a message its own parent', withMessages({ [userId]: user, [answerId]: { ...answer, parentId: answerId } }), 422, 'cycle'],
    ['an unknown role', withMessages({ [userId]: user, [answerId]: { ...answer, role: 'tool' } }), 422, 'unknown_role'],
    ['content that is not text', withMessages({ [userId]: user, [answerId]: { ...answer, content: [{ type: 'text' }] } }), 422, 'invalid_message'],
    ['a message id with a space', withMessages({ [userId]: user, 'bad id': { ...answer, id: 'bad id' } }, 'bad id'), 422, 'invalid_message_id'],
    ['a message id __proto__', { chat: { history: JSON.parse(`{"messages":{"__proto__":{"role":"user","content":"x"}},"currentId":null}`) } }, 422, 'invalid_message_id'],
    ['a message id of 129 characters', withMessages({ [userId]: user, ['x'.repeat(129)]: { ...answer, id: 'x'.repeat(129) } }, userId), 422, 'invalid_message_id'],
    ['an id that differs from its key', withMessages({ [userId]: user, [answerId]: { ...answer, id: 'other' } }), 422, 'message_id_mismatch'],
    ['a currentId the chat does not hold', withMessages({ [userId]: user, [answerId]: answer }, 'nowhere'), 422, 'bad_current_id'],
    ['a message that is not an object', withMessages({ [userId]: user, [answerId]: 'text' }), 422, 'invalid_message'],
    ['history that is a list', { chat: { history: [] } }, 422, 'invalid_chat'],
    ['models that are not names', { chat: { models: [1, 2] } }, 422, 'invalid_chat'],
    ['params that are a string', { chat: { params: 'hot' } }, 422, 'invalid_chat'],
    ['a system prompt of 100,001 characters', { chat: { system: 'x'.repeat(100_001) } }, 422, 'invalid_chat'],
    ['extra message fields over 1 MB', withMessages({ [userId]: user, [answerId]: { ...answer, statusHistory: 'x'.repeat(1_000_001) } }), 413, 'too_large'],
    ['a message over 1,000,000 characters', withMessages({ [userId]: user, [answerId]: { ...answer, content: 'x'.repeat(1_000_001) } }), 413, 'too_large'],
    ['a list of messages with the same id twice', { chat: { messages: [{ id: 'a', role: 'user', content: 'x' }, { id: 'a', role: 'assistant', content: 'y' }] } }, 422, 'invalid_message_id'],
  ])('%s', async (_, body, status, code) => {
    const before = await call<OpenChat>(app, 'GET', `${CHATS}/${created.id}`, ada)
    const res = await app.handle(req('POST', `${CHATS}/${created.id}`, body, ada))
    expect(res.status).toBe(status)
    expect(await res.json()).toMatchObject({ code })
    expect(await call<OpenChat>(app, 'GET', `${CHATS}/${created.id}`, ada)).toEqual(before)
  })

  test('chat-level fields merge across saves, but not past 1,000,000 bytes together', async () => {
    const other = await call<OpenChat>(app, 'POST', `${CHATS}/new`, ada, page.newChatBody())
    await call(app, 'POST', `${CHATS}/${other.id}`, ada, { chat: { notes_a: 'a'.repeat(600_000) } })
    const res = await app.handle(req('POST', `${CHATS}/${other.id}`, { chat: { notes_b: 'b'.repeat(600_000) } }, ada))
    expect(res.status).toBe(413)
    expect(await res.json()).toMatchObject({ code: 'too_large' })
    const kept = await call<OpenChat & { chat: Record<string, unknown> }>(app, 'GET', `${CHATS}/${other.id}`, ada)
    expect(kept.chat.notes_b).toBeUndefined()
    expect((kept.chat.notes_a as string).length).toBe(600_000)
  })

  test.each([
    ['POST /:id', 'POST', () => `${CHATS}/${created.id}`, good],
    ['DELETE /:id/messages/:mid', 'DELETE', () => `${CHATS}/${created.id}/messages/${answerId}`, undefined],
    ['POST /:id/clone', 'POST', () => `${CHATS}/${created.id}/clone`, {}],
  ])("another user's chat is 404 chat_not_found: %s", async (_, method, path, body) => {
    const res = await app.handle(req(method, path(), body, bob))
    expect(res.status).toBe(404)
    expect(await res.json()).toMatchObject({ code: 'chat_not_found' })
  })

  test.each([
    ['POST /new', 'POST', `${CHATS}/new`], ['POST /import', 'POST', `${CHATS}/import`],
    ['POST /:id/clone', 'POST', `${CHATS}/${crypto.randomUUID()}/clone`], ['DELETE /:id/messages/:mid', 'DELETE', `${CHATS}/${crypto.randomUUID()}/messages/x`],
  ])('without a session: %s is 401', async (_, method, path) => {
    expect((await app.handle(req(method, path, { chat: 5, chats: 5 }))).status).toBe(401)
  })
})
