import { expect, test } from 'bun:test'
import { createAccountChanges } from '../db/account-changes.ts'
import type { UserId } from '../db/ids.ts'
import type { SessionId } from '../db/sessions.ts'
import type { User } from '../db/users.ts'
import { createPrincipalCache, type Admission } from './principal-cache.ts'

const admission = (id: string): Admission => ({
  user: { id: id as UserId, email: `${id}@example.com`, name: id, role: 'user', createdAt: 0, updatedAt: 0 } satisfies User,
  via: 'session', sessionId: `s-${id}` as SessionId,
})

test('holds at most maxEntries credentials, dropping the oldest', () => {
  const changes = createAccountChanges()
  const cache = createPrincipalCache(changes, () => 0, { maxEntries: 2, maxAgeMs: 1_000 })
  for (const id of ['a', 'b', 'c']) cache.remember(id, admission(id), changes.revisionOf(id as UserId), null)
  expect(cache.size()).toBe(2)
  expect(cache.find('a')).toBeUndefined()
  expect(cache.find('c')?.user.id).toBe('c' as UserId)
})

test('an entry is used only before its expiry and its maximum age', () => {
  let clock = 0
  const changes = createAccountChanges()
  const cache = createPrincipalCache(changes, () => clock, { maxEntries: 10, maxAgeMs: 1_000 })
  cache.remember('short', admission('a'), 0, 500)
  cache.remember('long', admission('b'), 0, null)
  clock = 499
  expect(cache.find('short')).toBeDefined()
  clock = 500
  expect(cache.find('short')).toBeUndefined()
  expect(cache.find('long')).toBeDefined()
  clock = 1_000
  expect(cache.find('long')).toBeUndefined()
  expect(cache.size()).toBe(0)
})

test("a user's revision moving makes their entries unusable; an access notice drops them", () => {
  const changes = createAccountChanges()
  const cache = createPrincipalCache(changes, () => 0)
  cache.remember('a', admission('a'), changes.revisionOf('a' as UserId), null)
  cache.remember('b', admission('b'), changes.revisionOf('b' as UserId), null)
  changes.recordChanged('a' as UserId)
  expect(cache.find('a')).toBeUndefined()
  expect(cache.find('b')).toBeDefined()
  changes.accessChanged('b' as UserId)
  expect(cache.size()).toBe(0)
})

test('the remembered user is frozen: requests that share it cannot change it', () => {
  const cache = createPrincipalCache(createAccountChanges(), () => 0)
  cache.remember('a', admission('a'), 0, null)
  expect(Object.isFrozen(cache.find('a')!.user)).toBe(true)
})
