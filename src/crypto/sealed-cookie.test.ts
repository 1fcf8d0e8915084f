import { describe, expect, test } from 'bun:test'
import fc from 'fast-check'
import { deriveCookieKey, openCookieValue, sealCookieValue } from './sealed-cookie.ts'

const key = deriveCookieKey('a session secret made for this test run ' + crypto.randomUUID(), 'oauth_flow')
const later = Date.now() + 60_000

describe('sealed cookies', () => {
  test('open what was sealed, for the same purpose, before expiry', () => {
    fc.assert(fc.property(fc.jsonValue(), (value) => {
      const cookie = sealCookieValue(key, 'oauth_flow', value, later)
      expect(cookie).toMatch(/^[A-Za-z0-9_-]+$/)
      expect(openCookieValue(key, 'oauth_flow', cookie, Date.now())).toEqual(JSON.parse(JSON.stringify(value)))
    }), { numRuns: 50 })
  })

  test('refuse another purpose, another secret, expiry and any altered byte', () => {
    const cookie = sealCookieValue(key, 'oauth_flow', { state: 's' }, later)
    expect(openCookieValue(key, 'other', cookie, Date.now())).toBeNull()
    expect(openCookieValue(deriveCookieKey('another secret', 'oauth_flow'), 'oauth_flow', cookie, Date.now())).toBeNull()
    expect(openCookieValue(key, 'oauth_flow', cookie, later)).toBeNull()
    fc.assert(fc.property(fc.nat(), fc.integer({ min: 1, max: 255 }), (at, flip) => {
      const bytes = Buffer.from(cookie, 'base64url')
      bytes[at % bytes.length]! ^= flip
      expect(openCookieValue(key, 'oauth_flow', bytes.toString('base64url'), Date.now())).toBeNull()
    }), { numRuns: 100 })
  })

  test('refuse malformed input without throwing', () => {
    for (const junk of ['', '!!', 'a'.repeat(5000), 'AAAA', '%00', 'eyJ.eyJ.x']) expect(openCookieValue(key, 'oauth_flow', junk, Date.now())).toBeNull()
  })

  test('keys differ by purpose', () => {
    expect(deriveCookieKey('secret', 'a').key).not.toEqual(deriveCookieKey('secret', 'b').key)
  })
})
