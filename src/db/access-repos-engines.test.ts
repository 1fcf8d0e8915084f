/**
 * The repositories of groups, model grants, workspace models and settings on both engines: the
 * same calls find the same values on SQLite and on PostgreSQL (a real server,
 * test/helpers/postgres.ts). Keys come from a memory store (data keys are still on bun:sqlite);
 * the rows go to the engine under test. Two repositories on one database stand for two instances:
 * a change made through one holds on the other once what it keeps is a second old (kept-read.ts).
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { startPostgres, type PostgresServer } from '../../test/helpers/postgres.ts'
import type { SqlEngine } from './engine.ts'
import { createGroupRepo } from './groups.ts'
import type { UserId } from './ids.ts'
import { KEPT_READ_MAX_AGE_MS } from './kept-read.ts'
import { migratePostgres } from './migrate-postgres.ts'
import { createModelGrantRepo } from './model-grants.ts'
import { openMemoryStore } from './open-store.ts'
import { createPostgresEngine } from './postgres-engine.ts'
import { createSettingsRepo } from './settings.ts'
import { createWorkspaceModelRepo } from './workspace-models.ts'

let server: PostgresServer
beforeAll(async () => { server = await startPostgres() }, 60_000)
afterAll(async () => { await server.remove() })

/** A memory store with two users; on PostgreSQL, a migrated database holding the same two user rows. `instance()` builds another set of repositories on the same database. */
async function open(dialect: 'sqlite' | 'postgresql') {
  const store = openMemoryStore()
  const users = await Promise.all(['ada', 'bob'].map(async (name) => {
    const made = await store.users.createUser({ email: `${name}@example.com`, name, role: 'user' })
    if (!made.ok) throw new Error(made.reason)
    return made.user.id
  }))
  let sql: SqlEngine = store.sql
  let close = async () => store.close()
  if (dialect === 'postgresql') {
    const engine = createPostgresEngine({ url: await server.createDatabase(), pool: { maxConnections: 4, idleTimeoutSeconds: 0, connectionTimeoutSeconds: 10, maxLifetimeSeconds: 0 } })
    await migratePostgres(engine)
    for (const id of users) {
      await engine.run('INSERT INTO "user" (id, email_index, email, name, role, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)', id, new TextEncoder().encode(id), new Uint8Array([1]), new Uint8Array([1]), 'user', 1, 1)
    }
    sql = engine
    close = async () => { await engine.close(); store.close() }
  }
  const clock = { at: 1_700_000_000_000 }
  const now = () => clock.at
  const instance = () => ({
    groups: createGroupRepo(sql, store.dataKeys, now),
    grants: createModelGrantRepo(sql, now),
    presets: createWorkspaceModelRepo(sql, store.dataKeys, now),
    settings: createSettingsRepo(sql, store.dataKeys, now),
  })
  return { ...instance(), instance, sql, users: users as [UserId, UserId], clock, close }
}

describe.each(['sqlite', 'postgresql'] as const)('%s', (dialect) => {
  test('groups: made once by name, renamed, listed, members added, synced from a directory, removed', async () => {
    const { groups, users: [ada, bob], close } = await open(dialect)
    const made = await groups.createLocalGroup({ name: 'Engineers', description: 'builds', permissions: { workspace: { models: true } } })
    if (!made.ok) throw new Error(made.reason)
    expect(await groups.createLocalGroup({ name: ' engineers ' })).toEqual({ ok: false, reason: 'name_taken' })
    expect(await groups.ensureGroup('ENGINEERS', 'ldap')).toEqual(made.group)
    expect((await groups.findGroupByName('engineers'))?.id).toBe(made.group.id)
    const other = await groups.ensureGroup('Reviewers', 'local')
    expect(await groups.updateGroup(other.id, { name: 'Engineers' })).toEqual({ ok: false, reason: 'name_taken' })
    expect(await groups.updateGroup('no-such-group', { name: 'x' })).toEqual({ ok: false, reason: 'not_found' })
    const renamed = await groups.updateGroup(other.id, { name: 'Critics', permissions: { chat: { delete: false } } })
    expect(renamed.ok && renamed.group.name).toBe('Critics')
    // note: both made at the same clock time, so listed in id order; compared as a set.
    expect((await groups.listGroups()).map((group) => group.name).sort()).toEqual(['Critics', 'Engineers'])

    await groups.addMembers(made.group.id, [ada, bob], 'local')
    expect((await groups.listMemberIds(made.group.id)).sort()).toEqual([ada, bob].sort())
    expect(await groups.countMembers(made.group.id)).toBe(2)
    await groups.replaceMembers(made.group.id, [bob], 'local')
    expect(await groups.listMemberIds(made.group.id)).toEqual([bob])
    expect(await groups.groupIdsOfUser(bob)).toEqual([made.group.id])
    expect((await groups.permissionsByGroup()).get(other.id)).toEqual({ chat: { delete: false } })

    expect(await groups.syncMembershipsFromSource(ada, 'ldap', ['critics', 'Directory only'], false)).toEqual({ added: ['Critics'], removed: [], unknown: ['Directory only'] })
    expect(await groups.syncMembershipsFromSource(ada, 'ldap', ['Directory only'], true)).toEqual({ added: ['Directory only'], removed: ['Critics'], unknown: [] })
    expect((await groups.listGroupsOfUser(ada)).map((group) => [group.name, group.source])).toEqual([['Directory only', 'ldap']])

    await groups.removeGroup(made.group.id)
    expect(await groups.findGroup(made.group.id)).toBeNull()
    expect(await groups.groupIdsOfUser(bob)).toEqual([])
    await close()
  })

  test('model grants: set, read by canonical name, removed; the upgrade adopts a listing once', async () => {
    const { grants, sql, close } = await open(dialect)
    expect(await grants.readUpgrade()).toEqual({ pending: false, adopted: null, adoptedAt: null })
    await grants.setGrant('Mistral', { read: { group_ids: ['g1'], user_ids: [] }, write: { group_ids: [], user_ids: [] } }, 'admin-1')
    expect(await grants.findGrant('mistral:latest')).toEqual({ modelId: 'mistral:latest', access: { read: { group_ids: ['g1'], user_ids: [] }, write: { group_ids: [], user_ids: [] } }, updatedAt: 1_700_000_000_000, updatedBy: 'admin-1' })
    await grants.setGrant('llama3.2:1b', null, 'admin-1')
    expect((await grants.listGrants()).map((grant) => [grant.modelId, grant.access])).toEqual([['llama3.2:1b', null], ['mistral:latest', { read: { group_ids: ['g1'], user_ids: [] }, write: { group_ids: [], user_ids: [] } }]])
    expect(await grants.removeGrant('LLAMA3.2:1b')).toBe(true)
    expect(await grants.removeGrant('llama3.2:1b')).toBe(false)

    await sql.run('UPDATE model_grant_upgrade SET pending = 1 WHERE id = 1')
    const upgraded = createModelGrantRepo(sql, () => 5_000)
    expect(await upgraded.adoptListedModels(['Mistral', 'qwen2.5:0.5b'])).toEqual(['qwen2.5:0.5b'])
    expect(await upgraded.readUpgrade()).toEqual({ pending: false, adopted: ['qwen2.5:0.5b'], adoptedAt: 5_000 })
    expect(await upgraded.adoptListedModels(['phi3'])).toBeNull()
    await close()
  })

  test('workspace models: created once by id, found, listed by grant, updated, turned off, deleted', async () => {
    const { presets, users: [ada, bob], close } = await open(dialect)
    const input = { baseModelId: 'llama3.2:1b', name: 'Helper', meta: { description: 'helps' }, params: { system: 'Be brief.' }, access: null, isActive: true }
    const made = await presets.createModel(ada, 'helper', input)
    expect(made.ok && made.model).toMatchObject({ id: 'helper', ownerId: ada, baseModelId: 'llama3.2:1b', name: 'Helper', isActive: true })
    expect(await presets.createModel(bob, 'helper', input)).toEqual({ ok: false, reason: 'model_id_taken' })
    await presets.createModel(bob, 'private', { ...input, access: {} })
    expect(await presets.find('helper')).toEqual({ baseModelId: 'llama3.2:1b', ownerId: ada, access: null, isActive: true })
    expect(await presets.find('nothing')).toBeNull()
    expect((await presets.listModels((grant) => grant.access === null)).map((model) => model.id)).toEqual(['helper'])
    expect(await presets.updateModel('helper', { ...input, name: 'Helper 2', params: { system: 'Be kind.' } })).toMatchObject({ name: 'Helper 2', params: { system: 'Be kind.' } })
    expect((await presets.setModelActive('helper', false))?.isActive).toBe(false)
    expect(await presets.setModelActive('nothing', false)).toBeNull()
    expect(await presets.deleteModel('helper')).toBe(true)
    expect(await presets.deleteModel('helper')).toBe(false)
    await presets.deleteAllModels()
    expect(await presets.findModel('private')).toBeNull()
    await close()
  })

  test('settings: null when unwritten, replaced, removed', async () => {
    const { settings, close } = await open(dialect)
    expect(await settings.readSetting('banners')).toBeNull()
    await settings.writeSetting('banners', [{ id: 'b1', content: 'hello' }])
    await settings.writeSetting('banners', [{ id: 'b2', content: 'bye' }])
    expect(await settings.readSetting('banners')).toEqual([{ id: 'b2', content: 'bye' }])
    await settings.writeSetting('banners', null)
    expect(await settings.readSetting('banners')).toBeNull()
    await settings.writeSetting('flag', false)
    await settings.removeSetting('flag')
    expect(await settings.readSetting('flag')).toBeNull()
    await close()
  })

  test('two instances: a change made through one holds on the other once what it keeps is a second old', async () => {
    const { groups, grants, instance, clock, users: [ada], close } = await open(dialect)
    const other = instance()
    const team = await groups.createLocalGroup({ name: 'Team', permissions: { workspace: { models: true } } })
    if (!team.ok) throw new Error(team.reason)
    expect(await other.groups.groupIdsOfUser(ada)).toEqual([])
    expect(await other.grants.findGrant('llama3.2:1b')).toBeUndefined()
    const keptIds = await other.groups.groupIdsOfUser(ada)

    await groups.addMember(team.group.id, ada, 'local')
    await grants.setGrant('llama3.2:1b', null, 'admin')
    await groups.updateGroup(team.group.id, { permissions: { workspace: { models: false } } })
    // note: the writer's own memory is replaced at once; the other instance answers from its memory until it is a second old.
    expect(await groups.groupIdsOfUser(ada)).toEqual([team.group.id])
    expect(await other.groups.groupIdsOfUser(ada)).toBe(keptIds)
    clock.at += KEPT_READ_MAX_AGE_MS
    expect(await other.groups.groupIdsOfUser(ada)).toEqual([team.group.id])
    expect(await other.grants.findGrant('llama3.2:1b')).toMatchObject({ access: null })
    expect((await other.groups.permissionsByGroup()).get(team.group.id)).toEqual({ workspace: { models: false } })

    // note: an unchanged read answers the same array, so decisions remembered by it stand.
    const ids = await other.groups.groupIdsOfUser(ada)
    clock.at += KEPT_READ_MAX_AGE_MS
    expect(await other.groups.groupIdsOfUser(ada)).toBe(ids)
    await close()
  })
})
