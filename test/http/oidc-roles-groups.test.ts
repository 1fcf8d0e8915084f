import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { startOidcProvider, type TestOidcProvider } from '../helpers/oidc-provider.ts'
import { startSsoApp, type SsoApp } from '../helpers/sso-app.ts'
import { signIn, type CookieJar } from '../helpers/sso-browser.ts'

let op: TestOidcProvider
const apps: SsoApp[] = []
beforeAll(async () => { op = await startOidcProvider() })
afterAll(async () => {
  for (const app of apps) await app.stop()
  await op.stop()
})

async function appWith(env: Record<string, string>) {
  const app = await startSsoApp(op, { ENABLE_OAUTH_SIGNUP: 'true', ...env })
  apps.push(app)
  return app
}

/** Signs in as `login` and answers the user the session belongs to. */
async function signedInUser(app: SsoApp, login: string) {
  const jar: CookieJar = new Map()
  const outcome = await signIn(jar, app.url, op, login)
  if (outcome.location !== '/') return { refused: new URL(outcome.location, 'http://x').searchParams.get('error'), user: null }
  const res = await fetch(`${app.url}/api/v1/auths/`, { headers: { cookie: `token=${jar.get('token')}` } })
  return { refused: null, user: await res.json() as { id: string; role: string } }
}

const groupNamesOf = async (app: SsoApp, userId: string) => (await app.deps.store.groups.listGroupsOfUser(userId as never)).map((group) => group.name).sort()

describe('role management from the provider', () => {
  test('roles from a nested claim (realm_access.roles): admin, user, and roles present but none allowed refused', async () => {
    const app = await appWith({ ENABLE_OAUTH_ROLE_MANAGEMENT: 'true', OAUTH_ROLES_CLAIM: 'realm_access.roles' })
    expect((await signedInUser(app, 'bob')).user!.role).toBe('user') // not admin, though first
    expect((await signedInUser(app, 'alice')).user!.role).toBe('admin')
    const frank = await signedInUser(app, 'frank')
    expect(frank.refused).toBe('Your account has no role that may sign in here.')
    expect(await app.deps.store.users.countUsers()).toBe(2)
    expect(app.audit.entries.at(-1)).toMatchObject({ event: 'signin_failed', reason: 'role_not_allowed' })
  })

  test('no roles at all gives pending; roles are re-applied at every sign-in (promotion and demotion)', async () => {
    const app = await appWith({ ENABLE_OAUTH_ROLE_MANAGEMENT: 'true', OAUTH_ADMIN_ROLES: 'superuser,admin' })
    const original = op.accounts.get('bob')!
    try {
      op.accounts.set('bob', { ...original, roles: [] })
      const first = (await signedInUser(app, 'bob')).user!
      expect(first.role).toBe('pending')
      op.accounts.set('bob', { ...original, roles: ['user', 'superuser'] })
      const promoted = (await signedInUser(app, 'bob')).user!
      expect(promoted).toMatchObject({ id: first.id, role: 'admin' })
      op.accounts.set('bob', { ...original, roles: ['user'] })
      expect((await signedInUser(app, 'bob')).user).toMatchObject({ id: first.id, role: 'user' })
      expect((await app.deps.store.users.findUserById(first.id as never))!.role).toBe('user')
    } finally {
      op.accounts.set('bob', original)
    }
  })

  test('without role management the provider\'s roles change nothing', async () => {
    const app = await appWith({})
    await signedInUser(app, 'bob') // first account: admin
    expect((await signedInUser(app, 'alice')).user!.role).toBe('pending') // DEFAULT_USER_ROLE, despite the admin role
    expect((await signedInUser(app, 'frank')).refused).toBeNull()
  })
})

describe('group management from the provider', () => {
  test('memberships follow the groups claim at every sign-in, creating groups when allowed', async () => {
    const app = await appWith({ ENABLE_OAUTH_GROUP_MANAGEMENT: 'true', ENABLE_OAUTH_GROUP_CREATION: 'true' })
    const original = op.accounts.get('alice')!
    try {
      const alice = (await signedInUser(app, 'alice')).user!
      expect(await groupNamesOf(app, alice.id)).toEqual(['admins', 'users'])
      const local = await app.deps.store.groups.ensureGroup('Book club', 'local')
      await app.deps.store.groups.addMember(local.id, alice.id as never, 'local')
      op.accounts.set('alice', { ...original, groups: ['users', 'editors'] })
      await signedInUser(app, 'alice')
      // admins removed, editors added; the membership an admin made by hand stays
      expect(await groupNamesOf(app, alice.id)).toEqual(['Book club', 'editors', 'users'])
      expect(app.audit.entries.at(-1)).toMatchObject({ event: 'signin_succeeded', details: { groups_added: 1, groups_removed: 1 } })
    } finally {
      op.accounts.set('alice', original)
    }
  })

  test('a provider that sends no groups claim at all leaves the memberships as they are; an empty claim clears them', async () => {
    const app = await appWith({ ENABLE_OAUTH_GROUP_MANAGEMENT: 'true', ENABLE_OAUTH_GROUP_CREATION: 'true' })
    const original = op.accounts.get('alice')!
    try {
      const alice = (await signedInUser(app, 'alice')).user!
      expect(await groupNamesOf(app, alice.id)).toEqual(['admins', 'users'])
      const { groups: _, ...withoutGroups } = original
      op.accounts.set('alice', withoutGroups as typeof original) // note: a provider that leaves the claim out entirely
      await signedInUser(app, 'alice')
      expect(await groupNamesOf(app, alice.id)).toEqual(['admins', 'users'])
      op.accounts.set('alice', { ...original, groups: [] })
      await signedInUser(app, 'alice')
      expect(await groupNamesOf(app, alice.id)).toEqual([])
    } finally {
      op.accounts.set('alice', original)
    }
  })

  test('a nested groups claim works, and unknown groups are not created without ENABLE_OAUTH_GROUP_CREATION', async () => {
    const app = await appWith({ ENABLE_OAUTH_GROUP_MANAGEMENT: 'true', OAUTH_GROUPS_CLAIM: 'realm_access.roles' })
    await app.deps.store.groups.ensureGroup('admin', 'local')
    const alice = (await signedInUser(app, 'alice')).user!
    expect(await groupNamesOf(app, alice.id)).toEqual(['admin'])
    const bob = (await signedInUser(app, 'bob')).user!
    expect(await groupNamesOf(app, bob.id)).toEqual([]) // 'user' does not exist and may not be created
    expect(await app.deps.store.groups.findGroupByName('user')).toBeNull()
  })
})
