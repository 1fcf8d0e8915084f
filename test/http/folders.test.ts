import { describe, expect, test } from 'bun:test'
import { statusOf } from '../helpers/accounts.ts'
import { req } from '../helpers/test-app.ts'
import { call, newChat, startWithThreeAccounts } from '../helpers/organisation.ts'

const FOLDERS = '/api/v1/folders'
const CHATS = '/api/v1/chats'

type Folder = {
  id: string; parent_id: string | null; user_id: string; name: string; meta: Record<string, unknown> | null; data: Record<string, unknown> | null
  is_expanded: boolean; created_at: number; updated_at: number; items?: { chats: { id: string; title: string; updated_at: number }[] }
}
type Summary = { id: string; title: string; updated_at: number }

describe('folders as the web frontend and Conduit use them', async () => {
  const { app, ada, bob, pat, adaId } = await startWithThreeAccounts()

  test('create (frontend and Conduit bodies), list, get, rename, expand', async () => {
    const work = await call<Folder>(app, 'POST', `${FOLDERS}/`, ada, { name: 'Work ✈' })
    expect(work).toMatchObject({ name: 'Work ✈', parent_id: null, user_id: adaId, is_expanded: false, data: null, meta: null })
    expect(typeof work.created_at).toBe('number')
    expect(work.created_at).toBeLessThan(10_000_000_000)
    // Conduit sends parent_id, data and meta.
    const sub = await call<Folder>(app, 'POST', `${FOLDERS}/`, ada, { name: 'Q3', parent_id: work.id, data: { system_prompt: 'Be brief.' }, meta: { icon: 'x' } })
    expect(sub).toMatchObject({ parent_id: work.id, data: { system_prompt: 'Be brief.' }, meta: { icon: 'x' } })

    expect(await statusOf(app, 'POST', `${FOLDERS}/`, ada, { name: 'Work ✈' })).toBe(400)
    const listed = await call<Folder[]>(app, 'GET', `${FOLDERS}/`, ada)
    expect(listed.map((folder) => folder.name).sort()).toEqual(['Q3', 'Work ✈'])
    expect(listed[0]!.items).toEqual({ chats: [] })
    expect(await call<Folder>(app, 'GET', `${FOLDERS}/${sub.id}`, ada)).toMatchObject({ name: 'Q3' })

    const renamed = await call<Folder>(app, 'POST', `${FOLDERS}/${sub.id}/update`, ada, { name: 'Q4' })
    expect(renamed).toMatchObject({ name: 'Q4', data: { system_prompt: 'Be brief.' } })
    // Conduit's system prompt update sends data only; data merges into what is stored.
    const prompted = await call<Folder>(app, 'POST', `${FOLDERS}/${sub.id}/update`, ada, { data: { system_prompt: 'Be kind.', files: [] } })
    expect(prompted).toMatchObject({ name: 'Q4', data: { system_prompt: 'Be kind.', files: [] } })

    const expanded = await call<Folder>(app, 'POST', `${FOLDERS}/${work.id}/update/expanded`, ada, { is_expanded: true })
    expect(expanded.is_expanded).toBe(true)
    expect((await call<Folder>(app, 'GET', `${FOLDERS}/${work.id}`, ada)).is_expanded).toBe(true)
  })

  test('move: under another folder, to the top, never under itself or its own subfolder', async () => {
    const a = await call<Folder>(app, 'POST', `${FOLDERS}/`, ada, { name: 'A' })
    const b = await call<Folder>(app, 'POST', `${FOLDERS}/`, ada, { name: 'B', parent_id: a.id })
    const c = await call<Folder>(app, 'POST', `${FOLDERS}/`, ada, { name: 'C', parent_id: b.id })
    expect(await statusOf(app, 'POST', `${FOLDERS}/${a.id}/update/parent`, ada, { parent_id: c.id })).toBe(400)
    expect(await statusOf(app, 'POST', `${FOLDERS}/${a.id}/update/parent`, ada, { parent_id: a.id })).toBe(400)
    expect((await call<Folder>(app, 'POST', `${FOLDERS}/${c.id}/update/parent`, ada, { parent_id: a.id })).parent_id).toBe(a.id)
    // The frontend sends { parent_id: undefined } (no key) to move to the top; Conduit sends null.
    expect((await call<Folder>(app, 'POST', `${FOLDERS}/${c.id}/update/parent`, ada, {})).parent_id).toBeNull()
    expect((await call<Folder>(app, 'POST', `${FOLDERS}/${b.id}/update/parent`, ada, { parent_id: null })).parent_id).toBeNull()
    expect(await statusOf(app, 'POST', `${FOLDERS}/${b.id}/update/parent`, ada, { parent_id: crypto.randomUUID() })).toBe(404)
  })

  test("another user's folder is 404 everywhere; a pending user is 403; no credential is 401", async () => {
    const mine = await call<Folder>(app, 'POST', `${FOLDERS}/`, ada, { name: 'Private' })
    const chat = await newChat(app, bob, "Bob's")
    for (const [method, path, body] of [
      ['GET', `${FOLDERS}/${mine.id}`, undefined],
      ['POST', `${FOLDERS}/${mine.id}/update`, { name: 'x' }],
      ['POST', `${FOLDERS}/${mine.id}/update/parent`, { parent_id: null }],
      ['POST', `${FOLDERS}/${mine.id}/update/expanded`, { is_expanded: true }],
      ['DELETE', `${FOLDERS}/${mine.id}`, undefined],
      ['GET', `${CHATS}/folder/${mine.id}`, undefined],
      ['GET', `${CHATS}/folder/${mine.id}/list?page=1`, undefined],
      ['POST', `${CHATS}/${chat}/folder`, { folder_id: mine.id }],
      ['POST', `${FOLDERS}/`, { name: 'Sub', parent_id: mine.id }],
    ] as const) expect([method, path, await statusOf(app, method, path, bob, body)]).toEqual([method, path, 404])
    expect(await call<Folder[]>(app, 'GET', `${FOLDERS}/`, bob)).toEqual([])
    expect(await statusOf(app, 'GET', `${FOLDERS}/`, pat)).toBe(403)
    expect(await statusOf(app, 'POST', `${FOLDERS}/`, pat, { name: 'x' })).toBe(403)
    expect(await statusOf(app, 'GET', `${FOLDERS}/`, {})).toBe(401)
    expect((await call<Folder>(app, 'GET', `${FOLDERS}/${mine.id}`, ada)).name).toBe('Private')
  })

  test.each([
    ['no name', {}, 422],
    ['name not a string', { name: 5 }, 422],
    ['huge name', { name: 'x'.repeat(1001) }, 422],
    ['data not an object', { name: 'ok', data: [1] }, 422],
    ['meta a string', { name: 'ok3', meta: 'x' }, 422],
    ['malformed parent', { name: 'ok2', parent_id: '../etc' }, 404],
  ])('create refuses %s', async (_, body, status) => {
    expect(await statusOf(app, 'POST', `${FOLDERS}/`, ada, body)).toBe(status)
  })

  test('malformed ids and bodies', async () => {
    expect(await statusOf(app, 'GET', `${FOLDERS}/not-a-uuid`, ada)).toBe(404)
    const folder = await call<Folder>(app, 'POST', `${FOLDERS}/`, ada, { name: 'Shape' })
    expect(await statusOf(app, 'POST', `${FOLDERS}/${folder.id}/update/expanded`, ada, { is_expanded: 'yes' })).toBe(422)
    expect(await statusOf(app, 'POST', `${FOLDERS}/${folder.id}/update/parent`, ada, { parent_id: 7 })).toBe(422)
  })
})

describe('chats in folders', async () => {
  const { app, ada, bob } = await startWithThreeAccounts()

  test('move a chat in and out; the page list leaves filed chats out unless include_folders', async () => {
    const folder = await call<Folder>(app, 'POST', `${FOLDERS}/`, ada, { name: 'Trips' })
    const filed = await newChat(app, ada, 'Lisbon')
    const loose = await newChat(app, ada, 'Groceries')
    await call(app, 'POST', `${CHATS}/${filed}/pin`, ada)
    const moved = await call<{ id: string; folder_id: string | null; pinned: boolean }>(app, 'POST', `${CHATS}/${filed}/folder`, ada, { folder_id: folder.id })
    expect(moved).toMatchObject({ id: filed, folder_id: folder.id, pinned: false })
    expect((await call<{ folder_id: string }>(app, 'GET', `${CHATS}/${filed}`, ada)).folder_id).toBe(folder.id)

    expect((await call<Summary[]>(app, 'GET', `${CHATS}/?page=1`, ada)).map((chat) => chat.id)).toEqual([loose])
    expect((await call<Summary[]>(app, 'GET', `${CHATS}/?page=1&include_folders=true`, ada)).map((chat) => chat.id).sort()).toEqual([filed, loose].sort())
    const inFolder = await call<Summary[]>(app, 'GET', `${CHATS}/folder/${folder.id}/list?page=1`, ada)
    expect(inFolder).toEqual([{ id: filed, title: 'Lisbon', updated_at: expect.any(Number) }])
    const full = await call<{ id: string; chat: { title: string } }[]>(app, 'GET', `${CHATS}/folder/${folder.id}`, ada)
    expect(full.map((chat) => [chat.id, chat.chat.title])).toEqual([[filed, 'Lisbon']])
    const listed = await call<Folder[]>(app, 'GET', `${FOLDERS}/`, ada)
    expect(listed.find((entry) => entry.id === folder.id)!.items!.chats.map((chat) => chat.id)).toEqual([filed])

    const out = await call<{ folder_id: string | null }>(app, 'POST', `${CHATS}/${filed}/folder`, ada, { folder_id: null })
    expect(out.folder_id).toBeNull()
    expect(await call<Summary[]>(app, 'GET', `${CHATS}/folder/${folder.id}/list?page=1`, ada)).toEqual([])
  })

  test("create and save refuse a folder_id not one of the caller's, 404 as /folder does; import files that chat outside any folder", async () => {
    // as Open WebUI's create_new_chat (routers/chats.py): a chat filed there would show in none of the caller's lists nor folders
    const own = await call<Folder>(app, 'POST', `${FOLDERS}/`, ada, { name: 'Mine to file in' })
    const bobs = await call<Folder>(app, 'POST', `${FOLDERS}/`, bob, { name: "Bob's folder" })
    const chat = { title: 'Filed', models: ['llama3'], history: { currentId: 'm1', messages: { m1: { id: 'm1', parentId: null, childrenIds: [], role: 'user', content: 'Hello', timestamp: 1 } } } }
    const saved = await newChat(app, ada, 'Saved into a folder')
    const opened = await call<{ chat: Record<string, unknown> }>(app, 'GET', `${CHATS}/${saved}`, ada)
    const before = await call<Summary[]>(app, 'GET', `${CHATS}/?include_folders=true&include_pinned=true`, ada)
    for (const folderId of [bobs.id, crypto.randomUUID(), '../etc', 'x'.repeat(128)]) {
      for (const [path, body] of [
        [`${CHATS}/new`, { chat, folder_id: folderId }],
        // a save of a chat object (read whole), and one of the chat as opened (read against the chat held open)
        [`${CHATS}/${saved}`, { chat: { title: 'moved' }, folder_id: folderId }],
        [`${CHATS}/${saved}`, { chat: opened.chat, folder_id: folderId }],
      ] as const) {
        const sent = JSON.stringify(body)
        // note: with its length declared, as clients send it, so that a save is read against the chat held open (chats.ts, saveChatBytesForUser)
        const res = await app.handle(req('POST', path, sent, { ...ada, 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(sent)) }))
        expect([path, folderId, res.status]).toEqual([path, folderId, 404])
        expect(await res.json()).toMatchObject({ code: 'folder_not_found' })
      }
    }
    expect(await call<Summary[]>(app, 'GET', `${CHATS}/?include_folders=true&include_pinned=true`, ada)).toEqual(before)
    // Open WebUI's page imports an export with each chat's folder_id (ids of the server it came from): the chat is kept, outside any folder, listed
    const strays = await call<{ id: string; folder_id: string | null }[]>(app, 'POST', `${CHATS}/import`, ada, { chats: [bobs.id, crypto.randomUUID(), '../etc'].map((folderId) => ({ chat, folder_id: folderId })) })
    expect(strays.map((entry) => entry.folder_id)).toEqual([null, null, null])
    const listed = (await call<Summary[]>(app, 'GET', `${CHATS}/`, ada)).map((entry) => entry.id)
    for (const stray of strays) expect(listed).toContain(stray.id)
    expect(await call<Summary[]>(app, 'GET', `${CHATS}/folder/${bobs.id}/list?page=1`, bob)).toEqual([])
    expect((await call<{ folder_id: string | null; title: string }>(app, 'GET', `${CHATS}/${saved}`, ada))).toMatchObject({ folder_id: null, title: 'Saved into a folder' })

    // the caller's own folder is taken by each, and the chats show in it
    const created = await call<{ id: string; folder_id: string }>(app, 'POST', `${CHATS}/new`, ada, { chat, folder_id: own.id })
    const [imported] = await call<{ id: string; folder_id: string }[]>(app, 'POST', `${CHATS}/import`, ada, { chats: [{ chat, folder_id: own.id }] })
    expect((await call<{ folder_id: string }>(app, 'POST', `${CHATS}/${saved}`, ada, { chat: opened.chat, folder_id: own.id })).folder_id).toBe(own.id)
    expect([created.folder_id, imported!.folder_id]).toEqual([own.id, own.id])
    expect((await call<Summary[]>(app, 'GET', `${CHATS}/folder/${own.id}/list?page=1`, ada)).map((entry) => entry.id).sort()).toEqual([created.id, imported!.id, saved].sort())
    // a save that sends the folder it is already in, or none, is not refused
    expect((await call<{ folder_id: string }>(app, 'POST', `${CHATS}/${saved}`, ada, { chat: { title: 'again' }, folder_id: own.id })).folder_id).toBe(own.id)
    expect((await call<{ folder_id: string | null }>(app, 'POST', `${CHATS}/${saved}`, ada, { chat: { title: 'out' }, folder_id: null })).folder_id).toBeNull()
  })

  test('a folder lists ten chats to a page, as Conduit expects', async () => {
    const folder = await call<Folder>(app, 'POST', `${FOLDERS}/`, ada, { name: 'Many' })
    for (let i = 0; i < 12; i++) await call(app, 'POST', `${CHATS}/${await newChat(app, ada, `n${i}`)}/folder`, ada, { folder_id: folder.id })
    expect(await call<Summary[]>(app, 'GET', `${CHATS}/folder/${folder.id}/list?page=1`, ada)).toHaveLength(10)
    expect(await call<Summary[]>(app, 'GET', `${CHATS}/folder/${folder.id}/list?page=2`, ada)).toHaveLength(2)
  })

  test('deleting a folder takes its subfolders and, by default, their chats', async () => {
    const top = await call<Folder>(app, 'POST', `${FOLDERS}/`, ada, { name: 'Doomed' })
    const sub = await call<Folder>(app, 'POST', `${FOLDERS}/`, ada, { name: 'Doomed too', parent_id: top.id })
    const a = await newChat(app, ada, 'in top')
    const b = await newChat(app, ada, 'in sub')
    await call(app, 'POST', `${CHATS}/${a}/folder`, ada, { folder_id: top.id })
    await call(app, 'POST', `${CHATS}/${b}/folder`, ada, { folder_id: sub.id })
    // Conduit sends no query: Open WebUI's default deletes the contents.
    expect(await call<boolean>(app, 'DELETE', `${FOLDERS}/${top.id}`, ada)).toBe(true)
    expect(await statusOf(app, 'GET', `${FOLDERS}/${sub.id}`, ada)).toBe(404)
    expect(await statusOf(app, 'GET', `${CHATS}/${a}`, ada)).toBe(404)
    expect(await statusOf(app, 'GET', `${CHATS}/${b}`, ada)).toBe(404)
  })

  test('deleting a folder with delete_contents=false keeps its chats, outside any folder', async () => {
    const top = await call<Folder>(app, 'POST', `${FOLDERS}/`, ada, { name: 'Emptied' })
    const sub = await call<Folder>(app, 'POST', `${FOLDERS}/`, ada, { name: 'Emptied too', parent_id: top.id })
    const a = await newChat(app, ada, 'kept top')
    const b = await newChat(app, ada, 'kept sub')
    await call(app, 'POST', `${CHATS}/${a}/folder`, ada, { folder_id: top.id })
    await call(app, 'POST', `${CHATS}/${b}/folder`, ada, { folder_id: sub.id })
    expect(await call<boolean>(app, 'DELETE', `${FOLDERS}/${top.id}?delete_contents=false`, ada)).toBe(true)
    expect(await statusOf(app, 'GET', `${FOLDERS}/${sub.id}`, ada)).toBe(404)
    for (const id of [a, b]) expect((await call<{ folder_id: string | null }>(app, 'GET', `${CHATS}/${id}`, ada)).folder_id).toBeNull()
    const loose = (await call<Summary[]>(app, 'GET', `${CHATS}/`, ada)).map((chat) => chat.id)
    expect(loose).toContain(a)
    expect(loose).toContain(b)
  })
})
