/**
 * Through the compiled binary, as Open WebUI's admin page and a user's page send them: default
 * permissions that restrict (chat.delete, chat.file_upload, sharing.public_*) hold at the routes,
 * a group that grants one gives it back, and ENABLE_COMMUNITY_SHARING starts from the environment,
 * then follows the admin page at once and after a restart.
 */
import { expect, test } from 'bun:test'
import { binaryAppStarter } from '../helpers/binary-app.ts'
import { bearer, signUp, type SessionBody } from '../helpers/accounts.ts'
import { req } from '../helpers/test-app.ts'

const startApp = binaryAppStarter()

test('restricting permissions hold; a group grants back; sharing follows the admin config', async () => {
  const env = { DEFAULT_USER_ROLE: 'user', ENABLE_COMMUNITY_SHARING: 'true', USER_PERMISSIONS_WORKSPACE_KNOWLEDGE_ACCESS: 'true', USER_PERMISSIONS_WORKSPACE_PROMPTS_ACCESS: 'true' }
  const running = await startApp(env)
  const call = async (who: SessionBody, method: string, path: string, body?: unknown) => {
    const res = await running.app.handle(body instanceof FormData
      ? new Request(`http://localhost${path}`, { method, headers: bearer(who.token), body })
      : req(method, path, body, bearer(who.token)))
    const text = await res.text()
    return { status: res.status, json: (text === '' ? null : JSON.parse(text)) as any }
  }
  const admin = await signUp(running.app, 'admin@example.com')
  const ada = await signUp(running.app, 'ada@example.com')
  const newChat = async () => (await call(ada, 'POST', '/api/v1/chats/new', { chat: { title: 'Plans', messages: [] } })).json.id as string
  const upload = () => {
    const form = new FormData()
    form.append('file', new File(['Kestrels hover.'], 'notes.txt', { type: 'text/plain' }))
    return call(ada, 'POST', '/api/v1/files/?process=false', form)
  }

  const defaults = (await call(admin, 'GET', '/api/v1/users/default/permissions')).json
  const restricted = {
    ...defaults, chat: { ...defaults.chat, delete: false, file_upload: false },
    sharing: Object.fromEntries(Object.keys(defaults.sharing).map((flag) => [flag, false])),
  }
  expect((await call(admin, 'POST', '/api/v1/users/default/permissions', restricted)).status).toBe(200)
  expect((await call(ada, 'GET', '/api/v1/users/permissions')).json.chat).toMatchObject({ delete: false, file_upload: false })

  const chat = await newChat()
  expect((await call(ada, 'DELETE', `/api/v1/chats/${chat}`)).status).toBe(403)
  expect((await call(ada, 'DELETE', '/api/v1/chats/')).status).toBe(403)
  expect((await call(ada, 'GET', `/api/v1/chats/${chat}`)).status).toBe(200)
  expect((await upload()).status).toBe(403)
  const base = (await call(ada, 'POST', '/api/v1/knowledge/create', { name: 'Notes', description: '', access_control: {} })).json.id
  expect((await call(ada, 'POST', `/api/v1/knowledge/${base}/access/update`, { access_grants: [{ principal_type: 'user', principal_id: '*', permission: 'read' }] })).status).toBe(403)
  const prompt = (await call(ada, 'POST', '/api/v1/prompts/create', { command: '/hi', title: 'Hi', content: 'Hi', access_control: {} })).json.id
  expect((await call(ada, 'POST', `/api/v1/prompts/id/${prompt}/update`, { command: '/hi', title: 'Hi', content: 'Hi', access_control: null })).status).toBe(403)
  expect((await call(admin, 'GET', `/api/v1/knowledge/${base}`)).json.access_control).not.toBeNull()

  // note: a group that grants chat.delete and chat.file_upload gives them back to its members.
  const group = (await call(admin, 'POST', '/api/v1/groups/create', { name: 'Team', description: '' })).json.id
  await call(admin, 'POST', `/api/v1/groups/id/${group}/update`, { name: 'Team', description: '', permissions: { chat: { delete: true, file_upload: true } } })
  await call(admin, 'POST', `/api/v1/groups/id/${group}/users/add`, { user_ids: [ada.id] })
  expect((await upload()).status).toBe(200)
  expect((await call(ada, 'DELETE', `/api/v1/chats/${chat}`)).json).toBe(true)

  const config = '/api/v1/auths/admin/config'
  const current = (await call(admin, 'GET', config)).json
  expect(current.ENABLE_COMMUNITY_SHARING).toBe(true)
  const shared = await newChat()
  expect((await call(ada, 'POST', `/api/v1/chats/${shared}/share`)).status).toBe(200)
  expect((await call(admin, 'POST', config, { ...current, ENABLE_COMMUNITY_SHARING: false })).status).toBe(200)
  expect((await call(ada, 'POST', `/api/v1/chats/${shared}/share`)).status).toBe(403)
  await running.restart()
  expect((await call(admin, 'GET', config)).json.ENABLE_COMMUNITY_SHARING).toBe(false)
  expect((await call(ada, 'POST', `/api/v1/chats/${shared}/share`)).status).toBe(403)
}, 120_000)
