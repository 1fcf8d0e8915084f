import { afterEach, beforeEach, describe, expect, test } from 'bun:test'
import { chmodSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { KeyMaterialError } from './key-errors.ts'
import { describeMasterKeySource, MIN_PASSPHRASE_LENGTH, parseMasterKey, readMasterKeyMaterial } from './master-key.ts'

const keyHex = '3c'.repeat(32)
const passphrase = 'correct horse battery staple, and more words'

function keyMaterialError(action: () => unknown): KeyMaterialError {
  try {
    action()
  } catch (error) {
    if (error instanceof KeyMaterialError) return error
    throw error
  }
  throw new Error('expected a KeyMaterialError')
}

describe('parseMasterKey', () => {
  test.each([
    ['64 hex digits', keyHex],
    ['upper-case hex', keyHex.toUpperCase()],
    ['surrounding whitespace', `\n  ${keyHex}\t\r\n`],
    ['0x-prefixed hex', `0x${keyHex}`],
  ])('reads %s as a raw key', (_, text) => {
    const material = parseMasterKey(text, 'ENCRYPTION_KEY')
    expect(material.kind).toBe('raw')
    if (material.kind === 'raw') expect(Buffer.from(material.key).toString('hex')).toBe(keyHex)
  })

  test.each([
    ['exactly 32 characters', 'x'.repeat(MIN_PASSPHRASE_LENGTH), 'x'.repeat(32)],
    ['a long sentence', passphrase, passphrase],
    ['trimmed', `  ${passphrase}\n`, passphrase],
    ['32 emoji (counted as characters)', '🔑'.repeat(32), '🔑'.repeat(32)],
  ])('reads %s as a passphrase', (_, text, expected) => {
    expect(parseMasterKey(text, 'ENCRYPTION_KEY')).toEqual({ kind: 'passphrase', passphrase: expected })
  })

  test.each([
    ['63 hex digits', keyHex.slice(1), 'has 63 hex digits'],
    ['65 hex digits', `${keyHex}a`, 'has 65 hex digits'],
    ['40 hex digits', keyHex.slice(0, 40), 'has 40 hex digits'],
  ])('refuses %s, saying a hex key has 64', (_, text, count) => {
    const error = keyMaterialError(() => parseMasterKey(text, 'ENCRYPTION_KEY'))
    expect(error.message).toContain('64')
    expect(error.message).toContain(count)
    expect(error.message).toContain('ENCRYPTION_KEY')
    expect(error.message).not.toContain(text)
    expect(error.message).not.toContain(text.slice(0, 16))
  })

  test.each([
    ['31 characters', 'a short passphrase of 31 chars!'],
    ['31 emoji, though 62 UTF-16 units', '🔑'.repeat(31)],
    ['whitespace padding does not count', `   ${'q'.repeat(30)}      `],
    ['empty', ''],
  ])('refuses a short passphrase: %s', (_, text) => {
    const error = keyMaterialError(() => parseMasterKey(text, 'ENCRYPTION_KEY'))
    expect(error.message).toContain(`at least ${MIN_PASSPHRASE_LENGTH} characters`)
    if (text.trim() !== '') expect(error.message).not.toContain(text.trim())
  })
})

describe('readMasterKeyMaterial', () => {
  let dir = ''
  beforeEach(() => { dir = mkdtempSync(join(tmpdir(), 'enclave-')) })
  afterEach(() => { rmSync(dir, { recursive: true, force: true }) })

  function keyFile(name: string, contents: string, mode = 0o600): string {
    const path = join(dir, name)
    writeFileSync(path, contents)
    chmodSync(path, mode)
    return path
  }

  test('env source: parses the value', () => {
    expect(readMasterKeyMaterial({ kind: 'env', value: passphrase })).toEqual({ kind: 'passphrase', passphrase })
    const error = keyMaterialError(() => readMasterKeyMaterial({ kind: 'env', value: 'tooshort' }))
    expect(error.message).toContain('ENCRYPTION_KEY')
    expect(error.message).not.toContain('tooshort')
  })

  test('file source: reads and parses the file', () => {
    const path = keyFile('master.key', `${keyHex}\n`)
    const material = readMasterKeyMaterial({ kind: 'file', path })
    expect(material?.kind).toBe('raw')
  })

  test('file source: a bad key names the file, not the key', () => {
    const path = keyFile('master.key', `${keyHex.slice(2)}\n`)
    const error = keyMaterialError(() => readMasterKeyMaterial({ kind: 'file', path }))
    expect(error.message).toContain(`ENCRYPTION_KEY_FILE ${path}`)
    expect(error.message).not.toContain(keyHex.slice(2))
  })

  test('file source: a missing file is refused, naming it', () => {
    const path = join(dir, 'absent.key')
    const error = keyMaterialError(() => readMasterKeyMaterial({ kind: 'file', path }))
    expect(error.message).toContain(`${path} cannot be read`)
  })

  test('file source: a group-readable file is refused with chmod 600', () => {
    const path = keyFile('master.key', `${keyHex}\n`, 0o640)
    const error = keyMaterialError(() => readMasterKeyMaterial({ kind: 'file', path }))
    expect(error.message).toContain('chmod 600')
    expect(error.message).not.toContain(keyHex)
  })

  test('generated source: null while the file does not exist, and nothing is written', () => {
    expect(readMasterKeyMaterial({ kind: 'generated', path: join(dir, '.encryption_key') })).toBeNull()
    expect(readdirSync(dir)).toEqual([])
  })

  test('generated source: reads an existing file, refusing one others may read', () => {
    const path = keyFile('.encryption_key', `${keyHex}\n`)
    expect(readMasterKeyMaterial({ kind: 'generated', path })?.kind).toBe('raw')
    chmodSync(path, 0o644)
    expect(keyMaterialError(() => readMasterKeyMaterial({ kind: 'generated', path })).message).toContain('chmod 600')
  })
})

test.each([
  [{ kind: 'env', value: keyHex } as const, 'ENCRYPTION_KEY'],
  [{ kind: 'file', path: '/run/secrets/k' } as const, 'ENCRYPTION_KEY_FILE (/run/secrets/k)'],
  [{ kind: 'generated', path: '/data/.encryption_key' } as const, 'generated key file /data/.encryption_key'],
])('describeMasterKeySource(%o) never shows the key', (source, text) => {
  expect(describeMasterKeySource(source)).toBe(text)
})
