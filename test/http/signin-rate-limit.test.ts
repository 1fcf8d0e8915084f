import { describe, expect, test } from 'bun:test'
import { PASSWORD, signUp, startClockedApp } from '../helpers/accounts.ts'
import { req, startTestApp } from '../helpers/test-app.ts'

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

test('from the address that failed, the limit applies even with the right password, and answers no token', async () => {
  const { attempt } = await started()
  for (let i = 0; i < 3; i++) expect((await attempt('ada@example.com')).status).toBe(400)
  const limited = await attempt('ada@example.com', PASSWORD)
  expect(limited.status).toBe(429)
  expect(limited.body.token).toBeUndefined()
})

test('successful sign-ins do not count towards the per-account limit', async () => {
  const { attempt } = await started()
  for (let i = 0; i < 5; i++) expect((await attempt('ada@example.com', PASSWORD)).status).toBe(200)
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

describe('failing on purpose does not lock the owner out (addresses from X-Forwarded-For of the loopback proxy)', () => {
  /** Starts the app on 127.0.0.1 (a trusted proxy by default), so X-Forwarded-For names each client. */
  async function listeningApp(env: Record<string, string> = {}) {
    const { app } = startTestApp(env)
    app.listen({ hostname: '127.0.0.1', port: 0 })
    const url = `http://127.0.0.1:${app.server!.port}`
    const signin = (from: string, password: string) => fetch(`${url}/api/v1/auths/signin`, {
      method: 'POST', headers: { 'content-type': 'application/json', 'x-forwarded-for': from }, body: JSON.stringify({ email: 'ada@example.com', password }),
    }).then((res) => res.status)
    const created = await fetch(`${url}/api/v1/auths/signup`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'Ada', email: 'ada@example.com', password: PASSWORD }) })
    expect(created.status).toBe(200)
    return { app, signin }
  }

  test('15 wrong passwords from address A (the default limit): the right one from B gets in, from A gets 429', async () => {
    const { app, signin } = await listeningApp()
    try {
      for (let i = 0; i < 15; i++) expect(await signin('198.51.100.1', 'wrong password')).toBe(400)
      expect(await signin('198.51.100.1', 'wrong password')).toBe(429)
      expect(await signin('203.0.113.7', PASSWORD)).toBe(200)
      expect(await signin('198.51.100.1', PASSWORD)).toBe(429)
    } finally {
      await app.stop()
    }
  }, 30_000)

  test('failures spread over addresses: once the account has its limit, each address that failed waits, a fresh one does not', async () => {
    const { app, signin } = await listeningApp({ SIGNIN_RATE_LIMIT: '3/1m' })
    try {
      for (const from of ['198.51.100.1', '198.51.100.2', '198.51.100.3']) expect(await signin(from, 'wrong password')).toBe(400)
      expect(await signin('198.51.100.1', 'wrong password')).toBe(429)
      expect(await signin('198.51.100.2', PASSWORD)).toBe(429)
      expect(await signin('198.51.100.4', 'wrong password')).toBe(400)
      expect(await signin('198.51.100.4', 'wrong password')).toBe(429)
      expect(await signin('203.0.113.7', PASSWORD)).toBe(200)
    } finally {
      await app.stop()
    }
  })
})
