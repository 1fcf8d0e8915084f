/**
 * The admin config through the compiled binary: sign-up closed by an admin made from
 * WEBUI_ADMIN_EMAIL is reopened from the admin page, and every change survives a restart, sealed.
 */
import { expect, test } from 'bun:test'
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { startBinary, tempDirsRemovedAfterAll } from '../helpers/binary.ts'

const tempDir = tempDirsRemovedAfterAll()

const call = (url: string, method: string, body?: unknown, token?: string) =>
  fetch(url, { method, body: body === undefined ? undefined : JSON.stringify(body), headers: { 'content-type': 'application/json', ...(token === undefined ? {} : { authorization: `Bearer ${token}` }) } })

test('admin config changes survive a restart; sign-up closed by the environment\'s admin reopens', async () => {
  const cwd = tempDir()
  const password = 'bootstrap-' + crypto.randomUUID()
  const env = { WEBUI_ADMIN_EMAIL: 'root@example.com', WEBUI_ADMIN_PASSWORD: password }
  const marker = 'OverlayMarker' + crypto.randomUUID().replace(/-/g, '')
  let server = await startBinary({ cwd, env })
  try {
    const signupBody = { name: 'Newcomer', email: 'new@example.com', password: 'correct horse battery' }
    expect((await call(`${server.url}/api/v1/auths/signup`, 'POST', signupBody)).status).toBe(403)
    const token = ((await (await call(`${server.url}/api/v1/auths/signin`, 'POST', { email: 'root@example.com', password })).json()) as { token: string }).token
    const current = await (await call(`${server.url}/api/v1/auths/admin/config`, 'GET', undefined, token)).json() as Record<string, unknown>
    expect(current.ENABLE_SIGNUP).toBe(false)
    const saved = await call(`${server.url}/api/v1/auths/admin/config`, 'POST', { ...current, ENABLE_SIGNUP: true, DEFAULT_USER_ROLE: 'user', JWT_EXPIRES_IN: '3h', PENDING_USER_OVERLAY_TITLE: marker }, token)
    expect(saved.status).toBe(200)
    expect(((await (await call(`${server.url}/api/v1/auths/signup`, 'POST', signupBody)).json()) as { role: string }).role).toBe('user')
  } finally {
    await server.stop()
  }

  server = await startBinary({ cwd, env })
  try {
    const token = ((await (await call(`${server.url}/api/v1/auths/signin`, 'POST', { email: 'root@example.com', password })).json()) as { token: string }).token
    const config = await (await call(`${server.url}/api/v1/auths/admin/config`, 'GET', undefined, token)).json()
    expect(config).toMatchObject({ ENABLE_SIGNUP: true, DEFAULT_USER_ROLE: 'user', JWT_EXPIRES_IN: '3h', PENDING_USER_OVERLAY_TITLE: marker })
    const later = await call(`${server.url}/api/v1/auths/signup`, 'POST', { name: 'Later', email: 'later@example.com', password: 'correct horse battery' })
    expect(later.status).toBe(200)
    expect(((await later.json()) as { role: string }).role).toBe('user')
    expect((await (await call(`${server.url}/api/config`, 'GET')).json() as { features: { enable_signup: boolean } }).features.enable_signup).toBe(true)
  } finally {
    await server.stop()
  }

  const dataDir = join(cwd, 'data')
  for (const file of readdirSync(dataDir)) {
    expect(readFileSync(join(dataDir, file)).includes(Buffer.from(marker))).toBe(false)
  }
}, 60_000)
