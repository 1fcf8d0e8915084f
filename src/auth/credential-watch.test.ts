import { expect, test } from 'bun:test'
import { createMemoryAuditLog } from '../audit/audit-log.ts'
import { loadConfig } from '../config/load-config.ts'
import { openMemoryStore } from '../db/open-store.ts'
import type { Role } from '../db/users.ts'
import { createAuthDeps } from './auth-deps.ts'
import { watchCredential, type WatchedCredential } from './credential-watch.ts'
import { authenticate } from './authenticate.ts'
import { issueSession } from './issue-session.ts'
import { openGate } from './setup-token.ts'

/** Auth deps over a fresh store, with two signed-in users; `watch` starts watching the first one's session. */
async function seeded(role: Role = 'admin') {
  const deps = createAuthDeps({
    store: openMemoryStore(), auth: loadConfig({ env: {}, cwd: process.cwd() }).auth, sessionSecret: 'unit-test-secret',
    audit: createMemoryAuditLog(), now: Date.now, setupGate: openGate,
  })
  const signedIn = async (email: string) => {
    const made = await deps.store.users.createUser({ email, name: 'Ada', role })
    if (!made.ok) throw new Error(made.reason)
    return { user: made.user, session: await issueSession(deps, made.user, { ip: '127.0.0.1', userAgent: null }) }
  }
  const ada = await signedIn('ada@example.com')
  const bob = await signedIn('bob@example.com')
  // note: as a request would have: the session admitted (and remembered) just before its answer starts.
  expect((await authenticate(deps, ada.session.token, '/api/chat/completions')).ok).toBe(true)
  const idle = deps.store.accountChanges.countListeners()
  const client = new AbortController()
  const watch = (needs: WatchedCredential['needs'] = 'active') =>
    watchCredential(deps, { userId: ada.user.id, credential: ada.session.token, path: '/api/chat/completions', needs, held: { via: 'session', sessionId: ada.session.sessionId } }, client.signal)
  return { deps, ada, bob, idle, client, watch, listeners: () => deps.store.accountChanges.countListeners() }
}

test('revoking the watched session aborts `revoked` and `signal` at once, and the listener goes', async () => {
  const { deps, ada, idle, watch, listeners } = await seeded()
  const running = watch()
  expect(listeners()).toBe(idle + 1)
  await deps.store.sessions.revokeSession(ada.user.id, ada.session.sessionId)
  expect(running.revoked.aborted).toBe(true)
  expect(running.signal.aborted).toBe(true)
  expect(listeners()).toBe(idle)
})

test.each<[string, (seed: Awaited<ReturnType<typeof seeded>>) => unknown]>([
  ['another user signed out', ({ deps, bob }) => deps.store.sessions.revokeSession(bob.user.id, bob.session.sessionId)],
  ['another user made pending', ({ deps, bob }) => deps.store.users.setUserRole(bob.user.id, 'pending')],
  ['this user made a user (still active)', ({ deps, ada }) => deps.store.users.setUserRole(ada.user.id, 'user')],
  ['every user\'s access changed, this session still live', ({ deps }) => deps.store.accountChanges.accessChanged(null)],
  ['this user\'s chats deleted', ({ deps, ada }) => deps.store.accountChanges.chatsDeleted(ada.user.id)],
])('%s: the watch runs on', async (_, change) => {
  const seed = await seeded()
  const running = seed.watch()
  await change(seed)
  // note: a notice that does not say what it revoked is decided by reading the credential again, awaited by the stream.
  await running.checked()
  expect(running.revoked.aborted).toBe(false)
  expect(seed.listeners()).toBe(seed.idle + 1)
  running.stop()
  running.stop() // note: any number of times
  expect(seed.listeners()).toBe(seed.idle)
})

test.each<[string, WatchedCredential['needs'], Role, boolean]>([
  ['an active answer, the user made pending: revoked', 'active', 'pending', true],
  ['an admin call, the admin made a user: revoked', 'admin', 'user', true],
  ['an admin call, the admin made pending: revoked', 'admin', 'pending', true],
  ['an active answer, the admin made a user: runs on', 'active', 'user', false],
])('%s', async (_, needs, role, isRevoked) => {
  const { deps, ada, watch } = await seeded()
  const running = watch(needs)
  await deps.store.users.setUserRole(ada.user.id, role)
  expect(running.revoked.aborted).toBe(isRevoked)
})

test('the client going away ends the watch without revoking; a watch begun after that never listens', async () => {
  const { client, idle, watch, listeners } = await seeded()
  const running = watch()
  client.abort()
  expect(running.signal.aborted).toBe(true)
  expect(running.revoked.aborted).toBe(false)
  expect(listeners()).toBe(idle)
  watch()
  expect(listeners()).toBe(idle)
})

test('a deleted user revokes the watch', async () => {
  const { deps, ada, watch } = await seeded('user')
  const running = watch()
  await deps.store.users.deleteUser(ada.user.id)
  expect(running.revoked.aborted).toBe(true)
})

test('a credential revoked before the watch starts is revoked at once, with no listener left', async () => {
  const { deps, ada, idle, watch, listeners } = await seeded()
  await deps.store.sessions.revokeSession(ada.user.id, ada.session.sessionId)
  const running = watch()
  expect(running.checked()).toBeInstanceOf(Promise)
  await running.checked()
  expect(running.revoked.aborted).toBe(true)
  expect(running.checked()).toBeNull()
  expect(listeners()).toBe(idle)
})

test('a notice that does not say what it revoked is decided by reading the credential again: `checked()` until then', async () => {
  const { deps, ada, watch } = await seeded()
  const running = watch()
  await deps.store.sessions.revokeSession(ada.user.id, ada.session.sessionId).then(() => undefined)
  expect(running.revoked.aborted).toBe(true)
  const other = await seeded()
  const relayed = other.watch()
  // note: as a notice relayed from another instance without its detail: the session is revoked in the database first.
  await other.deps.store.sql.run('UPDATE session SET revoked_at = ? WHERE id = ?', Date.now(), other.ada.session.sessionId)
  other.deps.store.accountChanges.accessChanged(other.ada.user.id)
  expect(relayed.revoked.aborted).toBe(false)
  expect(relayed.checked()).toBeInstanceOf(Promise)
  await relayed.checked()
  expect(relayed.revoked.aborted).toBe(true)
})

test('API keys: deleting another key lets the watch run on; deleting this one, or all, revokes it', async () => {
  const { deps, ada } = await seeded()
  const { generateApiKey, hashApiKey } = await import('./api-key-secret.ts')
  const keyed = async (id: string) => {
    const key = generateApiKey()
    await deps.store.apiKeys.createApiKey({ id: id as never, userId: ada.user.id, keyHash: hashApiKey(key), name: id, expiresAt: null })
    return watchCredential(deps, { userId: ada.user.id, credential: key, path: '/api/chat/completions', needs: 'active', held: { via: 'api_key', apiKeyId: id as never } }, new AbortController().signal)
  }
  const first = await keyed('k1')
  const second = await keyed('k2')
  await deps.store.apiKeys.deleteApiKey(ada.user.id, 'k1' as never)
  expect([first.revoked.aborted, second.revoked.aborted]).toEqual([true, false])
  await deps.store.apiKeys.deleteAllApiKeys(ada.user.id)
  expect(second.revoked.aborted).toBe(true)
})
