/**
 * Workspace models in process: Open WebUI's request shapes, who may create, read and change a
 * preset (owner, group grants, public, another user), the listing, and the resolution point
 * refusing a preset whose base model the user may not use (through the listing and every chat path).
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import type { UserId } from '../../src/db/ids.ts'
import { startFakeOllama, type FakeOllama } from '../fakes/ollama.ts'
import { bearer, signUp, statusOf } from '../helpers/accounts.ts'
import { req, startTestApp } from '../helpers/test-app.ts'

let ollama: FakeOllama
beforeAll(async () => { ollama = await startFakeOllama() })
afterAll(() => ollama.stop())

const preset = (id: string, extra: Record<string, unknown> = {}) => ({
  id, base_model_id: 'qwen2.5:0.5b', name: `Preset ${id}`,
  meta: { description: 'A helpful preset', profile_image_url: '/static/favicon.png', suggestion_prompts: [{ content: 'Hello there' }], tags: [{ name: 'work' }], capabilities: { vision: false } },
  params: { system: 'You are terse.', temperature: 0.2, num_ctx: 4096 },
  access_control: {}, is_active: true, ...extra,
})

async function startApp(options: { restricted?: Set<string> } = {}) {
  // note: with restricted models, grants decide (BYPASS_MODEL_ACCESS_CONTROL=false) and the admin saves each listed one admins-only.
  const env = { OLLAMA_BASE_URL: ollama.url, USER_PERMISSIONS_WORKSPACE_MODELS_ACCESS: 'false', ...(options.restricted ? { BYPASS_MODEL_ACCESS_CONTROL: 'false' } : {}) }
  const { app, deps } = startTestApp(env)
  const admin = await signUp(app, 'admin@example.com')
  for (const model of options.restricted ?? []) {
    expect(await statusOf(app, 'POST', '/api/v1/models/model/access/update', bearer(admin.token), { id: model, access_control: {} })).toBe(200)
  }
  const users = []
  for (const name of ['bob', 'carol', 'dave']) {
    const user = await signUp(app, `${name}@example.com`)
    expect(await statusOf(app, 'POST', `/api/v1/users/${user.id}/update`, bearer(admin.token), { role: 'user' })).toBe(200)
    users.push(user)
  }
  const [bob, carol, dave] = users as [typeof admin, typeof admin, typeof admin]
  const send = async (token: string, method: string, path: string, body?: unknown) => {
    const res = await app.handle(req(method, path, body, bearer(token)))
    const text = await res.text()
    return { status: res.status, body: text === '' ? null : JSON.parse(text) }
  }
  return { app, deps, admin, bob, carol, dave, send }
}

test('an admin creates, reads, lists, updates, toggles and deletes a preset in Open WebUI\'s shapes', async () => {
  const { admin, send } = await startApp()
  const created = await send(admin.token, 'POST', '/api/v1/models/create', preset('terse'))
  expect(created.status).toBe(200)
  expect(created.body).toMatchObject({ id: 'terse', base_model_id: 'qwen2.5:0.5b', name: 'Preset terse', user_id: admin.id, is_active: true, access_control: {}, params: { system: 'You are terse.' }, meta: { description: 'A helpful preset' } })
  expect((await send(admin.token, 'GET', '/api/v1/models/model?id=terse')).body.name).toBe('Preset terse')
  expect((await send(admin.token, 'GET', '/api/v1/models/list?page=1')).body).toMatchObject({ total: 1, items: [{ id: 'terse' }] })
  expect((await send(admin.token, 'GET', '/api/v1/models/')).body.map((m: { id: string }) => m.id)).toEqual(['terse'])
  expect((await send(admin.token, 'GET', '/api/v1/models/tags')).body).toEqual(['work'])
  const updated = await send(admin.token, 'POST', '/api/v1/models/model/update?id=terse', { ...preset('terse'), name: 'Renamed' })
  expect(updated.body.name).toBe('Renamed')
  // note: the newest page sends the id in the body only.
  expect((await send(admin.token, 'POST', '/api/v1/models/model/update', { ...preset('terse'), name: 'Again' })).body.name).toBe('Again')
  expect((await send(admin.token, 'POST', '/api/v1/models/model/toggle?id=terse')).body.is_active).toBe(false)
  const exported = await send(admin.token, 'GET', '/api/v1/models/export')
  expect(exported.body.map((m: { id: string }) => m.id)).toEqual(['terse'])
  expect((await send(admin.token, 'POST', '/api/v1/models/model/delete', { id: 'terse' })).body).toBe(true)
  expect((await send(admin.token, 'GET', '/api/v1/models/model?id=terse')).status).toBe(404)
  expect((await send(admin.token, 'POST', '/api/v1/models/import', { models: exported.body })).body).toEqual({ success: true })
  expect((await send(admin.token, 'GET', '/api/v1/models/model?id=terse')).body).toMatchObject({ name: 'Again', is_active: false })
  expect((await send(admin.token, 'DELETE', '/api/v1/models/model/delete?id=terse')).body).toBe(true)
})

test('creating needs workspace.models; the default permissions can grant it', async () => {
  const { admin, bob, send } = await startApp()
  expect((await send(bob.token, 'POST', '/api/v1/models/create', preset('bobs'))).status).toBe(403)
  expect((await send(bob.token, 'GET', '/api/v1/models/model?id=bobs')).status).toBe(404)
  const permissions = (await send(admin.token, 'GET', '/api/v1/users/default/permissions')).body
  expect((await send(admin.token, 'POST', '/api/v1/users/default/permissions', { ...permissions, workspace: { ...permissions.workspace, models: true } })).status).toBe(200)
  expect((await send(bob.token, 'POST', '/api/v1/models/create', preset('bobs'))).status).toBe(200)
})

test('another user\'s private preset is 404 on every route and unchanged afterwards; a public one is readable, not writable', async () => {
  const { admin, bob, send } = await startApp()
  expect((await send(admin.token, 'POST', '/api/v1/models/create', preset('private'))).status).toBe(200)
  expect((await send(admin.token, 'POST', '/api/v1/models/create', preset('public', { access_control: null }))).status).toBe(200)
  const before = (await send(admin.token, 'GET', '/api/v1/models/model?id=private')).body
  for (const [method, path, body] of [
    ['GET', '/api/v1/models/model?id=private', undefined],
    ['POST', '/api/v1/models/model/toggle?id=private', undefined],
    ['POST', '/api/v1/models/model/update?id=private', { ...preset('private'), name: 'Stolen' }],
    ['POST', '/api/v1/models/model/delete', { id: 'private' }],
    ['DELETE', '/api/v1/models/model/delete?id=private', undefined],
  ] as const) {
    expect([method, path, (await send(bob.token, method, path, body)).status]).toEqual([method, path, 404])
  }
  expect((await send(admin.token, 'GET', '/api/v1/models/model?id=private')).body).toEqual(before)
  expect((await send(bob.token, 'GET', '/api/v1/models/model?id=public')).status).toBe(200)
  expect((await send(bob.token, 'POST', '/api/v1/models/model/toggle?id=public')).status).toBe(403)
  expect((await send(bob.token, 'POST', '/api/v1/models/model/delete', { id: 'public' })).status).toBe(403)
  expect((await send(bob.token, 'GET', '/api/v1/models/list')).body.items.map((m: { id: string }) => m.id)).toEqual(['public'])
  const listed = (await send(bob.token, 'GET', '/api/models')).body.data.map((m: { id: string }) => m.id)
  expect(listed).toContain('public')
  expect(listed).not.toContain('private')
  expect((await send(bob.token, 'GET', '/api/v1/models/export')).status).toBe(403)
  expect((await send(bob.token, 'DELETE', '/api/v1/models/delete/all')).status).toBe(403)
})

test('a group grant lets its members read (or write) the preset, and no one else; a membership change applies at once', async () => {
  const { deps, admin, bob, carol, dave, send } = await startApp()
  const team = await deps.store.groups.ensureGroup('Team', 'local')
  const other = await deps.store.groups.ensureGroup('Other', 'local')
  await deps.store.groups.addMember(team.id, bob.id as UserId, 'local')
  await deps.store.groups.addMember(other.id, dave.id as UserId, 'local')
  expect((await send(admin.token, 'POST', '/api/v1/models/create', preset('team', { access_control: { read: { group_ids: [team.id], user_ids: [] }, write: { group_ids: [], user_ids: [carol.id] } } }))).status).toBe(200)
  expect((await send(bob.token, 'GET', '/api/v1/models/model?id=team')).status).toBe(200)
  expect((await send(bob.token, 'POST', '/api/v1/models/model/toggle?id=team')).status).toBe(403)
  expect((await send(carol.token, 'POST', '/api/v1/models/model/update?id=team', { ...preset('team'), name: 'By Carol' })).body.name).toBe('By Carol')
  // note: a writer who is not the owner keeps the grant as it was.
  expect((await send(admin.token, 'GET', '/api/v1/models/model?id=team')).body.access_control).toEqual({ read: { group_ids: [team.id], user_ids: [] }, write: { group_ids: [], user_ids: [carol.id] } })
  expect((await send(dave.token, 'GET', '/api/v1/models/model?id=team')).status).toBe(404)
  expect((await send(dave.token, 'GET', '/api/models')).body.data.map((m: { id: string }) => m.id)).not.toContain('team')
  await deps.store.groups.removeMember(team.id, bob.id as UserId)
  expect((await send(bob.token, 'GET', '/api/v1/models/model?id=team')).status).toBe(404)
})

test('malformed, oversized and hostile bodies are refused, and nothing is stored', async () => {
  const { admin, send } = await startApp()
  const huge = 'data:image/png;base64,' + 'A'.repeat(600 * 1024)
  for (const [body, status] of [
    [{ ...preset('x'), base_model_id: 'no-such-model' }, 400],
    [{ ...preset('x'), base_model_id: null }, 400],
    [{ ...preset('x'), meta: { profile_image_url: 'data:image/svg+xml;base64,PHN2Zz4=' } }, 400],
    [{ ...preset('x'), meta: { profile_image_url: 'https://tracker.example/pixel.png' } }, 400],
    [{ ...preset('x'), meta: { profile_image_url: huge } }, 413],
    [{ ...preset('x'), params: { temperature: 'hot' } }, 400],
    [{ ...preset('x'), params: { num_ctx: 1e12 } }, 400],
    [{ ...preset('x'), params: { system: { nested: true } } }, 400],
    [{ ...preset('x'), id: '' }, 422],
    [{ ...preset('x'), id: '/etc' }, 422],
    [{ ...preset('x'), id: 'a\u0000b' }, 422],
    [{ ...preset('x'), id: 'x'.repeat(300) }, 422],
    [{ ...preset('x'), id: 'qwen2.5:0.5b' }, 409],
    [{ ...preset('x'), access_control: { read: { group_ids: 'all' } } }, 422],
    [{ ...preset('x'), access_grants: [{ principal_type: 'role', principal_id: 'admin', permission: 'read' }], access_control: undefined }, 400],
    [{ ...preset('x'), name: '' }, 422],
    ['{not json', 415],
  ] as const) {
    const res = await send(admin.token, 'POST', '/api/v1/models/create', body)
    expect([JSON.stringify(body).slice(0, 80), res.status]).toEqual([JSON.stringify(body).slice(0, 80), status])
  }
  expect((await send(admin.token, 'GET', '/api/v1/models/list')).body.total).toBe(0)
  expect((await send(admin.token, 'POST', '/api/v1/models/create', preset('x'))).status).toBe(200)
  expect((await send(admin.token, 'POST', '/api/v1/models/create', preset('x'))).status).toBe(409)
  expect((await send(admin.token, 'POST', '/api/v1/models/create', { ...preset('y'), base_model_id: 'x' })).status).toBe(400)
  expect((await send(admin.token, 'POST', '/api/v1/models/model/update?id=x', { ...preset('z') })).status).toBe(400)
})

test('without a credential every route is 401', async () => {
  const { app } = await startApp()
  for (const [method, path] of [['GET', '/api/v1/models/'], ['GET', '/api/v1/models/list'], ['POST', '/api/v1/models/create'], ['GET', '/api/v1/models/model?id=x'], ['POST', '/api/v1/models/model/toggle?id=x'], ['POST', '/api/v1/models/model/update'], ['POST', '/api/v1/models/model/delete'], ['GET', '/api/v1/models/export'], ['POST', '/api/v1/models/import']]) {
    expect([path, (await app.handle(req(method!, path!, method === 'POST' ? {} : undefined))).status]).toEqual([path, 401])
  }
})

test('a chat through a preset reaches Ollama with its base model, system prompt and options; the chat\'s own options win', async () => {
  const { admin, bob, send } = await startApp()
  expect((await send(admin.token, 'POST', '/api/v1/models/create', preset('shared', { access_control: null }))).status).toBe(200)
  const before = ollama.requests.length
  const answer = await send(bob.token, 'POST', '/api/chat/completions', { model: 'shared', messages: [{ role: 'system', content: 'Chat system.' }, { role: 'user', content: 'hi' }], temperature: 0.9 })
  expect(answer.status).toBe(200)
  expect(answer.body.model).toBe('shared')
  const sent = ollama.requests.slice(before).find((request) => request.path === '/api/chat')!.body as { model: string; messages: { role: string; content: string }[]; options: Record<string, unknown> }
  expect(sent.model).toBe('qwen2.5:0.5b')
  expect(sent.messages[0]).toEqual({ role: 'system', content: 'You are terse.\nChat system.' })
  expect(sent.options).toMatchObject({ temperature: 0.9, num_ctx: 4096 })
  const title = await send(bob.token, 'POST', '/api/v1/tasks/title/completions', { model: 'shared', messages: [{ role: 'user', content: 'name this chat' }] })
  expect(title.status).toBe(200)
  expect((ollama.requests.filter((request) => request.path === '/api/chat').at(-1)!.body as { model: string }).model).toBe('qwen2.5:0.5b')
})

test('a cross-site request with the session cookie changes nothing', async () => {
  const { app, admin, send } = await startApp()
  const res = await app.handle(new Request('http://localhost/api/v1/models/create', {
    method: 'POST', headers: { 'content-type': 'application/json', origin: 'https://evil.example', 'sec-fetch-site': 'cross-site', cookie: `token=${admin.token}` }, body: JSON.stringify(preset('evil')),
  }))
  expect(res.status).toBeGreaterThanOrEqual(400)
  expect((await send(admin.token, 'GET', '/api/v1/models/list')).body.total).toBe(0)
})

test('a preset on a base model the user may not use is neither listed nor answered, on any path', async () => {
  const { app, admin, bob, send } = await startApp({ restricted: new Set(['qwen2.5:0.5b']) })
  expect((await send(admin.token, 'POST', '/api/v1/models/create', preset('wrapped', { access_control: null }))).status).toBe(200)
  expect((await send(admin.token, 'GET', '/api/models')).body.data.map((m: { id: string }) => m.id)).toContain('wrapped')
  expect((await send(bob.token, 'GET', '/api/models')).body.data.map((m: { id: string }) => m.id)).not.toContain('wrapped')
  const before = ollama.requests.length
  for (const path of ['/api/chat/completions', '/api/v1/chat/completions', '/api/v1/tasks/title/completions']) {
    expect((await send(bob.token, 'POST', path, { model: 'wrapped', messages: [{ role: 'user', content: 'hi' }] })).status).toBe(404)
  }
  const server = app.listen({ port: 0, hostname: '127.0.0.1' })
  try {
    const { connect } = await import('../helpers/ws.ts')
    const socket = await connect(`ws://127.0.0.1:${server.server!.port}/api/ws`, { token: bob.token })
    socket.send({ type: 'chat:send', model: 'wrapped', content: 'hi' })
    expect(await socket.nextFrame((frame) => frame.type === 'error')).toMatchObject({ code: 'model_not_found' })
    await socket.close()
  } finally {
    await server.stop()
  }
  expect(ollama.requests.slice(before).filter((request) => request.path === '/api/chat')).toEqual([])
})

test('Open WebUI\'s admin page saving a base model (base_model_id null) sets its grant, on create and on update alike; no preset is made, and no one else may', async () => {
  const { admin, bob, send } = await startApp({ restricted: new Set(['qwen2.5:0.5b']) })
  const chat = () => send(bob.token, 'POST', '/api/chat/completions', { model: 'qwen2.5:0.5b', messages: [{ role: 'user', content: 'hi' }] })
  expect((await chat()).status).toBe(404)
  // note: the bodies as the admin page's upsertModelHandler sends them: createNewModel the first time, updateModelById after.
  const opened = await send(admin.token, 'POST', '/api/v1/models/create', { id: 'qwen2.5:0.5b', name: 'qwen2.5:0.5b', base_model_id: null, meta: {}, params: {}, access_grants: [{ principal_type: 'user', principal_id: '*', permission: 'read' }] })
  expect(opened.status).toBe(200)
  expect(opened.body).toMatchObject({ id: 'qwen2.5:0.5b', base_model_id: null, access_control: null })
  expect((await chat()).status).toBe(200)
  expect((await send(admin.token, 'GET', '/api/v1/models/list')).body.total).toBe(0)
  const closed = await send(admin.token, 'POST', '/api/v1/models/model/update?id=qwen2.5:0.5b', { id: 'qwen2.5:0.5b', name: 'qwen2.5:0.5b', base_model_id: null, meta: {}, params: {}, access_control: {} })
  expect(closed.status).toBe(200)
  expect((await chat()).status).toBe(404)
  const access = (await send(admin.token, 'GET', '/api/v1/models/access')).body.models.find((model: { id: string }) => model.id === 'qwen2.5:0.5b')
  expect(access).toMatchObject({ has_grant: true, access_control: {} })

  for (const [token, body, status] of [
    [bob.token, { id: 'qwen2.5:0.5b', name: 'x', base_model_id: null, access_control: null }, 400],
    [admin.token, { id: 'qwen2.5:0.5b', name: 'x', base_model_id: null, access_control: null, is_active: false }, 400],
    [admin.token, { id: 'qwen2.5:0.5b', name: 'x', base_model_id: null, access_control: null, params: { system: 'Be terse.' } }, 400],
    [admin.token, { id: 'qwen2.5:0.5b', name: 'x', base_model_id: null }, 422],
    [admin.token, { id: 'qwen2.5:0.5b', name: 'Renamed', base_model_id: null, access_control: null }, 400],
    [admin.token, { id: 'qwen2.5:0.5b', name: 'qwen2.5:0.5b', base_model_id: null, meta: { description: 'A new description' }, access_control: null }, 400],
  ] as const) {
    expect((await send(token, 'POST', '/api/v1/models/create', body)).status).toBe(status)
  }
  expect((await chat()).status).toBe(404)
})

test('the access update route saves a preset\'s access for its owner or an admin; a reader who is not the owner is 403, anyone else 404', async () => {
  const { admin, bob, carol, send } = await startApp()
  expect((await send(admin.token, 'POST', '/api/v1/models/create', preset('team', { access_control: { read: { group_ids: [], user_ids: [bob.id] } } }))).status).toBe(200)
  const update = (token: string, body: Record<string, unknown>) => send(token, 'POST', '/api/v1/models/model/access/update', { id: 'team', ...body })
  expect((await update(bob.token, { access_grants: [{ principal_type: 'user', principal_id: '*', permission: 'read' }] })).status).toBe(403)
  expect((await update(carol.token, { access_grants: [] })).status).toBe(404)
  expect((await send(carol.token, 'GET', '/api/v1/models/model?id=team')).status).toBe(404)
  const opened = await update(admin.token, { access_grants: [{ principal_type: 'user', principal_id: '*', permission: 'read' }] })
  expect(opened.status).toBe(200)
  expect(opened.body).toMatchObject({ id: 'team', access_control: null, base_model_id: 'qwen2.5:0.5b' })
  expect((await send(carol.token, 'GET', '/api/v1/models/model?id=team')).status).toBe(200)
  expect((await send(admin.token, 'GET', '/api/v1/models/model?id=team')).body).toMatchObject({ name: 'Preset team', params: { system: 'You are terse.' } })
  expect((await update(admin.token, { access_grants: [{ principal_type: 'role', principal_id: 'x', permission: 'read' }] })).status).toBe(422)
})
