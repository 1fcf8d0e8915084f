/**
 * Who may use which model, against the compiled binary: roles × group membership × model grants ×
 * every dispatch path × every credential (cookie, Bearer session token, x-api-key, Bearer API key,
 * an API key limited to one model). A user gets exactly what they are granted on every path, a
 * refusal looks like an unknown model and never reaches Ollama (Open WebUI's CVE-2026-44563: its
 * proxy routes skipped the check and `show` leaked system prompts), and a group or grant change is
 * in effect on the next request and the next socket frame, while an answer already running ends.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { startFakeOllama, type FakeOllama } from '../fakes/ollama.ts'
import { bearer, signUp, type SessionBody } from '../helpers/accounts.ts'
import { binaryAppStarter, type BinaryApp } from '../helpers/binary-app.ts'
import { req } from '../helpers/test-app.ts'
import { connect, type TestSocket } from '../helpers/ws.ts'

const LLAMA = 'llama3.2:1b'
const QWEN = 'qwen2.5:0.5b'
const MODELS = [LLAMA, QWEN] as const

const startApp = binaryAppStarter()
let ollama: FakeOllama
let started: BinaryApp
let admin: SessionBody
let ada: SessionBody // in the team, which is granted llama
let bob: SessionBody // in no group
let carol: SessionBody // made pending after her keys were made
let teamId: string
type Credential = 'cookie' | 'bearer' | 'x-api-key' | 'bearer-api-key' | 'limited-api-key'
const CREDENTIALS: Credential[] = ['cookie', 'bearer', 'x-api-key', 'bearer-api-key', 'limited-api-key']
const keys = new Map<string, { full: string; limited: string }>()

const call = async (method: string, path: string, headers: Record<string, string>, body?: unknown) => {
  const res = await started.app.handle(req(method, path, body, headers))
  const text = await res.text()
  if (res.status >= 500) throw new Error(`${method} ${path} answered ${res.status}: ${text}`)
  return { status: res.status, text, json: () => JSON.parse(text) as unknown }
}
const asAdmin = (method: string, path: string, body?: unknown) => call(method, path, bearer(admin.token), body)

function headersFor(who: SessionBody, credential: Credential): Record<string, string> {
  switch (credential) {
    case 'cookie': return { cookie: `token=${who.token}` }
    case 'bearer': return bearer(who.token)
    case 'x-api-key': return { 'x-api-key': keys.get(who.id)!.full }
    case 'bearer-api-key': return bearer(keys.get(who.id)!.full)
    case 'limited-api-key': return bearer(keys.get(who.id)!.limited)
  }
}

async function makeKey(who: SessionBody, allowedModels?: string[]): Promise<string> {
  const res = await call('POST', '/api/v1/auths/api_key', bearer(who.token), { name: 'matrix', ...(allowedModels ? { allowed_models: allowedModels } : {}) })
  expect(res.status).toBe(200)
  return (res.json() as { api_key: string }).api_key
}

beforeAll(async () => {
  ollama = await startFakeOllama()
  started = await startApp({
    OLLAMA_BASE_URL: ollama.url, BYPASS_MODEL_ACCESS_CONTROL: 'false', ENABLE_API_KEYS: 'true', USER_PERMISSIONS_FEATURES_API_KEYS: 'true',
    DEFAULT_USER_ROLE: 'user', ENABLE_TITLE_GENERATION: 'false',
  })
  admin = await signUp(started.app, 'admin@example.com')
  ada = await signUp(started.app, 'ada@example.com')
  bob = await signUp(started.app, 'bob@example.com')
  carol = await signUp(started.app, 'carol@example.com')
  for (const who of [admin, ada, bob, carol]) keys.set(who.id, { full: await makeKey(who), limited: await makeKey(who, [LLAMA]) })
  expect((await asAdmin('POST', `/api/v1/users/${carol.id}/update`, { role: 'pending' })).status).toBe(200)
  const team = await asAdmin('POST', '/api/v1/groups/create', { name: 'Team', description: '' })
  teamId = (team.json() as { id: string }).id
  await asAdmin('POST', `/api/v1/groups/id/${teamId}/users/add`, { user_ids: [ada.id] })
  // note: Open WebUI's admin page saves a model's access this way (updateModelAccessGrants).
  const granted = await asAdmin('POST', '/api/v1/models/model/access/update', { id: LLAMA, name: LLAMA, access_grants: [{ principal_type: 'group', principal_id: teamId, permission: 'read' }] })
  expect(granted.status).toBe(200)
})
afterAll(() => ollama?.stop())

/** Every path that sends a model a request, with a body naming `model`. */
const DISPATCH: [string, string, (model: string) => unknown][] = [
  ['POST', '/api/chat/completions', (model) => ({ model, messages: [{ role: 'user', content: 'hi there' }], stream: false })],
  ['POST', '/api/v1/chat/completions', (model) => ({ model, messages: [{ role: 'user', content: 'hi there' }], stream: true })],
  ['POST', '/api/embeddings', (model) => ({ model, input: 'hello' })],
  ['POST', '/api/v1/embeddings', (model) => ({ model, input: ['hello'] })],
  ['POST', '/api/v1/tasks/title/completions', (model) => ({ model, messages: [{ role: 'user', content: 'a title please' }] })],
  ['POST', '/ollama/api/chat', (model) => ({ model, messages: [{ role: 'user', content: 'hi there' }], stream: false })],
  ['POST', '/ollama/api/generate', (model) => ({ model, prompt: 'hi there', stream: false })],
  ['POST', '/ollama/api/embed', (model) => ({ model, input: 'hello' })],
  ['POST', '/ollama/api/embeddings', (model) => ({ model, prompt: 'hello' })],
  ['POST', '/ollama/api/show', (model) => ({ model })],
  ['POST', '/ollama/api/show', (model) => ({ name: model })],
  ['POST', '/ollama/v1/chat/completions', (model) => ({ model, messages: [{ role: 'user', content: 'hi there' }] })],
  ['POST', '/ollama/v1/completions', (model) => ({ model, prompt: 'hi there' })],
  ['POST', '/ollama/v1/embeddings', (model) => ({ model, input: 'hello' })],
]

const USERS = () => [['admin', admin], ['ada (team)', ada], ['bob (no group)', bob]] as const
/** What the grants say: admins pass (BYPASS_ADMIN_ACCESS_CONTROL), the team has llama, qwen has no grant (admins only). */
const mayUse = (who: SessionBody, credential: Credential, model: string) =>
  (who === admin || (who === ada && model === LLAMA)) && (credential !== 'limited-api-key' || model === LLAMA)

describe('every dispatch path, every credential', () => {
  test('a user reaches exactly the models they are granted; a refusal is 404 and never reaches Ollama', async () => {
    const outcomes: string[] = []
    const expected: string[] = []
    for (const [label, who] of USERS()) {
      for (const credential of CREDENTIALS) {
        for (const model of MODELS) {
          for (const [method, path, body] of DISPATCH) {
            const before = ollama.requests.length
            const res = await call(method, path, headersFor(who, credential), body(model))
            const allowed = mayUse(who, credential, model)
            outcomes.push(`${label} ${credential} ${model} ${path}: ${res.status}`)
            expected.push(`${label} ${credential} ${model} ${path}: ${allowed ? 200 : 404}`)
            if (!allowed) {
              expect(ollama.requests.length).toBe(before)
              expect(res.text).not.toContain('system')
            }
          }
        }
      }
    }
    expect(outcomes).toEqual(expected)
  }, 120_000)

  test('a pending account gets 403 on every path with every credential, and Ollama hears nothing', async () => {
    const before = ollama.requests.length
    for (const credential of CREDENTIALS) {
      for (const [method, path, body] of DISPATCH) {
        expect([credential, path, (await call(method, path, headersFor(carol, credential), body(LLAMA))).status]).toEqual([credential, path, 403])
      }
      for (const path of ['/api/models', '/ollama/api/tags', '/ollama/api/tags/0', '/ollama/v1/models', '/ollama/api/ps']) expect((await call('GET', path, headersFor(carol, credential))).status).toBe(403)
    }
    expect(ollama.requests.length).toBe(before)
  })

  test('the listings hold exactly the models each may use', async () => {
    // note: both models are loaded by now (the admin's calls above), so /api/ps lists both for the admin.
    for (const [label, who] of USERS()) {
      for (const credential of CREDENTIALS) {
        const want = MODELS.filter((model) => mayUse(who, credential, model)).sort()
        const headers = headersFor(who, credential)
        const models = (await call('GET', '/api/models', headers)).json() as { data: { id: string }[] }
        const v1 = (await call('GET', '/api/v1/models', headers)).json() as { data: { id: string }[] }
        const tags = (await call('GET', '/ollama/api/tags', headers)).json() as { models: { name: string }[] }
        const tagsAt = (await call('GET', '/ollama/api/tags/0', headers)).json() as { models: { name: string }[] }
        const ollamaV1 = (await call('GET', '/ollama/v1/models', headers)).json() as { data: { id: string }[] }
        const ps = (await call('GET', '/ollama/api/ps', headers)).json() as { models: { name: string }[] }
        expect([label, credential, models.data.map((entry) => entry.id).sort()]).toEqual([label, credential, want])
        expect(v1.data.map((entry) => entry.id).sort()).toEqual(want)
        expect(tags.models.map((entry) => entry.name).sort()).toEqual(want)
        expect([label, credential, '/ollama/api/tags/0', tagsAt.models.map((entry) => entry.name).sort()]).toEqual([label, credential, '/ollama/api/tags/0', want])
        expect(ollamaV1.data.map((entry) => entry.id).sort()).toEqual(want)
        expect(ps.models.map((entry) => entry.name).sort()).toEqual(want)
      }
    }
  })

  test('the socket\'s chat:send and chat:regenerate follow the same decision, for every credential', async () => {
    const wsUrl = `${started.server().url.replace('http', 'ws')}/api/ws`
    const origin = started.server().url
    for (const [label, who] of USERS()) {
      for (const credential of CREDENTIALS) {
        const socket = credential === 'cookie'
          ? await connect(wsUrl, { cookie: who.token, origin })
          : await connect(wsUrl, { token: credential === 'bearer' ? who.token : credential === 'limited-api-key' ? keys.get(who.id)!.limited : keys.get(who.id)!.full })
        try {
          for (const model of MODELS) {
            const before = ollama.requests.length
            socket.send({ type: 'chat:send', model, content: 'hello socket' })
            const answer = await socket.nextFrame((frame) => frame.type === 'chat:started' || frame.type === 'error')
            expect([label, credential, model, answer.type]).toEqual([label, credential, model, mayUse(who, credential, model) ? 'chat:started' : 'error'])
            if (answer.type === 'error') {
              expect(answer.code).toBe('model_not_found')
              expect(ollama.requests.length).toBe(before)
              continue
            }
            await socket.nextFrame((frame) => frame.type === 'chat:done', 5_000)
            // note: regenerating the same turn with the other model is asked the same question.
            const other = model === LLAMA ? QWEN : LLAMA
            socket.send({ type: 'chat:regenerate', chatId: answer.chatId, parentId: answer.parentId, model: other })
            const again = await socket.nextFrame((frame) => frame.type === 'chat:started' || frame.type === 'error')
            expect([label, credential, other, again.type]).toEqual([label, credential, other, mayUse(who, credential, other) ? 'chat:started' : 'error'])
            if (again.type === 'chat:started') await socket.nextFrame((frame) => frame.type === 'chat:done', 5_000)
          }
        } finally {
          socket.ws.close()
        }
      }
    }
  }, 60_000)
})

describe('changes take effect on the next request and the next frame', () => {
  let socket: TestSocket
  beforeAll(async () => {
    socket = await connect(`${started.server().url.replace('http', 'ws')}/api/ws`, { token: ada.token })
  })
  afterAll(() => socket.ws.close())

  const completion = (who: SessionBody) => call('POST', '/api/chat/completions', bearer(who.token), { model: LLAMA, messages: [{ role: 'user', content: 'hi' }] })
  const sendOnSocket = async () => {
    socket.send({ type: 'chat:send', model: LLAMA, content: 'are you there' })
    const frame = await socket.nextFrame((one) => one.type === 'chat:started' || one.type === 'error')
    if (frame.type === 'chat:started') await socket.nextFrame((one) => one.type === 'chat:done', 5_000)
    return frame.type
  }

  test('removing a member, then adding them back; adding another user', async () => {
    expect((await completion(ada)).status).toBe(200)
    expect(await sendOnSocket()).toBe('chat:started')
    await asAdmin('POST', `/api/v1/groups/id/${teamId}/users/remove`, { user_ids: [ada.id] })
    expect((await completion(ada)).status).toBe(404)
    expect(await sendOnSocket()).toBe('error')
    expect(((await call('GET', '/api/models', bearer(ada.token))).json() as { data: unknown[] }).data).toEqual([])
    await asAdmin('POST', `/api/v1/groups/id/${teamId}/users/add`, { user_ids: [ada.id, bob.id] })
    expect((await completion(ada)).status).toBe(200)
    expect((await completion(bob)).status).toBe(200)
    expect(await sendOnSocket()).toBe('chat:started')
    await asAdmin('POST', `/api/v1/groups/id/${teamId}/users/remove`, { user_ids: [bob.id] })
    expect((await completion(bob)).status).toBe(404)
  })

  test('a grant changed by the admin, and a group deleted', async () => {
    await asAdmin('POST', '/api/v1/models/model/access/update', { id: LLAMA, access_grants: [] })
    expect((await completion(ada)).status).toBe(404)
    expect(await sendOnSocket()).toBe('error')
    await asAdmin('POST', '/api/v1/models/model/access/update', { id: LLAMA, access_control: { read: { group_ids: [teamId], user_ids: [] } } })
    expect((await completion(ada)).status).toBe(200)
    expect(await sendOnSocket()).toBe('chat:started')
    await asAdmin('POST', '/api/v1/models/model/access/update', { id: LLAMA, access_grants: [{ principal_type: 'user', principal_id: '*', permission: 'read' }] })
    expect((await completion(bob)).status).toBe(200)
    await asAdmin('POST', '/api/v1/models/model/access/update', { id: LLAMA, access_grants: [{ principal_type: 'group', principal_id: teamId, permission: 'read' }] })
    expect((await completion(bob)).status).toBe(404)
  })

  test('an answer already running when the model is taken away ends; the next send is refused', async () => {
    ollama.setBehaviour({ chunkDelayMs: 40, chunkCount: 12 })
    try {
      socket.send({ type: 'chat:send', model: LLAMA, content: 'a long answer' })
      const startedFrame = await socket.nextFrame((frame) => frame.type === 'chat:started' || frame.type === 'error')
      expect(startedFrame.type).toBe('chat:started')
      await socket.nextFrame((frame) => frame.type === 'chat:delta')
      await asAdmin('POST', `/api/v1/groups/id/${teamId}/users/remove`, { user_ids: [ada.id] })
      const done = await socket.nextFrame((frame) => (frame.type === 'chat:done' || frame.type === 'chat:error') && frame.messageId === startedFrame.messageId, 10_000)
      expect(done).toMatchObject({ type: 'chat:done', cancelled: false })
      socket.send({ type: 'chat:send', model: LLAMA, content: 'again' })
      expect((await socket.nextFrame((frame) => frame.type === 'chat:started' || frame.type === 'error')).code).toBe('model_not_found')
    } finally {
      ollama.setBehaviour({ chunkDelayMs: 0, chunkCount: null })
      await asAdmin('POST', `/api/v1/groups/id/${teamId}/users/add`, { user_ids: [ada.id] })
    }
  })
})

describe('admin routes for model access', () => {
  test('GET /api/v1/models/access lists each model\'s access; users, keys and anonymous callers are refused', async () => {
    const listing = (await asAdmin('GET', '/api/v1/models/access')).json() as { models: { id: string; access_control: unknown; listed: boolean }[]; upgrade: { pending: boolean } }
    expect(listing.upgrade.pending).toBe(false)
    expect(listing.models).toEqual(expect.arrayContaining([
      expect.objectContaining({ id: LLAMA, listed: true, access_control: { read: { group_ids: [teamId], user_ids: [] }, write: { group_ids: [], user_ids: [] } } }),
      expect.objectContaining({ id: QWEN, listed: true, access_control: {} }),
    ]))
    // note: an admin's API key is an admin's credential here, as on every admin route; a user's is not.
    for (const headers of [bearer(ada.token), headersFor(ada, 'bearer-api-key'), {}]) {
      expect((await call('GET', '/api/v1/models/access', headers)).status).toBeGreaterThanOrEqual(401)
      expect((await call('POST', '/api/v1/models/model/access/update', headers, { id: QWEN, access_control: null })).status).toBeGreaterThanOrEqual(401)
    }
    expect((await call('POST', '/api/chat/completions', bearer(ada.token), { model: QWEN, messages: [{ role: 'user', content: 'hi' }] })).status).toBe(404)
  })

  test('malformed, oversized and hostile grants are refused, changing nothing', async () => {
    const before = (await asAdmin('GET', '/api/v1/models/access')).text
    for (const body of [
      {}, { id: LLAMA }, { id: '', access_control: null }, { id: '../../etc', access_control: null }, { id: 'x'.repeat(201), access_control: null },
      { id: LLAMA, access_grants: [{ principal_type: 'role', principal_id: 'admin', permission: 'read' }] },
      { id: LLAMA, access_grants: [{ principal_type: 'user', principal_id: bob.id, permission: 'own' }] },
      { id: LLAMA, access_grants: 'public' },
      { id: LLAMA, access_control: { read: { group_ids: 'all' } } },
      { id: LLAMA, access_control: { read: { user_ids: Array.from({ length: 1001 }, (_, i) => `u${i}`) } } },
    ]) {
      const res = await asAdmin('POST', '/api/v1/models/model/access/update', body)
      expect([JSON.stringify(body).slice(0, 80), res.status]).toEqual([JSON.stringify(body).slice(0, 80), 422])
    }
    const crossSite = await call('POST', '/api/v1/models/model/access/update', { cookie: `token=${admin.token}`, origin: 'http://evil.example', 'sec-fetch-site': 'cross-site' }, { id: LLAMA, access_control: null })
    expect(crossSite.status).toBe(403)
    expect((await asAdmin('GET', '/api/v1/models/access')).text).toBe(before)
  })
})

describe('ownership: another user\'s ids', () => {
  test('chats, API keys, sessions, groups: 404 or 403 for a second user and a user of another group, the object unchanged', async () => {
    const chat = (await call('POST', '/api/v1/chats/new', bearer(ada.token), { chat: { title: 'Ada private', messages: [] } })).json() as { id: string }
    const adaKeys = ((await call('GET', '/api/v1/auths/api_key', bearer(ada.token))).json() as { keys: { id: string }[] }).keys
    const adaSessions = (await call('GET', '/api/v1/auths/sessions', bearer(ada.token))).json() as { id: string }[]
    const other = await asAdmin('POST', '/api/v1/groups/create', { name: 'Other team' })
    const otherId = (other.json() as { id: string }).id
    await asAdmin('POST', `/api/v1/groups/id/${otherId}/users/add`, { user_ids: [bob.id] })
    for (const who of [bob]) {
      for (const [method, path, body] of [
        ['GET', `/api/v1/chats/${chat.id}`, undefined], ['POST', `/api/v1/chats/${chat.id}`, { chat: { title: 'mine now' } }],
        ['DELETE', `/api/v1/chats/${chat.id}`, undefined], ['POST', `/api/v1/chats/${chat.id}/share`, undefined],
        ['DELETE', `/api/v1/auths/api_key/${adaKeys[0]!.id}`, undefined], ['DELETE', `/api/v1/auths/sessions/${adaSessions[0]!.id}`, undefined],
        ['POST', `/api/v1/groups/id/${teamId}/users/add`, { user_ids: [bob.id] }], ['GET', `/api/v1/chats/list/user/${ada.id}`, undefined],
      ] as const) {
        const { status } = await call(method, path, bearer(who.token), body)
        expect([method, path, status === 403 || status === 404]).toEqual([method, path, true])
      }
    }
    expect(((await call('GET', `/api/v1/chats/${chat.id}`, bearer(ada.token))).json() as { title: string }).title).toBe('Ada private')
    expect((await call('GET', '/api/models', { 'x-api-key': keys.get(ada.id)!.full })).status).toBe(200)
    expect((await call('GET', '/api/v1/auths/', bearer(ada.token))).status).toBe(200)
    expect(((await asAdmin('GET', `/api/v1/groups/id/${teamId}`)).json() as { user_ids: string[] }).user_ids).not.toContain(bob.id)
  })

  test('ENABLE_ADMIN_CHAT_ACCESS is off by default: an admin gets 404 and 403 for another user\'s chats', async () => {
    const chat = (await call('POST', '/api/v1/chats/new', bearer(ada.token), { chat: { title: 'Not for admins', messages: [] } })).json() as { id: string }
    expect((await asAdmin('GET', `/api/v1/chats/${chat.id}`)).status).toBe(404)
    expect((await asAdmin('GET', `/api/v1/chats/list/user/${ada.id}`)).status).toBe(403)
  })
})

describe('ENABLE_ADMIN_CHAT_ACCESS=true', () => {
  test('an admin opens another user\'s chat and their list; each read is audited with the chat id and the admin', async () => {
    const app = await startApp({ OLLAMA_BASE_URL: ollama.url, ENABLE_ADMIN_CHAT_ACCESS: 'true', DEFAULT_USER_ROLE: 'user' })
    const send = (method: string, path: string, token: string, body?: unknown) => app.app.handle(req(method, path, body, bearer(token)))
    const boss = await signUp(app.app, 'boss@example.com')
    const dee = await signUp(app.app, 'dee@example.com')
    const eve = await signUp(app.app, 'eve@example.com')
    const chat = (await (await send('POST', '/api/v1/chats/new', dee.token, { chat: { title: 'Dee notes', messages: [] } })).json()) as { id: string }
    const opened = await send('GET', `/api/v1/chats/${chat.id}`, boss.token)
    expect(opened.status).toBe(200)
    expect(await opened.json()).toMatchObject({ id: chat.id, title: 'Dee notes', user_id: dee.id })
    const listed = await send('GET', `/api/v1/chats/list/user/${dee.id}`, boss.token)
    expect(await listed.json()).toEqual([expect.objectContaining({ id: chat.id, title: 'Dee notes' })])
    // note: a user is not an admin: still 404 and 403.
    expect((await send('GET', `/api/v1/chats/${chat.id}`, eve.token)).status).toBe(404)
    expect((await send('GET', `/api/v1/chats/list/user/${dee.id}`, eve.token)).status).toBe(403)
    // note: reads only: the admin can not write to it.
    expect((await send('POST', `/api/v1/chats/${chat.id}`, boss.token, { chat: { title: 'changed' } })).status).toBe(404)
    const audit = readFileSync(join(app.cwd, 'data', 'audit.log'), 'utf8').split('\n').filter(Boolean).map((line) => JSON.parse(line) as Record<string, unknown>)
    const reads = audit.filter((entry) => entry.event === 'admin_chat_read')
    expect(reads).toEqual([
      expect.objectContaining({ actor_id: boss.id, target_id: dee.id, details: { chat_id: chat.id } }),
      expect.objectContaining({ actor_id: boss.id, target_id: dee.id, details: { chats_listed: 1 } }),
    ])
    expect(readFileSync(join(app.cwd, 'data', 'audit.log'), 'utf8')).not.toContain('Dee notes')
  })
})
