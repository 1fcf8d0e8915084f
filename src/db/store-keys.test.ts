import { expect, test } from 'bun:test'
import type { MasterKeySource } from '../config/load-config.ts'
import { KeyMismatchError } from '../crypto/key-errors.ts'
import { generateKey } from '../crypto/random.ts'
import { SYSTEM_OWNER } from './data-keys.ts'
import { createSqliteEngine } from './sqlite-engine.ts'
import { readKeyCheckOn } from './key-check.ts'
import { migrate } from './migrate.ts'
import { openDatabase } from './open-database.ts'
import { initialiseKeysOn, unlockKeysOn } from './store-keys.ts'
import { EMAIL_INDEX_OWNER } from './users.ts'

const source: MasterKeySource = { kind: 'env', value: 'given in the test' }

test('on SQLite too: a new database is initialised once, unlocked by its key, and a wrong key is refused without a write', async () => {
  const db = openDatabase(':memory:')
  migrate(db)
  const sql = createSqliteEngine(db)
  const key = generateKey()
  expect(await unlockKeysOn(sql, { kind: 'raw', key }, source, Date.now)).toBeNull()
  const first = await initialiseKeysOn(sql, { kind: 'raw', key }, source, Date.now)
  expect(first.initialised).toBe(true)
  // a second initialisation (another instance that lost the race) unlocks what the first wrote
  const second = await initialiseKeysOn(sql, { kind: 'raw', key }, source, Date.now)
  expect(second).toMatchObject({ initialised: false, keyFingerprint: first.keyFingerprint })
  expect(db.query('SELECT owner_id FROM data_key ORDER BY owner_id').all()).toEqual([{ owner_id: EMAIL_INDEX_OWNER }, { owner_id: SYSTEM_OWNER }])
  const before = db.query('SELECT name, value FROM meta ORDER BY name').all()
  await expect(unlockKeysOn(sql, { kind: 'raw', key: generateKey() }, source, Date.now)).rejects.toThrow(KeyMismatchError)
  await expect(initialiseKeysOn(sql, { kind: 'raw', key: generateKey() }, source, Date.now)).rejects.toThrow(KeyMismatchError)
  expect(db.query('SELECT name, value FROM meta ORDER BY name').all()).toEqual(before)
  const unlocked = (await unlockKeysOn(sql, { kind: 'raw', key }, source, Date.now))!
  expect((await unlocked.dataKeys.ringFor(SYSTEM_OWNER)).current.key).toEqual((await first.dataKeys.ringFor(SYSTEM_OWNER)).current.key)
  expect((await readKeyCheckOn(sql))!.fingerprint).toBe(first.keyFingerprint)
  await sql.close()
})
