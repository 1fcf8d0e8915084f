/**
 * The routes behind the first run and the admin's day: model details, connections turned off and
 * on, a connection that answers but lists its models wrongly, a cancelled pull, the setup token
 * and password rules in /api/config, and the account routes the admin page calls (add a user,
 * set a password, sign-up settings), each with malformed, unauthorised and cross-site input.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { openSetupGate } from '../../src/auth/setup-token.ts'
import { startFakeOllama, type FakeOllama } from '../fakes/ollama.ts'
import { llama, qwen } from '../fakes/ollama-pair.ts'
import { bearer, PASSWORD, signIn, signUp, startClockedApp, statusOf } from '../helpers/accounts.ts'
import { req, startTestApp } from '../helpers/test-app.ts'

const FOREIGN = { origin: 'http://evil.example', 'sec-fetch-site': 'cross-site' }
let ollama: FakeOllama
let spare: FakeOllama
beforeAll(async () => {
  ollama = await startFakeOllama({ models: [qwen, llama] })
  spare = await startFakeOllama({ models: [llama] })
})
afterAll(async () => {
  await ollama.stop()
  await spare.stop()
})

async function startAdminApp(urls: string[] = [ollama.url]) {
  const started = startClockedApp({ OLLAMA_BASE_URLS: urls.join(';'), OLLAMA_TIMEOUT: '2', OLLAMA_IDLE_TIMEOUT: '2' })
  const adminBody = await signUp(started.app, 'admin@example.com')
  const user = await signUp(started.app, 'user@example.com')
  const admin = bearer(adminBody.token)
  expect(await statusOf(started.app, 'POST', `/api/v1/users/${user.id}/update`, admin, { role: 'user' })).toBe(200)
  return { ...started, admin, adminCookie: { cookie: `token=${adminBody.token}` }, user: bearer(user.token), userId: user.id }
}
const call = async (app: { handle(request: Request): Promise<Response> }, method: string, path: string, headers: Record<string, string>, body?: unknown) => {
  const res = await app.handle(req(method, path, body, headers))
  const text = await res.text()
  return { status: res.status, text, body: text === '' ? null : JSON.parse(text) as Record<string, unknown> }
}

describe('model details', () => {
  test('size, parameters, quantisation, family, context length and modified, as Ollama reports them', async () => {
    const { app, admin } = await startAdminApp()
    const { status, body } = await call(app, 'GET', '/api/v1/ollama/models/llama3.2:1b/details', admin)
    expect(status).toBe(200)
    expect(body).toMatchObject({
      name: 'llama3.2:1b', connection: 0, size: llama.size, family: 'llama', parameter_size: '1.2B', parameter_count: 494032768,
      quantization_level: 'Q8_0', format: 'gguf', context_length: 32768, modified_at: llama.modified_at,
    })
    expect(ollama.requests.at(-1)).toMatchObject({ method: 'POST', path: '/api/show', body: { model: 'llama3.2:1b' } })
  })

  test.each<[string, string, number, string]>([
    ['an unknown model', '/api/v1/ollama/models/nothing:here/details', 404, 'model_not_found'],
    ['an unknown connection', '/api/v1/ollama/models/llama3.2:1b/details?connection=9', 404, 'connection_not_found'],
    ['a name that is not a model name', '/api/v1/ollama/models/..%2F..%2Fetc/details', 422, 'invalid_request'],
  ])('%s is refused', async (_, path, status, code) => {
    const { app, admin } = await startAdminApp()
    const answer = await call(app, 'GET', path, admin)
    expect(answer.status).toBe(status)
    expect(answer.body?.code).toBe(code)
  })

  test('401 without a credential, 403 for a user', async () => {
    const { app, user } = await startAdminApp()
    expect(await statusOf(app, 'GET', '/api/v1/ollama/models/llama3.2:1b/details', {})).toBe(401)
    expect(await statusOf(app, 'GET', '/api/v1/ollama/models/llama3.2:1b/details', user)).toBe(403)
  })
})

describe('connections turned off and on', () => {
  test('a connection turned off is kept, not asked, and its models leave the list; on again, they come back', async () => {
    const { app, admin, user } = await startAdminApp([ollama.url, spare.url])
    const off = await call(app, 'POST', '/api/v1/ollama/connections/enabled', admin, { url: ollama.url, enabled: false })
    expect(off.status).toBe(200)
    expect(off.body).toEqual({ urls: [ollama.url, spare.url], source: 'env', disabled: [ollama.url] })
    const asked = ollama.requests.length
    const listed = await call(app, 'GET', '/api/models', user)
    expect((listed.body!.data as { id: string }[]).map(({ id }) => id)).toEqual(['llama3.2:1b'])
    expect(ollama.requests.length).toBe(asked)
    const status = await call(app, 'GET', '/api/v1/ollama/status', admin)
    expect((status.body!.connections as Record<string, unknown>[])[0]).toMatchObject({ url: ollama.url, enabled: false, models: { ok: false, reason: 'disabled' } })
    // note: an admin's list of failures leaves out a connection turned off on purpose.
    expect((await call(app, 'GET', '/api/models', admin)).body!.errors).toEqual([])

    expect((await call(app, 'POST', '/api/v1/ollama/connections/enabled', admin, { url: ollama.url, enabled: true })).body!.disabled).toEqual([])
    expect(((await call(app, 'GET', '/api/models', user)).body!.data as { id: string }[]).map(({ id }) => id)).toEqual(['qwen2.5:0.5b', 'llama3.2:1b'])
  })

  test('removing a turned-off URL forgets it, so adding it back turns it on', async () => {
    const { app, admin } = await startAdminApp([ollama.url, spare.url])
    await call(app, 'POST', '/api/v1/ollama/connections/enabled', admin, { url: spare.url, enabled: false })
    expect((await call(app, 'POST', '/api/v1/ollama/connections', admin, { urls: [ollama.url] })).body).toEqual({ urls: [ollama.url], source: 'settings', disabled: [] })
    expect((await call(app, 'POST', '/api/v1/ollama/connections', admin, { urls: [ollama.url, spare.url] })).body!.disabled).toEqual([])
  })

  test.each<[string, unknown, number]>([
    ['a URL not in the list', { url: 'http://169.254.169.254', enabled: false }, 404],
    ['no flag', { url: 'http://x' }, 422],
    ['a string flag', { url: 'http://x', enabled: 'false' }, 422],
    ['a huge URL', { url: `http://${'a'.repeat(3000)}`, enabled: false }, 422],
  ])('%s is refused', async (_, body, status) => {
    const { app, admin } = await startAdminApp()
    expect(await statusOf(app, 'POST', '/api/v1/ollama/connections/enabled', admin, body)).toBe(status)
  })

  test('users, strangers and other sites may not turn a connection off', async () => {
    const { app, user, adminCookie } = await startAdminApp()
    const body = { url: ollama.url, enabled: false }
    expect(await statusOf(app, 'POST', '/api/v1/ollama/connections/enabled', {}, body)).toBe(401)
    expect(await statusOf(app, 'POST', '/api/v1/ollama/connections/enabled', user, body)).toBe(403)
    expect(await statusOf(app, 'POST', '/api/v1/ollama/connections/enabled', { ...adminCookie, ...FOREIGN }, body)).toBe(403)
    expect((await call(app, 'GET', '/api/v1/ollama/connections', adminCookie)).body!.disabled).toEqual([])
  })
})

describe('a connection that answers but lists its models wrongly', () => {
  test('shows as reachable with a broken model list, not as healthy', async () => {
    const broken = await startFakeOllama({ behaviour: { tagsBody: { models: 'not a list' } } })
    try {
      const { app, admin } = await startAdminApp([broken.url])
      const { body } = await call(app, 'GET', '/api/v1/ollama/status', admin)
      expect((body!.connections as Record<string, unknown>[])[0]).toMatchObject({
        reachable: true, version: '0.12.6', enabled: true, models: { ok: false, reason: 'bad_response', message: 'Ollama sent a model list of an unexpected shape.' },
      })
    } finally {
      await broken.stop()
    }
  })
})

describe('a cancelled pull', () => {
  test('leaving the answer ends the pull from Ollama, and no model is added', async () => {
    const { app, admin } = await startAdminApp()
    ollama.setBehaviour({ chunkDelayMs: 40 })
    try {
      const res = await app.handle(req('POST', '/api/v1/ollama/pull', { name: 'cancelled-model' }, admin))
      expect(res.status).toBe(200)
      const reader = res.body!.getReader()
      await reader.read()
      await reader.cancel()
      const pull = ollama.requests.findLast((request) => request.path === '/api/pull')!
      expect(await pull.settled).toBe('aborted')
      expect(ollama.models()).not.toContain('cancelled-model:latest')
    } finally {
      ollama.setBehaviour({ chunkDelayMs: 0 })
    }
  })
})

describe('/api/config on the first run', () => {
  test('beyond loopback with no account: setup_token_required and the password rules, no token or path', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'enclave-first-run-'))
    try {
      const gate = openSetupGate({ dataDir, host: '0.0.0.0', hasUsers: false })
      const { app } = startTestApp({}, Date.now, gate)
      const { body, text } = await call(app, 'GET', '/api/config', {})
      expect(body).toMatchObject({ onboarding: true, setup_token_required: true, password_rules: { min_length: 8, hint: null } })
      expect(text).not.toContain(dataDir)
      expect(text).not.toContain(await Bun.file(gate.tokenFile!).text())
    } finally {
      rmSync(dataDir, { recursive: true, force: true })
    }
  })

  test('on loopback, and once an account exists, no token is asked for; a password pattern brings its hint', async () => {
    const { app } = startTestApp({ ENABLE_PASSWORD_VALIDATION: 'true', PASSWORD_VALIDATION_REGEX_PATTERN: '^(?=.*[0-9]).{8,}$', PASSWORD_VALIDATION_HINT: 'Include a digit.' })
    expect((await call(app, 'GET', '/api/config', {})).body).toMatchObject({ setup_token_required: false, password_rules: { min_length: 8, hint: 'Include a digit.' } })
  })
})

describe('the admin page\'s account routes', () => {
  test('add a user as Open WebUI\'s page sends it; they sign in with that password', async () => {
    const { app, admin } = await startAdminApp()
    const added = await call(app, 'POST', '/api/v1/auths/add', admin, { name: 'Carol', email: 'carol@example.com', password: PASSWORD, role: 'user', profile_image_url: '/user.png' })
    expect(added.status).toBe(200)
    expect(added.body).toMatchObject({ email: 'carol@example.com', name: 'Carol', role: 'user' })
    expect(added.text).not.toContain(PASSWORD)
    expect((await signIn(app, 'carol@example.com')).role).toBe('user')
  })

  test.each<[string, unknown, number]>([
    ['a taken email', { name: 'A', email: 'user@example.com', password: PASSWORD, role: 'user' }, 400],
    ['a short password', { name: 'A', email: 'a@example.com', password: 'short', role: 'user' }, 400],
    ['an invalid email', { name: 'A', email: 'not an email', password: PASSWORD, role: 'user' }, 400],
    ['an unknown role', { name: 'A', email: 'a@example.com', password: PASSWORD, role: 'root' }, 422],
    ['no name', { email: 'a@example.com', password: PASSWORD }, 422],
    ['a huge name', { name: 'n'.repeat(5000), email: 'a@example.com', password: PASSWORD }, 422],
    ['a list', [], 422],
  ])('add with %s is refused', async (_, body, status) => {
    const { app, admin } = await startAdminApp()
    const answer = await call(app, 'POST', '/api/v1/auths/add', admin, body)
    expect(answer.status).toBe(status)
    expect(answer.text).not.toContain(PASSWORD)
  })

  test('add and set-password are the admin\'s: 401 without a credential, 403 for users and other sites', async () => {
    const { app, user, userId, adminCookie } = await startAdminApp()
    const add = { name: 'M', email: 'mallory@example.com', password: PASSWORD, role: 'admin' }
    for (const headers of [{}, user, { ...adminCookie, ...FOREIGN }]) {
      expect(await statusOf(app, 'POST', '/api/v1/auths/add', headers, add)).toBeOneOf([401, 403])
      expect(await statusOf(app, 'POST', `/api/v1/users/${userId}/update`, headers, { password: 'taken over by mallory' })).toBeOneOf([401, 403])
      expect(await statusOf(app, 'POST', '/api/v1/auths/admin/config', headers, { ENABLE_SIGNUP: false })).toBeOneOf([401, 403])
    }
    expect(await statusOf(app, 'POST', '/api/v1/auths/signin', {}, { email: 'mallory@example.com', password: PASSWORD })).toBe(400)
    expect((await signIn(app, 'user@example.com')).role).toBe('user')
  })

  test('a password the admin sets ends the user\'s sessions and signs in', async () => {
    const { app, admin, user, userId } = await startAdminApp()
    expect(await statusOf(app, 'POST', `/api/v1/users/${userId}/update`, admin, { password: 'a brand new password' })).toBe(200)
    expect(await statusOf(app, 'GET', '/api/v1/auths/', user)).toBe(401)
    expect((await signIn(app, 'user@example.com', 'a brand new password')).role).toBe('user')
  })

  test('sign-up and the default role change at runtime and are kept', async () => {
    const { app, admin } = await startAdminApp()
    expect((await call(app, 'POST', '/api/v1/auths/admin/config', admin, { ENABLE_SIGNUP: false, DEFAULT_USER_ROLE: 'user' })).body).toMatchObject({ ENABLE_SIGNUP: false, DEFAULT_USER_ROLE: 'user' })
    expect((await call(app, 'GET', '/api/config', {})).body).toMatchObject({ features: { enable_signup: false } })
    expect(await statusOf(app, 'POST', '/api/v1/auths/signup', {}, { name: 'Late', email: 'late@example.com', password: PASSWORD })).toBe(403)
    await call(app, 'POST', '/api/v1/auths/admin/config', admin, { ENABLE_SIGNUP: true })
    expect((await signUp(app, 'late@example.com')).role).toBe('user')
  })
})
