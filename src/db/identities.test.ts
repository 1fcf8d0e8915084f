import { describe, expect, test } from 'bun:test'
import { openMemoryStore, type Store } from './open-store.ts'

async function createdUser(store: Store, email = 'ada@example.com') {
  const result = await store.users.createUser({ email, name: 'Ada', role: 'user' })
  if (!result.ok) throw new Error(result.reason)
  return result.user
}

describe('identity links', () => {
  test('a linked subject finds its user; an unknown one finds nobody', async () => {
    const store = openMemoryStore()
    const user = await createdUser(store)
    expect(await store.identities.linkIdentity('ldap', 'uid=ada,ou=people,dc=example,dc=org', user.id)).toBe(true)
    expect(await store.identities.findUserIdByIdentity('ldap', 'uid=ada,ou=people,dc=example,dc=org')).toBe(user.id)
    expect(await store.identities.findUserIdByIdentity('ldap', 'uid=bob,ou=people,dc=example,dc=org')).toBeNull()
  })

  test('the same subject at another provider is another account', async () => {
    const store = openMemoryStore()
    const user = await createdUser(store)
    await store.identities.linkIdentity('oidc:keycloak', 'https://idp.example\0sub-1', user.id)
    expect(await store.identities.findUserIdByIdentity('oidc:other', 'https://idp.example\0sub-1')).toBeNull()
    expect(await store.identities.findUserIdByIdentity('ldap', 'https://idp.example\0sub-1')).toBeNull()
  })

  test('a subject already linked is not linked again, to anyone', async () => {
    const store = openMemoryStore()
    const ada = await createdUser(store)
    const bob = await createdUser(store, 'bob@example.com')
    expect(await store.identities.linkIdentity('ldap', 'entry-1', ada.id)).toBe(true)
    expect(await store.identities.linkIdentity('ldap', 'entry-1', bob.id)).toBe(false)
    expect(await store.identities.findUserIdByIdentity('ldap', 'entry-1')).toBe(ada.id)
  })

  test('lists a user\'s links with their subjects; unlink and user deletion remove them', async () => {
    let time = 1_000
    const store = openMemoryStore(undefined, () => time)
    const user = await createdUser(store)
    await store.identities.linkIdentity('ldap', 'entry-1', user.id)
    time = 2_000
    await store.identities.linkIdentity('oidc:google', 'sub-9', user.id)
    time = 3_000
    await store.identities.recordIdentityLogin('ldap', 'entry-1')
    expect(await store.identities.listIdentitiesOfUser(user.id)).toEqual([
      { provider: 'ldap', subject: 'entry-1', createdAt: 1_000, lastLoginAt: 3_000 },
      { provider: 'oidc:google', subject: 'sub-9', createdAt: 2_000, lastLoginAt: 2_000 },
    ])
    await store.identities.unlinkIdentity('ldap', 'entry-1')
    expect(await store.identities.findUserIdByIdentity('ldap', 'entry-1')).toBeNull()
    await store.users.deleteUser(user.id)
    expect(await store.identities.findUserIdByIdentity('oidc:google', 'sub-9')).toBeNull()
  })

  test('the subject is not stored in the clear', async () => {
    const store = openMemoryStore()
    const user = await createdUser(store)
    await store.identities.linkIdentity('ldap', 'uid=marker-4c1e,dc=example', user.id)
    const raw = store.db.query<{ subject: Uint8Array; subject_index: Uint8Array }, []>('SELECT subject, subject_index FROM identity').get()!
    for (const bytes of [raw.subject, raw.subject_index]) expect(Buffer.from(bytes).toString('latin1')).not.toContain('marker-4c1e')
  })
})
