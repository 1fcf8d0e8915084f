import { describe, expect, test } from 'bun:test'
import { bearer, signUp, PASSWORD } from '../helpers/accounts.ts'
import { req, startTestApp } from '../helpers/test-app.ts'
import type { UserId } from '../../src/db/ids.ts'

async function twoUsers(env: Record<string, string> = {}) {
  const started = startTestApp(env)
  const admin = await signUp(started.app, 'admin@example.com')
  const bob = await signUp(started.app, 'bob@example.com', PASSWORD, 'Bob')
  await started.deps.store.users.setUserRole(bob.id as UserId, 'user')
  const pending = await signUp(started.app, 'pat@example.com', PASSWORD, 'Pat')
  const call = async (path: string, token: string | null) => started.app.handle(req('GET', path, undefined, token === null ? {} : bearer(token)))
  const post = (token: string, title: string, contents: string[]) => started.app.handle(req('POST', '/api/v1/chats/new', { chat: { title, messages: contents.map((content) => ({ role: 'user', content })) } }, bearer(token)))
  await post(admin.token, 'admin chat', ['a1'])
  await post(bob.token, 'bob chat one', ['b1', 'b2'])
  await post(bob.token, 'bob chat two', ['b3'])
  return { ...started, admin, bob, pending, call }
}

describe('GET /api/v1/chats/all', () => {
  test('the user\'s own chats with their messages, in Open WebUI\'s shape; audited', async () => {
    const { call, bob, audit } = await twoUsers()
    const res = await call('/api/v1/chats/all', bob.token)
    expect(res.status).toBe(200)
    const chats = await res.json()
    expect(chats.map((chat: { title: string }) => chat.title).sort()).toEqual(['bob chat one', 'bob chat two'])
    const one = chats.find((chat: { title: string }) => chat.title === 'bob chat one')
    expect(one).toMatchObject({ user_id: bob.id, chat: { title: 'bob chat one' } })
    expect(one.chat.messages.map((message: { content: string }) => message.content)).toEqual(['b1', 'b2'])
    expect(Object.values(one.chat.history.messages)).toHaveLength(2)
    expect(JSON.stringify(chats)).not.toContain('admin chat')
    expect(audit.entries.at(-1)).toMatchObject({ event: 'chats_exported', actorId: bob.id, details: { count: 2 } })
  })

  test('401 without a credential, 403 for a pending account, [] with no chats', async () => {
    const { call, pending, app } = await twoUsers()
    expect((await call('/api/v1/chats/all', null)).status).toBe(401)
    expect((await call('/api/v1/chats/all', pending.token)).status).toBe(403)
    const fresh = startTestApp()
    const lone = await signUp(fresh.app, 'lone@example.com')
    expect(await (await fresh.app.handle(req('GET', '/api/v1/chats/all', undefined, bearer(lone.token)))).json()).toEqual([])
    void app
  })
})

/** Open WebUI's getAllChats (src/lib/apis/chats/index.ts): asks for NDJSON and parses it line by line as it arrives. */
async function getAllChats(app: { handle: (r: Request) => Promise<Response> }, token: string | null) {
  const res = await app.handle(req('GET', '/api/v1/chats/all', undefined, { Accept: 'application/x-ndjson', ...(token === null ? {} : bearer(token)) }))
  if (!res.ok) throw Object.assign(await res.json() as object, { status: res.status })
  const reader = res.body!.getReader()
  const decoder = new TextDecoder()
  const chats: any[] = []
  let buffer = ''
  for (;;) {
    const { done, value } = await reader.read()
    if (done) break
    buffer += decoder.decode(value, { stream: true })
    const lines = buffer.split('\n')
    buffer = lines.pop() ?? ''
    for (const line of lines) if (line.trim()) chats.push(JSON.parse(line.trim()))
  }
  if (buffer.trim()) chats.push(JSON.parse(buffer.trim()))
  return { chats, type: res.headers.get('content-type') }
}

describe('GET /api/v1/chats/all as NDJSON (Open WebUI\'s page exporting, Settings > Data Controls)', () => {
  test('one chat a line, each the object the JSON answer holds; audited', async () => {
    const { app, call, bob, audit } = await twoUsers()
    const { chats, type } = await getAllChats(app, bob.token)
    expect(type).toBe('application/x-ndjson')
    expect(chats.map((chat) => chat.title).sort()).toEqual(['bob chat one', 'bob chat two'])
    expect(chats.every((chat) => !Array.isArray(chat) && chat.user_id === bob.id && typeof chat.chat.history === 'object')).toBe(true)
    expect(audit.entries.at(-1)).toMatchObject({ event: 'chats_exported', actorId: bob.id, details: { count: 2 } })
    // the same chats as the JSON answer, which a caller not asking for NDJSON still gets
    expect(chats).toEqual(await (await call('/api/v1/chats/all', bob.token)).json())
  })

  test('no chats: no lines; 401 and 403 as JSON errors the page can read', async () => {
    const { app, pending } = await twoUsers()
    await expect(getAllChats(app, null)).rejects.toMatchObject({ status: 401 })
    await expect(getAllChats(app, pending.token)).rejects.toMatchObject({ status: 403 })
    const fresh = startTestApp()
    const lone = await signUp(fresh.app, 'lone@example.com')
    expect((await getAllChats(fresh.app, lone.token)).chats).toEqual([])
  })

  test('thirty-two chats, each sent once and whole', async () => {
    const { app, bob } = await twoUsers()
    for (let i = 0; i < 30; i++) await app.handle(req('POST', '/api/v1/chats/new', { chat: { title: `extra ${i}`, messages: [] } }, bearer(bob.token)))
    const { chats } = await getAllChats(app, bob.token)
    expect(new Set(chats.map((chat) => chat.id)).size).toBe(32)
  })
})

describe('GET /api/v1/chats/all as NDJSON, when things change or fail while it is read', () => {
  test('a chat that cannot be decrypted, reached after the 200 went out: the stream is cut short, an ERROR is logged without content, the audit says truncated', async () => {
    const { app, bob, audit, deps, logLines } = await twoUsers()
    const older = (await deps.store.chats.listChatsForUser(bob.id as UserId, { limit: -1, offset: 0 })).at(-1)!.id
    deps.store.db!.run('UPDATE chat SET title = ? WHERE id = ?', [crypto.getRandomValues(new Uint8Array(64)), older])
    const res = await app.handle(req('GET', '/api/v1/chats/all', undefined, { Accept: 'application/x-ndjson', ...bearer(bob.token) }))
    expect(res.status).toBe(200)
    await expect(res.text()).rejects.toBeDefined()
    const failed = logLines.filter((line) => line.includes('chat export failed midway'))
    expect(failed).toHaveLength(1)
    expect(failed[0]).toContain('ERROR')
    expect(failed[0]).toContain(older)
    expect(failed[0]).not.toContain('bob chat')
    expect(audit.entries.at(-1)).toMatchObject({ event: 'chats_exported', actorId: bob.id, details: { count: 1, truncated: true } })
  })

  test('over 500 chats, one answered while a slow client reads the first ones: every chat sent exactly once, the moved one too', async () => {
    let clock = 1_800_000_000_000
    const started = startTestApp({}, () => clock)
    const ada = await signUp(started.app, 'ada@example.com')
    const ids: string[] = []
    for (let i = 0; i < 505; i++) {
      clock += 1000
      const created = await started.app.handle(req('POST', '/api/v1/chats/new', { chat: { title: `chat ${i}`, messages: [] } }, bearer(ada.token)))
      ids.push(((await created.json()) as { id: string }).id)
    }
    const res = await started.app.handle(req('GET', '/api/v1/chats/all', undefined, { Accept: 'application/x-ndjson', ...bearer(ada.token) }))
    const reader = res.body!.getReader()
    const decoder = new TextDecoder()
    let text = ''
    while (text.split('\n').length < 11) {
      const { done, value } = await reader.read()
      if (done) break
      text += decoder.decode(value, { stream: true })
    }
    // the oldest chat is answered meanwhile: it moves to the front of the list by update time
    clock += 1000
    const moved = await started.app.handle(req('POST', `/api/v1/chats/${ids[0]}`, { chat: { title: 'chat 0, answered' } }, bearer(ada.token)))
    expect(moved.status).toBe(200)
    for (;;) {
      const { done, value } = await reader.read()
      if (done) break
      text += decoder.decode(value, { stream: true })
    }
    const sent = text.split('\n').filter((line) => line.trim() !== '').map((line) => JSON.parse(line).id as string)
    expect(sent).toHaveLength(505)
    expect(new Set(sent).size).toBe(505)
    expect(sent).toContain(ids[0]!)
    expect(started.audit.entries.at(-1)).toMatchObject({ event: 'chats_exported', details: { count: 505 } })
  })
})

describe('GET /api/v1/chats/all/db', () => {
  test('does not exist by default (ENABLE_ADMIN_EXPORT false), even for an admin', async () => {
    const { call, admin, audit } = await twoUsers()
    expect((await call('/api/v1/chats/all/db', admin.token)).status).toBe(404)
    expect(audit.entries.some((entry) => entry.event === 'admin_export')).toBe(false)
  })

  test('with ENABLE_ADMIN_EXPORT=true: every user\'s chats for an admin, audited; 403 for others', async () => {
    const { call, admin, bob, audit } = await twoUsers({ ENABLE_ADMIN_EXPORT: 'true' })
    expect((await call('/api/v1/chats/all/db', bob.token)).status).toBe(403)
    expect((await call('/api/v1/chats/all/db', null)).status).toBe(401)
    const res = await call('/api/v1/chats/all/db', admin.token)
    expect(res.status).toBe(200)
    const chats = await res.json()
    expect(chats.map((chat: { title: string }) => chat.title).sort()).toEqual(['admin chat', 'bob chat one', 'bob chat two'])
    expect(audit.entries.at(-1)).toMatchObject({ event: 'admin_export', actorId: admin.id, details: { count: 3 } })
  })

  test('ENABLE_ADMIN_EXPORT must be a boolean', () => {
    expect(() => startTestApp({ ENABLE_ADMIN_EXPORT: 'maybe' })).toThrow('ENABLE_ADMIN_EXPORT')
  })
})
