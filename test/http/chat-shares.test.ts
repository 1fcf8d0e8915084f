import { describe, expect, test } from 'bun:test'
import { statusOf } from '../helpers/accounts.ts'
import { call, newChat, startWithThreeAccounts } from '../helpers/organisation.ts'
import { req } from '../helpers/test-app.ts'

const CHATS = '/api/v1/chats'

type OpenChat = {
  id: string; user_id: string; title: string; share_id: string | null; folder_id: string | null
  chat: { title: string; history: { currentId: string | null; messages: Record<string, { content: string }> } }
}

describe('sharing off (the default)', async () => {
  const { app, ada, bob } = await startWithThreeAccounts()
  const chat = await newChat(app, ada, 'Not for sharing')

  test('every share route answers 403, even for a chat of the caller', async () => {
    for (const [method, path] of [
      ['POST', `${CHATS}/${chat}/share`], ['DELETE', `${CHATS}/${chat}/share`],
      ['GET', `${CHATS}/share/${crypto.randomUUID()}`], ['POST', `${CHATS}/${crypto.randomUUID()}/clone/shared`],
    ] as const) {
      expect([method, path, await statusOf(app, method, path, ada)]).toEqual([method, path, 403])
      expect([method, path, await statusOf(app, method, path, bob)]).toEqual([method, path, 403])
    }
  })
})

describe('sharing on (ENABLE_COMMUNITY_SHARING=true)', async () => {
  const { app, ada, bob, pat, advance } = await startWithThreeAccounts({ ENABLE_COMMUNITY_SHARING: 'true' })
  const chat = await newChat(app, ada, 'Recipe', 'Bake at 180°C')

  test('share, read as another user, clone, renew, revoke', async () => {
    const shared = await call<OpenChat>(app, 'POST', `${CHATS}/${chat}/share`, ada)
    // The frontend builds the link from `id`; Conduit reads `share_id`.
    expect(shared.id).not.toBe(chat)
    expect(shared.share_id).toBe(shared.id)
    expect(shared.title).toBe('Recipe')
    // The owner's chat names its link, so the share dialog shows it instead of offering a new one.
    expect((await call<OpenChat>(app, 'GET', `${CHATS}/${chat}`, ada)).share_id).toBe(shared.id)

    const read = await call<OpenChat>(app, 'GET', `${CHATS}/share/${shared.id}`, bob)
    expect(read).toMatchObject({ id: shared.id, title: 'Recipe' })
    expect(Object.values(read.chat.history.messages).map((message) => message.content)).toEqual(['Bake at 180°C'])

    const clone = await call<OpenChat>(app, 'POST', `${CHATS}/${shared.id}/clone/shared`, bob)
    expect(clone.title).toBe('Clone of Recipe')
    expect(clone.id).not.toBe(chat)
    expect((await call<OpenChat>(app, 'GET', `${CHATS}/${clone.id}`, bob)).title).toBe('Clone of Recipe')
    expect(await statusOf(app, 'GET', `${CHATS}/${clone.id}`, ada)).toBe(404)

    // A snapshot: later changes show only after sharing again, under the same link.
    advance(2000)
    await call(app, 'POST', `${CHATS}/${chat}/rename`, ada, { title: 'Recipe v2' })
    expect((await call<OpenChat>(app, 'GET', `${CHATS}/share/${shared.id}`, bob)).title).toBe('Recipe')
    const renewed = await call<OpenChat>(app, 'POST', `${CHATS}/${chat}/share`, ada)
    expect(renewed.id).toBe(shared.id)
    expect((await call<OpenChat>(app, 'GET', `${CHATS}/share/${shared.id}`, bob)).title).toBe('Recipe v2')

    expect(await call<boolean>(app, 'DELETE', `${CHATS}/${chat}/share`, ada)).toBe(true)
    expect(await statusOf(app, 'GET', `${CHATS}/share/${shared.id}`, bob)).toBe(404)
    expect((await call<OpenChat>(app, 'GET', `${CHATS}/${chat}`, ada)).share_id).toBeNull()
    expect(await call<boolean>(app, 'DELETE', `${CHATS}/${chat}/share`, ada)).toBe(false)
  })

  test('a share goes with its chat', async () => {
    const doomed = await newChat(app, ada, 'Doomed')
    const shared = await call<OpenChat>(app, 'POST', `${CHATS}/${doomed}/share`, ada)
    expect(await statusOf(app, 'GET', `${CHATS}/share/${shared.id}`, bob)).toBe(200)
    await call(app, 'DELETE', `${CHATS}/${doomed}`, ada)
    expect(await statusOf(app, 'GET', `${CHATS}/share/${shared.id}`, bob)).toBe(404)
  })

  test("another user's chat is 404; unknown and malformed links are 404; pending is 403; anonymous is 401", async () => {
    const shared = await call<OpenChat>(app, 'POST', `${CHATS}/${chat}/share`, ada)
    expect(await statusOf(app, 'POST', `${CHATS}/${chat}/share`, bob)).toBe(404)
    expect(await statusOf(app, 'DELETE', `${CHATS}/${chat}/share`, bob)).toBe(404)
    expect(await statusOf(app, 'GET', `${CHATS}/share/${crypto.randomUUID()}`, bob)).toBe(404)
    expect(await statusOf(app, 'GET', `${CHATS}/share/..%2F${chat}`, bob)).toBe(404)
    // the chat's own id is not a link to it
    expect(await statusOf(app, 'GET', `${CHATS}/share/${chat}`, bob)).toBe(404)
    expect(await statusOf(app, 'POST', `${CHATS}/${chat}/clone/shared`, bob)).toBe(404)
    expect(await statusOf(app, 'GET', `${CHATS}/share/${shared.id}`, pat)).toBe(403)
    expect(await statusOf(app, 'POST', `${CHATS}/${shared.id}/clone/shared`, pat)).toBe(403)
    expect(await statusOf(app, 'GET', `${CHATS}/share/${shared.id}`, {})).toBe(401)
  })

  test("a share goes with its owner's account", async () => {
    const { app: other, ada: admin, bob: owner, bobId } = await startWithThreeAccounts({ ENABLE_COMMUNITY_SHARING: 'true' })
    const mine = await newChat(other, owner, 'Leaving')
    const shared = await call<OpenChat>(other, 'POST', `${CHATS}/${mine}/share`, owner)
    expect(await statusOf(other, 'GET', `${CHATS}/share/${shared.id}`, admin)).toBe(200)
    expect(await statusOf(other, 'DELETE', `/api/v1/users/${bobId}`, admin)).toBe(200)
    expect(await statusOf(other, 'GET', `${CHATS}/share/${shared.id}`, admin)).toBe(404)
  })

  // note: a save read against the held chat (a body of declared length) answers with the share's id read in its own statement (chats.ts, SavedAnswer).
  test("a save's answer names the chat's share as it is at the save: none, shared, renewed, revoked, then gone with the chat", async () => {
    const own = await newChat(app, ada, 'Saved while shared', 'Hi')
    const path = `${CHATS}/${own}`
    const save = async () => {
      const opened = await call<OpenChat>(app, 'GET', path, ada)
      const body = JSON.stringify({ chat: opened.chat })
      const res = await app.handle(req('POST', path, body, { ...ada, 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)) }))
      if (res.status !== 200) return { status: res.status, answer: null, after: null }
      const answer = await res.text()
      return { status: res.status, answer, after: await (await app.handle(req('GET', path, undefined, ada))).text() }
    }
    const before = await save()
    expect((JSON.parse(before.answer!) as OpenChat).share_id).toBeNull()
    expect(before.answer).toBe(before.after)
    const shared = await call<OpenChat>(app, 'POST', `${path}/share`, ada)
    const whileShared = await save()
    expect((JSON.parse(whileShared.answer!) as OpenChat).share_id).toBe(shared.id)
    expect(whileShared.answer).toBe(whileShared.after)
    expect((await call<OpenChat>(app, 'POST', `${path}/share`, ada)).id).toBe(shared.id)
    expect((JSON.parse((await save()).answer!) as OpenChat).share_id).toBe(shared.id)
    expect(await call<boolean>(app, 'DELETE', `${path}/share`, ada)).toBe(true)
    const revoked = await save()
    expect((JSON.parse(revoked.answer!) as OpenChat).share_id).toBeNull()
    expect(revoked.answer).toBe(revoked.after)
    const body = JSON.stringify({ chat: (await call<OpenChat>(app, 'GET', path, ada)).chat })
    expect(await call<boolean>(app, 'DELETE', path, ada)).toBe(true)
    const res = await app.handle(req('POST', path, body, { ...ada, 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)) }))
    expect(res.status).toBe(404)
  })
})
