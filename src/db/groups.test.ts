import { describe, expect, test } from 'bun:test'
import { openMemoryStore, type Store } from './open-store.ts'

async function createdUser(store: Store, email = 'ada@example.com') {
  const result = await store.users.createUser({ email, name: 'Ada', role: 'user' })
  if (!result.ok) throw new Error(result.reason)
  return result.user
}

const namesOf = (store: Store, userId: Parameters<Store['groups']['listGroupsOfUser']>[0]) =>
  store.groups.listGroupsOfUser(userId).map((group) => group.name).sort()

describe('groups', () => {
  test('ensureGroup creates once; names compare without case or surrounding space', () => {
    const store = openMemoryStore()
    const first = store.groups.ensureGroup('Engineers', 'local')
    expect(store.groups.ensureGroup('  engineers ', 'ldap')).toEqual(first)
    expect(store.groups.findGroupByName('ENGINEERS')?.id).toBe(first.id)
    expect(store.groups.listGroups()).toEqual([first])
  })

  test('sync adds named groups, creates missing ones only when asked, and reports the rest', async () => {
    const store = openMemoryStore()
    const user = await createdUser(store)
    store.groups.ensureGroup('users', 'local')
    expect(store.groups.syncMembershipsFromSource(user.id, 'ldap', ['users', 'admins'], false))
      .toEqual({ added: ['users'], removed: [], unknown: ['admins'] })
    expect(namesOf(store, user.id)).toEqual(['users'])
    expect(store.groups.syncMembershipsFromSource(user.id, 'ldap', ['users', 'admins'], true))
      .toEqual({ added: ['admins'], removed: [], unknown: [] })
    expect(namesOf(store, user.id)).toEqual(['admins', 'users'])
  })

  test('sync removes what the same source added and no longer names, and keeps other sources\' memberships', async () => {
    const store = openMemoryStore()
    const user = await createdUser(store)
    const local = store.groups.ensureGroup('reviewers', 'local')
    store.groups.addMember(local.id, user.id, 'local')
    store.groups.syncMembershipsFromSource(user.id, 'oidc', ['a', 'b'], true)
    expect(store.groups.syncMembershipsFromSource(user.id, 'oidc', ['b'], true)).toEqual({ added: [], removed: ['a'], unknown: [] })
    expect(namesOf(store, user.id)).toEqual(['b', 'reviewers'])
    expect(store.groups.syncMembershipsFromSource(user.id, 'oidc', [], true)).toEqual({ added: [], removed: ['b'], unknown: [] })
    expect(namesOf(store, user.id)).toEqual(['reviewers'])
  })

  test('blank and duplicate names are ignored', async () => {
    const store = openMemoryStore()
    const user = await createdUser(store)
    expect(store.groups.syncMembershipsFromSource(user.id, 'ldap', ['', '  ', 'Ops', 'ops'], true).added).toEqual(['ops'])
  })

  test('deleting a user or a group removes the memberships', async () => {
    const store = openMemoryStore()
    const ada = await createdUser(store)
    const bob = await createdUser(store, 'bob@example.com')
    store.groups.syncMembershipsFromSource(ada.id, 'ldap', ['ops'], true)
    store.groups.syncMembershipsFromSource(bob.id, 'ldap', ['ops'], true)
    const ops = store.groups.findGroupByName('ops')!
    expect(store.groups.listMemberIds(ops.id).sort()).toEqual([ada.id, bob.id].sort())
    await store.users.deleteUser(ada.id)
    expect(store.groups.listMemberIds(ops.id)).toEqual([bob.id])
    store.groups.removeGroup(ops.id)
    expect(store.groups.listGroupsOfUser(bob.id)).toEqual([])
  })

  test('group names are not stored in the clear', () => {
    const store = openMemoryStore()
    store.groups.ensureGroup('marker-77ab', 'local')
    const raw = store.db.query<{ name: Uint8Array; name_index: Uint8Array }, []>('SELECT name, name_index FROM user_group').get()!
    for (const bytes of [raw.name, raw.name_index]) expect(Buffer.from(bytes).toString('latin1')).not.toContain('marker-77ab')
  })
})
