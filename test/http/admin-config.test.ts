/**
 * Open WebUI's admin settings pages replayed: admin config (sign-up, default role, API keys,
 * session lifetime), admin details, default and effective permissions, banners, the update check,
 * the changelog and the base models.
 */
import { describe, expect, test } from 'bun:test'
import { startFakeOllama } from '../fakes/ollama.ts'
import { apiKeyHeader, bearer, signUp, statusOf } from '../helpers/accounts.ts'
import { req, startTestApp } from '../helpers/test-app.ts'
import { VERSION } from '../../src/version.ts'

const CONFIG = '/api/v1/auths/admin/config'

async function json(app: { handle: (r: Request) => Promise<Response> }, method: string, path: string, token: string | null, body?: unknown) {
  const res = await app.handle(req(method, path, body, token === null ? {} : bearer(token)))
  return { status: res.status, body: await res.json().catch(() => null) as any }
}

describe('admin config', () => {
  test('GET answers the environment\'s values in Open WebUI\'s spelling, old and new names', async () => {
    const { app } = startTestApp({ DEFAULT_USER_ROLE: 'user', JWT_EXPIRES_IN: '2h' })
    const admin = await signUp(app, 'admin@example.com')
    const { body } = await json(app, 'GET', CONFIG, admin.token)
    expect(body).toMatchObject({
      SHOW_ADMIN_DETAILS: true, ENABLE_SIGNUP: true, DEFAULT_USER_ROLE: 'user', JWT_EXPIRES_IN: '2h',
      ENABLE_API_KEY: false, ENABLE_API_KEYS: false, ENABLE_API_KEY_ENDPOINT_RESTRICTIONS: false, API_KEY_ALLOWED_ENDPOINTS: '',
      ENABLE_COMMUNITY_SHARING: false, ENABLE_MESSAGE_RATING: true, PENDING_USER_OVERLAY_TITLE: null,
    })
  })

  test('the web page posts the whole object back: each change takes effect at once', async () => {
    const { app, audit } = startTestApp()
    const admin = await signUp(app, 'admin@example.com')
    const current = (await json(app, 'GET', CONFIG, admin.token)).body
    // Open WebUI's admin "General" page: updateAdminConfig(token, adminConfig) with the edited fields
    const posted = { ...current, ENABLE_SIGNUP: false, DEFAULT_USER_ROLE: 'user', ENABLE_API_KEY: true, JWT_EXPIRES_IN: '1h', PENDING_USER_OVERLAY_TITLE: 'Wait, please' }
    const saved = await json(app, 'POST', CONFIG, admin.token, posted)
    expect(saved.status).toBe(200)
    expect(saved.body).toMatchObject({ ENABLE_SIGNUP: false, DEFAULT_USER_ROLE: 'user', ENABLE_API_KEYS: true, ENABLE_API_KEY: true, JWT_EXPIRES_IN: '1h' })
    expect((await json(app, 'GET', '/api/config', null)).body.features).toMatchObject({ enable_signup: false, enable_api_keys: true })
    expect(await statusOf(app, 'POST', '/api/v1/auths/signup', {}, { name: 'Late', email: 'late@example.com', password: 'correct horse battery' })).toBe(403)
    expect((await json(app, 'POST', '/api/v1/auths/api_key', admin.token, {})).status).toBe(200)
    const fresh = (await json(app, 'POST', '/api/v1/auths/signin', null, { email: 'admin@example.com', password: 'correct horse battery' })).body
    expect(fresh.expires_at - Date.now() / 1000).toBeLessThanOrEqual(3600)
    expect(fresh.expires_at - Date.now() / 1000).toBeGreaterThan(3500)

    await json(app, 'POST', CONFIG, admin.token, { ...posted, ENABLE_SIGNUP: true })
    const newcomer = await signUp(app, 'new@example.com')
    expect(newcomer.role).toBe('user')
    const line = audit.entries.find((entry) => entry.event === 'admin_config_changed')!
    expect(line.details).toMatchObject({ ENABLE_SIGNUP: false, DEFAULT_USER_ROLE: 'user', ENABLE_API_KEYS: true, PENDING_USER_OVERLAY_TITLE: 'changed' })
    expect(JSON.stringify(audit.entries)).not.toContain('Wait, please')
  })

  test.each([
    ['a bad session lifetime', { JWT_EXPIRES_IN: 'forever' }],
    ['a bad endpoint list', { API_KEYS_ALLOWED_ENDPOINTS: 'not a path' }],
  ])('refuses %s with 400, changing nothing', async (_, body) => {
    const { app } = startTestApp()
    const admin = await signUp(app, 'admin@example.com')
    expect((await json(app, 'POST', CONFIG, admin.token, body)).status).toBe(400)
    expect((await json(app, 'GET', CONFIG, admin.token)).body.JWT_EXPIRES_IN).toBe('4w')
  })

  test('a save tells open sockets and answers to check their credential again (API keys may be off now)', async () => {
    const { app, deps } = startTestApp({ ENABLE_API_KEYS: 'true' })
    const admin = await signUp(app, 'admin@example.com')
    const before = deps.store.accountChanges.generationOf(admin.id as never)
    await json(app, 'POST', CONFIG, admin.token, { ENABLE_API_KEYS: false })
    expect(deps.store.accountChanges.generationOf(admin.id as never)).toBeGreaterThan(before)
  })

  test('a user or a pending account gets 403, an anonymous caller 401, a wrong type 422', async () => {
    const { app } = startTestApp({ DEFAULT_USER_ROLE: 'user' })
    const admin = await signUp(app, 'admin@example.com')
    const user = await signUp(app, 'user@example.com')
    for (const [method, body] of [['GET', undefined], ['POST', { ENABLE_SIGNUP: true }]] as const) {
      expect(await statusOf(app, method, CONFIG, bearer(user.token), body)).toBe(403)
      expect(await statusOf(app, method, CONFIG, {}, body)).toBe(401)
    }
    expect(await statusOf(app, 'POST', CONFIG, bearer(admin.token), { ENABLE_SIGNUP: 'yes please' })).toBe(422)
    expect(await statusOf(app, 'POST', CONFIG, bearer(admin.token), { DEFAULT_USER_ROLE: 'root' })).toBe(422)
  })

  test('single-user mode keeps sign-up closed whatever is saved', async () => {
    const { app, deps } = startTestApp({ SINGLE_USER_MODE: 'true' })
    void app
    const runtime = (await import('../../src/auth/auth-deps.ts')).createAuthDeps({ store: deps.store, auth: deps.config.auth, sessionSecret: 's', audit: deps.audit, now: Date.now, setupGate: deps.setupGate })
    await runtime.runtime.saveAdminConfig({ ...await runtime.runtime.readAdminConfig(), ENABLE_SIGNUP: true })
    expect(runtime.auth.enableSignup).toBe(false)
  })
})

describe('admin details (the pending page)', () => {
  test('a pending account sees whom to ask; hidden when the admin says so', async () => {
    const { app } = startTestApp()
    const admin = await signUp(app, 'admin@example.com', undefined, 'Root')
    const pending = await signUp(app, 'pending@example.com')
    expect((await json(app, 'GET', '/api/v1/auths/admin/details', pending.token)).body).toEqual({ name: 'Root', email: 'admin@example.com' })
    await json(app, 'POST', CONFIG, admin.token, { SHOW_ADMIN_DETAILS: false })
    expect((await json(app, 'GET', '/api/v1/auths/admin/details', pending.token)).status).toBe(400)
    expect(await statusOf(app, 'GET', '/api/v1/auths/admin/details', {})).toBe(401)
  })
})

describe('permissions', () => {
  test('defaults in Open WebUI\'s shape; features.api_keys follows USER_PERMISSIONS_FEATURES_API_KEYS, then the admin', async () => {
    const { app } = startTestApp({ DEFAULT_USER_ROLE: 'user', ENABLE_API_KEYS: 'true' })
    const admin = await signUp(app, 'admin@example.com')
    const user = await signUp(app, 'user@example.com')
    const defaults = (await json(app, 'GET', '/api/v1/users/default/permissions', admin.token)).body
    expect(Object.keys(defaults).sort()).toEqual(['chat', 'features', 'sharing', 'ui', 'workspace'])
    expect(defaults.chat).toMatchObject({ controls: true, file_upload: true, delete: true, edit: true, temporary: true, temporary_enforced: false })
    expect(defaults.features.api_keys).toBe(false)
    // Conduit's getUserPermissions and the web layout read these
    expect((await json(app, 'GET', '/api/v1/users/permissions', user.token)).body.features.api_keys).toBe(false)
    expect((await json(app, 'GET', '/api/v1/users/permissions', admin.token)).body.features.api_keys).toBe(true)
    expect(await statusOf(app, 'POST', '/api/v1/auths/api_key', bearer(user.token), {})).toBe(403)

    const saved = await json(app, 'POST', '/api/v1/users/default/permissions', admin.token, { ...defaults, features: { ...defaults.features, api_keys: true } })
    expect(saved.body.features.api_keys).toBe(true)
    expect((await json(app, 'GET', '/api/v1/users/permissions', user.token)).body.features.api_keys).toBe(true)
    expect((await json(app, 'POST', '/api/v1/auths/api_key', user.token, {})).status).toBe(200)
    expect(await statusOf(app, 'POST', '/api/v1/users/default/permissions', bearer(user.token), defaults)).toBe(403)
    expect(await statusOf(app, 'POST', '/api/v1/users/default/permissions', bearer(admin.token), { chat: { edit: 'sure' } })).toBe(422)
  })

  test('a pending account gets 403 for its permissions', async () => {
    const { app } = startTestApp()
    await signUp(app, 'admin@example.com')
    const pending = await signUp(app, 'pending@example.com')
    expect(await statusOf(app, 'GET', '/api/v1/users/permissions', bearer(pending.token))).toBe(403)
  })
})

describe('banners, update check, changelog', () => {
  test('the admin sets banners (web setBanners); every user reads them (web getBanners)', async () => {
    const { app } = startTestApp({ DEFAULT_USER_ROLE: 'user' })
    const admin = await signUp(app, 'admin@example.com')
    const user = await signUp(app, 'user@example.com')
    expect((await json(app, 'GET', '/api/v1/configs/banners', user.token)).body).toEqual([])
    const banners = [{ id: 'b1', type: 'info', title: '', content: 'Maintenance at 18:00', dismissible: true, timestamp: 1_700_000_000 }]
    expect((await json(app, 'POST', '/api/v1/configs/banners', admin.token, { banners })).body).toEqual(banners)
    expect((await json(app, 'GET', '/api/v1/configs/banners', user.token)).body).toEqual(banners)
    expect(await statusOf(app, 'POST', '/api/v1/configs/banners', bearer(user.token), { banners })).toBe(403)
    expect(await statusOf(app, 'POST', '/api/v1/configs/banners', bearer(admin.token), { banners: [{ id: 'x' }] })).toBe(422)
  })

  test('no update check is made: latest is the running version (Conduit getServerAboutInfo)', async () => {
    const { app } = startTestApp()
    const admin = await signUp(app, 'admin@example.com')
    expect((await json(app, 'GET', '/api/version/updates', admin.token)).body).toEqual({ current: VERSION, latest: VERSION })
    expect(typeof (await json(app, 'GET', '/api/changelog', null)).body).toBe('object')
    expect(await statusOf(app, 'GET', '/api/version/updates', {})).toBe(401)
  })
})

test('base models: the Ollama models for an admin, in both of Open WebUI\'s paths', async () => {
  const ollama = await startFakeOllama()
  try {
    const { app } = startTestApp({ OLLAMA_BASE_URL: ollama.url, DEFAULT_USER_ROLE: 'user' })
    const admin = await signUp(app, 'admin@example.com')
    const user = await signUp(app, 'user@example.com')
    const base = (await json(app, 'GET', '/api/models/base', admin.token)).body
    expect(base.data.length).toBeGreaterThan(0)
    expect(base.data[0]).toMatchObject({ id: expect.any(String), name: expect.any(String), owned_by: 'ollama' })
    const listed = (await json(app, 'GET', '/api/v1/models/base', admin.token)).body
    expect(listed[0]).toMatchObject({ id: base.data[0].id, base_model_id: null, is_active: true })
    expect(await statusOf(app, 'GET', '/api/models/base', bearer(user.token))).toBe(403)
    expect(await statusOf(app, 'GET', '/api/v1/models/base', bearer(user.token))).toBe(403)
  } finally {
    ollama.stop()
  }
})

test('an API key restricted elsewhere may not change the admin config', async () => {
  const { app } = startTestApp({ ENABLE_API_KEYS: 'true', ENABLE_API_KEYS_ENDPOINT_RESTRICTIONS: 'true', API_KEYS_ALLOWED_ENDPOINTS: '/api/models' })
  const admin = await signUp(app, 'admin@example.com')
  const key = (await json(app, 'POST', '/api/v1/auths/api_key', admin.token, {})).body.api_key as string
  expect(await statusOf(app, 'POST', CONFIG, apiKeyHeader(key), { ENABLE_SIGNUP: false })).toBe(403)
  expect((await json(app, 'GET', CONFIG, admin.token)).body.ENABLE_SIGNUP).toBe(true)
})

describe('/api/config features the web page gates on', () => {
  test('a signed-in user is told folders are on (Sidebar.svelte draws them only then), next to the sign-in flags; the admin may turn them off', async () => {
    const { app } = startTestApp({ DEFAULT_USER_ROLE: 'user' })
    const admin = await signUp(app, 'admin@example.com')
    const user = await signUp(app, 'user@example.com')
    const features = async (token: string | null) => (await json(app, 'GET', '/api/config', token)).body.features
    expect(await features(null)).not.toHaveProperty('enable_folders')
    expect(await features(user.token)).toMatchObject({ enable_folders: true, enable_signup: true, enable_login_form: true })
    expect((await json(app, 'GET', '/api/config', user.token)).body).toHaveProperty('default_prompt_suggestions')
    await json(app, 'POST', CONFIG, admin.token, { ENABLE_FOLDERS: false })
    expect((await features(user.token)).enable_folders).toBe(false)
  })

  test('a pending account or a bad token is told nothing more', async () => {
    const { app } = startTestApp()
    await signUp(app, 'admin@example.com')
    const pending = await signUp(app, 'pending@example.com')
    expect((await json(app, 'GET', '/api/config', pending.token)).body.features).not.toHaveProperty('enable_folders')
    expect((await json(app, 'GET', '/api/config', 'not-a-token')).body.features).not.toHaveProperty('enable_folders')
  })

  test('web search, image generation and code interpreter read off: in the config for anyone, in every permission tree, whatever the admin saves', async () => {
    const { app } = startTestApp({ DEFAULT_USER_ROLE: 'user' })
    const admin = await signUp(app, 'admin@example.com')
    const user = await signUp(app, 'user@example.com')
    const off = { enable_web_search: false, enable_image_generation: false, enable_code_interpreter: false }
    expect((await json(app, 'GET', '/api/config', null)).body.features).toMatchObject(off)
    expect((await json(app, 'GET', '/api/config', admin.token)).body.features).toMatchObject(off)
    // Conduit's webSearchAvailableProvider / imageGenerationAvailableProvider read these
    const flags = async (token: string) => {
      const features = (await json(app, 'GET', '/api/v1/users/permissions', token)).body.features
      return [features.web_search, features.image_generation, features.code_interpreter, features.folders]
    }
    expect(await flags(user.token)).toEqual([false, false, false, true])
    expect(await flags(admin.token)).toEqual([false, false, false, true])
    const defaults = (await json(app, 'GET', '/api/v1/users/default/permissions', admin.token)).body
    expect(defaults.features.web_search).toBe(false)
    const saved = await json(app, 'POST', '/api/v1/users/default/permissions', admin.token, { ...defaults, features: { ...defaults.features, web_search: true, image_generation: true, code_interpreter: true } })
    expect(await flags(user.token)).toEqual([false, false, false, true])
    // the admin page (getUserDefaultPermissions) shows the same as the decisions
    for (const tree of [saved.body, (await json(app, 'GET', '/api/v1/users/default/permissions', admin.token)).body]) {
      expect([tree.features.web_search, tree.features.image_generation, tree.features.code_interpreter, tree.features.folders]).toEqual([false, false, false, true])
    }
  })
})
