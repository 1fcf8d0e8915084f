import { describe, expect, test } from 'bun:test'
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createMemoryAuditLog } from '../../src/audit/audit-log.ts'
import { openGate } from '../../src/auth/setup-token.ts'
import { loadConfig } from '../../src/config/load-config.ts'
import { openStore } from '../../src/db/open-store.ts'
import { createApp } from '../../src/http/create-app.ts'
import { createLogger } from '../../src/log/logger.ts'
import { apiKeyHeader, bearer, PASSWORD, signIn, signUp, statusOf } from '../helpers/accounts.ts'
import { req, startTestApp } from '../helpers/test-app.ts'

const USER_ON = { DEFAULT_USER_ROLE: 'user' }
// A 1x1 PNG, as Open WebUI's profile page sends a resized picture.
const PNG = 'data:image/png;base64,iVBORw0KGodAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=='

async function json(app: { handle: (r: Request) => Promise<Response> }, method: string, path: string, token: string, body?: unknown) {
  const res = await app.handle(req(method, path, body, bearer(token)))
  return { status: res.status, body: await res.json().catch(() => null) as any }
}

describe('UI settings (web getUserSettings/updateUserSettings, Conduit getUserSettings/_postUserSettings)', () => {
  test('null before any save, then the {ui} object round-trips as sent', async () => {
    const { app } = startTestApp(USER_ON)
    const ada = await signUp(app, 'ada@example.com')
    expect((await json(app, 'GET', '/api/v1/users/user/settings', ada.token)).body).toBeNull()
    // the web page posts { ui: $settings }; Conduit edits ui.system and posts the whole object back
    const settings = { ui: { system: 'Be brief.', models: ['llama3.2'], chatDirection: 'auto', notificationEnabled: false, params: { temperature: 0.3 } } }
    const saved = await json(app, 'POST', '/api/v1/users/user/settings/update', ada.token, settings)
    expect(saved.status).toBe(200)
    expect(saved.body).toEqual(settings)
    expect((await json(app, 'GET', '/api/v1/users/user/settings', ada.token)).body.ui.system).toBe('Be brief.')
  })

  test('top-level keys merge as Open WebUI\'s update_user_settings_by_id: the page\'s {ui} keeps Conduit\'s params', async () => {
    const { app } = startTestApp(USER_ON)
    const ada = await signUp(app, 'ada@example.com')
    // Conduit (updateUserReasoningEffort) posts the whole object with params; the web page then posts only { ui }
    await json(app, 'POST', '/api/v1/users/user/settings/update', ada.token, { ui: { system: 's' }, params: { reasoning_effort: 'high' } })
    const saved = await json(app, 'POST', '/api/v1/users/user/settings/update', ada.token, { ui: { models: ['llama3.2:1b'] } })
    expect(saved.status).toBe(200)
    expect(saved.body).toEqual({ ui: { models: ['llama3.2:1b'] }, params: { reasoning_effort: 'high' } })
    expect((await json(app, 'GET', '/api/v1/users/user/settings', ada.token)).body).toEqual(saved.body)
  })

  test('concurrent updates of different keys all stay; a merge that would grow past the limit is 413 and writes nothing', async () => {
    const { app } = startTestApp(USER_ON)
    const ada = await signUp(app, 'ada@example.com')
    const keys = Array.from({ length: 12 }, (_, i) => `k${i}`)
    // a profile save (the page's updateUserProfile) in the middle of them loses none either
    const [profile, ...answers] = await Promise.all([
      json(app, 'POST', '/api/v1/auths/update/profile', ada.token, { name: 'Ada', bio: 'Counts things.' }),
      ...keys.map((key) => json(app, 'POST', '/api/v1/users/user/settings/update', ada.token, { [key]: { v: key } })),
    ])
    expect([profile!.status, ...answers.map((answer) => answer.status)]).toEqual([200, ...keys.map(() => 200)])
    const stored = (await json(app, 'GET', '/api/v1/users/user/settings', ada.token)).body
    expect(Object.keys(stored).sort()).toEqual([...keys].sort())
    expect((await json(app, 'POST', '/api/v1/auths/update/profile', ada.token, { name: 'Ada' })).body.bio).toBe('Counts things.')
    await json(app, 'POST', '/api/v1/users/user/settings/update', ada.token, { a: 'x'.repeat(150_000) })
    expect((await json(app, 'POST', '/api/v1/users/user/settings/update', ada.token, { b: 'x'.repeat(150_000) })).status).toBe(413)
    const after = (await json(app, 'GET', '/api/v1/users/user/settings', ada.token)).body
    expect([after.a.length, after.b, after.k0]).toEqual([150_000, undefined, { v: 'k0' }])
  })

  test('each user sees only their own; pending 403; anonymous 401; malformed 400; oversized 413', async () => {
    const { app } = startTestApp()
    const admin = await signUp(app, 'admin@example.com')
    const pending = await signUp(app, 'pending@example.com')
    await json(app, 'POST', '/api/v1/users/user/settings/update', admin.token, { ui: { system: 'admin secret' } })
    expect(await statusOf(app, 'GET', '/api/v1/users/user/settings', bearer(pending.token))).toBe(403)
    expect(await statusOf(app, 'POST', '/api/v1/users/user/settings/update', bearer(pending.token), { ui: {} })).toBe(403)
    expect(await statusOf(app, 'GET', '/api/v1/users/user/settings', {})).toBe(401)
    expect(await statusOf(app, 'POST', '/api/v1/users/user/settings/update', { ...bearer(admin.token), 'content-type': 'application/json' }, '{not json')).toBe(400)
    expect(await statusOf(app, 'POST', '/api/v1/users/user/settings/update', bearer(admin.token), { ui: { big: 'x'.repeat(300_000) } })).toBe(413)
  })
})

test('a user without direct_tool_servers loses ui.toolServers (as Open WebUI); an admin keeps them', async () => {
  const { app } = startTestApp(USER_ON)
  const admin = await signUp(app, 'admin@example.com')
  const bea = await signUp(app, 'bea@example.com')
  const settings = { ui: { system: 's', toolServers: [{ url: 'http://127.0.0.1:9/openapi.json' }] } }
  expect((await json(app, 'POST', '/api/v1/users/user/settings/update', bea.token, settings)).body).toEqual({ ui: { system: 's' } })
  expect((await json(app, 'POST', '/api/v1/users/user/settings/update', admin.token, settings)).body).toEqual(settings)
})

describe('user info (Conduit getAccountMetadata/updateUserInfo)', () => {
  test('null at first, then merged key by key', async () => {
    const { app } = startTestApp()
    const ada = await signUp(app, 'ada@example.com')
    expect((await json(app, 'GET', '/api/v1/users/user/info', ada.token)).body).toBeNull()
    expect((await json(app, 'POST', '/api/v1/users/user/info/update', ada.token, { location: 'Paris' })).body).toEqual({ location: 'Paris' })
    expect((await json(app, 'POST', '/api/v1/users/user/info/update', ada.token, { team: 'R&D' })).body).toEqual({ location: 'Paris', team: 'R&D' })
  })
})

describe('profile (web updateUserProfile, Conduit updateAccountMetadata)', () => {
  test('Conduit body: name, image, bio, gender, date of birth; then timezone; the session user shows them', async () => {
    const { app } = startTestApp()
    const ada = await signUp(app, 'ada@example.com')
    const res = await json(app, 'POST', '/api/v1/auths/update/profile', ada.token, { name: ' Ada L. ', profile_image_url: PNG, bio: 'Maths', gender: null, date_of_birth: '1815-12-10' })
    expect(res.status).toBe(200)
    expect(res.body).toMatchObject({ id: ada.id, email: 'ada@example.com', name: 'Ada L.', role: 'admin', profile_image_url: PNG, bio: 'Maths', date_of_birth: '1815-12-10' })
    expect((await json(app, 'POST', '/api/v1/auths/update/timezone', ada.token, { timezone: 'Europe/Paris' })).body).toEqual({ status: true })
    const me = await json(app, 'GET', '/api/v1/auths/', ada.token)
    expect(me.body).toMatchObject({ name: 'Ada L.', profile_image_url: PNG })
    const image = await app.handle(req('GET', `/api/v1/users/${ada.id}/profile/image`, undefined, bearer(ada.token)))
    expect(image.headers.get('content-type')).toBe('image/png')
    expect(new Uint8Array(await image.arrayBuffer()).slice(1, 4)).toEqual(new TextEncoder().encode('PNG'))
  })

  test('the session user answers each change at once, though it is asked for again and again', async () => {
    const { app } = startTestApp()
    const ada = await signUp(app, 'ada@example.com')
    for (let i = 0; i < 3; i++) expect((await json(app, 'GET', '/api/v1/auths/', ada.token)).body).toMatchObject({ name: 'Ada', profile_image_url: '/user.png' })
    await json(app, 'POST', '/api/v1/auths/update/profile', ada.token, { name: 'Ada L.', profile_image_url: PNG })
    expect((await json(app, 'GET', '/api/v1/auths/', ada.token)).body).toMatchObject({ name: 'Ada L.', profile_image_url: PNG })
    await json(app, 'POST', '/api/v1/auths/update/profile', ada.token, { name: 'Ada', profile_image_url: '' })
    expect((await json(app, 'GET', '/api/v1/auths/', ada.token)).body).toMatchObject({ name: 'Ada', profile_image_url: '/user.png' })
  })

  test('the web page body (name and image only); its own image URL keeps it; an empty image goes back to the default', async () => {
    const { app } = startTestApp()
    const ada = await signUp(app, 'ada@example.com')
    await json(app, 'POST', '/api/v1/auths/update/profile', ada.token, { name: 'Ada', profile_image_url: PNG })
    const kept = await json(app, 'POST', '/api/v1/auths/update/profile', ada.token, { name: 'Ada', profile_image_url: `/api/v1/users/${ada.id}/profile/image` })
    expect(kept.body.profile_image_url).toBe(PNG)
    const reset = await json(app, 'POST', '/api/v1/auths/update/profile', ada.token, { name: 'Ada', profile_image_url: '' })
    expect(reset.body.profile_image_url).toBe('/user.png')
    const picture = await app.handle(req('GET', `/api/v1/users/${ada.id}/profile/image`, undefined, bearer(ada.token)))
    // as Open WebUI answers its static user.png: a PNG, which Conduit's image loader decodes (an SVG it would not)
    expect([picture.status, picture.headers.get('content-type')]).toEqual([200, 'image/png'])
    expect(await statusOf(app, 'GET', '/api/v1/users/00000000-0000-4000-8000-000000000000/profile/image', bearer(ada.token))).toBe(404)
  })

  test.each([
    ['an SVG (may carry script)', 'data:image/svg+xml;base64,PHN2Zz48L3N2Zz4=', 400],
    ['a remote URL (would leak viewers\' addresses)', 'https://tracker.example/pixel.png', 400],
    ['javascript:', 'javascript:alert(1)', 400],
    ['too large', 'data:image/png;base64,' + 'A'.repeat(600_000), 413],
  ])('refuses %s', async (_, image, status) => {
    const { app } = startTestApp()
    const ada = await signUp(app, 'ada@example.com')
    expect(await statusOf(app, 'POST', '/api/v1/auths/update/profile', bearer(ada.token), { name: 'Ada', profile_image_url: image })).toBe(status)
  })

  test('bad time zone 400; blank name 422; pending 403', async () => {
    const { app } = startTestApp()
    const ada = await signUp(app, 'ada@example.com')
    const pending = await signUp(app, 'pending@example.com')
    expect(await statusOf(app, 'POST', '/api/v1/auths/update/timezone', bearer(ada.token), { timezone: 'Mars/Olympus' })).toBe(400)
    expect(await statusOf(app, 'POST', '/api/v1/auths/update/profile', bearer(ada.token), { name: '' })).toBe(422)
    expect(await statusOf(app, 'POST', '/api/v1/auths/update/profile', bearer(pending.token), { name: 'P' })).toBe(403)
  })
})

test('settings, info and profile image are not in plaintext on disk', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'enclave-prefs-'))
  try {
    const store = openStore({ dataDir: dir, masterKey: { kind: 'generated', path: join(dir, '.encryption_key') }, now: Date.now })
    const app = createApp({ config: loadConfig({ env: {}, cwd: dir }), store, log: createLogger('ERROR', () => {}), sessionSecret: 'prefs-test-' + crypto.randomUUID(), audit: createMemoryAuditLog(), now: Date.now, setupGate: openGate })
    const ada = await signUp(app, 'ada@example.com')
    const marker = 'PlaintextMarker' + crypto.randomUUID().replace(/-/g, '')
    await json(app, 'POST', '/api/v1/users/user/settings/update', ada.token, { ui: { system: marker } })
    await json(app, 'POST', '/api/v1/users/user/info/update', ada.token, { note: marker })
    const image = 'data:image/png;base64,' + Buffer.from(marker).toString('base64')
    expect((await json(app, 'POST', '/api/v1/auths/update/profile', ada.token, { name: 'Ada', profile_image_url: image })).status).toBe(200)
    store.close()
    const needles = [marker, Buffer.from(marker).toString('base64').slice(0, 16)]
    for (const file of readdirSync(dir)) {
      const bytes = readFileSync(join(dir, file)).toString('latin1')
      for (const needle of needles) expect(bytes.includes(needle)).toBe(false)
    }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})

describe('admin user management', () => {
  test('list: Open WebUI query, order_by, direction, page; last_active_at; non-admin 403', async () => {
    const { app } = startTestApp(USER_ON)
    const admin = await signUp(app, 'admin@example.com', PASSWORD, 'Zed Admin')
    const bea = await signUp(app, 'bea@example.com', PASSWORD, 'Bea')
    await signUp(app, 'cy@example.com', PASSWORD, 'Cy')
    const list = await json(app, 'GET', '/api/v1/users/?query=&order_by=name&direction=asc&page=1', admin.token)
    expect(list.body.total).toBe(3)
    expect(list.body.users.map((u: any) => u.name)).toEqual(['Bea', 'Cy', 'Zed Admin'])
    expect(typeof list.body.users[0].last_active_at).toBe('number')
    expect(list.body.users[0].group_ids).toEqual([])
    const found = await json(app, 'GET', '/api/v1/users/?query=BEA', admin.token)
    expect(found.body.users.map((u: any) => u.email)).toEqual(['bea@example.com'])
    expect(await statusOf(app, 'GET', '/api/v1/users/', bearer(bea.token))).toBe(403)
  })

  test('search (Conduit searchWorkspaceUsers): a user gets ids and names, never emails', async () => {
    const { app } = startTestApp(USER_ON)
    await signUp(app, 'admin@example.com', PASSWORD, 'Admin')
    const bea = await signUp(app, 'bea@example.com', PASSWORD, 'Bea')
    const res = await json(app, 'GET', '/api/v1/users/search?query=adm&page=1', bea.token)
    expect(res.body.total).toBe(1)
    expect(res.body.users[0]).toEqual({ id: expect.any(String), name: 'Admin', profile_image_url: '/user.png' })
  })

  test('one user: 404 for an unknown id; a non-admin sees name and picture only', async () => {
    const { app } = startTestApp(USER_ON)
    const admin = await signUp(app, 'admin@example.com')
    const bea = await signUp(app, 'bea@example.com', PASSWORD, 'Bea')
    expect((await json(app, 'GET', `/api/v1/users/${bea.id}`, admin.token)).body).toMatchObject({ id: bea.id, email: 'bea@example.com', name: 'Bea', role: 'user' })
    expect((await json(app, 'GET', `/api/v1/users/${admin.id}`, bea.token)).body).toEqual({ name: 'Ada', profile_image_url: '/user.png', active: null })
    expect(await statusOf(app, 'GET', '/api/v1/users/00000000-0000-4000-8000-000000000000', bearer(admin.token))).toBe(404)
    expect(await statusOf(app, 'GET', '/api/v1/users/not-an-id', bearer(admin.token))).toBe(404)
    expect(await statusOf(app, 'POST', '/api/v1/users/00000000-0000-4000-8000-000000000000/update', bearer(admin.token), { name: 'x' })).toBe(404)
  })

  test('update with the web page body applies email and password, ends the user\'s sessions, audits', async () => {
    const { app, audit } = startTestApp(USER_ON)
    const admin = await signUp(app, 'admin@example.com')
    const bea = await signUp(app, 'bea@example.com', PASSWORD, 'Bea')
    // Open WebUI's EditUserModal sends all of these
    const body = { role: 'user', name: 'Bea B', email: 'Bea.New@Example.com', profile_image_url: '/user.png', password: 'another good passphrase' }
    const res = await json(app, 'POST', `/api/v1/users/${bea.id}/update`, admin.token, body)
    expect(res.status).toBe(200)
    expect(res.body).toMatchObject({ id: bea.id, name: 'Bea B', email: 'Bea.New@Example.com', role: 'user' })
    expect(await statusOf(app, 'GET', '/api/v1/auths/', bearer(bea.token))).toBe(401)
    expect(await statusOf(app, 'POST', '/api/v1/auths/signin', {}, { email: 'bea@example.com', password: PASSWORD })).toBe(400)
    await signIn(app, 'bea.new@example.com', 'another good passphrase')
    const events = audit.entries.map((entry) => entry.event)
    expect(events).toContain('user_email_changed')
    expect(events).toContain('user_password_set_by_admin')
    expect(JSON.stringify(audit.entries)).not.toContain('another good passphrase')
  })

  test('an admin\'s update setting a picture keeps the settings the user saved meanwhile', async () => {
    const { app } = startTestApp()
    const admin = await signUp(app, 'admin@example.com')
    const bea = await signUp(app, 'bea@example.com', PASSWORD, 'Bea')
    await json(app, 'POST', `/api/v1/users/${bea.id}/update`, admin.token, { role: 'user' })
    // the admin's save hashes a new password before it writes; Bea saves her settings during it
    const [updated, saved] = await Promise.all([
      json(app, 'POST', `/api/v1/users/${bea.id}/update`, admin.token, { name: 'Bea', profile_image_url: PNG, password: 'another good passphrase' }),
      json(app, 'POST', '/api/v1/users/user/settings/update', bea.token, { ui: { system: 'kept' } }),
    ])
    expect([updated.status, saved.status]).toEqual([200, 200])
    expect(updated.body.profile_image_url).toBe(PNG)
    const again = await signIn(app, 'bea@example.com', 'another good passphrase')
    expect((await json(app, 'GET', '/api/v1/users/user/settings', again.token)).body).toEqual({ ui: { system: 'kept' } })
  })

  test('older pages change a role with POST /users/update/role {id, role}; an admin\'s own role change writes nothing', async () => {
    const { app } = startTestApp()
    const admin = await signUp(app, 'admin@example.com')
    const bea = await signUp(app, 'bea@example.com', PASSWORD, 'Bea')
    expect((await json(app, 'POST', '/api/v1/users/update/role', admin.token, { id: bea.id, role: 'user' })).body).toMatchObject({ id: bea.id, role: 'user' })
    expect(await statusOf(app, 'POST', '/api/v1/users/update/role', bearer(admin.token), { id: 'nobody', role: 'user' })).toBe(404)
    expect(await statusOf(app, 'POST', `/api/v1/users/${admin.id}/update`, bearer(admin.token), { role: 'user', name: 'Renamed', email: 'moved@example.com' })).toBe(403)
    expect((await json(app, 'GET', `/api/v1/users/${admin.id}`, admin.token)).body).toMatchObject({ role: 'admin', name: 'Ada', email: 'admin@example.com' })
  })

  test('update refuses a taken email, a bad email and a weak password, changing nothing', async () => {
    const { app } = startTestApp(USER_ON)
    const admin = await signUp(app, 'admin@example.com')
    const bea = await signUp(app, 'bea@example.com', PASSWORD, 'Bea')
    const refused = async (body: object, status: number) => expect(await statusOf(app, 'POST', `/api/v1/users/${bea.id}/update`, bearer(admin.token), body)).toBe(status)
    await refused({ email: 'ADMIN@example.com', name: 'Changed' }, 400)
    await refused({ email: 'not-an-email' }, 400)
    await refused({ password: 'short' }, 400)
    expect(await statusOf(app, 'GET', '/api/v1/auths/', bearer(bea.token))).toBe(200)
    expect((await json(app, 'GET', `/api/v1/users/${bea.id}`, admin.token)).body).toMatchObject({ name: 'Bea', email: 'bea@example.com' })
    expect(await statusOf(app, 'POST', `/api/v1/users/${admin.id}/update`, bearer(bea.token), { email: 'mine@example.com' })).toBe(403)
  })
})

test('an API key restricted to other endpoints cannot reach these routes', async () => {
  const { app } = startTestApp({ ENABLE_API_KEYS: 'true', ENABLE_API_KEYS_ENDPOINT_RESTRICTIONS: 'true', API_KEYS_ALLOWED_ENDPOINTS: '/api/models' })
  const admin = await signUp(app, 'admin@example.com')
  const key = (await json(app, 'POST', '/api/v1/auths/api_key', admin.token, {})).body.api_key as string
  for (const path of ['/api/v1/users/user/settings', '/api/v1/users/permissions', '/api/v1/auths/admin/config', '/api/v1/users/search']) {
    expect(await statusOf(app, 'GET', path, apiKeyHeader(key))).toBe(403)
  }
  expect(await statusOf(app, 'GET', '/api/models', apiKeyHeader(key))).not.toBe(403)
})
