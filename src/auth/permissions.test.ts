import { describe, expect, test } from 'bun:test'
import fc from 'fast-check'
import { openMemoryStore } from '../db/open-store.ts'
import type { UserId } from '../db/ids.ts'
import { createPermissions } from './permissions.ts'

async function setUp(defaults: Record<string, Record<string, boolean>> = { workspace: { models: false, prompts: false }, chat: { temporary_enforced: false, delete: true } }) {
  const store = openMemoryStore()
  const created = await store.users.createUser({ email: 'ada@example.com', name: 'Ada', role: 'user' })
  if (!created.ok) throw new Error(created.reason)
  const user = created.user
  let current = defaults
  const permissions = createPermissions({ defaults: () => current, groups: store.groups })
  return { store, user, permissions, setDefaults: (next: typeof defaults) => void (current = next) }
}

describe('permissions', () => {
  test('a user has what the defaults grant, and nothing else', async () => {
    const { user, permissions } = await setUp()
    expect(await permissions.has({ user }, 'chat.delete')).toBe(true)
    expect(await permissions.has({ user }, 'workspace.models')).toBe(false)
    expect(await permissions.has({ user }, 'no.such')).toBe(false)
    for (const odd of ['', '.', 'workspace', 'workspace.', '.models', 'workspace.models.extra', '__proto__.x', 'constructor.name']) {
      expect(await permissions.has({ user }, odd)).toBe(false)
    }
  })

  test('a stored tree with a section named __proto__ stays a plain key and reaches no other object', async () => {
    const hostile = JSON.parse('{"__proto__": {"polluted": true}, "chat": {"delete": true}}') as Record<string, Record<string, boolean>>
    const { user, permissions } = await setUp(hostile)
    const tree = await permissions.effective({ user })
    expect(({} as Record<string, unknown>).polluted).toBeUndefined()
    expect(Object.prototype.hasOwnProperty.call(Object.prototype, 'polluted')).toBe(false)
    expect(JSON.parse(JSON.stringify(tree)).chat).toEqual({ delete: true })
  })

  test('any group granting it is enough; a group can not take a default away', async () => {
    const { store, user, permissions } = await setUp()
    const builders = await store.groups.createLocalGroup({ name: 'Builders', permissions: { workspace: { models: true } } })
    const strict = await store.groups.createLocalGroup({ name: 'Strict', permissions: { chat: { delete: false } } })
    if (!builders.ok || !strict.ok) throw new Error('group')
    await store.groups.addMember(strict.group.id, user.id, 'local')
    expect(await permissions.has({ user }, 'chat.delete')).toBe(true)
    expect(await permissions.has({ user }, 'workspace.models')).toBe(false)
    await store.groups.addMember(builders.group.id, user.id, 'local')
    expect(await permissions.has({ user }, 'workspace.models')).toBe(true)
    expect((await permissions.effective({ user })).workspace).toEqual({ models: true, prompts: false })
  })

  test('a change to a group or a membership is in effect at the next check', async () => {
    const { store, user, permissions } = await setUp()
    const group = await store.groups.createLocalGroup({ name: 'Prompt writers' })
    if (!group.ok) throw new Error('group')
    await store.groups.addMember(group.group.id, user.id, 'local')
    expect(await permissions.has({ user }, 'workspace.prompts')).toBe(false)
    await store.groups.updateGroup(group.group.id, { permissions: { workspace: { prompts: true } } })
    expect(await permissions.has({ user }, 'workspace.prompts')).toBe(true)
    await store.groups.removeMember(group.group.id, user.id)
    expect(await permissions.has({ user }, 'workspace.prompts')).toBe(false)
    await store.groups.addMember(group.group.id, user.id, 'local')
    await store.groups.removeGroup(group.group.id)
    expect(await permissions.has({ user }, 'workspace.prompts')).toBe(false)
  })

  test('a directory sync that drops the group takes its permissions away at once', async () => {
    const { store, user, permissions } = await setUp()
    await store.groups.syncMembershipsFromSource(user.id, 'ldap', ['engineers'], true)
    const engineers = (await store.groups.findGroupByName('engineers'))!
    await store.groups.updateGroup(engineers.id, { permissions: { workspace: { models: true } } })
    expect(await permissions.has({ user }, 'workspace.models')).toBe(true)
    await store.groups.syncMembershipsFromSource(user.id, 'ldap', [], true)
    expect(await permissions.has({ user }, 'workspace.models')).toBe(false)
  })

  test('admins have every permission but the restrictions; pending accounts none', async () => {
    const { user, permissions } = await setUp()
    const admin = { ...user, role: 'admin' as const }
    expect(await permissions.has({ user: admin }, 'workspace.models')).toBe(true)
    expect(await permissions.has({ user: admin }, 'chat.temporary_enforced')).toBe(false)
    const pending = { ...user, role: 'pending' as const }
    expect(await permissions.has({ user: pending }, 'chat.delete')).toBe(false)
  })

  test('the effective tree is computed once per snapshot: the same frozen object until the defaults, a group or a membership change', async () => {
    const { store, user, permissions, setDefaults } = await setUp()
    const first = await permissions.effective({ user })
    expect(await permissions.effective({ user })).toBe(first)
    expect(Object.isFrozen(first) && Object.isFrozen(first.workspace)).toBe(true)
    const admin = await permissions.effective({ user: { ...user, role: 'admin' } })
    expect(admin).not.toBe(first)
    expect(admin.workspace!.models).toBe(true)
    const group = await store.groups.createLocalGroup({ name: 'Builders', permissions: { workspace: { models: true } } })
    if (!group.ok) throw new Error('group')
    await store.groups.addMember(group.group.id, user.id, 'local')
    const joined = await permissions.effective({ user })
    expect(joined.workspace!.models).toBe(true)
    await store.groups.updateGroup(group.group.id, { permissions: { workspace: { models: false } } })
    expect((await permissions.effective({ user })).workspace!.models).toBe(false)
    setDefaults({ workspace: { models: true, prompts: true } })
    expect((await permissions.effective({ user })).workspace).toEqual({ models: true, prompts: true })
  })

  test('the defaults are read on every check (an admin\'s save is in effect at once)', async () => {
    const { user, permissions, setDefaults } = await setUp()
    setDefaults({ workspace: { models: true } })
    expect(await permissions.has({ user: { id: user.id as UserId, role: 'user' } }, 'workspace.models')).toBe(true)
  })
})

test('the effective tree says for every flag what has() says, for any defaults, groups and role', async () => {
  const name = fc.constantFrom('chat', 'workspace', 'features', 'a.b', 'x', 'delete', 'models', 'c.d.e', '', 'temporary_enforced')
  const tree = fc.dictionary(name, fc.dictionary(name, fc.oneof(fc.boolean(), fc.constant(null), fc.constant('true')), { maxKeys: 4 }), { maxKeys: 4 })
  await fc.assert(fc.asyncProperty(tree, fc.array(tree, { maxLength: 3 }), fc.constantFrom('user', 'admin', 'pending'), async (defaults, groupTrees, role) => {
    const byGroup = new Map(groupTrees.map((groupTree, i) => [`g${i}`, groupTree as never]))
    const permissions = createPermissions({
      defaults: () => defaults as never,
      groups: { groupIdsOfUser: async () => [...byGroup.keys()], permissionsByGroup: async () => byGroup, peekAccess: () => ({ groupIds: [...byGroup.keys()], permissionsByGroup: byGroup }) },
      defaultsAsKnown: () => defaults as never,
    })
    const holder = { user: { id: 'u', role } as const }
    const effective = await permissions.effective(holder)
    for (const [section, flags] of Object.entries(effective)) {
      for (const [flag, granted] of Object.entries(flags)) {
        expect(granted).toBe(await permissions.has(holder, `${section}.${flag}`))
        expect(permissions.hasAsKnown(holder, `${section}.${flag}`)).toBe(granted)
      }
    }
  }), { numRuns: 2_000 })
})
