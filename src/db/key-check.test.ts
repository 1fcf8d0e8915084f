import { describe, expect, test } from 'bun:test'
import { Database } from 'bun:sqlite'
import { DEFAULT_KDF_PARAMS } from '../crypto/key-derivation.ts'
import { readKeyCheck, writeKeyCheck } from './key-check.ts'

function databaseWithKeyCheck(params: unknown) {
  const db = new Database(':memory:', { strict: true })
  db.run('CREATE TABLE meta (name TEXT PRIMARY KEY, value ANY NOT NULL) STRICT')
  writeKeyCheck(db, { check: new Uint8Array(32), fingerprint: 'aaaa-bbbb-cccc-dddd', kdf: { salt: new Uint8Array(16), params: DEFAULT_KDF_PARAMS } })
  db.query('UPDATE meta SET value = ? WHERE name = ?').run(typeof params === 'string' ? params : JSON.stringify(params), 'kdf_params')
  return db
}

describe('readKeyCheck and scrypt parameters from a database (it may come from an untrusted backup)', () => {
  test.each([DEFAULT_KDF_PARAMS, { N: 2 ** 14, r: 8, p: 1 }, { N: 2 ** 20, r: 8, p: 1 }])('accepts %p', (params) => {
    expect(readKeyCheck(databaseWithKeyCheck(params))?.kdf?.params).toEqual(params)
  })

  test.each<[string, unknown]>([
    ['a huge N (memory)', { N: 2 ** 30, r: 8, p: 1 }],
    ['a huge p (time)', { N: 2 ** 17, r: 8, p: 2 ** 20 }],
    ['another r', { N: 2 ** 17, r: 64, p: 1 }],
    ['N not a power of two', { N: 100_000, r: 8, p: 1 }],
    ['N too small', { N: 2 ** 10, r: 8, p: 1 }],
    ['strings', { N: '131072', r: '8', p: '1' }],
    ['not JSON', '{N:'],
    ['null', null],
  ])('refuses %s: not a database Enclave wrote', (_, params) => {
    expect(readKeyCheck(databaseWithKeyCheck(params))).toBeNull()
  })

  test('a database under a raw key has no parameters and reads as such', () => {
    const db = new Database(':memory:', { strict: true })
    db.run('CREATE TABLE meta (name TEXT PRIMARY KEY, value ANY NOT NULL) STRICT')
    writeKeyCheck(db, { check: new Uint8Array(32), fingerprint: 'aaaa-bbbb-cccc-dddd', kdf: null })
    expect(readKeyCheck(db)).toEqual({ check: new Uint8Array(32), fingerprint: 'aaaa-bbbb-cccc-dddd', kdf: null })
  })
})
