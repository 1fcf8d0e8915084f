/**
 * Admins and other users' chats (ENABLE_ADMIN_CHAT_ACCESS): off by default, 404 and 403; on, reads
 * only, each audited; and the list route refuses the malformed and the unauthorised.
 */
import { describe, expect, test } from 'bun:test'
import { bearer, signUp } from '../helpers/accounts.ts'
import { req, startTestApp } from '../helpers/test-app.ts'

async function setUp(env: Record<string, string>) {
  const { app, audit } = startTestApp({ DEFAULT_USER_ROLE: 'user', ...env })
  const admin = await signUp(app, 'admin@example.com')
  const ada = await signUp(app, 'ada@example.com')
  const send = (method: string, path: string, token: string | null, body?: unknown, headers: Record<string, string> = {}) =>
    app.handle(req(method, path, body, { ...(token === null ? {} : bearer(token)), ...headers }))
  const chat = (await (await send('POST', '/api/v1/chats/new', ada.token, { chat: { title: 'Private plans', messages: [] } })).json()) as { id: string }
  return { app, audit, admin, ada, send, chat }
}

describe('ENABLE_ADMIN_CHAT_ACCESS', () => {
  test('off (the default): an admin gets 404 for a chat and 403 for a list, and nothing is audited as read', async () => {
    const { admin, ada, send, chat, audit } = await setUp({})
    expect((await send('GET', `/api/v1/chats/${chat.id}`, admin.token)).status).toBe(404)
    expect((await send('GET', `/api/v1/chats/list/user/${ada.id}`, admin.token)).status).toBe(403)
    expect(audit.entries.some((entry) => entry.event === 'admin_chat_read')).toBe(false)
  })

  test('on: reads are audited; writes, other users and malformed requests are refused', async () => {
    const { admin, ada, send, chat, audit } = await setUp({ ENABLE_ADMIN_CHAT_ACCESS: 'true' })
    expect((await send('GET', `/api/v1/chats/${chat.id}`, admin.token)).status).toBe(200)
    expect(audit.entries.filter((entry) => entry.event === 'admin_chat_read')).toEqual([expect.objectContaining({ actorId: admin.id, targetId: ada.id, details: { chat_id: chat.id } })])
    for (const [method, path, body] of [
      ['POST', `/api/v1/chats/${chat.id}`, { chat: { title: 'Taken' } }], ['DELETE', `/api/v1/chats/${chat.id}`, undefined],
      ['POST', `/api/v1/chats/${chat.id}/rename`, { title: 'Taken' }], ['POST', `/api/v1/chats/${chat.id}/pin`, undefined],
    ] as const) expect([path, (await send(method, path, admin.token, body)).status]).toEqual([path, 404])
    expect((await send('GET', `/api/v1/chats/${chat.id}`, ada.token)).status).toBe(200)
    expect(((await (await send('GET', `/api/v1/chats/${chat.id}`, ada.token)).json()) as { title: string }).title).toBe('Private plans')
    const refused: [string, string | null, number][] = [
      [`/api/v1/chats/list/user/${admin.id}`, ada.token, 403],
      [`/api/v1/chats/list/user/${ada.id}`, null, 401],
      [`/api/v1/chats/list/user/${'x'.repeat(65)}`, admin.token, 422],
      ['/api/v1/chats/list/user/no-such-user', admin.token, 404],
      [`/api/v1/chats/list/user/${ada.id}?page=0`, admin.token, 422],
      [`/api/v1/chats/list/user/${ada.id}?page=abc`, admin.token, 422],
      [`/api/v1/chats/list/user/${ada.id}?limit=100000`, admin.token, 422],
      ['/api/v1/chats/not-a-chat-id', admin.token, 404],
    ]
    for (const [path, token, status] of refused) expect([path, (await send('GET', path, token)).status]).toEqual([path, status])
    const listed = await send('GET', `/api/v1/chats/list/user/${ada.id}?page=1`, admin.token)
    expect(await listed.json()).toEqual([expect.objectContaining({ id: chat.id, title: 'Private plans' })])
    expect(JSON.stringify(audit.entries)).not.toContain('Private plans')
  })
})
