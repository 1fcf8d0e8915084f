/**
 * Every field of the admin config (GET/POST /api/v1/auths/admin/config, as Open WebUI's admin page
 * sends it: the whole object back with the edited fields) takes effect at once, on this instance
 * and within a second on another over the same database: ENABLE_COMMUNITY_SHARING starts from the
 * environment and then holds at the share routes; ENABLE_FOLDERS at the folder routes; the page's
 * switches and texts reach /api/config; what Enclave cannot apply is refused, changing nothing.
 */
import { describe, expect, test } from 'bun:test'
import { createApp } from '../../src/http/create-app.ts'
import { bearer, signUp, type SessionBody } from '../helpers/accounts.ts'
import { req, startTestApp } from '../helpers/test-app.ts'

const CONFIG = '/api/v1/auths/admin/config'

function start(env: Record<string, string> = {}) {
  let clock = Date.now()
  const started = startTestApp({ DEFAULT_USER_ROLE: 'user', ...env }, () => clock)
  const call = async (app: typeof started.app, who: SessionBody | null, method: string, path: string, body?: unknown) => {
    const res = await app.handle(req(method, path, body, who === null ? {} : bearer(who.token)))
    const text = await res.text()
    expect(res.status).toBeLessThan(500)
    return { status: res.status, json: (text === '' ? null : JSON.parse(text)) as any }
  }
  return { ...started, call, advance: (ms: number) => { clock += ms } }
}

describe('ENABLE_COMMUNITY_SHARING', () => {
  test('the environment\'s value is the admin config\'s until an admin saves one', async () => {
    const { app, call } = start({ ENABLE_COMMUNITY_SHARING: 'true' })
    const admin = await signUp(app, 'admin@example.com')
    const ada = await signUp(app, 'ada@example.com')
    expect((await call(app, admin, 'GET', CONFIG)).json.ENABLE_COMMUNITY_SHARING).toBe(true)
    expect((await call(app, ada, 'GET', '/api/config')).json.features.enable_community_sharing).toBe(true)
    const chat = (await call(app, ada, 'POST', '/api/v1/chats/new', { chat: { title: 'Plans', messages: [] } })).json.id
    expect((await call(app, ada, 'POST', `/api/v1/chats/${chat}/share`)).status).toBe(200)
  })

  test('turned off by the admin page, sharing stops at once; turned on, it works', async () => {
    const { app, call } = start({ ENABLE_COMMUNITY_SHARING: 'true' })
    const admin = await signUp(app, 'admin@example.com')
    const ada = await signUp(app, 'ada@example.com')
    const chat = (await call(app, ada, 'POST', '/api/v1/chats/new', { chat: { title: 'Plans', messages: [] } })).json.id
    const shareId = (await call(app, ada, 'POST', `/api/v1/chats/${chat}/share`)).json.share_id
    const current = (await call(app, admin, 'GET', CONFIG)).json
    expect((await call(app, admin, 'POST', CONFIG, { ...current, ENABLE_COMMUNITY_SHARING: false })).json.ENABLE_COMMUNITY_SHARING).toBe(false)
    expect((await call(app, admin, 'GET', CONFIG)).json.ENABLE_COMMUNITY_SHARING).toBe(false)
    expect((await call(app, ada, 'GET', '/api/config')).json.features.enable_community_sharing).toBe(false)
    for (const [method, path] of [['POST', `/api/v1/chats/${chat}/share`], ['GET', `/api/v1/chats/share/${shareId}`], ['GET', '/api/v1/chats/shared']] as const) {
      expect((await call(app, ada, method, path)).json).toMatchObject({ code: 'sharing_disabled' })
    }
    await call(app, admin, 'POST', CONFIG, { ...current, ENABLE_COMMUNITY_SHARING: true })
    expect((await call(app, ada, 'GET', `/api/v1/chats/share/${shareId}`)).status).toBe(200)
  })

  test('with the environment off, the admin turns it on', async () => {
    const { app, call } = start()
    const admin = await signUp(app, 'admin@example.com')
    const ada = await signUp(app, 'ada@example.com')
    const chat = (await call(app, ada, 'POST', '/api/v1/chats/new', { chat: { title: 'Plans', messages: [] } })).json.id
    expect((await call(app, ada, 'POST', `/api/v1/chats/${chat}/share`)).status).toBe(403)
    await call(app, admin, 'POST', CONFIG, { ENABLE_COMMUNITY_SHARING: true })
    expect((await call(app, ada, 'POST', `/api/v1/chats/${chat}/share`)).status).toBe(200)
  })

  test('a save through another instance over the same database holds here within a second', async () => {
    const { app, deps, call, advance } = start({ ENABLE_COMMUNITY_SHARING: 'true' })
    const other = createApp({ ...deps })
    const admin = await signUp(app, 'admin@example.com')
    const ada = await signUp(app, 'ada@example.com')
    const chat = (await call(app, ada, 'POST', '/api/v1/chats/new', { chat: { title: 'Plans', messages: [] } })).json.id
    expect((await call(other, ada, 'POST', `/api/v1/chats/${chat}/share`)).status).toBe(200)
    expect((await call(app, admin, 'POST', CONFIG, { ENABLE_COMMUNITY_SHARING: false })).status).toBe(200)
    advance(1_100)
    expect((await call(other, ada, 'POST', `/api/v1/chats/${chat}/share`)).json).toMatchObject({ code: 'sharing_disabled' })
    expect((await call(other, admin, 'GET', CONFIG)).json.ENABLE_COMMUNITY_SHARING).toBe(false)
  })
})

describe('ENABLE_FOLDERS', () => {
  test('off: every folder route is 403, for admins too; on again: the folders are there', async () => {
    const { app, call } = start()
    const admin = await signUp(app, 'admin@example.com')
    const ada = await signUp(app, 'ada@example.com')
    const folder = (await call(app, ada, 'POST', '/api/v1/folders/', { name: 'Work' })).json.id
    expect((await call(app, ada, 'GET', '/api/config')).json.features.enable_folders).toBe(true)
    await call(app, admin, 'POST', CONFIG, { ENABLE_FOLDERS: false })
    expect((await call(app, ada, 'GET', '/api/config')).json.features.enable_folders).toBe(false)
    for (const [method, path, body] of [
      ['GET', '/api/v1/folders/', undefined], ['POST', '/api/v1/folders/', { name: 'More' }], ['GET', `/api/v1/folders/${folder}`, undefined],
      ['POST', `/api/v1/folders/${folder}/update`, { name: 'Renamed' }], ['POST', `/api/v1/folders/${folder}/update/parent`, { parent_id: null }],
      ['POST', `/api/v1/folders/${folder}/update/expanded`, { is_expanded: true }], ['DELETE', `/api/v1/folders/${folder}`, undefined],
    ] as const) {
      expect(await call(app, ada, method, path, body)).toEqual({ status: 403, json: { detail: 'Folders are turned off on this server.', code: 'folders_disabled' } })
    }
    expect((await call(app, admin, 'GET', '/api/v1/folders/')).status).toBe(403)
    await call(app, admin, 'POST', CONFIG, { ENABLE_FOLDERS: true })
    expect((await call(app, ada, 'GET', '/api/v1/folders/')).json.map((item: { name: string }) => item.name)).toEqual(['Work'])
  })

  test('off: the chat routes that name a folder keep working on the folders the user has, as in Open WebUI', async () => {
    const { app, call } = start()
    const admin = await signUp(app, 'admin@example.com')
    const ada = await signUp(app, 'ada@example.com')
    const folder = (await call(app, ada, 'POST', '/api/v1/folders/', { name: 'Work' })).json.id as string
    const filed = (await call(app, ada, 'POST', '/api/v1/chats/new', { chat: { title: 'Filed', messages: [] }, folder_id: folder })).json.id as string
    await call(app, admin, 'POST', CONFIG, { ENABLE_FOLDERS: false })
    // web getChatsByFolderId / getChatListByFolderId; Conduit getFolderConversationSummaries
    const opened = await call(app, ada, 'GET', `/api/v1/chats/folder/${folder}`)
    expect([opened.status, opened.json.map((chat: { id: string }) => chat.id)]).toEqual([200, [filed]])
    expect((await call(app, ada, 'GET', `/api/v1/chats/folder/${folder}/list`)).json.map((chat: { title: string }) => chat.title)).toEqual(['Filed'])
    // Conduit moveChatToFolderRaw: a chat is taken out of its folder, and back in
    const out = await call(app, ada, 'POST', `/api/v1/chats/${filed}/folder`, { folder_id: null })
    expect([out.status, out.json.folder_id]).toEqual([200, null])
    expect((await call(app, ada, 'POST', `/api/v1/chats/${filed}/folder`, { folder_id: folder })).json.folder_id).toBe(folder)
    const created = await call(app, ada, 'POST', '/api/v1/chats/new', { chat: { title: 'New', messages: [] }, folder_id: folder })
    expect([created.status, created.json.folder_id]).toEqual([200, folder])
    // still only the user's own folders; and no new folder is made
    const others = (await call(app, admin, 'POST', '/api/v1/chats/new', { chat: { title: 'Admin', messages: [] } })).json.id as string
    expect((await call(app, admin, 'POST', `/api/v1/chats/${others}/folder`, { folder_id: folder })).status).toBe(404)
    expect((await call(app, admin, 'GET', `/api/v1/chats/folder/${folder}`)).status).toBe(404)
    expect((await call(app, ada, 'POST', '/api/v1/folders/', { name: 'More' })).status).toBe(403)
  })
})

describe('the page\'s switches and texts reach /api/config', () => {
  test('message rating, the pending overlay and the watermark, as Open WebUI\'s get_app_config hands them', async () => {
    const { app, call } = start()
    const admin = await signUp(app, 'admin@example.com')
    const ada = await signUp(app, 'ada@example.com')
    const current = (await call(app, admin, 'GET', CONFIG)).json
    await call(app, admin, 'POST', CONFIG, {
      ...current, DEFAULT_USER_ROLE: 'pending', ENABLE_MESSAGE_RATING: false,
      PENDING_USER_OVERLAY_TITLE: 'Hold on', PENDING_USER_OVERLAY_CONTENT: 'An admin will let you in.', RESPONSE_WATERMARK: 'Made here',
    })
    const active = (await call(app, ada, 'GET', '/api/config')).json
    expect(active.features).toMatchObject({ enable_message_rating: false, enable_channels: false, enable_notes: false, enable_user_webhooks: false })
    expect(active.ui).toEqual({ pending_user_overlay_title: 'Hold on', pending_user_overlay_content: 'An admin will let you in.', response_watermark: 'Made here' })
    const pending = await signUp(app, 'pending@example.com')
    const seen = (await call(app, pending, 'GET', '/api/config')).json
    expect(seen.ui).toEqual({ pending_user_overlay_title: 'Hold on', pending_user_overlay_content: 'An admin will let you in.' })
    expect(seen.features.enable_message_rating).toBeUndefined()
    expect(seen.default_models).toBeUndefined()
    expect((await call(app, null, 'GET', '/api/config')).json.ui).toBeUndefined()
  })
})

describe('what Enclave cannot apply is refused, changing nothing', () => {
  test.each([
    ['channels', { ENABLE_CHANNELS: true }],
    ['notes', { ENABLE_NOTES: true }],
    ['user webhooks', { ENABLE_USER_WEBHOOKS: true }],
    ['another WEBUI_URL', { WEBUI_URL: 'https://elsewhere.example.com' }],
  ])('%s: 400, and the whole object posted back as read is still 200', async (_, change) => {
    const { app, call } = start({ WEBUI_URL: 'https://chat.example.com' })
    const admin = await signUp(app, 'admin@example.com')
    const current = (await call(app, admin, 'GET', CONFIG)).json
    expect(current).toMatchObject({ WEBUI_URL: 'https://chat.example.com', ENABLE_CHANNELS: false, ENABLE_NOTES: false, ENABLE_USER_WEBHOOKS: false })
    const refused = await call(app, admin, 'POST', CONFIG, { ...current, ENABLE_SIGNUP: false, ...change })
    expect(refused.status).toBe(400)
    expect(refused.json.code).toBe('unsupported_setting')
    expect((await call(app, admin, 'GET', CONFIG)).json).toEqual(current)
    expect((await call(app, admin, 'POST', CONFIG, { ...current, ENABLE_SIGNUP: false })).json.ENABLE_SIGNUP).toBe(false)
  })
})
