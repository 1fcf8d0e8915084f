import { expect, test } from 'bun:test'
import { createMemoryRateLimiter, RateLimiter } from './rate-limiter.ts'
import { admitSigninAttempt, ipBucket, recordSigninFailure } from './signin-throttle.ts'

function throttle(perAccount = 3, perIp = 100) {
  let at = 0
  const now = () => at
  const rate = (limit: number) => ({ limit, windowMs: 60_000 })
  const deps = { signinLimits: { perIp: createMemoryRateLimiter(rate(perIp), now), perAccount: createMemoryRateLimiter(rate(perAccount), now), perAccountAndIp: createMemoryRateLimiter(rate(perAccount), now) } }
  const fail = async (ip: string) => {
    const refused = await admitSigninAttempt(deps, 'email:ada@example.com', ip)
    if (refused === null) await recordSigninFailure(deps, 'email:ada@example.com', ip)
    return refused
  }
  return { deps, fail, admit: (ip: string) => admitSigninAttempt(deps, 'email:ada@example.com', ip), advance: (ms: number) => void (at += ms) }
}

test('an address stops at its own failures; another address is still admitted', async () => {
  const { fail, admit } = throttle()
  for (let i = 0; i < 3; i++) expect(await fail('198.51.100.1')).toBeNull()
  expect(await admit('198.51.100.1')).toEqual({ reason: 'per_account', retryAfterSeconds: 60 })
  expect(await admit('203.0.113.7')).toBeNull()
})

test('once the account has its failures, each address that failed waits; a fresh one does not', async () => {
  const { fail, admit } = throttle()
  for (const ip of ['198.51.100.1', '198.51.100.2', '198.51.100.3']) expect(await fail(ip)).toBeNull()
  expect((await admit('198.51.100.2'))?.reason).toBe('per_account')
  expect(await admit('203.0.113.7')).toBeNull()
})

test('the window passes and every address may try again', async () => {
  const { fail, admit, advance } = throttle()
  for (let i = 0; i < 3; i++) await fail('198.51.100.1')
  advance(59_999)
  expect((await admit('198.51.100.1'))?.retryAfterSeconds).toBe(1)
  advance(1)
  expect(await admit('198.51.100.1')).toBeNull()
})

test('every attempt, admitted or not, counts against the address', async () => {
  const { admit } = throttle(3, 2)
  expect(await admit('198.51.100.1')).toBeNull()
  expect(await admit('198.51.100.1')).toBeNull()
  expect((await admit('198.51.100.1'))?.reason).toBe('per_ip')
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
