import { expect, test } from 'bun:test'
import { generateKey } from '../crypto/random.ts'
import type { AccountChange } from './account-changes.ts'
import type { ApiKeyId } from './api-keys.ts'
import { deleteChatsNotUpdatedSince } from './chat-retention.ts'
import type { UserId } from './ids.ts'
import { openMemoryStore, type Store } from './open-store.ts'
import type { SessionId } from './sessions.ts'

/** A store, a user with a session (from single sign-on), an API key and two chats, and the notices heard from then on. */
async function seeded() {
  const store = openMemoryStore()
  const made = await store.users.createUser({ email: 'ada@example.com', name: 'Ada', role: 'admin' })
  if (!made.ok) throw new Error(made.reason)
  const userId = made.user.id
  const sessionId = await addSession(store, userId)
  await store.oidcSessions.recordOidcSession({ sessionId, userId, provider: 'oidc', sid: 'sid-1', tokens: { idToken: null, accessToken: null, refreshToken: null } })
  const keyId = crypto.randomUUID() as ApiKeyId
  await store.apiKeys.createApiKey({ id: keyId, userId, keyHash: new Uint8Array(32).fill(7), name: 'k', expiresAt: null })
  const chats = [(await store.chats.createChat(userId, 'one', [])).id, (await store.chats.createChat(userId, 'two', [])).id]
  const heard: AccountChange[] = []
  store.accountChanges.subscribe((change) => void heard.push(change))
  return { store, userId, sessionId, keyId, chats, heard }
}

async function addSession(store: Store, userId: UserId): Promise<SessionId> {
  const id = crypto.randomUUID() as SessionId
  await store.sessions.createSession({ id, userId, expiresAt: null, userAgent: null, ip: null })
  return id
}

test.each<[string, (seed: Awaited<ReturnType<typeof seeded>>) => unknown, 'access' | 'chats' | 'everyone']>([
  ['a session revoked', ({ store, userId, sessionId }) => store.sessions.revokeSession(userId, sessionId), 'access'],
  ['the other sessions revoked', ({ store, userId }) => store.sessions.revokeOtherSessions(userId, null), 'access'],
  ['single sign-on sessions of a provider sid revoked', ({ store, userId }) => store.oidcSessions.revokeOidcSessionsOfSid(userId, 'oidc', 'sid-1'), 'access'],
  ['single sign-on sessions of a provider revoked', ({ store, userId }) => store.oidcSessions.revokeOidcSessionsOfUser(userId, 'oidc'), 'access'],
  ['the role changed', ({ store, userId }) => store.users.setUserRole(userId, 'user'), 'access'],
  ['the user deleted', ({ store, userId }) => store.users.deleteUser(userId), 'access'],
  ['an API key deleted', ({ store, userId, keyId }) => store.apiKeys.deleteApiKey(userId, keyId), 'access'],
  ['every API key deleted', ({ store, userId }) => store.apiKeys.deleteAllApiKeys(userId), 'access'],
  ['a chat deleted', async ({ store, userId, chats }) => await store.chats.deleteChatForUser(userId, chats[0]!), 'chats'],
  ['every chat deleted', async ({ store, userId }) => await store.chats.deleteAllChatsForUser(userId), 'chats'],
  ['chats past retention deleted', ({ store }) => deleteChatsNotUpdatedSince(store.sql, store.accountChanges, Date.now() + 1_000), 'chats'],
  ['the master key rotated (every session ends)', ({ store }) => store.rotateMasterKey({ kind: 'raw', key: generateKey() }), 'everyone'],
])('%s is announced once, and an access change moves the generation', async (_, write, kind) => {
  const seed = await seeded()
  const before = seed.store.accountChanges.generationOf(seed.userId)
  await write(seed)
  const expected: AccountChange = kind === 'everyone' ? { kind: 'access', userId: null } : { kind, userId: seed.userId }
  expect(seed.heard.map((change) => ({ kind: change.kind, userId: change.userId }))).toEqual([expected])
  expect(seed.store.accountChanges.generationOf(seed.userId) !== before).toBe(kind !== 'chats')
})

test.each<[string, (seed: Awaited<ReturnType<typeof seeded>>) => unknown]>([
  ['revoking another user\'s session', ({ store, sessionId }) => store.sessions.revokeSession('someone-else' as UserId, sessionId)],
  ['revoking a session twice', async ({ store, userId, sessionId, heard }) => {
    await store.sessions.revokeSession(userId, sessionId)
    heard.length = 0
    await store.sessions.revokeSession(userId, sessionId)
  }],
  ['revoking the other sessions when there are none', ({ store, userId, sessionId }) => store.sessions.revokeOtherSessions(userId, sessionId)],
  ['an unknown provider sid', ({ store, userId }) => store.oidcSessions.revokeOidcSessionsOfSid(userId, 'oidc', 'no-such-sid')],
  ['a role change for nobody', ({ store }) => store.users.setUserRole('no-such-user' as UserId, 'pending')],
  ['deleting another user\'s API key', ({ store, keyId }) => store.apiKeys.deleteApiKey('someone-else' as UserId, keyId)],
  ['deleting another user\'s chat', async ({ store, chats }) => await store.chats.deleteChatForUser('someone-else' as UserId, chats[0]!)],
  ['retention with nothing old enough', ({ store }) => deleteChatsNotUpdatedSince(store.sql, store.accountChanges, 0)],
  ['a new session, a rename, a new API key', async ({ store, userId }) => {
    await addSession(store, userId)
    await store.users.renameUser(userId, 'Ada L.')
    await store.apiKeys.createApiKey({ id: crypto.randomUUID() as ApiKeyId, userId, keyHash: new Uint8Array(32).fill(9), name: 'k2', expiresAt: null })
  }],
])('%s announces nothing', async (_, write) => {
  const seed = await seeded()
  await write(seed)
  expect(seed.heard).toEqual([])
})

test('an access notice says what it revoked, when its writer knows', async () => {
  const { store, userId, sessionId, keyId, heard } = await seeded()
  await store.apiKeys.deleteApiKey(userId, keyId)
  await store.sessions.revokeSession(userId, sessionId)
  await store.sessions.revokeOtherSessions(userId, sessionId)
  await addSession(store, userId)
  await store.sessions.revokeOtherSessions(userId, null)
  await store.users.setUserRole(userId, 'pending')
  await store.users.deleteUser(userId)
  expect(heard.map((change) => (change.kind === 'access' ? change.revoked : null))).toEqual([
    { kind: 'api_key', apiKeyId: keyId }, { kind: 'session', sessionId }, { kind: 'sessions', keep: null },
    { kind: 'role', role: 'pending' }, { kind: 'deleted' },
  ])
})

test('generations are per user; an announcement about everyone moves them all; unsubscribing stops the notices', async () => {
  const { store, userId, heard } = await seeded()
  const other = 'someone-else' as UserId
  const [mine, theirs] = [store.accountChanges.generationOf(userId), store.accountChanges.generationOf(other)]
  store.accountChanges.accessChanged(userId)
  expect([store.accountChanges.generationOf(userId) !== mine, store.accountChanges.generationOf(other) === theirs]).toEqual([true, true])
  const afterMine = store.accountChanges.generationOf(userId)
  store.accountChanges.accessChanged(null)
  expect([store.accountChanges.generationOf(userId) !== afterMine, store.accountChanges.generationOf(other) !== theirs]).toEqual([true, true])
  const stop = store.accountChanges.subscribe(() => {})
  stop()
  expect(heard.length).toBe(2)
})
