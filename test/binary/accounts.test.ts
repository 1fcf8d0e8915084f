import { expect, test } from 'bun:test'
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { startBinary, tempDirsRemovedAfterAll } from '../helpers/binary.ts'

const tempDir = tempDirsRemovedAfterAll()

const post = (url: string, body: unknown, headers: Record<string, string> = {}) =>
  fetch(url, { method: 'POST', body: JSON.stringify(body), headers: { 'content-type': 'application/json', ...headers } })

test('an account made through the binary survives a restart; the audit log holds no secrets', async () => {
  const cwd = tempDir()
  const email = 'binary.marker@example.com'
  const password = 'binary-password-marker-81f2'

  let server = await startBinary({ cwd })
  let token: string
  try {
    const signup = await post(`${server.url}/api/v1/auths/signup`, { name: 'Binary Marker', email, password })
    expect(signup.status).toBe(200)
    const session = (await signup.json()) as { token: string; role: string }
    expect(session.role).toBe('admin')
    token = session.token
    expect((await post(`${server.url}/api/v1/auths/signin`, { email, password: 'wrong password' })).status).toBe(400)
  } finally {
    await server.stop()
  }

  server = await startBinary({ cwd })
  try {
    const me = await fetch(`${server.url}/api/v1/auths/`, { headers: { authorization: `Bearer ${token}` } })
    expect(me.status).toBe(200)
    expect(await me.json()).toMatchObject({ email, name: 'Binary Marker', role: 'admin' })
    const signin = await post(`${server.url}/api/v1/auths/signin`, { email: email.toUpperCase(), password })
    expect(signin.status).toBe(200)
  } finally {
    await server.stop()
  }

  const dataDir = join(cwd, 'data')
  const auditPath = join(dataDir, 'audit.log')
  expect(statSync(auditPath).mode & 0o777).toBe(0o600)
  const audit = readFileSync(auditPath, 'utf8')
  expect(audit.split('\n').filter(Boolean).map((line) => JSON.parse(line).event)).toEqual(['signup', 'signin_failed', 'signin_succeeded'])
  for (const secret of [email, password, token, 'wrong password']) {
    expect(audit).not.toContain(secret)
    expect(server.output()).not.toContain(secret)
  }
  const markers = [email, password, 'Binary Marker'].map((marker) => Buffer.from(marker))
  for (const file of readdirSync(dataDir)) {
    const bytes = readFileSync(join(dataDir, file))
    for (const marker of markers) expect(bytes.indexOf(marker)).toBe(-1)
  }
})

test('WEBUI_ADMIN_EMAIL creates the admin at start and closes sign-up', async () => {
  const cwd = tempDir()
  const env = { WEBUI_ADMIN_EMAIL: 'boot@example.com', WEBUI_ADMIN_PASSWORD: 'bootstrap password 42', WEBUI_ADMIN_NAME: 'Boot' }
  const server = await startBinary({ cwd, env })
  try {
    const signin = await post(`${server.url}/api/v1/auths/signin`, { email: 'boot@example.com', password: 'bootstrap password 42' })
    expect(signin.status).toBe(200)
    expect(await signin.json()).toMatchObject({ role: 'admin', name: 'Boot' })
    expect((await post(`${server.url}/api/v1/auths/signup`, { name: 'Late', email: 'late@example.com', password: 'late password 42' })).status).toBe(403)
    const config = (await (await fetch(`${server.url}/api/config`)).json()) as { features: { enable_signup: boolean } }
    expect(config.features.enable_signup).toBe(false)
  } finally {
    await server.stop()
  }
  expect(server.output()).not.toContain('bootstrap password 42')
})

test('sign-up stays closed after a restart without WEBUI_ADMIN_EMAIL', async () => {
  const cwd = tempDir()
  const first = await startBinary({ cwd, env: { WEBUI_ADMIN_EMAIL: 'boot@example.com', WEBUI_ADMIN_PASSWORD: 'bootstrap password 42' } })
  await first.stop()

  const server = await startBinary({ cwd })
  try {
    expect((await post(`${server.url}/api/v1/auths/signup`, { name: 'Late', email: 'late@example.com', password: 'late password 42' })).status).toBe(403)
    const config = (await (await fetch(`${server.url}/api/config`)).json()) as { features: { enable_signup: boolean } }
    expect(config.features.enable_signup).toBe(false)
    expect((await post(`${server.url}/api/v1/auths/signin`, { email: 'boot@example.com', password: 'bootstrap password 42' })).status).toBe(200)
  } finally {
    await server.stop()
  }
})
