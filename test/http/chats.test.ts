import { describe, expect, test } from 'bun:test'
import type { App } from '../../src/http/create-app.ts'
import { bearer, signUp, startClockedApp, statusOf } from '../helpers/accounts.ts'
import { req } from '../helpers/test-app.ts'

const CHATS = '/api/v1/chats'

type Summary = { id: string; title: string; updated_at: number; created_at: number; pinned: boolean; archived: boolean }
type OpenMessage = { id: string; parentId: string | null; childrenIds: string[]; role: string; content: string; model: string | null; timestamp: number }
type OpenChat = Summary & {
  user_id: string
  chat: { title: string; messages: OpenMessage[]; history: { currentId: string | null; messages: Record<string, OpenMessage> } }
}

/** Three accounts: Ada (admin, first), Bob (promoted to user) and Pat (still pending). */
async function startWithAccounts() {
  const started = startClockedApp()
  const ada = await signUp(started.app, 'ada@example.com')
  const bob = await signUp(started.app, 'bob@example.com')
  const pat = await signUp(started.app, 'pat@example.com')
  const promoted = await started.app.handle(req('POST', `/api/v1/users/${bob.id}/update`, { role: 'user' }, bearer(ada.token)))
  expect(promoted.status).toBe(200)
  return { ...started, ada: bearer(ada.token), bob: bearer(bob.token), pat: bearer(pat.token), adaId: ada.id }
}

async function call<T>(app: App, method: string, path: string, headers: Record<string, string>, body?: unknown): Promise<T> {
  const res = await app.handle(req(method, path, body, headers))
  if (res.status !== 200) throw new Error(`${method} ${path} answered ${res.status}: ${await res.text()}`)
  return (await res.json()) as T
}

const createChat = (app: App, headers: Record<string, string>, chat: Record<string, unknown>) =>
  call<OpenChat>(app, 'POST', `${CHATS}/new`, headers, { chat })

const idsOf = (list: Summary[]) => list.map((chat) => chat.id)

describe('a chat from creation to deletion', async () => {
  const { app, ada, adaId, advance } = await startWithAccounts()

  test('create, open, update, rename, pin, archive and delete', async () => {
    const created = await createChat(app, ada, {
      title: 'Trip to Lisbon 🇵🇹',
      messages: [{ role: 'user', content: 'Where should I eat?' }, { role: 'assistant', content: 'Try the pastéis.', model: 'llama3' }],
    })
    expect(created).toMatchObject({ user_id: adaId, title: 'Trip to Lisbon 🇵🇹', pinned: false, archived: false })
    const [question, answer] = created.chat.messages
    expect(question).toMatchObject({ role: 'user', content: 'Where should I eat?', parentId: null, childrenIds: [answer!.id] })
    expect(answer).toMatchObject({ role: 'assistant', content: 'Try the pastéis.', model: 'llama3', parentId: question!.id })
    expect(typeof question!.id).toBe('string')
    expect(created.chat.history.currentId).toBe(answer!.id)
    expect(Object.keys(created.chat.history.messages)).toEqual([question!.id, answer!.id])

    expect(await call<OpenChat>(app, 'GET', `${CHATS}/${created.id}`, ada)).toEqual(created)

    advance(5_000)
    // note: Open WebUI sends the whole conversation each time; only the messages past those stored are new.
    const updated = await call<OpenChat>(app, 'POST', `${CHATS}/${created.id}`, ada, {
      chat: { title: 'Lisbon', messages: [...created.chat.messages, { role: 'user', content: 'And dessert?', timestamp: 1 }] },
    })
    expect(updated.title).toBe('Lisbon')
    expect(updated.chat.messages.map((message) => message.content)).toEqual(['Where should I eat?', 'Try the pastéis.', 'And dessert?'])
    expect(updated.chat.messages.slice(0, 2)).toEqual(created.chat.messages.map((message, i) => i === 1 ? { ...message, childrenIds: [updated.chat.messages[2]!.id] } : message))
    expect(updated.chat.messages[2]!.parentId).toBe(answer!.id)
    expect(updated.updated_at).toBeGreaterThan(created.updated_at)

    const renamed = await call<OpenChat>(app, 'POST', `${CHATS}/${created.id}/rename`, ada, { title: 'Lisbon, May' })
    expect(renamed.title).toBe('Lisbon, May')

    expect((await call<OpenChat>(app, 'POST', `${CHATS}/${created.id}/pin`, ada)).pinned).toBe(true)
    expect(idsOf(await call<Summary[]>(app, 'GET', `${CHATS}/pinned`, ada))).toEqual([created.id])

    expect((await call<OpenChat>(app, 'POST', `${CHATS}/${created.id}/archive`, ada)).archived).toBe(true)
    expect(idsOf(await call<Summary[]>(app, 'GET', `${CHATS}/`, ada))).not.toContain(created.id)
    expect(idsOf(await call<Summary[]>(app, 'GET', `${CHATS}/pinned`, ada))).toEqual([])
    expect(idsOf(await call<Summary[]>(app, 'GET', `${CHATS}/archived`, ada))).toEqual([created.id])
    expect((await call<OpenChat>(app, 'POST', `${CHATS}/${created.id}/archive`, ada)).archived).toBe(false)
    expect((await call<OpenChat>(app, 'POST', `${CHATS}/${created.id}/pin`, ada)).pinned).toBe(false)

    const listed = await call<Summary[]>(app, 'GET', `${CHATS}/`, ada)
    expect(listed.find((chat) => chat.id === created.id)).toEqual({
      id: created.id, title: 'Lisbon, May', updated_at: renamed.updated_at, created_at: created.created_at, pinned: false, archived: false,
    })

    expect(await call<boolean>(app, 'DELETE', `${CHATS}/${created.id}`, ada)).toBe(true)
    expect(await statusOf(app, 'GET', `${CHATS}/${created.id}`, ada)).toBe(404)
  })

  test('a missing title becomes "New Chat"; unknown fields are ignored', async () => {
    const chat = await createChat(app, ada, {
      models: ['llama3'], history: { messages: {} }, tags: [],
      messages: [{ id: 'client-uuid', role: 'user', content: 'hi', timestamp: 5, childrenIds: [], extra: { deep: true } }],
    })
    expect(chat.title).toBe('New Chat')
    expect(chat.chat.messages.map((message) => message.content)).toEqual(['hi'])
    expect((await createChat(app, ada, {})).chat.messages).toEqual([])
  })

  test('updating with the same conversation again appends nothing', async () => {
    const chat = await createChat(app, ada, { title: 'twice', messages: [{ role: 'user', content: 'once' }] })
    const again = await call<OpenChat>(app, 'POST', `${CHATS}/${chat.id}`, ada, { chat: { messages: [{ role: 'user', content: 'once' }] } })
    expect(again.chat.messages).toEqual(chat.chat.messages)
    expect(again.title).toBe('twice')
  })
})

describe("another user's chat, or no chat at all, is 404 chat_not_found everywhere", async () => {
  const { app, ada, bob } = await startWithAccounts()
  const secret = await createChat(app, ada, { title: 'Ada only', messages: [{ role: 'user', content: 'mine' }] })

  const routes: [string, string, unknown][] = [
    ['GET', '', undefined],
    ['POST', '', { chat: { title: 'pwned', messages: [{ role: 'user', content: 'mine' }, { role: 'user', content: 'pwned' }] } }],
    ['POST', '/rename', { title: 'pwned' }],
    ['POST', '/pin', undefined],
    ['POST', '/archive', undefined],
    ['DELETE', '', undefined],
  ]
  const ids: [string, string, Record<string, string>][] = [
    ["Ada's chat as Bob", secret.id, bob],
    ['an unknown id', crypto.randomUUID(), ada],
    ['a malformed id', 'not-a-chat-id', ada],
    ['an upper-cased id', secret.id.toUpperCase(), ada],
    ['a huge id', 'x'.repeat(5000), ada],
  ]
  const cases = routes.flatMap(([method, suffix, body]) => ids.map(([who, id, headers]) => [`${method} /:id${suffix}, ${who}`, method, `${CHATS}/${id}${suffix}`, headers, body] as const))

  test.each(cases)('%s', async (_, method, path, headers, body) => {
    const res = await app.handle(req(method, path, body, headers))
    expect(res.status).toBe(404)
    expect(((await res.json()) as { code: string }).code).toBe('chat_not_found')
  })

  test("Ada's chat is untouched and Bob's lists stay empty", async () => {
    expect(await call<OpenChat>(app, 'GET', `${CHATS}/${secret.id}`, ada)).toEqual(secret)
    for (const list of ['/', '/pinned', '/archived', '/search?text=ada']) expect(await call<Summary[]>(app, 'GET', `${CHATS}${list}`, bob)).toEqual([])
  })
})

describe('lists in pages', async () => {
  const { app, ada, bob, advance } = await startWithAccounts()
  const created: string[] = []
  for (let i = 0; i < 130; i++) {
    advance(1000)
    created.push((await createChat(app, ada, { title: `chat ${i}` })).id)
  }
  const newestFirst = created.toReversed()
  await createChat(app, bob, { title: "Bob's" })

  test.each([
    ['page 1', '?page=1', newestFirst.slice(0, 60)],
    ['no page: every chat, as Open WebUI', '', newestFirst],
    ['/list is the same list', 'list', newestFirst],
    ['/list, page 2', 'list?page=2', newestFirst.slice(60, 120)],
    ['page 2', '?page=2', newestFirst.slice(60, 120)],
    ['page 3 is the rest', '?page=3', newestFirst.slice(120)],
    ['past the end', '?page=4', []],
    ['limit 100', '?limit=100', newestFirst.slice(0, 100)],
    ['limit 7, page 3', '?limit=7&page=3', newestFirst.slice(14, 21)],
  ])('%s', async (_, query, expected) => {
    expect(idsOf(await call<Summary[]>(app, 'GET', `${CHATS}/${query}`, ada))).toEqual(expected)
  })

  test.each([['?page=0'], ['?page=-1'], ['?page=abc'], ['?limit=101'], ['?limit=0']])('%s → 422', async (query) => {
    expect(await statusOf(app, 'GET', `${CHATS}/${query}`, ada)).toBe(422)
  })

  test('timestamps are whole seconds', async () => {
    const [first] = await call<Summary[]>(app, 'GET', `${CHATS}/`, ada)
    expect(Number.isInteger(first!.updated_at) && first!.updated_at < 10_000_000_000).toBe(true)
  })
})

describe('search', async () => {
  const { app, ada, bob, advance } = await startWithAccounts()
  const search = async (text: string, headers = ada, extra = '') =>
    idsOf(await call<Summary[]>(app, 'GET', `${CHATS}/search?text=${encodeURIComponent(text)}${extra}`, headers))
  const volcano = await createChat(app, ada, { title: 'Volcano trip', messages: [{ role: 'user', content: 'pack boots' }] })
  advance(1000)
  const recipe = await createChat(app, ada, { title: 'Dinner', messages: [{ role: 'user', content: 'A recipe for Crème Brûlée, please' }] })
  advance(1000)
  const bobs = await createChat(app, bob, { title: 'Volcano facts', messages: [{ role: 'user', content: 'crème brûlée too' }] })

  test.each([
    ['a title word', 'volcano', () => [volcano.id]],
    ['a title, any case', 'VOLCANO TRIP', () => [volcano.id]],
    ['message text', 'pack boots', () => [volcano.id]],
    ['message text, any case, accents', 'CRÈME BRÛLÉE', () => [recipe.id]],
    ['nothing', 'submarine', () => []],
    ['across title and message: no', 'trip pack', () => []],
  ])('finds %s', async (_, text, expected) => {
    expect(await search(text)).toEqual(expected())
  })

  test("never another user's chats", async () => {
    expect(await search('volcano', bob)).toEqual([bobs.id])
    expect(await search('pack boots', bob)).toEqual([])
  })

  test('an empty text lists every live chat, newest first, in pages', async () => {
    expect(await search('')).toEqual([recipe.id, volcano.id])
    expect(await search('', ada, '&limit=1&page=2')).toEqual([volcano.id])
  })

  test('follows writes: new messages, renames, archiving and deletion', async () => {
    const chat = await createChat(app, ada, { title: 'Later', messages: [{ role: 'user', content: 'first' }] })
    expect(await search('zanzibar')).toEqual([])
    await call(app, 'POST', `${CHATS}/${chat.id}`, ada, { chat: { messages: [{ role: 'user', content: 'first' }, { role: 'assistant', content: 'Zanzibar!' }] } })
    expect(await search('zanzibar')).toEqual([chat.id])
    await call(app, 'POST', `${CHATS}/${chat.id}/rename`, ada, { title: 'Islands' })
    expect(await search('islands')).toEqual([chat.id])
    expect(await search('later')).toEqual([])
    expect(await search('zanzibar')).toEqual([chat.id])
    await call(app, 'POST', `${CHATS}/${chat.id}/archive`, ada)
    expect(await search('zanzibar')).toEqual([])
    await call(app, 'POST', `${CHATS}/${chat.id}/archive`, ada)
    expect(await search('zanzibar')).toEqual([chat.id])
    await call(app, 'DELETE', `${CHATS}/${chat.id}`, ada)
    expect(await search('zanzibar')).toEqual([])
  })

  test('a NUL in the text matches nothing it should not', async () => {
    expect(await search('trip\u0000pack')).toEqual([])
  })
})

describe('delete all', async () => {
  const { app, ada, bob } = await startWithAccounts()
  await createChat(app, ada, { title: 'one' })
  await createChat(app, ada, { title: 'two', messages: [{ role: 'user', content: 'x' }] })
  const bobs = await createChat(app, bob, { title: 'stays' })

  test("DELETE /api/v1/chats/ removes all of mine and none of Bob's", async () => {
    expect(await call<Summary[]>(app, 'GET', `${CHATS}/search?text=two`, ada)).toHaveLength(1)
    expect(await call<boolean>(app, 'DELETE', `${CHATS}/`, ada)).toBe(true)
    expect(await call<Summary[]>(app, 'GET', `${CHATS}/`, ada)).toEqual([])
    expect(await call<Summary[]>(app, 'GET', `${CHATS}/search?text=two`, ada)).toEqual([])
    expect(idsOf(await call<Summary[]>(app, 'GET', `${CHATS}/`, bob))).toEqual([bobs.id])
  })
})

describe('no plaintext at rest or in the log', async () => {
  const { app, ada, deps, logLines } = await startWithAccounts()
  const MARKERS = { title: 'MARKER-TITLE-7f3a', first: 'MARKER-FIRST-91bd', appended: 'MARKER-APPENDED-c20e', renamed: 'MARKER-RENAMED-55aa' }

  test('titles and messages written through the routes are sealed', async () => {
    const chat = await createChat(app, ada, { title: MARKERS.title, messages: [{ role: 'user', content: MARKERS.first }] })
    await call(app, 'POST', `${CHATS}/${chat.id}`, ada, { chat: { messages: [{ role: 'user', content: MARKERS.first }, { role: 'assistant', content: MARKERS.appended }] } })
    await call(app, 'POST', `${CHATS}/${chat.id}/rename`, ada, { title: MARKERS.renamed })
    expect(await call<Summary[]>(app, 'GET', `${CHATS}/search?text=${MARKERS.appended}`, ada)).toHaveLength(1)
    const bytes = Buffer.from(deps.store.db!.serialize())
    for (const marker of Object.values(MARKERS)) {
      expect(bytes.includes(marker)).toBe(false)
      expect(logLines.join('\n')).not.toContain(marker)
    }
  })
})

describe('who may call the chat routes', async () => {
  const { app, ada, pat } = await startWithAccounts()
  const chat = await createChat(app, ada, { title: 'x' })
  const routes: [string, string][] = [
    ['GET', '/'], ['GET', '/archived'], ['GET', '/pinned'], ['GET', '/search?text=x'], ['POST', '/new'], ['DELETE', '/'],
    ['GET', `/${chat.id}`], ['POST', `/${chat.id}`], ['POST', `/${chat.id}/rename`], ['POST', `/${chat.id}/pin`],
    ['POST', `/${chat.id}/archive`], ['DELETE', `/${chat.id}`],
  ]
  test.each(routes)('%s %s: pending → 403 account_pending, no credential → 401', async (method, path) => {
    const body = method === 'POST' ? { chat: { title: 'y' }, title: 'y' } : undefined
    const pending = await app.handle(req(method, `${CHATS}${path}`, body, pat))
    expect(pending.status).toBe(403)
    expect(((await pending.json()) as { code: string }).code).toBe('account_pending')
    expect(await statusOf(app, method, `${CHATS}${path}`, {}, body)).toBe(401)
  })

  test('the chat is still there', async () => {
    expect((await call<OpenChat>(app, 'GET', `${CHATS}/${chat.id}`, ada)).title).toBe('x')
  })
})

describe('bad input', async () => {
  const { app, ada } = await startWithAccounts()
  const chat = await createChat(app, ada, { title: 'target' })
  const huge = 'x'.repeat(1024 * 1024)

  test.each<[string, string, unknown, number[]]>([
    ['malformed JSON', '/new', '{"chat": {', [400]],
    ['no chat', '/new', { title: 'flat' }, [422]],
    ['chat is a string', '/new', { chat: 'hello' }, [422]],
    ['chat is a number, on update', `/${chat.id}`, { chat: 5 }, [422]],
    ['chat is a list', '/new', { chat: [] }, [422]],
    ['messages not a list', '/new', { chat: { messages: 'hi' } }, [422]],
    ['a message without content', '/new', { chat: { messages: [{ role: 'user' }] } }, [422]],
    ['role tool', '/new', { chat: { messages: [{ role: 'tool', content: 'x' }] } }, [422]],
    ['title a number', '/new', { chat: { title: 42 } }, [422]],
    ['1 MB title', '/new', { chat: { title: huge } }, [413, 422]],
    ['1,001-char title', '/new', { chat: { title: 'x'.repeat(1001) } }, [422]],
    ['1 MB message', '/new', { chat: { messages: [{ role: 'user', content: huge + 'x' }] } }, [413, 422]],
    ['1 MB title on update', `/${chat.id}`, { chat: { title: huge } }, [413, 422]],
    ['1 MB title on rename', `/${chat.id}/rename`, { title: huge }, [413, 422]],
    ['rename without title', `/${chat.id}/rename`, {}, [422]],
  ])('%s', async (_, path, body, statuses) => {
    const headers = typeof body === 'string' ? { ...ada, 'content-type': 'application/json' } : ada
    const res = await app.handle(req('POST', `${CHATS}${path}`, body, headers))
    expect(statuses).toContain(res.status)
    expect(await res.text()).not.toContain('xxxxxxxxxx')
  })

  test('a 1,000-char unicode title is fine, and nothing above changed the chat', async () => {
    const title = '🛡'.repeat(500)
    expect((await createChat(app, ada, { title })).title).toBe(title)
    const after = await call<OpenChat>(app, 'GET', `${CHATS}/${chat.id}`, ada)
    expect(after.title).toBe('target')
    expect(after.chat.messages).toEqual([])
  })
})
