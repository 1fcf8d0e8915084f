import { describe, expect, test } from 'bun:test'
import { openMemoryStore, type Store } from './open-store.ts'

async function createdUser(store: Store, email = 'ada@example.com') {
  const result = await store.users.createUser({ email, name: 'Ada', role: 'user' })
  if (!result.ok) throw new Error(result.reason)
  return result.user
}

const namesOf = async (store: Store, userId: Parameters<Store['groups']['listGroupsOfUser']>[0]) =>
  (await store.groups.listGroupsOfUser(userId)).map((group) => group.name).sort()

describe('groups', () => {
  test('ensureGroup creates once; names compare without case or surrounding space', async () => {
    const store = openMemoryStore()
    const first = await store.groups.ensureGroup('Engineers', 'local')
    expect(await store.groups.ensureGroup('  engineers ', 'ldap')).toEqual(first)
    expect((await store.groups.findGroupByName('ENGINEERS'))?.id).toBe(first.id)
    expect(await store.groups.listGroups()).toEqual([first])
  })

  test('sync adds named groups, creates missing ones only when asked, and reports the rest', async () => {
    const store = openMemoryStore()
    const user = await createdUser(store)
    await store.groups.ensureGroup('users', 'local')
    expect(await store.groups.syncMembershipsFromSource(user.id, 'ldap', ['users', 'admins'], false))
      .toEqual({ added: ['users'], removed: [], unknown: ['admins'] })
    expect(await namesOf(store, user.id)).toEqual(['users'])
    expect(await store.groups.syncMembershipsFromSource(user.id, 'ldap', ['users', 'admins'], true))
      .toEqual({ added: ['admins'], removed: [], unknown: [] })
    expect(await namesOf(store, user.id)).toEqual(['admins', 'users'])
  })

  test('sync removes what the same source added and no longer names, and keeps other sources\' memberships', async () => {
    const store = openMemoryStore()
    const user = await createdUser(store)
    const local = await store.groups.ensureGroup('reviewers', 'local')
    await store.groups.addMember(local.id, user.id, 'local')
    await store.groups.syncMembershipsFromSource(user.id, 'oidc', ['a', 'b'], true)
    expect(await store.groups.syncMembershipsFromSource(user.id, 'oidc', ['b'], true)).toEqual({ added: [], removed: ['a'], unknown: [] })
    expect(await namesOf(store, user.id)).toEqual(['b', 'reviewers'])
    expect(await store.groups.syncMembershipsFromSource(user.id, 'oidc', [], true)).toEqual({ added: [], removed: ['b'], unknown: [] })
    expect(await namesOf(store, user.id)).toEqual(['reviewers'])
  })

  test('blank and duplicate names are ignored', async () => {
    const store = openMemoryStore()
    const user = await createdUser(store)
    expect((await store.groups.syncMembershipsFromSource(user.id, 'ldap', ['', '  ', 'Ops', 'ops'], true)).added).toEqual(['ops'])
  })

  test('deleting a user or a group removes the memberships', async () => {
    const store = openMemoryStore()
    const ada = await createdUser(store)
    const bob = await createdUser(store, 'bob@example.com')
    await store.groups.syncMembershipsFromSource(ada.id, 'ldap', ['ops'], true)
    await store.groups.syncMembershipsFromSource(bob.id, 'ldap', ['ops'], true)
    const ops = (await store.groups.findGroupByName('ops'))!
    expect((await store.groups.listMemberIds(ops.id)).sort()).toEqual([ada.id, bob.id].sort())
    await store.users.deleteUser(ada.id)
    expect(await store.groups.listMemberIds(ops.id)).toEqual([bob.id])
    await store.groups.removeGroup(ops.id)
    expect(await store.groups.listGroupsOfUser(bob.id)).toEqual([])
  })

  test('group names are not stored in the clear', async () => {
    const store = openMemoryStore()
    await store.groups.ensureGroup('marker-77ab', 'local')
    const raw = store.db.query<{ name: Uint8Array; name_index: Uint8Array }, []>('SELECT name, name_index FROM user_group').get()!
    for (const bytes of [raw.name, raw.name_index]) expect(Buffer.from(bytes).toString('latin1')).not.toContain('marker-77ab')
  })
})
