import { afterEach, beforeEach, expect, test } from 'bun:test'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { MasterKeySource } from '../config/load-config.ts'
import { createDataKeyRotator } from './data-key-rotation.ts'
import type { UserId } from './ids.ts'
import type { PasskeyId } from './second-factors.ts'
import { readKeyInventory } from './key-inventory.ts'
import { openStore, type Store } from './open-store.ts'
import { verifySealedFields } from './verify-fields.ts'

let dir = ''
beforeEach(() => { dir = mkdtempSync(join(tmpdir(), 'enclave-rotate-')) })
afterEach(() => { rmSync(dir, { recursive: true, force: true }) })
const masterKey = (): MasterKeySource => ({ kind: 'generated', path: join(dir, '.encryption_key') })
const open = () => openStore({ dataDir: dir, masterKey: masterKey(), now: Date.now })

async function seed(store: Store, users: number, chats: number, messages: number): Promise<UserId[]> {
  const ids: UserId[] = []
  for (let u = 0; u < users; u++) {
    const created = await store.users.createUser({ email: `u${u}@example.com`, name: `U${u}`, role: 'user' })
    if (!created.ok) throw new Error('seed')
    ids.push(created.user.id)
    await store.credentials.setPasswordHash(created.user.id, '$argon2id$placeholder')
    await store.identities.linkIdentity('ldap', `entry-${u}`, created.user.id)
    await store.groups.syncMembershipsFromSource(created.user.id, 'ldap', [`group-${u % 2}`], true)
    await store.secondFactors.setPendingTotp(created.user.id, new Uint8Array(20).fill(u + 1))
    await store.secondFactors.addPasskey({ id: `passkey-${u}` as PasskeyId, userId: created.user.id, credentialId: new Uint8Array([u, 1]), publicKey: new Uint8Array([1, u]), name: `Key ${u}`, signCount: 0 })
    for (let c = 0; c < chats; c++) await store.chats.createChat(created.user.id, `title ${u}/${c}`, Array.from({ length: messages }, (_, m) => ({ role: 'user' as const, content: `m ${u}/${c}/${m}` })))
  }
  await store.settings.writeSetting('greeting', { hello: 'world' })
  return ids
}

const versionsInUse = async (store: Store) => (await readKeyInventory(store.sql)).valuesByVersion.map((row) => row.version)

test('every value ends under the new version, old keys are destroyed, everything opens', async () => {
  const store = open()
  const users = await seed(store, 3, 4, 5)
  const rotator = createDataKeyRotator(store.sql, store.dataKeys)
  expect((await rotator.beginRotation(null))).toBe(4)
  expect(await versionsInUse(store)).toEqual([1])
  for (let i = 0; i < 1000 && (await rotator.step(7)).pendingOwners > 0; i++);
  expect((await rotator.pendingOwners())).toEqual([])
  expect(await versionsInUse(store)).toEqual([2])
  expect(store.db.query('SELECT DISTINCT version FROM data_key WHERE owner_id != ?').all('email-index')).toEqual([{ version: 2 }])
  expect((await verifySealedFields(store.sql, store.dataKeys)).failures).toEqual([])
  expect((await store.chats.listChatsForUser(users[1]!, { limit: 10, offset: 0 })).map((chat) => chat.title).sort()).toEqual(['title 1/0', 'title 1/1', 'title 1/2', 'title 1/3'])
  expect(await store.settings.readSetting('greeting')).toEqual({ hello: 'world' })
  expect((await store.users.findUserByEmail('u2@example.com'))?.name).toBe('U2')
  expect((await store.secondFactors.findTotp(users[2]!))?.secret).toEqual(new Uint8Array(20).fill(3))
  expect((await store.secondFactors.listPasskeys(users[1]!)).map((passkey) => passkey.name)).toEqual(['Key 1'])
  store.close()
})

test('interrupted at random points with writes in between, resumed after a reopen: nothing lost, nothing left old', async () => {
  for (let round = 0; round < 4; round++) {
    rmSync(dir, { recursive: true, force: true })
    let store = open()
    const users = await seed(store, 4, 3, 6)
    const expected = new Map<string, string[]>()
    const write = async (n: number) => {
      const owner = users[n % users.length]!
      const chat = await store.chats.createChat(owner, `written ${round}/${n}`, [{ role: 'user', content: `new ${n}` }])
      expected.set(chat.id, [`new ${n}`])
      const existing = (await store.chats.listChatsForUser(owner, { limit: 1, offset: 2 }))[0]
      if (existing !== undefined) await store.chats.renameChat(owner, existing.id, `renamed ${n}`)
    }
    let rotator = createDataKeyRotator(store.sql, store.dataKeys)
    await rotator.beginRotation(null)
    const stopAfter = 1 + Math.floor(Math.random() * 12)
    for (let batch = 0; batch < stopAfter; batch++) {
      await rotator.step(5)
      await write(batch)
    }
    store.close()
    store = open()
    rotator = createDataKeyRotator(store.sql, store.dataKeys)
    expect((await rotator.pendingOwners()).length).toBeGreaterThan(0)
    for (let batch = 0; (await rotator.step(5)).pendingOwners > 0; batch++) await write(100 + batch)
    expect(await versionsInUse(store)).toEqual([2])
    expect((await verifySealedFields(store.sql, store.dataKeys)).failures).toEqual([])
    for (const [chatId, contents] of expected) {
      const chat = store.db.query<{ user_id: string }, [string]>('SELECT user_id FROM chat WHERE id = ?').get(chatId)!
      expect((await store.chats.listMessagesInChat(chat.user_id as UserId, chatId as never)).map((message) => message.content)).toEqual(contents)
    }
    store.close()
  }
})

test('one user only: the others keep version 1', async () => {
  const store = open()
  const [first, second] = await seed(store, 2, 1, 2)
  const rotator = createDataKeyRotator(store.sql, store.dataKeys)
  expect((await rotator.beginRotation([first!]))).toBe(1)
  while ((await rotator.step(3)).pendingOwners > 0);
  const versionOf = (owner: string) => store.db.query<{ version: number }, [string]>('SELECT version FROM data_key WHERE owner_id = ?').all(owner).map((row) => row.version)
  expect(versionOf(first!)).toEqual([2])
  expect(versionOf(second!)).toEqual([1])
  expect((await verifySealedFields(store.sql, store.dataKeys)).failures).toEqual([])
  store.close()
})
