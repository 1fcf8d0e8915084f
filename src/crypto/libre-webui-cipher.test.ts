import { expect, test } from 'bun:test'
import fc from 'fast-check'
import { encryptLikeLibre } from '../../test/helpers/libre-webui-fixture.ts'
import { looksEncrypted, openLibreValue, parseLibreKey } from './libre-webui-cipher.ts'

const keyHex = 'a'.repeat(64)
const key = parseLibreKey(keyHex)!

test('opens what Libre WebUI seals, for any text (fast-check)', () => {
  fc.assert(fc.property(fc.string({ maxLength: 200 }), (text) => {
    expect(openLibreValue(encryptLikeLibre(text, keyHex), key)).toEqual({ kind: 'opened', text })
  }))
})

test('a known value sealed by Libre WebUI opens (known answer)', () => {
  // note: the vector is AES-256-GCM under key 00..1f with IV 00..0f, cross-checked with Python's cryptography package.
  const keyBytes = Buffer.from(Array.from({ length: 32 }, (_, i) => i))
  const sealed = '000102030405060708090a0b0c0d0e0f:' + knownTag + ':' + knownBody
  expect(openLibreValue(sealed, keyBytes)).toEqual({ kind: 'opened', text: 'hello libre' })
})

test('another key, no key, a flipped byte or a short IV never yield text', () => {
  const sealed = encryptLikeLibre('secret message', keyHex)
  expect(openLibreValue(sealed, parseLibreKey('b'.repeat(64)))).toEqual({ kind: 'unopened' })
  expect(openLibreValue(sealed, null)).toEqual({ kind: 'unopened' })
  const flipped = sealed.slice(0, -1) + (sealed.endsWith('0') ? '1' : '0')
  expect(openLibreValue(flipped, key)).toEqual({ kind: 'unopened' })
  const truncated = sealed.slice(0, -3)
  expect(openLibreValue(truncated, key)).toEqual({ kind: 'unopened' })
  expect(openLibreValue(sealed.slice(0, 66), key)).toEqual({ kind: 'unopened' })
})

test('plaintext rows come back as they are', () => {
  // note: Libre WebUI's own decrypt tries "10:30:00" (three hex parts) and gives it back; it is text.
  for (const text of ['hello', 'time is 12:30:45', '10:30:00', 'a:b:c', 'a:b', '', 'ünïcode: ✓', `${'a'.repeat(31)}:${'b'.repeat(32)}:cc`]) {
    expect(openLibreValue(text, key)).toEqual({ kind: 'plain', text })
    expect(looksEncrypted(text)).toBe(false)
  }
})

test('the key is 64 hex characters', () => {
  expect(parseLibreKey(` ${keyHex}\n`)).not.toBeNull()
  for (const bad of ['', 'a'.repeat(63), 'g'.repeat(64), 'a'.repeat(66)]) expect(parseLibreKey(bad)).toBeNull()
})

const knownTag = 'f2c0369e143aeb48c30ab890982fe1cd'
const knownBody = '0f09cc1a56c42641ff8dbe'
