import { expect, test } from 'bun:test'
import fc from 'fast-check'
import { findTotpStep, newTotpSecret, TOTP_STEP_MS, totpCodeForStep, totpKeyUri, totpStepAt } from './totp.ts'

// RFC 6238 appendix B (SHA-1 secret "12345678901234567890"), the last six of the eight digits.
const RFC_SECRET = new TextEncoder().encode('12345678901234567890')
test.each([
  [59, '287082'], [1111111109, '081804'], [1111111111, '050471'], [1234567890, '005924'], [2000000000, '279037'], [20000000000, '353130'],
])('RFC 6238 vector at %i s is %s', (seconds, code) => {
  expect(totpCodeForStep(RFC_SECRET, totpStepAt(seconds * 1000))).toBe(code)
  expect(findTotpStep(RFC_SECRET, code, seconds * 1000)).toBe(totpStepAt(seconds * 1000))
})

test('a code is accepted in its own step and the next, and nowhere else (window edges)', () => {
  const secret = newTotpSecret()
  const step = 55_000_000
  const code = totpCodeForStep(secret, step)
  const start = step * TOTP_STEP_MS
  expect(findTotpStep(secret, code, start - 1)).toBeNull()
  expect(findTotpStep(secret, code, start)).toBe(step)
  expect(findTotpStep(secret, code, start + TOTP_STEP_MS - 1)).toBe(step)
  expect(findTotpStep(secret, code, start + TOTP_STEP_MS)).toBe(step)
  expect(findTotpStep(secret, code, start + 2 * TOTP_STEP_MS - 1)).toBe(step)
  expect(findTotpStep(secret, code, start + 2 * TOTP_STEP_MS)).toBeNull()
})

test('anything but six digits is refused without work', () => {
  const secret = newTotpSecret()
  for (const code of ['', '12345', '1234567', 'abcdef', ' 123456', '１２３４５６', '12345\n']) expect(findTotpStep(secret, code, Date.now())).toBeNull()
})

test('a code of another secret does not pass (property)', () => {
  fc.assert(fc.property(fc.uint8Array({ minLength: 20, maxLength: 20 }), fc.integer({ min: 2, max: 2 ** 40 }), (other, step) => {
    const secret = newTotpSecret()
    const code = totpCodeForStep(other, step)
    const found = findTotpStep(secret, code, step * TOTP_STEP_MS)
    // note: one code in a million collides by chance: then it must be the secret's own code too.
    if (found !== null) expect(totpCodeForStep(secret, found)).toBe(code)
  }), { numRuns: 200 })
})

test('the key URI is what authenticator apps read', () => {
  const uri = totpKeyUri('Enclave', 'ada@example.com', RFC_SECRET)
  expect(uri).toStartWith('otpauth://totp/Enclave:ada%40example.com?')
  expect(new URL(uri).searchParams.get('secret')).toBe('GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ')
  expect(new URL(uri).searchParams.get('period')).toBe('30')
})
