import { afterAll, describe, expect, test } from 'bun:test'
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { isLoopbackHost, openSetupGate, readSetupToken } from '../../src/auth/setup-token.ts'
import { req, startTestApp } from '../helpers/test-app.ts'

const dirs: string[] = []
afterAll(() => dirs.forEach((dir) => rmSync(dir, { recursive: true, force: true })))
const tempDir = () => {
  const dir = mkdtempSync(join(tmpdir(), 'enclave-setup-'))
  dirs.push(dir)
  return dir
}
const account = (email: string, extra: Record<string, string> = {}) => ({ name: 'First', email, password: 'correct horse battery', ...extra })

test.each([
  ['127.0.0.1', true], ['127.8.9.1', true], ['::1', true], ['[::1]', true], ['localhost', true],
  ['0.0.0.0', false], ['::', false], ['192.168.1.5', false], ['example.com', false],
])('isLoopbackHost(%p) is %p', (host, expected) => {
  expect(isLoopbackHost(host)).toBe(expected)
})

describe('the first sign-up on a server reachable beyond loopback', () => {
  const dataDir = tempDir()
  const gate = openSetupGate({ dataDir, host: '0.0.0.0', hasUsers: false })
  const { app, audit } = startTestApp({}, Date.now, gate)

  test('writes a 0600 token file', () => {
    expect(gate.tokenFile).toBe(join(dataDir, '.setup_token'))
    expect(statSync(gate.tokenFile!).mode & 0o777).toBe(0o600)
  })

  test.each([['no token', undefined], ['a wrong token', 'wrong'], ['an empty token', ''], ['a huge token', 'x'.repeat(150)]])(
    'is refused with %s', async (_, token) => {
      const body = token === undefined ? account('first@example.com') : account('first@example.com', { setup_token: token })
      const res = await app.handle(req('POST', '/api/v1/auths/signup', body))
      expect(res.status).toBe(403)
      expect(await res.json()).toMatchObject({ code: 'setup_token_required' })
    })

  test('succeeds with the token, becomes admin, and the token is then gone', async () => {
    const token = readSetupToken(gate)!
    const res = await app.handle(req('POST', '/api/v1/auths/signup', account('first@example.com', { setup_token: token })))
    expect(res.status).toBe(200)
    expect(await res.json()).toMatchObject({ role: 'admin' })
    expect(existsSync(join(dataDir, '.setup_token'))).toBe(false)
    expect(JSON.stringify(audit.entries)).not.toContain(token)
  })

  test('later sign-ups need no token and get the default role', async () => {
    const res = await app.handle(req('POST', '/api/v1/auths/signup', account('second@example.com')))
    expect(res.status).toBe(200)
    expect(await res.json()).toMatchObject({ role: 'pending' })
  })
})

test('a restart before the first sign-up reuses the same token; loopback needs none', () => {
  const dataDir = tempDir()
  const first = openSetupGate({ dataDir, host: '0.0.0.0', hasUsers: false })
  const again = openSetupGate({ dataDir, host: '0.0.0.0', hasUsers: false })
  expect(readSetupToken(again)).toBe(readSetupToken(first))
  expect(openSetupGate({ dataDir: tempDir(), host: '127.0.0.1', hasUsers: false }).tokenFile).toBeNull()
  expect(openSetupGate({ dataDir, host: '0.0.0.0', hasUsers: true }).tokenFile).toBeNull()
  expect(existsSync(join(dataDir, '.setup_token'))).toBe(false)
})

describe('trusted header sign-in', () => {
  const env = { WEBUI_AUTH_TRUSTED_EMAIL_HEADER: 'X-Auth-Email', WEBUI_AUTH_TRUSTED_NAME_HEADER: 'X-Auth-Name', WEBUI_AUTH_TRUSTED_ROLE_HEADER: 'X-Auth-Role' }

  test('from a trusted proxy it signs in (creating the account); a forged header from anyone else is ignored and audited', async () => {
    const { app, audit } = startTestApp(env)
    app.listen({ hostname: '127.0.0.1', port: 0 })
    const url = `http://127.0.0.1:${app.server!.port}/api/v1/auths/signin`
    const body = JSON.stringify({ email: 'ignored@example.com', password: 'ignored-password' })
    try {
      const vouched = await fetch(url, { method: 'POST', body, headers: { 'content-type': 'application/json', 'x-auth-email': 'Proxy.User@example.com', 'x-auth-name': 'Proxy User' } })
      expect(vouched.status).toBe(200)
      expect(await vouched.json()).toMatchObject({ email: 'Proxy.User@example.com', name: 'Proxy User', role: 'admin' })
    } finally {
      await app.stop()
    }

    const untrusted = startTestApp({ ...env, FORWARDED_ALLOW_IPS: '10.0.0.1' })
    untrusted.app.listen({ hostname: '127.0.0.1', port: 0 })
    try {
      const forged = await fetch(`http://127.0.0.1:${untrusted.app.server!.port}/api/v1/auths/signin`, {
        method: 'POST', body, headers: { 'content-type': 'application/json', 'x-auth-email': 'victim@example.com', 'x-auth-role': 'admin' },
      })
      expect(forged.status).toBe(400)
      expect(untrusted.audit.entries.map((entry) => entry.event)).toContain('forged_trusted_header')
      expect(await untrusted.deps.store.users.countUsers()).toBe(0)
    } finally {
      await untrusted.app.stop()
    }
    expect(audit.entries.map((entry) => entry.method)).toContain('trusted_header')
  })
})

test('/api/config says onboarding until the first account exists, and that account may be made with sign-up off', async () => {
  const { app } = startTestApp({ ENABLE_SIGNUP: 'false' })
  const onboarding = async () => ((await (await app.handle(req('GET', '/api/config'))).json()) as { onboarding: boolean; features: { enable_signup: boolean } })
  expect(await onboarding()).toMatchObject({ onboarding: true, features: { enable_signup: false } })
  expect((await app.handle(req('POST', '/api/v1/auths/signup', account('first@example.com')))).status).toBe(200)
  expect((await onboarding()).onboarding).toBe(false)
  expect((await app.handle(req('POST', '/api/v1/auths/signup', account('second@example.com')))).status).toBe(403)
})
