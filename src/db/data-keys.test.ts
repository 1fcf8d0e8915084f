/**
 * The data key cache against writes it did not make: another repository on the same database (an
 * instance with its own cache) adds a key version; this one's cached ring drops itself when asked
 * for a newer version, and key writes are told to listeners only once committed.
 */
import { expect, test } from 'bun:test'
import { openField, sealField } from '../crypto/field-cipher.ts'
import { createDataKeyRepo } from './data-keys.ts'
import { openMemoryStore } from './open-store.ts'

const context = { table: 't', column: 'c', rowId: 'r' }

/** Two repositories, each its own cache, over one in-memory database, and an owner with one key. */
async function twoRepos() {
  const store = openMemoryStore()
  const wrapKey = crypto.getRandomValues(new Uint8Array(32))
  const here = createDataKeyRepo(store.sql, wrapKey, Date.now)
  const elsewhere = createDataKeyRepo(store.sql, wrapKey, Date.now)
  await store.sql.transaction(() => here.createKey('owner-1'))
  return { store, here, elsewhere }
}

test('a cached ring asked for a newer version drops itself; read again, it opens the value', async () => {
  const { store, here, elsewhere } = await twoRepos()
  const cached = await here.ringFor('owner-1')
  expect(await here.ringFor('owner-1')).toBe(cached)
  expect(await elsewhere.addKeyVersion('owner-1')).toBe(2)
  const sealed = sealField((await elsewhere.ringFor('owner-1')).current, new TextEncoder().encode('hello'), context)

  expect(here.isOutdated(cached)).toBe(false)
  expect(cached.byVersion(2)).toBeNull()
  expect(here.isOutdated(cached)).toBe(true)
  const fresh = await here.ringFor('owner-1')
  expect(fresh).not.toBe(cached)
  expect(new TextDecoder().decode(openField(fresh.byVersion(2)!, sealed, context)!)).toBe('hello')
  // note: an older version missing (destroyed) is no sign of a newer ring: the ring stays.
  expect(fresh.byVersion(0)).toBeNull()
  expect(here.isOutdated(fresh)).toBe(false)
  expect(await here.ringFor('owner-1')).toBe(fresh)
  store.close()
})

test('key writes reach listeners once committed, never when rolled back; forgetRing drops one or all', async () => {
  const { store, here } = await twoRepos()
  const heard: string[] = []
  here.onKeysChanged((owner) => heard.push(owner))
  await expect(store.sql.transaction(async () => {
    await here.addKeyVersion('owner-1')
    throw new Error('rolled back')
  })).rejects.toThrow('rolled back')
  expect(heard).toEqual([])
  await store.sql.transaction(async () => {
    await here.addKeyVersion('owner-1')
    expect(heard).toEqual([])
  })
  expect(heard).toEqual(['owner-1'])
  await here.destroyKeyVersionsBefore('owner-1', 2)
  await here.destroyKeys('owner-1')
  expect(heard).toEqual(['owner-1', 'owner-1', 'owner-1'])

  await store.sql.transaction(() => here.createKey('owner-2'))
  const ring = await here.ringFor('owner-2')
  here.forgetRing('owner-2')
  const again = await here.ringFor('owner-2')
  expect(again).not.toBe(ring)
  here.forgetRing(null)
  expect(await here.ringFor('owner-2')).not.toBe(again)
  store.close()
})
