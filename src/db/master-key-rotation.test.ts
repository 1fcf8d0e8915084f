import { afterEach, beforeEach, expect, test } from 'bun:test'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { MasterKeySource } from '../config/load-config.ts'
import { KeyMismatchError } from '../crypto/key-errors.ts'
import { keyFingerprint } from '../crypto/key-derivation.ts'
import { generateKey } from '../crypto/random.ts'
import { FieldOpenError } from './field-open-error.ts'
import { readKeyCheck } from './key-check.ts'
import { openStore } from './open-store.ts'
import { verifySealedFields } from './verify-fields.ts'

let dir = ''
beforeEach(() => { dir = mkdtempSync(join(tmpdir(), 'enclave-master-')) })
afterEach(() => { rmSync(dir, { recursive: true, force: true }) })
const hex = (key: Uint8Array) => Buffer.from(key).toString('hex')
const env = (key: Uint8Array | string): MasterKeySource => ({ kind: 'env', value: typeof key === 'string' ? key : hex(key) })
const open = (masterKey: MasterKeySource, previous: Uint8Array | null = null) =>
  openStore({ dataDir: dir, masterKey, now: Date.now, previousMasterKey: previous === null ? null : { material: { kind: 'raw', key: previous }, origin: 'ENCRYPTION_KEY_PREVIOUS' } })

async function seeded(key: Uint8Array, users = 5) {
  const store = open(env(key))
  for (let i = 0; i < users; i++) {
    const created = await store.users.createUser({ email: `u${i}@example.com`, name: `U${i}`, role: 'user' })
    if (created.ok) await store.chats.createChat(created.user.id, `chat ${i}`, [{ role: 'user', content: `hello ${i}` }])
  }
  return store
}

test('rotating to a passphrase: the new key opens, the old is refused, every field still opens', async () => {
  const old = generateKey()
  const store = await seeded(old)
  const passphrase = `a passphrase for this test run ${crypto.randomUUID()}`
  const rotated = await store.rotateMasterKey({ kind: 'passphrase', passphrase })
  expect(rotated.rewrappedKeys).toBe(7)
  expect(rotated.previousFingerprint).toBe(keyFingerprint(old))
  expect(store.info.keyFingerprint).toBe(rotated.fingerprint)
  // keys made after the rotation are wrapped under the new key
  await store.users.createUser({ email: 'late@example.com', name: 'Late', role: 'user' })
  store.close()
  expect(() => open(env(old))).toThrow(KeyMismatchError)
  const reopened = open(env(passphrase))
  expect((await verifySealedFields(reopened.sql, reopened.dataKeys)).failures).toEqual([])
  expect((await reopened.users.findUserByEmail('late@example.com'))?.name).toBe('Late')
  reopened.close()
})

test('a failure in the middle of the re-wrap rolls back whole: the database stays under the old key', async () => {
  const old = generateKey()
  const store = await seeded(old, 20)
  // a data key that does not unwrap makes the re-wrap throw partway through the owners
  const victim = store.db.query<{ owner_id: string }, []>("SELECT owner_id FROM data_key ORDER BY owner_id LIMIT 1 OFFSET 12").get()!.owner_id
  const original = store.db.query<{ wrapped: Uint8Array }, [string]>('SELECT wrapped FROM data_key WHERE owner_id = ?').get(victim)!.wrapped
  // one bit flipped (setting a byte to a fixed value left it unchanged once in 256 runs)
  const damaged = Uint8Array.from(original)
  damaged[30]! ^= 0x01
  store.db.run('UPDATE data_key SET wrapped = ? WHERE owner_id = ?', [damaged, victim])
  const before = readKeyCheck(store.db)!.fingerprint
  await expect(store.rotateMasterKey({ kind: 'raw', key: generateKey() })).rejects.toThrow(FieldOpenError)
  expect(readKeyCheck(store.db)!.fingerprint).toBe(before)
  expect(store.info.keyFingerprint).toBe(before)
  store.db.run('UPDATE data_key SET wrapped = ? WHERE owner_id = ?', [original, victim])
  expect((await verifySealedFields(store.sql, store.dataKeys)).failures).toEqual([])
  store.close()
  const reopened = open(env(old))
  expect((await verifySealedFields(reopened.sql, reopened.dataKeys)).failures).toEqual([])
  reopened.close()
})

test('a start with the new key and the previous one finishes the rotation; the previous alone is then refused', async () => {
  const old = generateKey()
  const next = generateKey()
  ;(await seeded(old)).close()
  const store = open(env(next), old)
  expect(store.info.finishedRotationFrom).toBe(keyFingerprint(old))
  expect(store.info.keyFingerprint).toBe(keyFingerprint(next))
  expect((await verifySealedFields(store.sql, store.dataKeys)).failures).toEqual([])
  store.close()
  const again = open(env(next), old)
  expect(again.info.finishedRotationFrom).toBeUndefined()
  expect(again.info.warnings.join(' ')).toContain('the rotation is complete')
  again.close()
  expect(() => open(env(old))).toThrow(KeyMismatchError)
})

test('two rotations asked at once run one after the other: the database ends under the second key, and it opens everything', async () => {
  const store = await seeded(generateKey())
  const [first, second] = [generateKey(), generateKey()]
  const [a, b] = await Promise.all([store.rotateMasterKey({ kind: 'raw', key: first }), store.rotateMasterKey({ kind: 'raw', key: second })])
  expect(b.previousFingerprint).toBe(a.fingerprint)
  expect(store.info.keyFingerprint).toBe(keyFingerprint(second))
  store.close()
  const reopened = open(env(second))
  expect((await verifySealedFields(reopened.sql, reopened.dataKeys)).failures).toEqual([])
  reopened.close()
})
