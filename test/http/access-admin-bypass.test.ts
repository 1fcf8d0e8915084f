/**
 * BYPASS_ADMIN_ACCESS_CONTROL=false: admins use only what is granted to them (or public), but still
 * manage Ollama (pull, delete), since grants are about using models; an admin's API key limited to
 * models manages only those.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { startFakeOllama, type FakeOllama } from '../fakes/ollama.ts'
import { bearer, signUp } from '../helpers/accounts.ts'
import { req, startTestApp } from '../helpers/test-app.ts'

let ollama: FakeOllama
beforeAll(async () => { ollama = await startFakeOllama() })
afterAll(() => ollama.stop())

test('an admin held to grants: uses only what is granted, still pulls and deletes; a limited key manages its models only', async () => {
  const { app } = startTestApp({ OLLAMA_BASE_URL: ollama.url, BYPASS_MODEL_ACCESS_CONTROL: 'false', BYPASS_ADMIN_ACCESS_CONTROL: 'false', ENABLE_API_KEYS: 'true' })
  const admin = await signUp(app, 'admin@example.com')
  const send = (method: string, path: string, headers: Record<string, string>, body?: unknown) => app.handle(req(method, path, body, headers))
  const as = bearer(admin.token)
  const chat = (model: string) => send('POST', '/api/chat/completions', as, { model, messages: [{ role: 'user', content: 'hi' }] })
  expect(((await (await send('GET', '/api/models', as)).json()) as { data: unknown[] }).data).toEqual([])
  expect((await chat('llama3.2:1b')).status).toBe(404)
  await send('POST', '/api/v1/models/model/access/update', as, { id: 'llama3.2:1b', access_grants: [{ principal_type: 'user', principal_id: admin.id, permission: 'read' }] })
  expect((await chat('llama3.2:1b')).status).toBe(200)
  expect((await chat('qwen2.5:0.5b')).status).toBe(404)

  const pulled = await send('POST', '/ollama/api/pull', as, { model: 'mistral:7b', stream: false })
  expect(pulled.status).toBe(200)
  await pulled.text()
  const key = ((await (await send('POST', '/api/v1/auths/api_key', as, { name: 'ops', allowed_models: ['mistral:7b'] })).json()) as { api_key: string }).api_key
  expect((await send('DELETE', '/ollama/api/delete', bearer(key), { model: 'qwen2.5:0.5b' })).status).toBe(404)
  expect((await send('DELETE', '/api/v1/ollama/models/qwen2.5:0.5b', bearer(key))).status).toBe(404)
  expect((await send('POST', '/ollama/api/pull', bearer(key), { model: 'phi3:mini', stream: false })).status).toBe(404)
  expect(ollama.requests.some((request) => request.path === '/api/delete')).toBe(false)
  const deleted = await send('DELETE', '/ollama/api/delete', bearer(key), { model: 'mistral:7b' })
  expect(deleted.status).toBe(200)
  expect((await send('DELETE', '/api/v1/ollama/models/qwen2.5:0.5b', as)).status).toBe(200)
})
