/**
 * Prompts in process: Open WebUI's request shapes (by command and by id), workspace.prompts to
 * create, who may read and change a prompt, and refusals of malformed, oversized and hostile input.
 */
import { expect, test } from 'bun:test'
import type { UserId } from '../../src/db/ids.ts'
import { bearer, signUp, statusOf } from '../helpers/accounts.ts'
import { req, startTestApp } from '../helpers/test-app.ts'

async function startApp() {
  const { app, deps } = startTestApp()
  const admin = await signUp(app, 'admin@example.com')
  const bob = await signUp(app, 'bob@example.com')
  const carol = await signUp(app, 'carol@example.com')
  for (const user of [bob, carol]) expect(await statusOf(app, 'POST', `/api/v1/users/${user.id}/update`, bearer(admin.token), { role: 'user' })).toBe(200)
  const send = async (token: string, method: string, path: string, body?: unknown) => {
    const res = await app.handle(req(method, path, body, bearer(token)))
    const text = await res.text()
    return { status: res.status, body: text === '' ? null : JSON.parse(text) }
  }
  return { app, deps, admin, bob, carol, send }
}

const prompt = (command: string, extra: Record<string, unknown> = {}) => ({ command: `/${command}`, title: `Title ${command}`, content: 'Today is {{CURRENT_DATE}}, {{USER_NAME}}.', access_control: {}, ...extra })

test('create, read by command and id, list, update and delete, in Open WebUI\'s shapes', async () => {
  const { admin, send } = await startApp()
  const created = await send(admin.token, 'POST', '/api/v1/prompts/create', prompt('summary'))
  expect(created.status).toBe(200)
  expect(created.body).toMatchObject({ command: '/summary', user_id: admin.id, title: 'Title summary', content: 'Today is {{CURRENT_DATE}}, {{USER_NAME}}.', access_control: {} })
  expect(created.body.timestamp).toBeNumber()
  expect((await send(admin.token, 'GET', '/api/v1/prompts/')).body.map((p: { command: string }) => p.command)).toEqual(['/summary'])
  expect((await send(admin.token, 'GET', '/api/v1/prompts/list')).body).toMatchObject({ total: 1, items: [{ command: '/summary', user: { id: admin.id } }] })
  expect((await send(admin.token, 'GET', '/api/v1/prompts/command/summary')).body.title).toBe('Title summary')
  expect((await send(admin.token, 'POST', '/api/v1/prompts/command/summary/update', prompt('summary', { title: 'New' }))).body.title).toBe('New')
  expect((await send(admin.token, 'POST', `/api/v1/prompts/id/${created.body.id}/update`, prompt('summary', { content: 'By id' }))).body.content).toBe('By id')
  expect((await send(admin.token, 'GET', `/api/v1/prompts/id/${created.body.id}`)).body.content).toBe('By id')
  expect((await send(admin.token, 'POST', '/api/v1/prompts/create', prompt('summary'))).status).toBe(409)
  expect((await send(admin.token, 'DELETE', '/api/v1/prompts/command/summary/delete')).body).toBe(true)
  expect((await send(admin.token, 'GET', '/api/v1/prompts/command/summary')).status).toBe(404)
})

test('creating needs workspace.prompts; two users may each have the same command', async () => {
  const { admin, bob, send } = await startApp()
  expect((await send(bob.token, 'POST', '/api/v1/prompts/create', prompt('mine'))).status).toBe(403)
  const permissions = (await send(admin.token, 'GET', '/api/v1/users/default/permissions')).body
  expect((await send(admin.token, 'POST', '/api/v1/users/default/permissions', { ...permissions, workspace: { ...permissions.workspace, prompts: true } })).status).toBe(200)
  expect((await send(bob.token, 'POST', '/api/v1/prompts/create', prompt('mine'))).status).toBe(200)
  expect((await send(admin.token, 'POST', '/api/v1/prompts/create', prompt('mine'))).status).toBe(200)
  expect((await send(bob.token, 'GET', '/api/v1/prompts/command/mine')).body.user_id).toBe(bob.id)
})

test('another user\'s private prompt is 404 everywhere and unchanged; a group grant shares it; a public one is readable, not writable', async () => {
  const { deps, admin, bob, carol, send } = await startApp()
  const secret = (await send(admin.token, 'POST', '/api/v1/prompts/create', prompt('secret'))).body
  const open = (await send(admin.token, 'POST', '/api/v1/prompts/create', prompt('open', { access_control: null }))).body
  const team = await deps.store.groups.ensureGroup('Team', 'local')
  await deps.store.groups.addMember(team.id, carol.id as UserId, 'local')
  await send(admin.token, 'POST', '/api/v1/prompts/create', prompt('team', { access_control: { read: { group_ids: [team.id], user_ids: [] } } }))
  for (const [method, path, body] of [
    ['GET', '/api/v1/prompts/command/secret', undefined],
    ['POST', '/api/v1/prompts/command/secret/update', prompt('secret', { content: 'Stolen' })],
    ['DELETE', '/api/v1/prompts/command/secret/delete', undefined],
    ['GET', `/api/v1/prompts/id/${secret.id}`, undefined],
    ['POST', `/api/v1/prompts/id/${secret.id}/update`, prompt('secret', { content: 'Stolen' })],
    ['DELETE', `/api/v1/prompts/id/${secret.id}/delete`, undefined],
  ] as const) {
    expect([method, path, (await send(bob.token, method, path, body)).status]).toEqual([method, path, 404])
  }
  expect((await send(admin.token, 'GET', '/api/v1/prompts/command/secret')).body.content).toBe(secret.content)
  expect((await send(bob.token, 'GET', '/api/v1/prompts/')).body.map((p: { command: string }) => p.command)).toEqual(['/open'])
  expect((await send(carol.token, 'GET', '/api/v1/prompts/')).body.map((p: { command: string }) => p.command).sort()).toEqual(['/open', '/team'])
  expect((await send(bob.token, 'POST', `/api/v1/prompts/id/${open.id}/update`, prompt('open', { content: 'Changed' }))).status).toBe(403)
  expect((await send(bob.token, 'DELETE', '/api/v1/prompts/command/open/delete')).status).toBe(403)
  expect((await send(bob.token, 'GET', '/api/v1/prompts/list')).body).toEqual({ items: [], total: 0 })
})

test('malformed, oversized and hostile input is refused; nothing is stored', async () => {
  const { app, admin, send } = await startApp()
  for (const [body, status] of [
    [prompt('has space'), 400],
    [prompt('../etc'), 400],
    [prompt('<script>'), 400],
    [prompt('x'.repeat(65)), 400],
    [prompt('ok', { content: 'x'.repeat(100_001) }), 422],
    [prompt('ok', { title: '' }), 422],
    [prompt('ok', { access_control: { read: { user_ids: [42] } } }), 422],
    [{ command: '/ok' }, 422],
  ] as const) {
    expect([JSON.stringify(body).slice(0, 60), (await send(admin.token, 'POST', '/api/v1/prompts/create', body)).status]).toEqual([JSON.stringify(body).slice(0, 60), status])
  }
  expect((await send(admin.token, 'GET', '/api/v1/prompts/')).body).toEqual([])
  expect((await send(admin.token, 'POST', '/api/v1/prompts/create', prompt('ok'))).status).toBe(200)
  expect((await send(admin.token, 'POST', '/api/v1/prompts/command/ok/update', prompt('other'))).status).toBe(400)
  for (const [method, path] of [['GET', '/api/v1/prompts/'], ['GET', '/api/v1/prompts/list'], ['POST', '/api/v1/prompts/create'], ['GET', '/api/v1/prompts/command/ok'], ['DELETE', '/api/v1/prompts/command/ok/delete']]) {
    expect([path, (await app.handle(req(method!, path!, method === 'POST' ? prompt('ok') : undefined))).status]).toEqual([path, 401])
  }
  // note: a cross-site form post carries no credential it could use, and is refused before it is read.
  const crossSite = await app.handle(new Request('http://localhost/api/v1/prompts/create', {
    method: 'POST', headers: { 'content-type': 'text/plain', origin: 'https://evil.example', cookie: `token=${admin.token}` }, body: JSON.stringify(prompt('evil')),
  }))
  expect(crossSite.status).toBeGreaterThanOrEqual(400)
  expect((await send(admin.token, 'GET', '/api/v1/prompts/')).body.map((p: { command: string }) => p.command)).toEqual(['/ok'])
})
