import { expect, test } from 'bun:test'
import { createMemoryAuditLog } from '../audit/audit-log.ts'
import { loadConfig } from '../config/load-config.ts'
import { openMemoryStore } from '../db/open-store.ts'
import type { Role } from '../db/users.ts'
import { createAuthDeps } from './auth-deps.ts'
import { watchCredential, type WatchedCredential } from './credential-watch.ts'
import { issueSession } from './issue-session.ts'
import { openGate } from './setup-token.ts'

/** Auth deps over a fresh store, with two signed-in users; `watch` starts watching the first one's session. */
function seeded(role: Role = 'admin') {
  const deps = createAuthDeps({
    store: openMemoryStore(), auth: loadConfig({ env: {}, cwd: process.cwd() }).auth, sessionSecret: 'unit-test-secret',
    audit: createMemoryAuditLog(), now: Date.now, setupGate: openGate,
  })
  const signedIn = (email: string) => {
    const made = deps.store.users.createUser({ email, name: 'Ada', role })
    if (!made.ok) throw new Error(made.reason)
    return { user: made.user, session: issueSession(deps, made.user, { ip: '127.0.0.1', userAgent: null }) }
  }
  const ada = signedIn('ada@example.com')
  const bob = signedIn('bob@example.com')
  const idle = deps.store.accountChanges.countListeners()
  const client = new AbortController()
  const watch = (needs: WatchedCredential['needs'] = 'active') =>
    watchCredential(deps, { userId: ada.user.id, credential: ada.session.token, path: '/api/chat/completions', needs }, client.signal)
  return { deps, ada, bob, idle, client, watch, listeners: () => deps.store.accountChanges.countListeners() }
}

test('revoking the watched session aborts `revoked` and `signal` at once, and the listener goes', () => {
  const { deps, ada, idle, watch, listeners } = seeded()
  const running = watch()
  expect(listeners()).toBe(idle + 1)
  deps.store.sessions.revokeSession(ada.user.id, ada.session.sessionId)
  expect(running.revoked.aborted).toBe(true)
  expect(running.signal.aborted).toBe(true)
  expect(listeners()).toBe(idle)
})

test.each<[string, (seed: ReturnType<typeof seeded>) => unknown]>([
  ['another user signed out', ({ deps, bob }) => deps.store.sessions.revokeSession(bob.user.id, bob.session.sessionId)],
  ['another user made pending', ({ deps, bob }) => deps.store.users.setUserRole(bob.user.id, 'pending')],
  ['this user made a user (still active)', ({ deps, ada }) => deps.store.users.setUserRole(ada.user.id, 'user')],
  ['every user\'s access changed, this session still live', ({ deps }) => deps.store.accountChanges.accessChanged(null)],
  ['this user\'s chats deleted', ({ deps, ada }) => deps.store.accountChanges.chatsDeleted(ada.user.id)],
])('%s: the watch runs on', (_, change) => {
  const seed = seeded()
  const running = seed.watch()
  change(seed)
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
])('%s', (_, needs, role, isRevoked) => {
  const { deps, ada, watch } = seeded()
  const running = watch(needs)
  deps.store.users.setUserRole(ada.user.id, role)
  expect(running.revoked.aborted).toBe(isRevoked)
})

test('the client going away ends the watch without revoking; a watch begun after that never listens', () => {
  const { client, idle, watch, listeners } = seeded()
  const running = watch()
  client.abort()
  expect(running.signal.aborted).toBe(true)
  expect(running.revoked.aborted).toBe(false)
  expect(listeners()).toBe(idle)
  watch()
  expect(listeners()).toBe(idle)
})

test('a deleted user revokes the watch', () => {
  const { deps, ada, watch } = seeded('user')
  const running = watch()
  deps.store.users.deleteUser(ada.user.id)
  expect(running.revoked.aborted).toBe(true)
})

test('a credential revoked before the watch starts is revoked at once, with no listener left', () => {
  const { deps, ada, idle, watch, listeners } = seeded()
  deps.store.sessions.revokeSession(ada.user.id, ada.session.sessionId)
  expect(watch().revoked.aborted).toBe(true)
  expect(listeners()).toBe(idle)
})
