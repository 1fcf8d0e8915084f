/**
 * The account repositories (users, sessions, API keys, credentials, identities, second factors) on
 * both engines: the same calls find the same values on SQLite and on PostgreSQL (a real server,
 * test/helpers/postgres.ts). Keys come from a memory store (data keys are still on bun:sqlite); the
 * rows go to the engine under test.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { startPostgres, type PostgresServer } from '../../test/helpers/postgres.ts'
import { createAccountChanges, type AccountChange } from './account-changes.ts'
import { createApiKeyRepo, type ApiKeyId } from './api-keys.ts'
import { createCredentialRepo } from './credentials.ts'
import type { SqlEngine } from './engine.ts'
import type { UserId } from './ids.ts'
import { createIdentityRepo } from './identities.ts'
import { migratePostgres } from './migrate-postgres.ts'
import { openMemoryStore } from './open-store.ts'
import { createPostgresEngine } from './postgres-engine.ts'
import { createSecondFactorRepo, type PasskeyId } from './second-factors.ts'
import { createSessionRepo, type SessionId } from './sessions.ts'
import { FieldOpenError } from './field-open-error.ts'
import { createUserRepo } from './users.ts'

let server: PostgresServer
beforeAll(async () => { server = await startPostgres() }, 60_000)
afterAll(async () => { await server.remove() })

const POOL = { maxConnections: 4, idleTimeoutSeconds: 0, connectionTimeoutSeconds: 10, maxLifetimeSeconds: 0 }

/** A memory store (for its data keys) and the engine under test, migrated, with ada and bob made through the user repository. */
async function open(dialect: 'sqlite' | 'postgresql') {
  const store = openMemoryStore()
  let time = 1_700_000_000_000
  const now = () => time
  let url: string | null = null
  let sql: SqlEngine = store.sql
  if (dialect === 'postgresql') {
    url = await server.createDatabase()
    sql = createPostgresEngine({ url, pool: POOL })
    await migratePostgres(sql)
  }
  const changes = createAccountChanges()
  const heard: AccountChange[] = []
  changes.subscribe((change) => void heard.push(change))
  const users = createUserRepo(sql, store.dataKeys, now, changes)
  const made: UserId[] = []
  for (const name of ['ada', 'bob']) {
    const created = await users.createUser({ email: `${name}@example.com`, name, role: 'user' })
    if (!created.ok) throw new Error(created.reason)
    made.push(created.user.id)
    time += 1
  }
  /** Another instance's engine on the same database (PostgreSQL), or the same engine (SQLite: one file, one writer). */
  const another = async (): Promise<SqlEngine> => (url === null ? sql : createPostgresEngine({ url, pool: POOL }))
  return {
    sql, store, changes, heard, another, now, advance: (ms: number) => void (time += ms), users: made,
    userRepo: users,
    sessions: createSessionRepo(sql, store.dataKeys, now, changes),
    apiKeys: createApiKeyRepo(sql, store.dataKeys, now, changes),
    credentials: createCredentialRepo(sql, store.dataKeys, Date.now, changes),
    identities: createIdentityRepo(sql, store.dataKeys, Date.now, changes),
    factors: createSecondFactorRepo(sql, store.dataKeys, Date.now, changes),
    close: async () => {
      if (dialect === 'postgresql') await sql.close()
      store.close()
    },
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

  test('users: found by id and by email (normalised), listed, counted; the first admin; one email once', async () => {
    const { userRepo, users: [ada, bob], close } = await open(dialect)
    expect((await userRepo.findUserById(ada!))?.name).toBe('ada')
    expect((await userRepo.findUserByEmail('  ADA@Example.com '))?.id).toBe(ada!)
    expect(await userRepo.findUserByEmail('nobody@example.com')).toBeNull()
    expect(await userRepo.createUser({ email: 'Ada@example.com', name: 'again', role: 'user' })).toEqual({ ok: false, reason: 'email_taken' })
    expect((await userRepo.listUsers({ limit: 10, offset: 0 })).map((user) => user.id)).toEqual([ada!, bob!])
    expect((await userRepo.listUsers({ limit: 1, offset: 1 })).map((user) => user.id)).toEqual([bob!])
    expect([await userRepo.countUsers(), await userRepo.countAdmins()]).toEqual([2, 0])
    expect(await userRepo.findFirstAdmin()).toBeNull()
    expect(await userRepo.setUserRole(bob!, 'admin')).toBe(true)
    expect((await userRepo.findOnlyAdmin())?.id).toBe(bob!)
    await userRepo.setUserRole(ada!, 'admin')
    expect(await userRepo.findOnlyAdmin()).toBeNull()
    expect((await userRepo.findFirstAdmin())?.id).toBe(ada!)
    expect(await userRepo.countAdmins()).toBe(2)
    await close()
  })

  test('users: renamed, a new email (refused when taken), preferences set and merged; a role change says so', async () => {
    const { userRepo, users: [ada, bob], heard, close } = await open(dialect)
    expect(await userRepo.renameUser(ada!, 'Ada L.')).toBe(true)
    expect(await userRepo.changeUserEmail(ada!, 'bob@example.com')).toEqual({ ok: false, reason: 'email_taken' })
    expect(await userRepo.changeUserEmail(ada!, 'ada.l@example.com')).toEqual({ ok: true })
    expect((await userRepo.findUserByEmail('ada.l@example.com'))?.name).toBe('Ada L.')
    expect(await userRepo.findUserPreferences(ada!)).toEqual({})
    expect(await userRepo.setUserPreferences(ada!, { theme: 'dark' })).toBe(true)
    expect(await userRepo.mergeUserPreferences(ada!, { locale: 'fr' })).toEqual({ theme: 'dark', locale: 'fr' })
    expect(await userRepo.findUserPreferences(ada!)).toEqual({ theme: 'dark', locale: 'fr' })
    expect(await userRepo.mergeUserPreferences('no-such-user' as UserId, { a: 1 })).toBeNull()
    expect(await userRepo.renameUser('no-such-user' as UserId, 'x')).toBe(false)
    await userRepo.setUserRole(bob!, 'pending')
    expect(heard).toEqual([{ kind: 'access', userId: bob!, revoked: { kind: 'role', role: 'pending' } }])
    await close()
  })

  test('users: concurrent preference changes each see the last one written, so none is lost; a null change writes nothing', async () => {
    const { userRepo, users: [ada], close } = await open(dialect)
    const keys = Array.from({ length: 8 }, (_, i) => `k${i}`)
    await Promise.all(keys.map((key) => userRepo.changeUserPreferences(ada!, (current) => ({ ...current, settings: { ...current.settings as object, [key]: true } }))))
    expect(Object.keys((await userRepo.findUserPreferences(ada!))!.settings as object).sort()).toEqual(keys)
    expect(await userRepo.changeUserPreferences(ada!, () => null)).toEqual(await userRepo.findUserPreferences(ada!))
    expect(await userRepo.changeUserPreferences('no-such-user' as UserId, (current) => current)).toBeNull()
    await close()
  })

  test('users: a deletion removes the rows, their sessions and keys, and destroys the data key', async () => {
    const { userRepo, sessions, apiKeys, store, users: [ada, bob], heard, close } = await open(dialect)
    await sessions.createSession({ id: 's1' as SessionId, userId: ada!, expiresAt: null, userAgent: 'ua', ip: '127.0.0.1' })
    await apiKeys.createApiKey({ id: 'k1' as ApiKeyId, userId: ada!, keyHash: new Uint8Array(32).fill(1), name: 'k', expiresAt: null })
    await userRepo.deleteUser(ada!)
    expect(await userRepo.findUserById(ada!)).toBeNull()
    expect(await sessions.findLiveSession('s1' as SessionId)).toBeNull()
    expect(await apiKeys.useApiKey(new Uint8Array(32).fill(1))).toBeNull()
    await expect(store.dataKeys.ringFor(ada!)).rejects.toBeInstanceOf(FieldOpenError)
    expect((await userRepo.findUserById(bob!))?.name).toBe('bob')
    expect(heard.at(-1)).toEqual({ kind: 'access', userId: ada!, revoked: { kind: 'deleted' } })
    // note: the email is free again.
    expect((await userRepo.createUser({ email: 'ada@example.com', name: 'Ada again', role: 'user' })).ok).toBe(true)
    await close()
  })

  test('users: two first sign-ups at once (two instances) make exactly one admin; one email taken at once is refused once', async () => {
    const { store, sql, another, close } = await open(dialect)
    await sql.run('DELETE FROM "user"')
    const other = await another()
    const repos = [sql, other].map((engine) => createUserRepo(engine, store.dataKeys, Date.now, createAccountChanges()))
    const firsts = await Promise.all(repos.map((repo, i) => repo.createUser({ email: `first${i}@example.com`, name: `First ${i}`, role: 'user', adminIfFirst: true })))
    expect(firsts.map((made) => (made.ok ? made.user.role : made.reason)).sort()).toEqual(['admin', 'user'])
    const same = await Promise.all(repos.map((repo) => repo.createUser({ email: 'same@example.com', name: 'Same', role: 'user' })))
    expect(same.map((made) => made.ok).sort()).toEqual([false, true])
    expect(same.find((made) => !made.ok)).toEqual({ ok: false, reason: 'email_taken' })
    expect(await repos[0]!.countUsers()).toBe(3)
    if (other !== sql) await other.close()
    await close()
  }, 30_000)

  test('sessions: live until revoked or expired, listed newest first, last seen, pruned; revocations say which', async () => {
    const { sessions, users: [ada, bob], heard, advance, now, close } = await open(dialect)
    await sessions.createSession({ id: 's1' as SessionId, userId: ada!, expiresAt: null, userAgent: 'Firefox', ip: '10.0.0.1' })
    advance(1)
    await sessions.createSession({ id: 's2' as SessionId, userId: ada!, expiresAt: now() + 5_000, userAgent: null, ip: null })
    await sessions.createSession({ id: 's3' as SessionId, userId: bob!, expiresAt: null, userAgent: null, ip: null })
    expect(await sessions.findLiveSession('s2' as SessionId)).toEqual({ userId: ada!, expiresAt: now() + 5_000 })
    expect(await sessions.findLiveSessionOwner('s3' as SessionId)).toBe(bob!)
    expect((await sessions.listLiveSessions(ada!)).map((session) => [session.id, session.userAgent, session.ip])).toEqual([['s2', null, null], ['s1', 'Firefox', '10.0.0.1']])
    expect(await sessions.revokeSession(bob!, 's1' as SessionId)).toBe(false)
    expect(await sessions.revokeSession(ada!, 's1' as SessionId)).toBe(true)
    expect(await sessions.findLiveSession('s1' as SessionId)).toBeNull()
    advance(5_000)
    expect(await sessions.findLiveSession('s2' as SessionId)).toBeNull()
    advance(120_000)
    expect(await sessions.findLiveSessionOwner('s3' as SessionId)).toBe(bob!)
    expect((await sessions.lastSeenByUser()).get(bob!)).toBe(now())
    expect(await sessions.revokeOtherSessions(bob!, null)).toBe(1)
    expect(heard).toEqual([
      { kind: 'access', userId: ada!, revoked: { kind: 'session', sessionId: 's1' } },
      { kind: 'access', userId: bob!, revoked: { kind: 'sessions', keep: null } },
    ])
    await sessions.pruneSessions(now() + 1)
    expect((await sessions.lastSeenByUser()).size).toBe(0)
    await close()
  })

  test('API keys: found by hash while live, with their model list; listed; deleted one or all', async () => {
    const { apiKeys, users: [ada, bob], heard, advance, now, close } = await open(dialect)
    await apiKeys.createApiKey({ id: 'k1' as ApiKeyId, userId: ada!, keyHash: new Uint8Array(32).fill(1), name: 'one', expiresAt: null, allowedModels: ['llama3'] })
    await apiKeys.createApiKey({ id: 'k2' as ApiKeyId, userId: ada!, keyHash: new Uint8Array(32).fill(2), name: 'two', expiresAt: now() + 1_000 })
    expect(await apiKeys.useApiKey(new Uint8Array(32).fill(1))).toEqual({ id: 'k1' as ApiKeyId, userId: ada!, expiresAt: null, allowedModels: ['llama3'] })
    expect((await apiKeys.listApiKeys(ada!)).map((key) => [key.id, key.name, key.lastUsedAt])).toEqual([['k1', 'one', now()], ['k2', 'two', null]])
    expect(await apiKeys.listApiKeys(bob!)).toEqual([])
    advance(1_000)
    expect(await apiKeys.useApiKey(new Uint8Array(32).fill(2))).toBeNull()
    expect(await apiKeys.deleteApiKey(bob!, 'k1' as ApiKeyId)).toBe(false)
    expect(await apiKeys.deleteApiKey(ada!, 'k1' as ApiKeyId)).toBe(true)
    expect(await apiKeys.deleteAllApiKeys(ada!)).toBe(1)
    expect(heard).toEqual([
      { kind: 'access', userId: ada!, revoked: { kind: 'api_key', apiKeyId: 'k1' } },
      { kind: 'access', userId: ada!, revoked: { kind: 'api_key', apiKeyId: null } },
    ])
    await close()
  })
})
