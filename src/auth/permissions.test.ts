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
    expect(permissions.has({ user }, 'chat.delete')).toBe(true)
    expect(permissions.has({ user }, 'workspace.models')).toBe(false)
    expect(permissions.has({ user }, 'no.such')).toBe(false)
    for (const odd of ['', '.', 'workspace', 'workspace.', '.models', 'workspace.models.extra', '__proto__.x', 'constructor.name']) {
      expect(permissions.has({ user }, odd)).toBe(false)
    }
  })

  test('a stored tree with a section named __proto__ stays a plain key and reaches no other object', async () => {
    const hostile = JSON.parse('{"__proto__": {"polluted": true}, "chat": {"delete": true}}') as Record<string, Record<string, boolean>>
    const { user, permissions } = await setUp(hostile)
    const tree = permissions.effective({ user })
    expect(({} as Record<string, unknown>).polluted).toBeUndefined()
    expect(Object.prototype.hasOwnProperty.call(Object.prototype, 'polluted')).toBe(false)
    expect(JSON.parse(JSON.stringify(tree)).chat).toEqual({ delete: true })
  })

  test('any group granting it is enough; a group can not take a default away', async () => {
    const { store, user, permissions } = await setUp()
    const builders = store.groups.createLocalGroup({ name: 'Builders', permissions: { workspace: { models: true } } })
    const strict = store.groups.createLocalGroup({ name: 'Strict', permissions: { chat: { delete: false } } })
    if (!builders.ok || !strict.ok) throw new Error('group')
    store.groups.addMember(strict.group.id, user.id, 'local')
    expect(permissions.has({ user }, 'chat.delete')).toBe(true)
    expect(permissions.has({ user }, 'workspace.models')).toBe(false)
    store.groups.addMember(builders.group.id, user.id, 'local')
    expect(permissions.has({ user }, 'workspace.models')).toBe(true)
    expect(permissions.effective({ user }).workspace).toEqual({ models: true, prompts: false })
  })

  test('a change to a group or a membership is in effect at the next check', async () => {
    const { store, user, permissions } = await setUp()
    const group = store.groups.createLocalGroup({ name: 'Prompt writers' })
    if (!group.ok) throw new Error('group')
    store.groups.addMember(group.group.id, user.id, 'local')
    expect(permissions.has({ user }, 'workspace.prompts')).toBe(false)
    store.groups.updateGroup(group.group.id, { permissions: { workspace: { prompts: true } } })
    expect(permissions.has({ user }, 'workspace.prompts')).toBe(true)
    store.groups.removeMember(group.group.id, user.id)
    expect(permissions.has({ user }, 'workspace.prompts')).toBe(false)
    store.groups.addMember(group.group.id, user.id, 'local')
    store.groups.removeGroup(group.group.id)
    expect(permissions.has({ user }, 'workspace.prompts')).toBe(false)
  })

  test('a directory sync that drops the group takes its permissions away at once', async () => {
    const { store, user, permissions } = await setUp()
    store.groups.syncMembershipsFromSource(user.id, 'ldap', ['engineers'], true)
    const engineers = store.groups.findGroupByName('engineers')!
    store.groups.updateGroup(engineers.id, { permissions: { workspace: { models: true } } })
    expect(permissions.has({ user }, 'workspace.models')).toBe(true)
    store.groups.syncMembershipsFromSource(user.id, 'ldap', [], true)
    expect(permissions.has({ user }, 'workspace.models')).toBe(false)
  })

  test('admins have every permission but the restrictions; pending accounts none', async () => {
    const { user, permissions } = await setUp()
    const admin = { ...user, role: 'admin' as const }
    expect(permissions.has({ user: admin }, 'workspace.models')).toBe(true)
    expect(permissions.has({ user: admin }, 'chat.temporary_enforced')).toBe(false)
    const pending = { ...user, role: 'pending' as const }
    expect(permissions.has({ user: pending }, 'chat.delete')).toBe(false)
  })

  test('the defaults are read on every check (an admin\'s save is in effect at once)', async () => {
    const { user, permissions, setDefaults } = await setUp()
    setDefaults({ workspace: { models: true } })
    expect(permissions.has({ user: { id: user.id as UserId, role: 'user' } }, 'workspace.models')).toBe(true)
  })
})

test('the effective tree says for every flag what has() says, for any defaults, groups and role', () => {
  const name = fc.constantFrom('chat', 'workspace', 'features', 'a.b', 'x', 'delete', 'models', 'c.d.e', '', 'temporary_enforced')
  const tree = fc.dictionary(name, fc.dictionary(name, fc.oneof(fc.boolean(), fc.constant(null), fc.constant('true')), { maxKeys: 4 }), { maxKeys: 4 })
  fc.assert(fc.property(tree, fc.array(tree, { maxLength: 3 }), fc.constantFrom('user', 'admin', 'pending'), (defaults, groupTrees, role) => {
    const permissions = createPermissions({
      defaults: () => defaults as never,
      groups: { groupIdsOfUser: () => groupTrees.map((_, i) => `g${i}`), permissionsOfGroup: (id) => (groupTrees[Number(id.slice(1))] ?? null) as never },
    })
    const holder = { user: { id: 'u', role } as const }
    const effective = permissions.effective(holder)
    for (const [section, flags] of Object.entries(effective)) {
      for (const [flag, granted] of Object.entries(flags)) expect(granted).toBe(permissions.has(holder, `${section}.${flag}`))
    }
  }), { numRuns: 2_000 })
})
