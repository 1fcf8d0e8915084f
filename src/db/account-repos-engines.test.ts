/**
 * The repositories of credentials, identities and second factors on both engines: the same calls
 * find the same values on SQLite and on PostgreSQL (a real server, test/helpers/postgres.ts). Keys
 * come from a memory store (data keys are still on bun:sqlite); the rows go to the engine under test.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { startPostgres, type PostgresServer } from '../../test/helpers/postgres.ts'
import { createAccountChanges } from './account-changes.ts'
import { createCredentialRepo } from './credentials.ts'
import type { SqlEngine } from './engine.ts'
import type { UserId } from './ids.ts'
import { createIdentityRepo } from './identities.ts'
import { migratePostgres } from './migrate-postgres.ts'
import { openMemoryStore } from './open-store.ts'
import { createPostgresEngine } from './postgres-engine.ts'
import { createSecondFactorRepo, type PasskeyId } from './second-factors.ts'

let server: PostgresServer
beforeAll(async () => { server = await startPostgres() }, 60_000)
afterAll(async () => { await server.remove() })

type Engine = { sql: SqlEngine; users: UserId[]; close: () => Promise<void> }

/** A memory store with two users; on PostgreSQL, a migrated database holding the same two user rows. */
async function open(dialect: 'sqlite' | 'postgresql') {
  const store = openMemoryStore()
  const users = ['ada', 'bob'].map((name) => {
    const made = store.users.createUser({ email: `${name}@example.com`, name, role: 'user' })
    if (!made.ok) throw new Error(made.reason)
    return made.user.id
  })
  let engine: Engine = { sql: store.sql, users, close: async () => store.close() }
  if (dialect === 'postgresql') {
    const sql = createPostgresEngine({ url: await server.createDatabase(), pool: { maxConnections: 4, idleTimeoutSeconds: 0, connectionTimeoutSeconds: 10, maxLifetimeSeconds: 0 } })
    await migratePostgres(sql)
    for (const id of users) {
      await sql.run('INSERT INTO "user" (id, email_index, email, name, role, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)', id, new TextEncoder().encode(id), new Uint8Array([1]), new Uint8Array([1]), 'user', 1, 1)
    }
    engine = { sql, users, close: async () => { await sql.close(); store.close() } }
  }
  const changes = createAccountChanges()
  return {
    ...engine, changes,
    credentials: createCredentialRepo(engine.sql, store.dataKeys, Date.now, changes),
    identities: createIdentityRepo(engine.sql, store.dataKeys, Date.now, changes),
    factors: createSecondFactorRepo(engine.sql, store.dataKeys, Date.now, changes),
  }
}

describe.each(['sqlite', 'postgresql'] as const)('%s', (dialect) => {
  test('password hashes: none, set, replaced; setting one moves the revision', async () => {
    const { credentials, users: [ada], changes, close } = await open(dialect)
    expect(await credentials.findPasswordHash(ada!)).toBeNull()
    const before = changes.revisionOf(ada!)
    await credentials.setPasswordHash(ada!, '$argon2id$first')
    await credentials.setPasswordHash(ada!, '$argon2id$second')
    expect(await credentials.findPasswordHash(ada!)).toBe('$argon2id$second')
    expect(changes.revisionOf(ada!)).not.toBe(before)
    await close()
  })

  test('identities: linked once, listed, unlinked', async () => {
    const { identities, users: [ada, bob], close } = await open(dialect)
    expect(await identities.linkIdentity('ldap', 'entry-1', ada!)).toBe(true)
    expect(await identities.linkIdentity('ldap', 'entry-1', bob!)).toBe(false)
    await identities.linkIdentity('oidc:corp', 'issuer\0sub', ada!)
    await identities.recordIdentityLogin('ldap', 'entry-1')
    expect(await identities.findUserIdByIdentity('ldap', 'entry-1')).toBe(ada!)
    expect((await identities.listIdentitiesOfUser(ada!)).map((link) => [link.provider, link.subject])).toEqual([['ldap', 'entry-1'], ['oidc:corp', 'issuer\0sub']])
    await identities.unlinkIdentity('ldap', 'entry-1')
    expect(await identities.findUserIdByIdentity('ldap', 'entry-1')).toBeNull()
    await close()
  })

  test('second factors: a TOTP step once, recovery codes once, passkeys with their counter, the summaries, a reset', async () => {
    const { factors, users: [ada, bob], close } = await open(dialect)
    expect(await factors.hasSecondFactor(ada!)).toBe(false)
    await factors.setPendingTotp(ada!, new Uint8Array(20).fill(7))
    expect(await factors.findTotp(ada!)).toEqual({ secret: new Uint8Array(20).fill(7), enabled: false, lastUsedStep: null })
    expect(await factors.enableTotp(ada!, 100)).toBe(true)
    expect(await factors.useTotpStep(ada!, 100)).toBe(false)
    expect(await factors.useTotpStep(ada!, 101)).toBe(true)
    await factors.replaceRecoveryCodes(ada!, ['code-one', 'code-two'])
    expect(await factors.useRecoveryCode(ada!, 'code-one')).toBe(true)
    expect(await factors.useRecoveryCode(ada!, 'code-one')).toBe(false)
    expect(await factors.useRecoveryCode(bob!, 'code-two')).toBe(false)
    expect(await factors.countRecoveryCodesLeft(ada!)).toBe(1)
    await factors.addPasskey({ id: 'p1' as PasskeyId, userId: bob!, credentialId: new Uint8Array([1, 2]), publicKey: new Uint8Array([3]), name: 'Laptop', signCount: 5 })
    const passkey = (await factors.findPasskeyByCredentialId(new Uint8Array([1, 2])))!
    expect([passkey.userId, passkey.name, passkey.signCount]).toEqual([bob!, 'Laptop', 5])
    expect(await factors.recordPasskeyUse(passkey, 6)).toBe(true)
    expect(await factors.recordPasskeyUse(passkey, 7)).toBe(false)
    expect(await factors.hasSecondFactor(ada!)).toBe(true)
    expect(await factors.hasSecondFactor(bob!)).toBe(true)
    const summaries = await factors.summariseFactors()
    expect(summaries.get(ada!)).toEqual({ totp: true, passkeys: 0, recoveryCodesLeft: 1 })
    expect(summaries.get(bob!)).toEqual({ totp: false, passkeys: 1, recoveryCodesLeft: 0 })
    expect(await factors.resetSecondFactors(ada!)).toEqual({ totp: true, passkeys: 0 })
    expect(await factors.deletePasskey(ada!, 'p1' as PasskeyId)).toBe(false)
    expect(await factors.deletePasskey(bob!, 'p1' as PasskeyId)).toBe(true)
    expect((await factors.summariseFactors()).get(bob!)).toEqual({ totp: false, passkeys: 0, recoveryCodesLeft: 0 })
    await close()
  })
})
