import { expect, test } from 'bun:test'
import { loadConfig } from '../config/load-config.ts'
import { KEPT_READ_MAX_AGE_MS } from '../db/kept-read.ts'
import { openMemoryStore } from '../db/open-store.ts'
import { createRuntimeAuth } from './runtime-auth.ts'

/** Two runtime layers over one store stand for two instances on one database. */
function twoInstances() {
  const store = openMemoryStore()
  const clock = { at: 1_700_000_000_000 }
  const base = loadConfig({ env: { ENABLE_API_KEYS: 'true', ENABLE_SIGNUP: 'true' }, cwd: process.cwd() }).auth
  return { clock, one: createRuntimeAuth(base, store.settings, () => clock.at), other: createRuntimeAuth(base, store.settings, () => clock.at) }
}

test('what an admin saves through one instance holds on another within a second', async () => {
  const { clock, one, other } = twoInstances()
  await other.fresh()
  expect(other.current().enableSignup).toBe(true)
  await one.saveAdminConfig({ ...await one.readAdminConfig(), ENABLE_SIGNUP: false })
  const saved = await one.savePermissions({ ...await one.readPermissions(), features: { ...(await one.readPermissions()).features, api_keys: true } })
  expect(saved.features?.api_keys).toBe(true)
  // note: the saving instance has it at once; the other answers from memory until what it keeps is a second old.
  expect(one.current().enableSignup).toBe(false)
  await other.fresh()
  expect(other.current().enableSignup).toBe(true)
  expect(other.permissionsIfFresh()?.features?.api_keys).toBe(false)
  clock.at += KEPT_READ_MAX_AGE_MS
  expect(other.permissionsIfFresh()).toBeUndefined()
  expect((await other.currentPermissions()).features?.api_keys).toBe(true)
  expect(other.current().enableSignup).toBe(false)
  expect(other.current().apiKeys?.usersMayCreate).toBe(true)
})

test('a clock that went back reads again rather than trust what it keeps', async () => {
  const { clock, one, other } = twoInstances()
  await other.fresh()
  await one.saveAdminConfig({ ...await one.readAdminConfig(), ENABLE_SIGNUP: false })
  clock.at -= 1
  await other.fresh()
  expect(other.current().enableSignup).toBe(false)
})

test('isFresh tells at once whether a request may skip fresh(): not before a read, not once it is a second old', async () => {
  const { clock, one, other } = twoInstances()
  expect(other.isFresh()).toBe(false)
  await other.fresh()
  expect(other.isFresh()).toBe(true)
  await one.saveAdminConfig({ ...await one.readAdminConfig(), ENABLE_SIGNUP: false })
  expect(other.isFresh()).toBe(true)
  expect(other.current().enableSignup).toBe(true)
  clock.at += KEPT_READ_MAX_AGE_MS
  expect(other.isFresh()).toBe(false)
  await other.fresh()
  expect(other.isFresh()).toBe(true)
  expect(other.current().enableSignup).toBe(false)
})

test('ENABLE_COMMUNITY_SHARING starts from the environment; a save made before it took effect leaves the environment\'s', async () => {
  const store = openMemoryStore()
  const base = loadConfig({ env: { ENABLE_COMMUNITY_SHARING: 'true' }, cwd: process.cwd() }).auth
  const runtime = createRuntimeAuth(base, store.settings, Date.now)
  expect((await runtime.readAdminConfig()).ENABLE_COMMUNITY_SHARING).toBe(true)
  // note: an older save holds the `false` the page was shown, unmarked: the environment's value stays.
  await store.settings.writeSetting('admin_config', { ...await runtime.readAdminConfig(), ENABLE_COMMUNITY_SHARING: false, ENABLE_SIGNUP: false })
  await runtime.fresh()
  expect(runtime.admin().ENABLE_COMMUNITY_SHARING).toBe(true)
  expect(runtime.current().enableCommunitySharing).toBe(true)
  expect(runtime.current().enableSignup).toBe(false)
  await runtime.saveAdminConfig({ ...await runtime.readAdminConfig(), ENABLE_COMMUNITY_SHARING: false })
  expect(runtime.current().enableCommunitySharing).toBe(false)
  expect(await runtime.readAdminConfig()).not.toHaveProperty('enclave_sharing_applies')
  const restarted = createRuntimeAuth(base, store.settings, Date.now)
  await restarted.fresh()
  expect(restarted.admin().ENABLE_COMMUNITY_SHARING).toBe(false)
})
