import { expect, test } from 'bun:test'
import { RateLimiter } from './rate-limiter.ts'
import { admitSigninAttempt, ipBucket, recordSigninFailure } from './signin-throttle.ts'

function throttle(perAccount = 3, perIp = 100) {
  let at = 0
  const now = () => at
  const rate = (limit: number) => ({ limit, windowMs: 60_000 })
  const deps = { signinLimits: { perIp: new RateLimiter(rate(perIp), now), perAccount: new RateLimiter(rate(perAccount), now), perAccountAndIp: new RateLimiter(rate(perAccount), now) } }
  const fail = (ip: string) => {
    const refused = admitSigninAttempt(deps, 'email:ada@example.com', ip)
    if (refused === null) recordSigninFailure(deps, 'email:ada@example.com', ip)
    return refused
  }
  return { deps, fail, admit: (ip: string) => admitSigninAttempt(deps, 'email:ada@example.com', ip), advance: (ms: number) => void (at += ms) }
}

test('an address stops at its own failures; another address is still admitted', () => {
  const { fail, admit } = throttle()
  for (let i = 0; i < 3; i++) expect(fail('198.51.100.1')).toBeNull()
  expect(admit('198.51.100.1')).toEqual({ reason: 'per_account', retryAfterSeconds: 60 })
  expect(admit('203.0.113.7')).toBeNull()
})

test('once the account has its failures, each address that failed waits; a fresh one does not', () => {
  const { fail, admit } = throttle()
  for (const ip of ['198.51.100.1', '198.51.100.2', '198.51.100.3']) expect(fail(ip)).toBeNull()
  expect(admit('198.51.100.2')?.reason).toBe('per_account')
  expect(admit('203.0.113.7')).toBeNull()
})

test('the window passes and every address may try again', () => {
  const { fail, admit, advance } = throttle()
  for (let i = 0; i < 3; i++) fail('198.51.100.1')
  advance(59_999)
  expect(admit('198.51.100.1')?.retryAfterSeconds).toBe(1)
  advance(1)
  expect(admit('198.51.100.1')).toBeNull()
})

test('every attempt, admitted or not, counts against the address', () => {
  const { admit } = throttle(3, 2)
  expect(admit('198.51.100.1')).toBeNull()
  expect(admit('198.51.100.1')).toBeNull()
  expect(admit('198.51.100.1')?.reason).toBe('per_ip')
})

test('peek counts nothing and stores nothing for unseen keys', () => {
  const limiter = new RateLimiter({ limit: 1, windowMs: 1000 }, () => 0)
  expect(limiter.peek('a')).toEqual({ allowed: true })
  expect(limiter.hitsOf('a')).toBe(0)
  expect(limiter.hit('a')).toEqual({ allowed: true })
  expect(limiter.peek('a')).toEqual({ allowed: false, retryAfterSeconds: 1 })
  expect(limiter.hitsOf('a')).toBe(1)
})

test.each([['192.0.2.1', '192.0.2.1'], ['2001:db8::1', '20010db800000000::/64'], ['2001:db8::ffff:1', '20010db800000000::/64'], ['unknown', 'unknown']])('ipBucket(%p) = %p', (ip, bucket) => {
  expect(ipBucket(ip)).toBe(bucket)
})
