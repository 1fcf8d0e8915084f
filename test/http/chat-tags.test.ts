import { describe, expect, test } from 'bun:test'
import { statusOf } from '../helpers/accounts.ts'
import { call, newChat, startWithThreeAccounts } from '../helpers/organisation.ts'

const CHATS = '/api/v1/chats'

type Tag = { id: string; name: string; user_id: string; meta: unknown }
type Summary = { id: string; title: string; updated_at: number; created_at: number }

describe('tags as the web frontend and Conduit use them', async () => {
  const { app, ada, bob, pat, adaId } = await startWithThreeAccounts()
  const trip = await newChat(app, ada, 'Lisbon trip', 'pastéis de nata')
  const budget = await newChat(app, ada, 'Budget', 'pastéis cost')
  const plain = await newChat(app, ada, 'Untagged', 'pastéis again')

  test('add, list, remove; ids are lower-case with underscores, the first spelling kept', async () => {
    const added = await call<Tag[]>(app, 'POST', `${CHATS}/${trip}/tags`, ada, { name: 'Summer Travel' })
    expect(added).toEqual([{ id: 'summer_travel', name: 'Summer Travel', user_id: adaId, meta: null }])
    await call(app, 'POST', `${CHATS}/${trip}/tags`, ada, { name: 'Food' })
    // the same tag again, spelled otherwise, is the same tag
    expect(await call<Tag[]>(app, 'POST', `${CHATS}/${trip}/tags`, ada, { name: 'summer travel' })).toHaveLength(2)
    const onBudget = await call<Tag[]>(app, 'POST', `${CHATS}/${budget}/tags`, ada, { name: 'FOOD' })
    expect(onBudget).toEqual([{ id: 'food', name: 'Food', user_id: adaId, meta: null }])

    expect((await call<Tag[]>(app, 'GET', `${CHATS}/${trip}/tags`, ada)).map((tag) => tag.id)).toEqual(['summer_travel', 'food'])
    const all = await call<Tag[]>(app, 'GET', `${CHATS}/all/tags`, ada)
    expect(all.map((tag) => tag.name).sort()).toEqual(['Food', 'Summer Travel'])
    expect(await call<Tag[]>(app, 'GET', `${CHATS}/tags`, ada)).toEqual(all)

    // Conduit's paged request for the chats with a tag
    const tagged = await call<Summary[]>(app, 'POST', `${CHATS}/tags`, ada, { name: 'food', skip: 0, limit: 50 })
    expect(tagged.map((chat) => chat.id).sort()).toEqual([trip, budget].sort())
    expect(tagged[0]).toEqual({ id: expect.any(String), title: expect.any(String), updated_at: expect.any(Number), created_at: expect.any(Number) })
    expect(await call<Summary[]>(app, 'POST', `${CHATS}/tags`, ada, { name: 'food', skip: 1, limit: 50 })).toHaveLength(1)

    expect((await call<Tag[]>(app, 'DELETE', `${CHATS}/${trip}/tags`, ada, { name: 'Food' })).map((tag) => tag.id)).toEqual(['summer_travel'])
    expect(await call<boolean>(app, 'DELETE', `${CHATS}/${trip}/tags/all`, ada)).toBe(true)
    expect(await call<Tag[]>(app, 'GET', `${CHATS}/${trip}/tags`, ada)).toEqual([])
    // a tag no chat carries any more is gone from the user's tags
    expect((await call<Tag[]>(app, 'GET', `${CHATS}/all/tags`, ada)).map((tag) => tag.id)).toEqual(['food'])
  })

  test('search filters by tag: tag:name as Open WebUI reads it, with text, and tag:none', async () => {
    await call(app, 'POST', `${CHATS}/${trip}/tags`, ada, { name: 'Summer Travel' })
    const ids = async (text: string) => (await call<Summary[]>(app, 'GET', `${CHATS}/search?text=${encodeURIComponent(text)}&page=1`, ada)).map((chat) => chat.id).sort()
    expect(await ids('pastéis')).toEqual([trip, budget, plain].sort())
    expect(await ids('tag:summer_travel')).toEqual([trip])
    expect(await ids('tag:food pastéis')).toEqual([budget])
    expect(await ids('tag:food tag:summer_travel')).toEqual([])
    expect(await ids('tag:none pastéis')).toEqual([plain])
    expect(await ids('tag:food nata')).toEqual([])
  })

  test("another user's chat is 404; a pending user is 403; Bob sees none of Ada's tags", async () => {
    for (const [method, path, body] of [
      ['GET', `${CHATS}/${budget}/tags`, undefined],
      ['POST', `${CHATS}/${budget}/tags`, { name: 'mine' }],
      ['DELETE', `${CHATS}/${budget}/tags`, { name: 'food' }],
      ['DELETE', `${CHATS}/${budget}/tags/all`, undefined],
      ['GET', `${CHATS}/not-a-uuid/tags`, undefined],
    ] as const) expect([method, path, await statusOf(app, method, path, bob, body)]).toEqual([method, path, 404])
    expect(await call<Tag[]>(app, 'GET', `${CHATS}/all/tags`, bob)).toEqual([])
    expect(await call<Summary[]>(app, 'POST', `${CHATS}/tags`, bob, { name: 'food' })).toEqual([])
    expect(await call<Summary[]>(app, 'GET', `${CHATS}/search?text=tag:food`, bob)).toEqual([])
    expect(await statusOf(app, 'GET', `${CHATS}/all/tags`, pat)).toBe(403)
    expect(await statusOf(app, 'POST', `${CHATS}/tags`, pat, { name: 'food' })).toBe(403)
    expect(await statusOf(app, 'GET', `${CHATS}/all/tags`, {})).toBe(401)
    expect((await call<Tag[]>(app, 'GET', `${CHATS}/${budget}/tags`, ada)).map((tag) => tag.id)).toEqual(['food'])
  })

  test.each([
    ['no name', {}, 422],
    ['empty name', { name: '' }, 422],
    ['name not a string', { name: ['a'] }, 422],
    ['huge name', { name: 'x'.repeat(201) }, 422],
    ["Open WebUI's reserved None", { name: 'None' }, 400],
  ])('adding a tag refuses %s', async (_, body, status) => {
    expect(await statusOf(app, 'POST', `${CHATS}/${plain}/tags`, ada, body)).toBe(status)
  })
})
