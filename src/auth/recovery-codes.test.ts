import { expect, test } from 'bun:test'
import { generateRecoveryCodes, normaliseRecoveryCode, RECOVERY_CODE_COUNT } from './recovery-codes.ts'

test('ten distinct codes of 80 bits in four groups', () => {
  const codes = generateRecoveryCodes()
  expect(codes).toHaveLength(RECOVERY_CODE_COUNT)
  expect(new Set(codes).size).toBe(RECOVERY_CODE_COUNT)
  for (const code of codes) expect(code).toMatch(/^[a-z2-7]{4}(-[a-z2-7]{4}){3}$/)
})

test.each([
  ['abcd-efgh-ijkl-mnop', 'abcd-efgh-ijkl-mnop'],
  ['ABCD EFGH IJKL MNOP', 'abcd-efgh-ijkl-mnop'],
  ['abcdefghijklmnop', 'abcd-efgh-ijkl-mnop'],
  ['abcd-efgh-ijkl-mno', null],
  ['abcd-efgh-ijkl-mnop1', null],
  ['abcd-efgh-ijkl-mn0p', null],
  ['123456', null],
  ['', null],
])('typed %p is read as %p', (typed, stored) => {
  expect(normaliseRecoveryCode(typed)).toBe(stored)
})
