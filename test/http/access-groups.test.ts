/**
 * Groups through Open WebUI's routes, replayed as its frontend sends them (src/lib/apis/groups):
 * create, list, get, export, members, update, users/add, users/remove, delete; directory-synced
 * groups keep their members; permissions combine with the defaults; and every route refuses the
 * malformed, the oversized, the hostile, the cross-site and the unauthorised, changing nothing.
 */
import { describe, expect, test } from 'bun:test'
import { bearer, signUp, type SessionBody } from '../helpers/accounts.ts'
import { req, startTestApp } from '../helpers/test-app.ts'

type GroupBody = { id: string; name: string; description: string; permissions: unknown; data: { source: string }; user_ids: string[]; member_count?: number }

async function setUp() {
  const started = startTestApp({ DEFAULT_USER_ROLE: 'user', BYPASS_MODEL_ACCESS_CONTROL: 'false' })
  const admin = await signUp(started.app, 'admin@example.com')
  const ada = await signUp(started.app, 'ada@example.com')
  const bob = await signUp(started.app, 'bob@example.com')
  const call = async (method: string, path: string, who: SessionBody | null, body?: unknown, headers: Record<string, string> = {}) => {
    const res = await started.app.handle(req(method, path, body, { ...(who === null ? {} : bearer(who.token)), ...headers }))
    const text = await res.text()
    expect(res.status).toBeLessThan(500)
    return { status: res.status, json: text === '' ? null : JSON.parse(text) as unknown }
  }
  return { ...started, admin, ada, bob, call }
}

describe('groups, as Open WebUI\'s admin page calls them', () => {
  test('create, list, get, add and remove members, update, delete', async () => {
    const { admin, ada, bob, call, audit } = await setUp()
    const created = await call('POST', '/api/v1/groups/create', admin, { name: 'Research', description: 'The lab' })
    expect(created.status).toBe(200)
    const group = created.json as GroupBody
    expect(group).toMatchObject({ name: 'Research', description: 'The lab', data: { source: 'local' }, user_ids: [], member_count: 0 })

    const added = await call('POST', `/api/v1/groups/id/${group.id}/users/add`, admin, { user_ids: [ada.id, bob.id, 'no-such-user', ada.id] })
    expect((added.json as GroupBody).user_ids.sort()).toEqual([ada.id, bob.id].sort())
    const removed = await call('POST', `/api/v1/groups/id/${group.id}/users/remove`, admin, { user_ids: [bob.id] })
    expect((removed.json as GroupBody).user_ids).toEqual([ada.id])

    const permissions = { workspace: { models: true, prompts: false } }
    const updated = await call('POST', `/api/v1/groups/id/${group.id}/update`, admin, { name: 'Research lab', description: '', permissions })
    expect(updated.json).toMatchObject({ name: 'Research lab', description: '', permissions })
    expect((await call('GET', `/api/v1/groups/id/${group.id}`, admin)).json).toMatchObject({ name: 'Research lab', member_count: 1 })
    expect((await call('GET', `/api/v1/groups/id/${group.id}/export`, admin)).json).toMatchObject({ user_ids: [ada.id] })
    expect(((await call('POST', `/api/v1/groups/id/${group.id}/users`, admin)).json as { email: string }[]).map((user) => user.email)).toEqual(['ada@example.com'])

    // note: a member sees the group (without the member list); another user does not.
    expect((await call('GET', '/api/v1/groups/', ada)).json).toMatchObject([{ id: group.id, user_ids: [] }])
    expect((await call('GET', '/api/v1/groups/', bob)).json).toEqual([])
    expect((await call('GET', '/api/v1/users/groups', ada)).json).toMatchObject([{ id: group.id }])

    expect((await call('DELETE', `/api/v1/groups/id/${group.id}/delete`, admin)).json).toBe(true)
    expect((await call('GET', `/api/v1/groups/id/${group.id}`, admin)).status).toBe(404)
    expect((await call('GET', '/api/v1/groups/', ada)).json).toEqual([])
    expect(audit.entries.map((entry) => entry.event)).toEqual(expect.arrayContaining(['group_created', 'group_members_changed', 'group_updated', 'group_deleted']))
  })

  test('update with user_ids (older pages) sets the members; a taken name is 400', async () => {
    const { admin, ada, bob, call } = await setUp()
    const one = (await call('POST', '/api/v1/groups/create', admin, { name: 'One' })).json as GroupBody
    await call('POST', '/api/v1/groups/create', admin, { name: 'Two' })
    const set = await call('POST', `/api/v1/groups/id/${one.id}/update`, admin, { name: 'One', description: 'x', permissions: null, user_ids: [bob.id, ada.id] })
    expect((set.json as GroupBody).user_ids.sort()).toEqual([ada.id, bob.id].sort())
    expect((await call('POST', '/api/v1/groups/create', admin, { name: ' one ' })).status).toBe(400)
    expect((await call('POST', `/api/v1/groups/id/${one.id}/update`, admin, { name: 'TWO' })).json).toMatchObject({ code: 'group_name_taken' })
    expect((await call('GET', `/api/v1/groups/id/${one.id}`, admin)).json).toMatchObject({ name: 'One' })
  })

  test('a group synced from the directory: description and permissions may change, its name and members may not', async () => {
    const { admin, ada, bob, call, deps } = await setUp()
    await deps.store.groups.syncMembershipsFromSource(ada.id as never, 'ldap', ['engineers'], true)
    const synced = (await deps.store.groups.findGroupByName('engineers'))!
    for (const [path, body] of [
      [`/api/v1/groups/id/${synced.id}/users/add`, { user_ids: [bob.id] }],
      [`/api/v1/groups/id/${synced.id}/users/remove`, { user_ids: [ada.id] }],
      [`/api/v1/groups/id/${synced.id}/update`, { name: 'renamed' }],
      [`/api/v1/groups/id/${synced.id}/update`, { user_ids: [bob.id] }],
    ] as const) {
      const answer = await call('POST', path, admin, body)
      expect(answer.status).toBe(409)
      expect(answer.json).toMatchObject({ code: 'group_managed_by_directory' })
    }
    expect(await deps.store.groups.listMemberIds(synced.id)).toEqual([ada.id as never])
    const edited = await call('POST', `/api/v1/groups/id/${synced.id}/update`, admin, { name: 'engineers', description: 'From LDAP', permissions: { workspace: { models: true } } })
    expect(edited.json).toMatchObject({ description: 'From LDAP', data: { source: 'ldap' } })
    expect((await call('GET', '/api/v1/users/permissions', ada)).json).toMatchObject({ workspace: { models: true } })
    expect((await call('GET', '/api/v1/users/permissions', bob)).json).toMatchObject({ workspace: { models: false } })
  })

  test('the session object carries the effective permissions: defaults or any group', async () => {
    const { admin, ada, call } = await setUp()
    expect((await call('GET', '/api/v1/auths/', ada)).json).toMatchObject({ permissions: { workspace: { models: false, prompts: false }, chat: { delete: true } } })
    const group = (await call('POST', '/api/v1/groups/create', admin, { name: 'Writers', permissions: { workspace: { prompts: true } } })).json as GroupBody
    await call('POST', `/api/v1/groups/id/${group.id}/users/add`, admin, { user_ids: [ada.id] })
    expect((await call('GET', '/api/v1/auths/', ada)).json).toMatchObject({ permissions: { workspace: { models: false, prompts: true } } })
    // note: the defaults, edited at runtime, as Open WebUI's page posts them back whole.
    const defaults = (await call('GET', '/api/v1/users/default/permissions', admin)).json as Record<string, Record<string, boolean>>
    expect(defaults.workspace).toMatchObject({ models: false, knowledge: false, tools: false, prompts: false })
    await call('POST', '/api/v1/users/default/permissions', admin, { ...defaults, workspace: { ...defaults.workspace, models: true } })
    expect((await call('GET', '/api/v1/auths/', ada)).json).toMatchObject({ permissions: { workspace: { models: true, prompts: true } } })
    await call('POST', `/api/v1/groups/id/${group.id}/users/remove`, admin, { user_ids: [ada.id] })
    expect((await call('GET', '/api/v1/auths/', ada)).json).toMatchObject({ permissions: { workspace: { prompts: false } } })
  })

  test('USER_PERMISSIONS_WORKSPACE_*_ACCESS set the defaults', async () => {
    const { app } = startTestApp({ DEFAULT_USER_ROLE: 'user', USER_PERMISSIONS_WORKSPACE_MODELS_ACCESS: 'true', USER_PERMISSIONS_WORKSPACE_PROMPTS_ACCESS: 'true' })
    await signUp(app, 'admin@example.com')
    const ada = await signUp(app, 'ada@example.com')
    const res = await app.handle(req('GET', '/api/v1/auths/', undefined, bearer(ada.token)))
    expect(await res.json()).toMatchObject({ permissions: { workspace: { models: true, prompts: true, knowledge: false, tools: false } } })
  })
})

describe('group routes refuse', () => {
  test('users, pending accounts and anonymous callers, changing nothing (ownership sweep)', async () => {
    const { admin, ada, bob, call, deps } = await setUp()
    const group = (await call('POST', '/api/v1/groups/create', admin, { name: 'Ops' })).json as GroupBody
    await call('POST', `/api/v1/groups/id/${group.id}/users/add`, admin, { user_ids: [ada.id] })
    const before = JSON.stringify((await call('GET', `/api/v1/groups/id/${group.id}`, admin)).json)
    const routes: [string, string, unknown][] = [
      ['POST', '/api/v1/groups/create', { name: 'Mine' }],
      ['GET', `/api/v1/groups/id/${group.id}`, undefined],
      ['GET', `/api/v1/groups/id/${group.id}/export`, undefined],
      ['POST', `/api/v1/groups/id/${group.id}/users`, undefined],
      ['POST', `/api/v1/groups/id/${group.id}/update`, { name: 'Taken over', permissions: { workspace: { models: true } } }],
      ['POST', `/api/v1/groups/id/${group.id}/users/add`, { user_ids: [bob.id] }],
      ['POST', `/api/v1/groups/id/${group.id}/users/remove`, { user_ids: [ada.id] }],
      ['DELETE', `/api/v1/groups/id/${group.id}/delete`, undefined],
      ['GET', `/api/v1/users/${ada.id}/groups`, undefined],
    ]
    // note: bob is in no group, ada is a member of it: neither may manage it.
    for (const [method, path, body] of routes) {
      expect((await call(method, path, bob, body)).status).toBe(403)
      expect((await call(method, path, ada, body)).status).toBe(403)
      expect((await call(method, path, null, body)).status).toBe(401)
    }
    expect(JSON.stringify((await call('GET', `/api/v1/groups/id/${group.id}`, admin)).json)).toBe(before)
    expect((await deps.store.groups.listGroups()).map((one) => one.name)).toEqual(['Ops'])
  })

  test('malformed, oversized and hostile bodies, unknown ids, and a cross-site form', async () => {
    const { admin, call, app } = await setUp()
    const group = (await call('POST', '/api/v1/groups/create', admin, { name: 'Valid' })).json as GroupBody
    const refused: [string, string, unknown, number][] = [
      ['POST', '/api/v1/groups/create', {}, 422],
      ['POST', '/api/v1/groups/create', { name: '' }, 422],
      ['POST', '/api/v1/groups/create', { name: '   ' }, 422],
      ['POST', '/api/v1/groups/create', { name: 5 }, 422],
      ['POST', '/api/v1/groups/create', { name: 'x'.repeat(256) }, 422],
      ['POST', '/api/v1/groups/create', { name: 'ok', description: 'd'.repeat(2001) }, 422],
      ['POST', '/api/v1/groups/create', { name: 'ok', permissions: { workspace: { models: 'yes' } } }, 422],
      ['POST', '/api/v1/groups/create', { name: 'ok', permissions: { workspace: ['models'] } }, 422],
      ['POST', `/api/v1/groups/id/${group.id}/users/add`, { user_ids: 'all' }, 422],
      ['POST', `/api/v1/groups/id/${group.id}/users/add`, { user_ids: Array.from({ length: 1001 }, (_, i) => `u${i}`) }, 422],
      ['POST', `/api/v1/groups/id/${group.id}/users/add`, {}, 422],
      ['POST', `/api/v1/groups/id/${'x'.repeat(65)}/update`, { name: 'n' }, 422],
      ['POST', '/api/v1/groups/id/no-such-group/update', { name: 'n' }, 404],
      ['POST', '/api/v1/groups/id/no-such-group/users/add', { user_ids: [] }, 404],
      ['DELETE', '/api/v1/groups/id/no-such-group/delete', undefined, 404],
      ['GET', '/api/v1/groups/id/..%2F..%2Fapi%2Fv1%2Fusers', undefined, 404],
    ]
    for (const [method, path, body, status] of refused) expect([method, path, (await call(method, path, admin, body)).status]).toEqual([method, path, status])
    const hostile = await call('POST', '/api/v1/groups/create', admin, { name: '<img src=x onerror=alert(1)>', description: '\u0000\u202e', permissions: { __proto__: { polluted: true } } })
    expect(hostile.status).toBe(200)
    expect(({} as Record<string, unknown>).polluted).toBeUndefined()
    const form = await app.handle(req('POST', '/api/v1/groups/create', 'name=Evil', { ...bearer(admin.token), 'content-type': 'application/x-www-form-urlencoded', origin: 'http://evil.example', 'sec-fetch-site': 'cross-site' }))
    expect(form.status).toBe(403)
    const cookie = await app.handle(req('POST', '/api/v1/groups/create', { name: 'Evil' }, { cookie: `token=${admin.token}`, origin: 'http://evil.example', 'sec-fetch-site': 'cross-site' }))
    expect(cookie.status).toBe(403)
    expect((await call('GET', '/api/v1/groups/', admin)).json).not.toContainEqual(expect.objectContaining({ name: 'Evil' }))
  })
})
