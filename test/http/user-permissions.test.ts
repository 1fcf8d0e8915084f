/**
 * Open WebUI's user permissions held at the routes that do the thing, as its page and Conduit call
 * them: chat.delete (one chat, all chats, a folder with its chats), chat.file_upload (an upload, a
 * text document), chat.share (a share link), and sharing.public_knowledge / public_prompts /
 * public_models (making one public, by access_control null or a `user:*` grant), features.folders
 * (every folder route). Each flag:
 * allowed by default, refused (403, nothing changed) when the defaults or the user's groups say no,
 * allowed when one of the user's groups grants it; admins are never held to them.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { startFakeOllama, type FakeOllama } from '../fakes/ollama.ts'
import { bearer, signUp, type SessionBody } from '../helpers/accounts.ts'
import { req, startTestApp } from '../helpers/test-app.ts'

let ollama: FakeOllama
beforeAll(async () => { ollama = await startFakeOllama() })
afterAll(() => ollama.stop())

type Tree = Record<string, Record<string, boolean>>
type Grant = 'default' | 'denied' | 'denied, group without it' | 'denied, group grants it'

/** An app with an admin and one user (ada); `grant` sets the defaults and ada's group for the flag `section.flag`. */
async function setUp(key: string, grant: Grant) {
  const { app, deps } = startTestApp({
    DEFAULT_USER_ROLE: 'user', OLLAMA_BASE_URL: ollama.url, ENABLE_COMMUNITY_SHARING: 'true',
    USER_PERMISSIONS_WORKSPACE_KNOWLEDGE_ACCESS: 'true', USER_PERMISSIONS_WORKSPACE_PROMPTS_ACCESS: 'true', USER_PERMISSIONS_WORKSPACE_MODELS_ACCESS: 'true',
  })
  const admin = await signUp(app, 'admin@example.com')
  const ada = await signUp(app, 'ada@example.com')
  const call = async (who: SessionBody, method: string, path: string, body?: unknown) => {
    const res = await app.handle(body instanceof FormData
      ? new Request(`http://localhost${path}`, { method, headers: bearer(who.token), body })
      : req(method, path, body, bearer(who.token)))
    const text = await res.text()
    expect(res.status).toBeLessThan(500)
    return { status: res.status, json: (text === '' ? null : JSON.parse(text)) as any }
  }
  const [section, flag] = key.split('.') as [string, string]
  if (grant !== 'default') {
    const defaults = (await call(admin, 'GET', '/api/v1/users/default/permissions')).json as Tree
    expect((await call(admin, 'POST', '/api/v1/users/default/permissions', { ...defaults, [section]: { ...defaults[section], [flag]: false } })).status).toBe(200)
    expect((await call(ada, 'GET', '/api/v1/users/permissions')).json[section][flag]).toBe(false)
  }
  if (grant === 'denied, group without it' || grant === 'denied, group grants it') {
    const group = (await call(admin, 'POST', '/api/v1/groups/create', { name: 'Team', description: '' })).json as { id: string }
    const permissions = { [section]: { [flag]: grant === 'denied, group grants it' } }
    expect((await call(admin, 'POST', `/api/v1/groups/id/${group.id}/update`, { name: 'Team', description: '', permissions })).status).toBe(200)
    expect((await call(admin, 'POST', `/api/v1/groups/id/${group.id}/users/add`, { user_ids: [ada.id] })).status).toBe(200)
    expect((await call(ada, 'GET', '/api/v1/users/permissions')).json[section][flag]).toBe(grant === 'denied, group grants it')
  }
  const newChat = async (who: SessionBody, title = 'Plans') => (await call(who, 'POST', '/api/v1/chats/new', { chat: { title, messages: [] } })).json.id as string
  return { admin, ada, call, newChat, deps }
}

const allowedIn = (grant: Grant) => grant === 'default' || grant === 'denied, group grants it'
const GRANTS: Grant[] = ['default', 'denied', 'denied, group without it', 'denied, group grants it']
const REFUSED = { detail: 'You do not have permission to do this.', code: 'permission_denied' }

describe('chat.delete (web deleteChatById, deleteAllChats, deleteFolderById)', () => {
  for (const grant of GRANTS) {
    test(`${grant}: ${allowedIn(grant) ? 'deletes' : 'refuses, keeping the chats'}`, async () => {
      const { admin, ada, call, newChat } = await setUp('chat.delete', grant)
      const one = await newChat(ada)
      const deleted = await call(ada, 'DELETE', `/api/v1/chats/${one}`)
      const folder = (await call(ada, 'POST', '/api/v1/folders/', { name: 'Work' })).json.id as string
      const filed = await newChat(ada, 'Filed')
      expect((await call(ada, 'POST', `/api/v1/chats/${filed}/folder`, { folder_id: folder })).status).toBe(200)
      const folderGone = await call(ada, 'DELETE', `/api/v1/folders/${folder}`)
      const all = await call(ada, 'DELETE', '/api/v1/chats/')
      if (allowedIn(grant)) {
        expect([deleted, folderGone, all].map((answer) => answer.json)).toEqual([true, true, true])
        for (const id of [one, filed]) expect((await call(ada, 'GET', `/api/v1/chats/${id}`)).status).toBe(404)
        return
      }
      for (const answer of [deleted, folderGone, all]) expect(answer).toEqual({ status: 403, json: REFUSED })
      for (const id of [one, filed]) expect((await call(ada, 'GET', `/api/v1/chats/${id}`)).status).toBe(200)
      // note: a folder without chats, or one whose chats are kept (delete_contents=false), goes as before.
      const empty = (await call(ada, 'POST', '/api/v1/folders/', { name: 'Empty' })).json.id as string
      expect((await call(ada, 'DELETE', `/api/v1/folders/${empty}`)).json).toBe(true)
      expect((await call(ada, 'DELETE', `/api/v1/folders/${folder}?delete_contents=false`)).json).toBe(true)
      expect((await call(ada, 'GET', `/api/v1/chats/${filed}`)).status).toBe(200)
      // note: admins are not held to it.
      const admins = await newChat(admin)
      expect((await call(admin, 'DELETE', `/api/v1/chats/${admins}`)).json).toBe(true)
    })
  }
})

describe('chat.delete and a folder deleted while a chat is filed into it', () => {
  test('denied: the chat filed after the check is kept, outside any folder', async () => {
    const { ada, call, newChat, deps } = await setUp('chat.delete', 'denied')
    const folder = (await call(ada, 'POST', '/api/v1/folders/', { name: 'Work' })).json.id as string
    const late = await newChat(ada, 'Late')
    // the chat is filed (web moveChatToFolder) just after the folder's chats are first read
    const repo = deps.store.chatFolders
    const list = repo.listChatIdsInFolder
    let isFiled = false
    repo.listChatIdsInFolder = async (...args) => {
      const ids = await list.apply(repo, args)
      if (!isFiled) {
        isFiled = true
        expect(await repo.setChatFolder(ada.id as never, late as never, folder as never, Date.now())).toBe(true)
      }
      return ids
    }
    expect(await call(ada, 'DELETE', `/api/v1/folders/${folder}`)).toEqual({ status: 200, json: true })
    repo.listChatIdsInFolder = list
    expect(isFiled).toBe(true)
    const chat = await call(ada, 'GET', `/api/v1/chats/${late}`)
    expect(chat.status).toBe(200)
    expect(chat.json.folder_id).toBeNull()
    expect((await call(ada, 'GET', '/api/v1/folders/')).json).toEqual([])
  })
})

describe('chat.file_upload (web uploadFile, Conduit uploadFile)', () => {
  for (const grant of GRANTS) {
    test(`${grant}: ${allowedIn(grant) ? 'stores the upload' : 'refuses it, storing nothing'}`, async () => {
      const { admin, ada, call } = await setUp('chat.file_upload', grant)
      const form = () => {
        const body = new FormData()
        body.append('file', new File(['Kestrels hover.'], 'notes.txt', { type: 'text/plain' }))
        return body
      }
      const uploaded = await call(ada, 'POST', '/api/v1/files/?process=false', form())
      const text = await call(ada, 'POST', '/api/v1/retrieval/process/text', { name: 'notes', content: 'Kestrels hover.' })
      if (allowedIn(grant)) {
        expect(uploaded.status).toBe(200)
        expect(uploaded.json).toMatchObject({ filename: 'notes.txt' })
        expect(text.status).not.toBe(403)
        return
      }
      expect(uploaded).toEqual({ status: 403, json: REFUSED })
      expect(text).toEqual({ status: 403, json: REFUSED })
      expect((await call(ada, 'GET', '/api/v1/files/')).json).toEqual([])
      expect((await call(admin, 'POST', '/api/v1/files/?process=false', form())).status).toBe(200)
    })
  }
})

describe('chat.share (web shareChatById)', () => {
  for (const grant of GRANTS) {
    test(`${grant}: ${allowedIn(grant) ? 'makes the link' : 'refuses the link'}`, async () => {
      const { admin, ada, call, newChat } = await setUp('chat.share', grant)
      const chat = await newChat(ada)
      const shared = await call(ada, 'POST', `/api/v1/chats/${chat}/share`)
      if (allowedIn(grant)) {
        expect(shared.status).toBe(200)
        expect(typeof shared.json.share_id).toBe('string')
        return
      }
      expect(shared).toEqual({ status: 403, json: REFUSED })
      expect((await call(ada, 'GET', '/api/v1/chats/shared')).json).toEqual([])
      expect((await call(admin, 'POST', `/api/v1/chats/${await newChat(admin)}/share`)).status).toBe(200)
    })
  }
})

const PUBLIC_GRANT = { access_grants: [{ principal_type: 'user', principal_id: '*', permission: 'read' }] }
const PUBLIC_REFUSED = { status: 403, json: { detail: 'You do not have permission to make this public.', code: 'public_sharing_denied' } }

describe('sharing.public_knowledge (web createNewKnowledge, updateKnowledgeById, updateKnowledgeAccessGrants)', () => {
  for (const grant of GRANTS) {
    test(`${grant}: ${allowedIn(grant) ? 'makes a base public' : 'refuses public, keeps it private'}`, async () => {
      const { admin, ada, call } = await setUp('sharing.public_knowledge', grant)
      const created = await call(ada, 'POST', '/api/v1/knowledge/create', { name: 'Notes', description: '', access_control: null })
      const base = (await call(ada, 'POST', '/api/v1/knowledge/create', { name: 'Private', description: '', access_control: {} })).json.id as string
      const accessed = await call(ada, 'POST', `/api/v1/knowledge/${base}/access/update`, PUBLIC_GRANT)
      const updated = await call(ada, 'POST', `/api/v1/knowledge/${base}/update`, { name: 'Private', access_control: null })
      if (allowedIn(grant)) {
        for (const answer of [created, accessed, updated]) expect(answer.status).toBe(200)
        expect((await call(admin, 'GET', `/api/v1/knowledge/${base}`)).json.access_control).toBeNull()
        return
      }
      for (const answer of [created, accessed, updated]) expect(answer).toEqual(PUBLIC_REFUSED)
      expect((await call(ada, 'GET', `/api/v1/knowledge/${base}`)).json.access_control).not.toBeNull()
      expect((await call(ada, 'GET', '/api/v1/knowledge/')).json.items.map((item: { name: string }) => item.name)).toEqual(['Private'])
      // note: a grant to a group or a user is still the owner's to give.
      expect((await call(ada, 'POST', `/api/v1/knowledge/${base}/access/update`, { access_grants: [{ principal_type: 'user', principal_id: admin.id, permission: 'read' }] })).status).toBe(200)
      expect((await call(admin, 'POST', '/api/v1/knowledge/create', { name: 'Everyone', description: '', access_control: null })).status).toBe(200)
    })
  }
})

describe('sharing.public_prompts (web createNewPrompt, updatePromptById)', () => {
  for (const grant of GRANTS) {
    test(`${grant}: ${allowedIn(grant) ? 'makes a prompt public' : 'refuses public, keeps it private'}`, async () => {
      const { admin, ada, call } = await setUp('sharing.public_prompts', grant)
      const prompt = (command: string, access: unknown) => ({ command: `/${command}`, title: command, content: 'Hi', access_control: access })
      const created = await call(ada, 'POST', '/api/v1/prompts/create', prompt('open', null))
      const id = (await call(ada, 'POST', '/api/v1/prompts/create', prompt('mine', {}))).json.id as string
      const updated = await call(ada, 'POST', `/api/v1/prompts/id/${id}/update`, prompt('mine', null))
      const byCommand = await call(ada, 'POST', '/api/v1/prompts/command/mine/update', prompt('mine', null))
      if (allowedIn(grant)) {
        for (const answer of [created, updated, byCommand]) expect(answer.status).toBe(200)
        expect(updated.json.access_control).toBeNull()
        return
      }
      for (const answer of [created, updated, byCommand]) expect(answer).toEqual(PUBLIC_REFUSED)
      expect((await call(ada, 'GET', `/api/v1/prompts/id/${id}`)).json.access_control).toEqual({})
      expect((await call(admin, 'GET', '/api/v1/prompts/')).json.map((item: { command: string }) => item.command)).toEqual(['/mine'])
      expect((await call(admin, 'POST', '/api/v1/prompts/create', prompt('everyone', null))).status).toBe(200)
    })
  }
})

describe('sharing.public_models (web createNewModel, updateModelById, updateModelAccessGrants)', () => {
  for (const grant of GRANTS) {
    test(`${grant}: ${allowedIn(grant) ? 'makes a model public' : 'refuses public, keeps it private'}`, async () => {
      const { admin, ada, call } = await setUp('sharing.public_models', grant)
      const model = (id: string, access: unknown) => ({ id, base_model_id: 'qwen2.5:0.5b', name: id, meta: {}, params: {}, access_control: access, is_active: true })
      const created = await call(ada, 'POST', '/api/v1/models/create', model('open', null))
      expect((await call(ada, 'POST', '/api/v1/models/create', model('mine', {}))).status).toBe(200)
      const accessed = await call(ada, 'POST', '/api/v1/models/model/access/update', { id: 'mine', name: 'mine', ...PUBLIC_GRANT })
      const updated = await call(ada, 'POST', '/api/v1/models/model/update?id=mine', model('mine', null))
      if (allowedIn(grant)) {
        for (const answer of [created, accessed, updated]) expect(answer.status).toBe(200)
        expect((await call(admin, 'GET', '/api/v1/models/model?id=mine')).json.access_control).toBeNull()
        return
      }
      for (const answer of [created, accessed, updated]) expect(answer).toEqual(PUBLIC_REFUSED)
      expect((await call(ada, 'GET', '/api/v1/models/model?id=mine')).json.access_control).toEqual({})
      expect((await call(ada, 'GET', '/api/v1/models/model?id=open')).status).toBe(404)
      expect((await call(admin, 'POST', '/api/v1/models/create', model('everyone', null))).status).toBe(200)
    })
  }

  test('denied: a model already public stays public on a save that leaves its access as it is', async () => {
    const { admin, ada, call } = await setUp('sharing.public_models', 'denied')
    const defaults = (await call(admin, 'GET', '/api/v1/users/default/permissions')).json as Tree
    expect((await call(admin, 'POST', '/api/v1/users/default/permissions', { ...defaults, workspace: { ...defaults.workspace, models_import: true } })).status).toBe(200)
    const model = (id: string, access: unknown) => ({ id, base_model_id: 'qwen2.5:0.5b', name: id, meta: {}, params: {}, access_control: access, is_active: true })
    expect((await call(ada, 'POST', '/api/v1/models/create', model('shared', {}))).status).toBe(200)
    expect((await call(admin, 'POST', '/api/v1/models/model/update?id=shared', model('shared', null))).status).toBe(200)
    // web AccessControlModal posts the list it was shown back (updateModelAccessGrants); an export re-imported (importModels)
    const accessed = await call(ada, 'POST', '/api/v1/models/model/access/update', { id: 'shared', name: 'shared', ...PUBLIC_GRANT })
    const updated = await call(ada, 'POST', '/api/v1/models/model/update?id=shared', model('shared', null))
    const imported = await call(ada, 'POST', '/api/v1/models/import', { models: [{ ...model('shared', null), name: 'Renamed' }] })
    for (const answer of [accessed, updated, imported]) expect(answer.status).toBe(200)
    const stored = (await call(admin, 'GET', '/api/v1/models/model?id=shared')).json
    expect([stored.name, stored.access_control]).toEqual(['Renamed', null])
    // a private one is still not made public by an import, and nothing of that import is written
    expect((await call(ada, 'POST', '/api/v1/models/create', model('mine', {}))).status).toBe(200)
    expect(await call(ada, 'POST', '/api/v1/models/import', { models: [model('shared', null), model('mine', null)] })).toEqual(PUBLIC_REFUSED)
    expect((await call(ada, 'GET', '/api/v1/models/model?id=mine')).json.access_control).toEqual({})
    expect((await call(admin, 'GET', '/api/v1/models/model?id=shared')).json.name).toBe('Renamed')
  })
})

describe('features.folders (web getFolders, createNewFolder; Conduit folders)', () => {
  for (const grant of GRANTS) {
    test(`${grant}: ${allowedIn(grant) ? 'folders work' : 'every folder route refuses'}`, async () => {
      const { admin, ada, call } = await setUp('features.folders', grant)
      const created = await call(ada, 'POST', '/api/v1/folders/', { name: 'Work' })
      const listed = await call(ada, 'GET', '/api/v1/folders/')
      if (allowedIn(grant)) {
        expect(created.status).toBe(200)
        expect(listed.json.map((folder: { name: string }) => folder.name)).toEqual(['Work'])
        return
      }
      for (const answer of [created, listed]) expect(answer).toEqual({ status: 403, json: REFUSED })
      expect((await call(admin, 'POST', '/api/v1/folders/', { name: 'Admin' })).status).toBe(200)
    })
  }
})
