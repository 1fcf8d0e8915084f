import { afterEach, beforeEach, describe, expect, test } from 'bun:test'
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { KeyMaterialError } from './key-errors.ts'
import { installRotatedKeyFile, readPreviousMasterKey, retirePreviousKeyFile } from './previous-master-key.ts'

let dir = ''
beforeEach(() => { dir = mkdtempSync(join(tmpdir(), 'enclave-prev-')) })
afterEach(() => { rmSync(dir, { recursive: true, force: true }) })
const none = { ENCRYPTION_KEY_PREVIOUS: null, ENCRYPTION_KEY_PREVIOUS_FILE: null }
const oldHex = '1a'.repeat(32)
const newHex = '2b'.repeat(32)

function keyFile(name: string, text: string, mode = 0o600): string {
  const path = join(dir, name)
  writeFileSync(path, `${text}\n`)
  chmodSync(path, mode)
  return path
}

describe('readPreviousMasterKey', () => {
  test('none configured and no .previous file: null', () => {
    expect(readPreviousMasterKey(none, { kind: 'generated', path: join(dir, '.encryption_key') }, dir)).toBeNull()
  })
  test('from the environment, from a file, and from a generated key\'s .previous file', () => {
    expect(readPreviousMasterKey({ ...none, ENCRYPTION_KEY_PREVIOUS: oldHex }, { kind: 'env', value: newHex }, dir)?.origin).toBe('ENCRYPTION_KEY_PREVIOUS')
    const file = keyFile('old.key', oldHex)
    expect(readPreviousMasterKey({ ...none, ENCRYPTION_KEY_PREVIOUS_FILE: 'old.key' }, { kind: 'env', value: newHex }, dir)?.origin).toBe(`ENCRYPTION_KEY_PREVIOUS_FILE (${file})`)
    keyFile('.encryption_key.previous', oldHex)
    expect(readPreviousMasterKey(none, { kind: 'generated', path: join(dir, '.encryption_key') }, dir)?.material.kind).toBe('raw')
  })
  test.each([
    ['both set', { ENCRYPTION_KEY_PREVIOUS: oldHex, ENCRYPTION_KEY_PREVIOUS_FILE: 'x' }, 'choose one'],
    ['too short', { ...none, ENCRYPTION_KEY_PREVIOUS: 'short-previous' }, 'ENCRYPTION_KEY_PREVIOUS is too short'],
    ['63 hex digits', { ...none, ENCRYPTION_KEY_PREVIOUS: oldHex.slice(1) }, 'has 63 hex digits'],
  ])('refuses %s without echoing the value', (_, values, message) => {
    let thrown: unknown
    try {
      readPreviousMasterKey(values, { kind: 'env', value: newHex }, dir)
    } catch (error) {
      thrown = error
    }
    expect(thrown).toBeInstanceOf(KeyMaterialError)
    expect((thrown as Error).message).toContain(message)
    expect((thrown as Error).message).not.toContain(oldHex.slice(1, 20))
    expect((thrown as Error).message).not.toContain('short-previous')
  })
  test('refuses a previous key file others may read', () => {
    keyFile('old.key', oldHex, 0o644)
    expect(() => readPreviousMasterKey({ ...none, ENCRYPTION_KEY_PREVIOUS_FILE: 'old.key' }, { kind: 'env', value: newHex }, dir)).toThrow('chmod 600')
  })
})

describe('installRotatedKeyFile and retirePreviousKeyFile', () => {
  test('the old key goes to .previous, the new one replaces the key file (0600), and retiring moves .previous aside', () => {
    const path = keyFile('.encryption_key', oldHex)
    installRotatedKeyFile(path, newHex)
    expect(readFileSync(path, 'utf8').trim()).toBe(newHex)
    expect(readFileSync(`${path}.previous`, 'utf8').trim()).toBe(oldHex)
    expect(statSync(path).mode & 0o777).toBe(0o600)
    expect(statSync(`${path}.previous`).mode & 0o777).toBe(0o600)
    expect(readdirSync(dir).sort()).toEqual(['.encryption_key', '.encryption_key.previous'])
    expect(retirePreviousKeyFile(path, 'aaaa-bbbb-cccc-dddd')).toBe(`${path}.retired-aaaa-bbbb-cccc-dddd`)
    expect(existsSync(`${path}.previous`)).toBe(false)
    expect(retirePreviousKeyFile(path, 'x')).toBeNull()
    keyFile('.encryption_key.previous', '4d'.repeat(32))
    const second = retirePreviousKeyFile(path, 'aaaa-bbbb-cccc-dddd')!
    expect(second).toMatch(/\.retired-aaaa-bbbb-cccc-dddd-\d+$/)
    expect(readFileSync(`${path}.retired-aaaa-bbbb-cccc-dddd`, 'utf8').trim()).toBe(oldHex)
  })
  test('an existing .previous (an interrupted rotation) is kept: it is the key the database is under', () => {
    const path = keyFile('.encryption_key', newHex)
    keyFile('.encryption_key.previous', oldHex)
    installRotatedKeyFile(path, '3c'.repeat(32))
    expect(readFileSync(`${path}.previous`, 'utf8').trim()).toBe(oldHex)
    expect(readFileSync(path, 'utf8').trim()).toBe('3c'.repeat(32))
  })
})
