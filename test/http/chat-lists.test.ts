import { describe, expect, test } from 'bun:test'
import { statusOf } from '../helpers/accounts.ts'
import { call, newChat, startWithThreeAccounts } from '../helpers/organisation.ts'

const CHATS = '/api/v1/chats'

type Summary = { id: string; title: string; updated_at: number; created_at: number; pinned?: boolean }
type OpenChat = { id: string; title: string; archived: boolean; chat: { title: string } }

describe('the page list, pinned and archived chats as Open WebUI and Conduit read them', async () => {
  const { app, ada, bob, pat, advance } = await startWithThreeAccounts()
  const older = await newChat(app, ada, 'Older')
  advance(1000)
  const pinnedChat = await newChat(app, ada, 'Pinned')
  await call(app, 'POST', `${CHATS}/${pinnedChat}/pin`, ada)
  const ids = async (path: string) => (await call<Summary[]>(app, 'GET', path, ada)).map((chat) => chat.id)

  test('the page list leaves pinned chats out unless include_pinned=true, so the sidebar shows them once', async () => {
    expect(await ids(`${CHATS}/?page=1`)).toEqual([older])
    expect(await ids(`${CHATS}/list?page=1`)).toEqual([older])
    expect(await ids(`${CHATS}/`)).toEqual([older])
    expect(await ids(`${CHATS}/pinned`)).toEqual([pinnedChat])
    // Conduit's request
    expect(await ids(`${CHATS}/?page=1&include_pinned=true&include_folders=true`)).toEqual([pinnedChat, older])
    expect(await ids(`${CHATS}/?page=1&include_pinned=true`)).toEqual([pinnedChat, older])
    expect(await statusOf(app, 'GET', `${CHATS}/?page=1&include_pinned=maybe`, ada)).toBe(422)
  })

  test('GET /{id}/pinned answers a bool', async () => {
    expect(await call<boolean>(app, 'GET', `${CHATS}/${pinnedChat}/pinned`, ada)).toBe(true)
    expect(await call<boolean>(app, 'GET', `${CHATS}/${older}/pinned`, ada)).toBe(false)
    expect(await statusOf(app, 'GET', `${CHATS}/${older}/pinned`, bob)).toBe(404)
    expect(await statusOf(app, 'GET', `${CHATS}/${older}/pinned`, pat)).toBe(403)
  })

  test('archive all, list all archived (whole chats), unarchive all', async () => {
    const bobs = await newChat(app, bob, "Bob's own")
    expect(await call<boolean>(app, 'POST', `${CHATS}/archive/all`, ada)).toBe(true)
    expect(await ids(`${CHATS}/?include_pinned=true`)).toEqual([])
    const archived = await call<OpenChat[]>(app, 'GET', `${CHATS}/all/archived`, ada)
    expect(archived.map((chat) => [chat.id, chat.archived, chat.chat.title]).sort()).toEqual([[older, true, 'Older'], [pinnedChat, true, 'Pinned']].sort())
    // Bob's chats are untouched by Ada's archive
    expect((await call<OpenChat>(app, 'GET', `${CHATS}/${bobs}`, bob)).archived).toBe(false)
    expect(await call<OpenChat[]>(app, 'GET', `${CHATS}/all/archived`, bob)).toEqual([])
    expect(await call<boolean>(app, 'POST', `${CHATS}/unarchive/all`, ada)).toBe(true)
    expect((await ids(`${CHATS}/?include_pinned=true`)).sort()).toEqual([older, pinnedChat].sort())
    expect(await statusOf(app, 'POST', `${CHATS}/archive/all`, pat)).toBe(403)
    expect(await statusOf(app, 'GET', `${CHATS}/all/archived`, {})).toBe(401)
  })

  test('GET /all answers every chat opened, as the frontend exports them', async () => {
    const all = await call<OpenChat[]>(app, 'GET', `${CHATS}/all`, ada)
    expect(all.map((chat) => chat.chat.title).sort()).toEqual(['Older', 'Pinned'])
  })
})
