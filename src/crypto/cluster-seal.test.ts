import { expect, test } from 'bun:test'
import fc from 'fast-check'
import { deriveClusterKeys, nameTagOf, openFromCluster, sealForCluster } from './cluster-seal.ts'

const keys = deriveClusterKeys(new Uint8Array(32).fill(7))
const other = deriveClusterKeys(new Uint8Array(32).fill(8))

test('seal then open gives the text back, for any text and name (fast-check)', () => {
  fc.assert(fc.property(fc.string({ maxLength: 64 }), fc.string({ unit: 'grapheme', maxLength: 400 }), (name, text) => {
    expect(openFromCluster(keys, name, sealForCluster(keys, name, text))).toBe(text)
  }))
})

test('a sealed message opens under no other name, no other key, and not altered at any character (fast-check)', () => {
  fc.assert(fc.property(fc.string({ minLength: 1, maxLength: 200 }), fc.nat(), (text, at) => {
    const sealed = sealForCluster(keys, 'p:cluster:frames', text)
    expect(openFromCluster(keys, 'p:cluster:access', sealed)).toBeNull()
    expect(openFromCluster(other, 'p:cluster:frames', sealed)).toBeNull()
    const bytes = Buffer.from(sealed.slice(3), 'base64url')
    bytes[at % bytes.length]! ^= 1
    const altered = 'v1.' + bytes.toString('base64url')
    expect(openFromCluster(keys, 'p:cluster:frames', altered)).toBeNull()
  }))
})

test.each(['', 'v1.', 'v1.AAAA', 'v2.' + 'A'.repeat(60), 'not sealed at all', 'ada@example.com'])('refused, never read as plaintext: %p', (sealed) => {
  expect(openFromCluster(keys, 'n', sealed)).toBeNull()
})

test('the same text sealed twice looks different; neither shows it', () => {
  const [a, b] = [sealForCluster(keys, 'n', 'PLAINTEXT-MARKER'), sealForCluster(keys, 'n', 'PLAINTEXT-MARKER')]
  expect(a).not.toBe(b)
  for (const sealed of [a, b]) expect(sealed).not.toContain('PLAINTEXT')
})

test('name tags: stable for a key, different under another, 32 hex digits, never the value', () => {
  expect(nameTagOf(keys, 'email:ada@example.com')).toBe(nameTagOf(keys, 'email:ada@example.com'))
  expect(nameTagOf(keys, 'email:ada@example.com')).not.toBe(nameTagOf(other, 'email:ada@example.com'))
  expect(nameTagOf(keys, 'email:ada@example.com')).toMatch(/^[0-9a-f]{32}$/)
})

test('the keys are derived, not the master key itself, and differ by purpose', () => {
  const master = new Uint8Array(32).fill(7)
  expect(Buffer.from(keys.sealKey).equals(Buffer.from(master))).toBe(false)
  expect(Buffer.from(keys.sealKey).equals(Buffer.from(keys.nameKey))).toBe(false)
  expect(deriveClusterKeys(master)).toEqual(keys)
})
