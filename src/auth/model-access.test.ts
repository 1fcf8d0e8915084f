import { describe, expect, test } from 'bun:test'
import { Database } from 'bun:sqlite'
import { createSqliteEngine } from '../db/sqlite-engine.ts'
import { migrate } from '../db/migrate.ts'
import { canonicalModelName, createModelGrantRepo } from '../db/model-grants.ts'
import { openMemoryStore } from '../db/open-store.ts'
import type { AccessControl } from './access-control.ts'
import { createModelAccess, type WorkspaceModelFinder } from './model-access.ts'

type Policy = { bypassModelAccess: boolean; bypassAdmin: boolean }

async function setUp(policy: Policy = { bypassModelAccess: false, bypassAdmin: true }, workspaceModels?: WorkspaceModelFinder) {
  const store = openMemoryStore()
  const made = async (email: string, role: 'admin' | 'user' | 'pending') => {
    const result = await store.users.createUser({ email, name: email, role })
    if (!result.ok) throw new Error(result.reason)
    return result.user
  }
  const admin = await made('admin@example.com', 'admin')
  const ada = await made('ada@example.com', 'user')
  const bob = await made('bob@example.com', 'user')
  const team = await store.groups.createLocalGroup({ name: 'Team' })
  if (!team.ok) throw new Error('group')
  await store.groups.addMember(team.group.id, ada.id, 'local')
  const access = createModelAccess({ grants: store.modelGrants, groups: store.groups, policy: () => policy, ...(workspaceModels ? { workspaceModels } : {}) })
  return { store, access, admin, ada, bob, teamId: team.group.id }
}

const teamOnly = (groupId: string): AccessControl => ({ read: { group_ids: [groupId], user_ids: [] }, write: { group_ids: [], user_ids: [] } })

describe('model access', () => {
  test('a new database: a model without a grant is for admins only', async () => {
    const { access, admin, ada } = await setUp()
    expect(await access.mayUse({ user: admin }, 'llama3.2:1b')).toBe(true)
    expect(await access.mayUse({ user: ada }, 'llama3.2:1b')).toBe(false)
  })

  test('a group grant: members may, others may not; public is everyone; {} is admins only', async () => {
    const { store, access, admin, ada, bob, teamId } = await setUp()
    await store.modelGrants.setGrant('llama3.2:1b', teamOnly(teamId), admin.id)
    expect(await access.mayUse({ user: ada }, 'llama3.2:1b')).toBe(true)
    expect(await access.mayUse({ user: bob }, 'llama3.2:1b')).toBe(false)
    await store.modelGrants.setGrant('llama3.2:1b', null, admin.id)
    expect(await access.mayUse({ user: bob }, 'llama3.2:1b')).toBe(true)
    await store.modelGrants.setGrant('llama3.2:1b', {}, admin.id)
    expect(await access.mayUse({ user: ada }, 'llama3.2:1b')).toBe(false)
    expect(await access.mayUse({ user: admin }, 'llama3.2:1b')).toBe(true)
  })

  test('names are compared as Ollama resolves them: case and the :latest tag', async () => {
    const { store, access, admin, ada } = await setUp()
    await store.modelGrants.setGrant('Mistral', null, admin.id)
    for (const name of ['mistral', 'MISTRAL', 'mistral:latest', ' mistral ']) expect(await access.mayUse({ user: ada }, name)).toBe(true)
    expect(await access.mayUse({ user: ada }, 'mistral:7b')).toBe(false)
    expect(canonicalModelName('hf.co/Org/Repo')).toBe('hf.co/org/repo:latest')
    expect(canonicalModelName('user/model@sha256:ab')).toBe('user/model@sha256:ab')
  })

  test('removing a user from the group takes the model away at the next check', async () => {
    const { store, access, admin, ada, teamId } = await setUp()
    await store.modelGrants.setGrant('llama3.2:1b', teamOnly(teamId), admin.id)
    expect(await access.mayUse({ user: ada }, 'llama3.2:1b')).toBe(true)
    await store.groups.removeMember(teamId, ada.id)
    expect(await access.mayUse({ user: ada }, 'llama3.2:1b')).toBe(false)
  })

  test('BYPASS_MODEL_ACCESS_CONTROL lets every active user through; never a pending one', async () => {
    const { access, ada, store } = await setUp({ bypassModelAccess: true, bypassAdmin: true })
    expect(await access.mayUse({ user: ada }, 'anything:1b')).toBe(true)
    const pending = await store.users.createUser({ email: 'p@example.com', name: 'P', role: 'pending' })
    if (!pending.ok) throw new Error('user')
    expect(await access.mayUse({ user: pending.user }, 'anything:1b')).toBe(false)
  })

  test('BYPASS_ADMIN_ACCESS_CONTROL=false holds admins to grants too', async () => {
    const { store, access, admin, teamId } = await setUp({ bypassModelAccess: false, bypassAdmin: false })
    expect(await access.mayUse({ user: admin }, 'llama3.2:1b')).toBe(false)
    await store.modelGrants.setGrant('llama3.2:1b', teamOnly(teamId), admin.id)
    expect(await access.mayUse({ user: admin }, 'llama3.2:1b')).toBe(false)
    await store.modelGrants.setGrant('llama3.2:1b', null, admin.id)
    expect(await access.mayUse({ user: admin }, 'llama3.2:1b')).toBe(true)
  })

  test('an API key limited to models reaches those only, and only what its owner may use', async () => {
    const { store, access, admin, ada, teamId } = await setUp()
    await store.modelGrants.setGrant('llama3.2:1b', teamOnly(teamId), admin.id)
    await store.modelGrants.setGrant('qwen2.5:0.5b', null, admin.id)
    expect(await access.mayUse({ user: ada, allowedModels: ['qwen2.5:0.5b'] }, 'qwen2.5:0.5b')).toBe(true)
    expect(await access.mayUse({ user: ada, allowedModels: ['qwen2.5:0.5b'] }, 'llama3.2:1b')).toBe(false)
    expect(await access.mayUse({ user: admin, allowedModels: ['qwen2.5:0.5b'] }, 'llama3.2:1b')).toBe(false)
    expect(await access.mayUse({ user: ada, allowedModels: ['llama3.2:1b', 'secret:70b'] }, 'secret:70b')).toBe(false)
    expect(await access.mayUse({ user: ada, allowedModels: null }, 'llama3.2:1b')).toBe(true)
    expect(await access.filter({ user: ada, allowedModels: ['qwen2.5:0.5b'] }, ['llama3.2:1b', 'qwen2.5:0.5b'], (id) => id)).toEqual(['qwen2.5:0.5b'])
  })

  test('a workspace model needs its own grant, its base model\'s, and to be active (CVE-2026-44555)', async () => {
    const presets = new Map<string, { baseModelId: string; ownerId: string; access: AccessControl; isActive: boolean }>()
    const { store, access, admin, ada, bob, teamId } = await setUp(undefined, { find: async (id) => presets.get(id) ?? null })
    await store.modelGrants.setGrant('llama3.2:1b', teamOnly(teamId), admin.id)
    presets.set('helper', { baseModelId: 'llama3.2:1b', ownerId: bob.id, access: null, isActive: true })
    expect(await access.mayUse({ user: ada }, 'helper')).toBe(true)
    // note: bob made it public, but bob's base model is not his to share.
    expect(await access.mayUse({ user: bob }, 'helper')).toBe(false)
    presets.set('helper', { baseModelId: 'llama3.2:1b', ownerId: bob.id, access: {}, isActive: true })
    expect(await access.mayUse({ user: ada }, 'helper')).toBe(false)
    presets.set('helper', { baseModelId: 'llama3.2:1b', ownerId: ada.id, access: {}, isActive: false })
    expect(await access.mayUse({ user: ada }, 'helper')).toBe(false)
    expect(await access.isWorkspaceModel('helper')).toBe(true)
    expect(await access.isWorkspaceModel('llama3.2:1b')).toBe(false)
  })

  test('a name sent to Ollama as it is, and a listing of Ollama\'s models, is the base model\'s decision even when a preset has that name', async () => {
    const presets = new Map<string, { baseModelId: string; ownerId: string; access: AccessControl; isActive: boolean }>()
    const { store, access, admin, ada, bob } = await setUp(undefined, { find: async (id) => presets.get(id) ?? null })
    await store.modelGrants.setGrant('qwen2.5:0.5b', null, admin.id)
    // note: bob's public preset named like Ollama's phi3 (pulled later, admins only), on a public base model.
    for (const id of ['phi3', 'PHI3:latest']) presets.set(id, { baseModelId: 'qwen2.5:0.5b', ownerId: bob.id, access: null, isActive: true })
    expect(await access.mayUse({ user: ada }, 'phi3')).toBe(true)
    for (const name of ['phi3', 'phi3:latest', 'PHI3:latest', ' Phi3 ']) expect([name, await access.mayUseOllamaModel({ user: ada }, name)]).toEqual([name, false])
    expect(await access.mayUseOllamaModel({ user: admin }, 'phi3')).toBe(true)
    expect(await access.mayUseOllamaModel({ user: ada }, 'qwen2.5:0.5b')).toBe(true)
    expect(await access.filter({ user: ada }, ['phi3:latest', 'PHI3:latest', 'qwen2.5:0.5b'], (id) => id)).toEqual(['qwen2.5:0.5b'])
    // note: a key limited to the preset's name reaches neither Ollama's model of that name nor, through it, anything else.
    expect(await access.mayUseOllamaModel({ user: admin, allowedModels: ['phi3'] }, 'qwen2.5:0.5b')).toBe(false)
    expect(await access.mayUseOllamaModel({ user: ada, allowedModels: ['phi3'] }, 'phi3')).toBe(false)
    expect(await access.mayUseOllamaModel({ user: { ...ada, role: 'pending' } }, 'qwen2.5:0.5b')).toBe(false)
  })
})

describe('the upgrade to grants', () => {
  const upgradedDatabase = (withAccounts: boolean) => {
    const db = new Database(':memory:')
    migrate(db, undefined, 7)
    if (withAccounts) db.run("INSERT INTO user (id, email_index, email, name, role, created_at, updated_at) VALUES ('u1', x'01', x'01', x'01', 'user', 0, 0)")
    migrate(db)
    return createModelGrantRepo(createSqliteEngine(db), () => 1_000)
  }

  test('a database that had accounts: the first listing makes its models public, once; later models are admins only', async () => {
    const grants = upgradedDatabase(true)
    const access = createModelAccess({ grants, groups: { groupIdsOfUser: async () => [] }, policy: () => ({ bypassModelAccess: false, bypassAdmin: true }) })
    const user = { id: 'u1', role: 'user' as const }
    // note: pending: nothing taken away before Ollama could be asked.
    expect(await access.mayUse({ user }, 'llama3.2:1b')).toBe(true)
    expect(await grants.adoptListedModels(['llama3.2:1b', 'Qwen2.5:0.5b'])).toEqual(['llama3.2:1b', 'qwen2.5:0.5b'])
    expect(await grants.readUpgrade()).toEqual({ pending: false, adopted: ['llama3.2:1b', 'qwen2.5:0.5b'], adoptedAt: 1_000 })
    expect(await access.mayUse({ user }, 'qwen2.5:0.5b')).toBe(true)
    expect(await access.mayUse({ user }, 'mistral:7b')).toBe(false)
    expect(await grants.adoptListedModels(['mistral:7b'])).toBeNull()
    expect(await access.mayUse({ user }, 'mistral:7b')).toBe(false)
  })

  test('a new database has nothing pending', async () => {
    const grants = upgradedDatabase(false)
    expect((await grants.readUpgrade()).pending).toBe(false)
    expect(await grants.adoptListedModels(['llama3.2:1b'])).toBeNull()
    expect(await grants.findGrant('llama3.2:1b')).toBeUndefined()
  })

  test('an admin grant made before the listing is kept', async () => {
    const grants = upgradedDatabase(true)
    await grants.setGrant('llama3.2:1b', {}, 'admin')
    expect(await grants.adoptListedModels(['llama3.2:1b', 'qwen2.5:0.5b'])).toEqual(['qwen2.5:0.5b'])
    expect((await grants.findGrant('llama3.2:1b'))?.access).toEqual({})
  })
})
