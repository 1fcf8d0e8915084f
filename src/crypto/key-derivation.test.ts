import { describe, expect, test } from 'bun:test'
import fc from 'fast-check'
import { bytesEqual, deriveFromKey, deriveKeyFromPassphrase, keyCheckValue, keyFingerprint, type KdfParams } from './key-derivation.ts'
import { generateKey } from './random.ts'

const fast: KdfParams = { N: 1024, r: 8, p: 1 }
const salt = new Uint8Array(16).fill(1)
const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex')

describe('deriveKeyFromPassphrase', () => {
  test('is deterministic for the same passphrase, salt and parameters', () => {
    const a = deriveKeyFromPassphrase('correct horse battery staple, and more words', salt, fast)
    expect(a).toHaveLength(32)
    expect(hex(deriveKeyFromPassphrase('correct horse battery staple, and more words', salt, fast))).toBe(hex(a))
  })

  test.each<[string, string, Uint8Array, KdfParams]>([
    ['another salt', 'correct horse battery staple, and more words', new Uint8Array(16).fill(2), fast],
    ['another passphrase', 'correct horse battery staple, and more wordz', salt, fast],
    ['other parameters', 'correct horse battery staple, and more words', salt, { N: 2048, r: 8, p: 1 }],
  ])('differs with %s', (_, passphrase, otherSalt, params) => {
    const base = deriveKeyFromPassphrase('correct horse battery staple, and more words', salt, fast)
    expect(hex(deriveKeyFromPassphrase(passphrase, otherSalt, params))).not.toBe(hex(base))
  })

  test('normalises the passphrase to NFC, so é typed either way gives one key', () => {
    const composed = 'caf\u00e9 '.repeat(8)
    const decomposed = 'cafe\u0301 '.repeat(8)
    expect(hex(deriveKeyFromPassphrase(decomposed, salt, fast))).toBe(hex(deriveKeyFromPassphrase(composed, salt, fast)))
  })

  test('matches the scrypt known-answer vector (RFC 7914, "password"/"NaCl", N=1024 r=8 p=16, first 32 bytes)', () => {
    const key = deriveKeyFromPassphrase('password', new TextEncoder().encode('NaCl'), { N: 1024, r: 8, p: 16 })
    expect(hex(key)).toBe('fdbabe1c9d3472007856e7190d01e9fe7c6ad7cbc8237830e77376634b373162')
  })
})

describe('fingerprints and key checks', () => {
  test('keyFingerprint is four groups of four hex digits and does not contain the key (fast-check)', () => {
    fc.assert(fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), (key) => {
      const fingerprint = keyFingerprint(key)
      expect(fingerprint).toMatch(/^[0-9a-f]{4}(-[0-9a-f]{4}){3}$/)
      expect(hex(key)).not.toContain(fingerprint.replaceAll('-', ''))
      expect(fingerprint).toBe(keyFingerprint(key.slice()))
    }))
  })

  test('different keys get different fingerprints and key checks', () => {
    const fingerprints = new Set<string>()
    const checks = new Set<string>()
    for (let i = 0; i < 1000; i++) {
      const key = generateKey()
      fingerprints.add(keyFingerprint(key))
      checks.add(hex(keyCheckValue(key)))
    }
    expect(fingerprints.size).toBe(1000)
    expect(checks.size).toBe(1000)
  })

  test('the key check, the fingerprint and other purposes are independent values', () => {
    const key = generateKey()
    const check = hex(keyCheckValue(key))
    expect(check).toHaveLength(64)
    expect(check).not.toContain(keyFingerprint(key).replaceAll('-', ''))
    expect(check).not.toBe(hex(key))
    expect(hex(deriveFromKey(key, 'a'))).not.toBe(hex(deriveFromKey(key, 'b')))
  })

  test.each<[number[], number[], boolean]>([
    [[1, 2, 3], [1, 2, 3], true],
    [[1, 2, 3], [1, 2, 4], false],
    [[1, 2, 3], [1, 2], false],
    [[], [], true],
  ])('bytesEqual(%p, %p) is %p', (a, b, equal) => {
    expect(bytesEqual(Uint8Array.from(a), Uint8Array.from(b))).toBe(equal)
  })
})
