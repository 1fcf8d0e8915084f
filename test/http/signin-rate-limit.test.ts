import { expect, test } from 'bun:test'
import { PASSWORD, signUp, startClockedApp } from '../helpers/accounts.ts'
import { req } from '../helpers/test-app.ts'

// app.handle has no socket, so every request comes from IP 'unknown': the per-IP bucket is shared.
const LIMITS = { SIGNIN_RATE_LIMIT: '3/1m', SIGNIN_RATE_LIMIT_PER_IP: '5/1m' }

async function started() {
  const clocked = startClockedApp(LIMITS)
  await signUp(clocked.app, 'ada@example.com')
  await signUp(clocked.app, 'bob@example.com')
  const attempt = async (email: string, password = 'wrong password') => {
    const res = await clocked.app.handle(req('POST', '/api/v1/auths/signin', { email, password }))
    return { status: res.status, retryAfter: res.headers.get('retry-after'), body: (await res.json()) as { detail: string; code: string; token?: string } }
  }
  return { ...clocked, attempt }
}

test('the 4th attempt for one email gets 429 with Retry-After and a detail naming the wait', async () => {
  const { attempt, advance, audit } = await started()
  for (let i = 0; i < 3; i++) expect((await attempt('ada@example.com')).status).toBe(400)
  advance(10_000)
  const limited = await attempt('ada@example.com')
  expect(limited.status).toBe(429)
  expect(limited.retryAfter).toMatch(/^\d+$/)
  expect(Number(limited.retryAfter)).toBe(50)
  expect(limited.body.code).toBe('rate_limited')
  expect(limited.body.detail).toContain('50 seconds')
  expect(audit.entries.filter((entry) => entry.event === 'rate_limited').map((entry) => entry.reason)).toEqual(['per_email'])
})

test('the per-email bucket ignores case and surrounding spaces', async () => {
  const { attempt } = await started()
  for (const email of ['ada@example.com', 'ADA@example.com', ' Ada@Example.COM ']) expect((await attempt(email)).status).toBe(400)
  expect((await attempt('ada@EXAMPLE.com')).status).toBe(429)
})

test('the limit applies even with the right password, and answers no token', async () => {
  const { attempt } = await started()
  for (let i = 0; i < 3; i++) expect((await attempt('ada@example.com', PASSWORD)).status).toBe(200)
  const limited = await attempt('ada@example.com', PASSWORD)
  expect(limited.status).toBe(429)
  expect(limited.body.token).toBeUndefined()
})

test('other emails are unaffected until the per-IP limit', async () => {
  const { attempt, audit } = await started()
  for (let i = 0; i < 3; i++) await attempt('ada@example.com')
  expect((await attempt('ada@example.com')).status).toBe(429) // 4 attempts from this IP so far
  expect((await attempt('bob@example.com')).status).toBe(400) // 5th: within the per-IP limit
  const limited = await attempt('bob@example.com', PASSWORD) // 6th: over it, even for the right password
  expect(limited.status).toBe(429)
  expect(Number(limited.retryAfter)).toBeGreaterThan(0)
  expect((await attempt('nobody@example.com')).status).toBe(429)
  expect(audit.entries.filter((entry) => entry.event === 'rate_limited').map((entry) => entry.reason)).toEqual(['per_email', 'per_ip', 'per_ip'])
})

test('the window resets when the clock moves past it', async () => {
  const { attempt, advance } = await started()
  for (let i = 0; i < 3; i++) await attempt('ada@example.com')
  expect((await attempt('ada@example.com', PASSWORD)).status).toBe(429)
  advance(59_000)
  expect((await attempt('ada@example.com', PASSWORD)).status).toBe(429)
  advance(1_000)
  expect((await attempt('ada@example.com', PASSWORD)).status).toBe(200)
})

test('a 429 costs no password hashing and records no signin_failed', async () => {
  const { attempt, audit } = await started()
  for (let i = 0; i < 4; i++) await attempt('ada@example.com')
  expect(audit.entries.filter((entry) => entry.event === 'signin_failed')).toHaveLength(3)
})
