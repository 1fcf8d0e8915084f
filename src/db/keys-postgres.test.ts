/**
 * The keys on PostgreSQL (a real server, test/helpers/postgres.ts): the key check written by a first
 * start and read by the next, a wrong key refused before anything is written, two instances starting
 * together on one empty database, a data key rotation, a master key rotation and verify, with rows
 * written by the repositories that run on the engine.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { startPostgres, type PostgresServer } from '../../test/helpers/postgres.ts'
import type { MasterKeySource } from '../config/load-config.ts'
import { KeyMismatchError } from '../crypto/key-errors.ts'
import type { MasterKeyMaterial } from '../crypto/master-key.ts'
import { generateKey } from '../crypto/random.ts'
import { createAccountChanges } from './account-changes.ts'
import { createCredentialRepo } from './credentials.ts'
import { createDataKeyRotator } from './data-key-rotation.ts'
import { createFileBlobs } from './file-blobs.ts'
import { createFileRepo } from './files.ts'
import { SYSTEM_OWNER, type DataKeyRepo } from './data-keys.ts'
import type { SqlEngine } from './engine.ts'
import { createFolderRepo } from './folders.ts'
import { createIdentityRepo } from './identities.ts'
import type { UserId } from './ids.ts'
import { readKeyCheckOn } from './key-check.ts'
import { readKeyInventory } from './key-inventory.ts'
import { rotateMasterKeyOn } from './master-key-rotation.ts'
import { migratePostgres, readPostgresSchemaVersion } from './migrate-postgres.ts'
import { migrations } from './migrations.ts'
import { openPostgresStore } from './open-postgres-store.ts'
import { createPostgresEngine, type PostgresPool } from './postgres-engine.ts'
import { createPromptRepo } from './prompts.ts'
import { createSecondFactorRepo, type PasskeyId } from './second-factors.ts'
import { sealedTable } from './sealed-table.ts'
import { initialiseKeysOn } from './store-keys.ts'
import { verifySealedFields } from './verify-fields.ts'

let server: PostgresServer
beforeAll(async () => { server = await startPostgres() }, 60_000)
afterAll(async () => { await server.remove() })

const pool: PostgresPool = { maxConnections: 4, idleTimeoutSeconds: 0, connectionTimeoutSeconds: 10, maxLifetimeSeconds: 0 }
const source: MasterKeySource = { kind: 'env', value: 'given in the test' }
const raw = (key: Uint8Array): MasterKeyMaterial => ({ kind: 'raw', key })
const open = (url: string, material: MasterKeyMaterial) => openPostgresStore({ database: { url, pool }, material, source, now: Date.now })
const userTable = sealedTable('user', { email: 'text', name: 'text', preferences: 'json' })
const settingTable = sealedTable('setting', { value: 'json' })
const count = async (sql: SqlEngine, table: string) => Number((await sql.get<{ n: number }>(`SELECT count(*) AS n FROM ${table}`))!.n)

/** Two users with a password, an identity, TOTP, a passkey, a prompt and a folder each, and a system-sealed setting. */
async function seed(sql: SqlEngine, dataKeys: DataKeyRepo): Promise<UserId[]> {
  const changes = createAccountChanges()
  const users: UserId[] = []
  for (const name of ['ada', 'bob']) {
    const id = crypto.randomUUID() as UserId
    await sql.transaction(async () => {
      const ring = await dataKeys.createKey(id)
      const sealed = userTable.seal(id, { email: `${name}@example.com`, name, preferences: null }, ring)
      await sql.run('INSERT INTO "user" (id, email_index, email, name, preferences, role, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
        id, crypto.getRandomValues(new Uint8Array(32)), sealed.email!, sealed.name!, null, 'user', 1, 1)
    })
    await createCredentialRepo(sql, dataKeys, Date.now, changes).setPasswordHash(id, `$argon2id$${name}`)
    await createIdentityRepo(sql, dataKeys, Date.now, changes).linkIdentity('ldap', `uid=${name}`, id)
    const factors = createSecondFactorRepo(sql, dataKeys, Date.now, changes)
    await factors.setPendingTotp(id, new Uint8Array(20).fill(7))
    await factors.addPasskey({ id: `passkey-${name}` as PasskeyId, userId: id, credentialId: new TextEncoder().encode(name), publicKey: new Uint8Array([3, 4]), name: `${name}'s key`, signCount: 0 })
    await createPromptRepo(sql, dataKeys, Date.now).createPrompt(id, `/${name}`, { title: `${name}'s prompt`, content: 'Say hello', access: null })
    await createFolderRepo(sql, dataKeys, Date.now).createFolder(id, { name: `${name}'s folder` })
    users.push(id)
  }
  await sql.run('INSERT INTO setting (name, value, updated_at) VALUES (?, ?, ?)', 'greeting',
    settingTable.sealColumn('value', 'greeting', { hello: 'world' }, await dataKeys.ringFor(SYSTEM_OWNER))!, 1)
  return users
}

/** What the seeded rows read back as through the repositories. */
async function readBack(sql: SqlEngine, dataKeys: DataKeyRepo, users: UserId[]) {
  const changes = createAccountChanges()
  const out: unknown[] = []
  for (const id of users) {
    out.push(await createCredentialRepo(sql, dataKeys, Date.now, changes).findPasswordHash(id))
    out.push((await createIdentityRepo(sql, dataKeys, Date.now, changes).listIdentitiesOfUser(id)).map((link) => link.subject))
    out.push((await createSecondFactorRepo(sql, dataKeys, Date.now, changes).listPasskeys(id)).map((passkey) => passkey.name))
    out.push((await createPromptRepo(sql, dataKeys, Date.now).findOwnPrompt(id, users[0] === id ? '/ada' : '/bob'))?.title)
    out.push((await createFolderRepo(sql, dataKeys, Date.now).listFoldersForUser(id)).map((folder) => folder.name))
  }
  return out
}

test('a first start writes the key check (a passphrase with its scrypt parameters); the next start reads it and unlocks', async () => {
  const url = await server.createDatabase()
  const passphrase: MasterKeyMaterial = { kind: 'passphrase', passphrase: `a passphrase for this run ${crypto.randomUUID()}` }
  const first = await open(url, passphrase)
  expect(first.info.initialised).toBe(true)
  const stored = (await readKeyCheckOn(first.sql))!
  expect(stored.fingerprint).toBe(first.info.keyFingerprint)
  expect(stored.kdf?.params).toMatchObject({ r: 8, p: 1 })
  expect(await first.sql.all('SELECT owner_id, version FROM data_key ORDER BY owner_id')).toEqual([{ owner_id: 'email-index', version: 1 }, { owner_id: 'system', version: 1 }])
  await first.close()
  const again = await open(url, passphrase)
  expect(again.info).toMatchObject({ keyFingerprint: stored.fingerprint, initialised: false })
  expect((await again.dataKeys.ringFor(SYSTEM_OWNER)).current.version).toBe(1)
  await again.close()
})

test('a wrong key is refused before anything is written: no migration, no key, no key check', async () => {
  const url = await server.createDatabase()
  const sql = createPostgresEngine({ url, pool })
  await migratePostgres(sql, migrations, migrations.length - 1)
  await initialiseKeysOn(sql, raw(generateKey()), source, Date.now)
  const before = await sql.all('SELECT name, value FROM meta ORDER BY name')
  await expect(open(url, raw(generateKey()))).rejects.toThrow(KeyMismatchError)
  expect(await readPostgresSchemaVersion(sql)).toBe(migrations.length - 1)
  expect(await sql.all('SELECT name, value FROM meta ORDER BY name')).toEqual(before)
  expect(await count(sql, 'data_key')).toBe(2)
  await sql.close()
})

test('two instances starting together on one empty database: one initialises, both run under its key; a third with another key is refused', async () => {
  const url = await server.createDatabase()
  const key = generateKey()
  const [a, b] = await Promise.all([open(url, raw(key)), open(url, raw(key))])
  expect(a.info.keyFingerprint).toBe(b.info.keyFingerprint)
  expect([a.info.initialised, b.info.initialised].sort()).toEqual([false, true])
  expect(await count(a.sql, 'data_key')).toBe(2)
  expect(await count(a.sql, 'meta')).toBe(2)
  // a key created by one instance is found by the other (its cache misses, so it reads the database)
  const owner = crypto.randomUUID()
  const made = await a.dataKeys.createKey(owner)
  expect((await b.dataKeys.ringFor(owner)).current.key).toEqual(made.current.key)
  await expect(open(url, raw(generateKey()))).rejects.toThrow(KeyMismatchError)
  await Promise.all([a.close(), b.close()])
})

test('a data key rotation on PostgreSQL: every value re-sealed under version 2, old versions destroyed, everything opens', async () => {
  const store = await open(await server.createDatabase(), raw(generateKey()))
  const users = await seed(store.sql, store.dataKeys)
  const expected = await readBack(store.sql, store.dataKeys, users)
  const rotator = createDataKeyRotator(store.sql, store.dataKeys)
  expect(await rotator.beginRotation(null)).toBe(3)
  // per user: the user, password, identity, TOTP, passkey, prompt and folder rows; and the setting
  expect(await rotator.countStaleValues()).toBe(15)
  for (let i = 0; i < 200 && (await rotator.step(4)).pendingOwners > 0; i++);
  expect(await rotator.pendingOwners()).toEqual([])
  expect(await store.sql.all("SELECT DISTINCT version FROM data_key WHERE owner_id != 'email-index'")).toEqual([{ version: 2 }])
  const versions = await store.sql.all<{ v: Uint8Array }>('SELECT DISTINCT substr(secret, 2, 4) AS v FROM totp_factor')
  expect(versions.map((row) => [...row.v])).toEqual([[0, 0, 0, 2]])
  expect(await verifySealedFields(store.sql, store.dataKeys)).toMatchObject({ failures: [] })
  expect(await readBack(store.sql, store.dataKeys, users)).toEqual(expected)
  // `enclave keys status`'s counts: 3 owners at version 2 and the email index at 1; 25 values, all under version 2
  const inventory = await readKeyInventory(store.sql)
  expect(inventory.dataKeysByVersion).toEqual([{ version: 1, count: 1 }, { version: 2, count: 3 }])
  expect(inventory.valuesByVersion).toEqual([{ version: 2, count: 25 }])
  await store.close()
})

test('a master key rotation on PostgreSQL: every data key re-wrapped, the old key refused, the new one opens everything', async () => {
  const url = await server.createDatabase()
  const old = generateKey()
  const store = await open(url, raw(old))
  const users = await seed(store.sql, store.dataKeys)
  const expected = await readBack(store.sql, store.dataKeys, users)
  const next = generateKey()
  const rotation = await rotateMasterKeyOn(store.sql, store.dataKeys, store.info.keyFingerprint, raw(next))
  expect(rotation.rewrappedKeys).toBe(4)
  expect((await readKeyCheckOn(store.sql))!.fingerprint).toBe(rotation.fingerprint)
  await store.close()
  await expect(open(url, raw(old))).rejects.toThrow(KeyMismatchError)
  const reopened = await open(url, raw(next))
  expect(reopened.info.keyFingerprint).toBe(rotation.fingerprint)
  expect(await verifySealedFields(reopened.sql, reopened.dataKeys)).toMatchObject({ failures: [] })
  expect(await readBack(reopened.sql, reopened.dataKeys, users)).toEqual(expected)
  await reopened.close()
})

test('verify on PostgreSQL counts every value and names each damaged one by table, column and row id', async () => {
  const url = await server.createDatabase()
  const key = generateKey()
  const store = await open(url, raw(key))
  const users = await seed(store.sql, store.dataKeys)
  const clean = await verifySealedFields(store.sql, store.dataKeys)
  expect(clean.failures).toEqual([])
  // per user: email, name, password, identity, TOTP, passkey (3), prompt (3), folder name; and the setting
  expect(clean.checkedValues).toBe(users.length * 12 + 1)
  const flip = "set_byte(%s, 20, get_byte(%s, 20) # 1)"
  await store.sql.run(`UPDATE identity SET subject = ${flip.replaceAll('%s', 'subject')} WHERE user_id = ?`, users[1]!)
  await store.sql.run(`UPDATE data_key SET wrapped = ${flip.replaceAll('%s', 'wrapped')} WHERE owner_id = ?`, users[0]!)
  const index = (await store.sql.get<{ hex: string }>("SELECT encode(subject_index, 'hex') AS hex FROM identity WHERE user_id = ?", users[1]!))!.hex
  await store.close()
  // note: another instance, so no ring is held from before the damage
  const other = await open(url, raw(key))
  const report = await verifySealedFields(other.sql, other.dataKeys)
  expect(report.failures).toContainEqual({ table: 'identity', column: 'subject', rowId: index })
  expect(report.failures).toContainEqual({ table: 'data_key', column: 'wrapped', rowId: `${users[0]}/1` })
  expect(report.failures).toContainEqual({ table: 'user', column: 'email', rowId: users[0]! })
  expect(report.failures.filter((failure) => failure.rowId.startsWith(users[1]!) || failure.rowId === index)).toHaveLength(1)
  expect(report.checkedValues).toBe(clean.checkedValues)
  await other.close()
})

test('files on PostgreSQL: an upload stored, read, renamed, used, re-sealed by a rotation, deleted with its blob', async () => {
  const store = await open(await server.createDatabase(), raw(generateKey()))
  const [ada, bob] = await seed(store.sql, store.dataKeys)
  const blobs = createFileBlobs(null)
  const files = createFileRepo(store.sql, store.dataKeys, blobs, Date.now)
  const bytes = crypto.getRandomValues(new Uint8Array(70_000))
  const created = await files.create(ada!, { name: 'notes.txt', contentType: 'text/plain' }, (async function* () { yield bytes })(), { maxFileBytes: 10 ** 6, quotaBytes: 10 ** 6 })
  if (!created.ok) throw new Error(created.reason)
  const id = created.file.id
  expect(await files.usage(ada!)).toEqual({ bytes: 70_000, count: 1 })
  expect(await files.get(bob!, id)).toBeNull()
  expect(await files.rename(ada!, id, 'renamed.txt')).toBe(true)
  expect(await files.get(ada!, id)).toMatchObject({ name: 'renamed.txt', meta: { name: 'renamed.txt' }, size: 70_000 })
  expect(await files.addUse(ada!, id, 'knowledge', 'k1')).toBe(true)
  expect(await files.addUse(bob!, id, 'knowledge', 'k2')).toBe(false)
  expect(await files.listUses(ada!, id)).toEqual([{ kind: 'knowledge', refId: 'k1' }])
  const rotator = createDataKeyRotator(store.sql, store.dataKeys)
  await rotator.beginRotation([ada!])
  for (let i = 0; i < 100 && (await rotator.step(50)).pendingOwners > 0; i++);
  expect(Buffer.from((await files.readBytes(ada!, id, 10 ** 6))!).equals(Buffer.from(bytes))).toBe(true)
  expect(await files.delete(bob!, id)).toBe(false)
  expect(await files.delete(ada!, id)).toBe(true)
  expect(blobs.storedBytes(id)).toBeNull()
  expect(await files.list(ada!)).toEqual([])
  blobs.disposeTemporary()
  await store.close()
})
