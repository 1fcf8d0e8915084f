/**
 * The workspace through the compiled binary, with Open WebUI's exact request shapes: presets and
 * prompts created, shared and refused; a socket chat through a preset reaching the Ollama stand-in
 * with the preset's base model, system prompt and options; a direct connection answering through
 * the server; and none of the presets' system prompts, prompt contents or direct-connection keys
 * readable in DATA_DIR or in a backup.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { defaultFakeModels } from '../fakes/ollama-replies.ts'
import { startFakeOllama, type FakeOllama } from '../fakes/ollama.ts'
import { bearer, signUp } from '../helpers/accounts.ts'
import { binaryAppStarter } from '../helpers/binary-app.ts'
import { runBinary } from '../helpers/binary.ts'
import { req } from '../helpers/test-app.ts'
import { connect } from '../helpers/ws.ts'

const startApp = binaryAppStarter()
let ollama: FakeOllama
let remote: FakeOllama
beforeAll(async () => {
  ollama = await startFakeOllama()
  remote = await startFakeOllama({ models: [{ ...defaultFakeModels[0]!, name: 'remote-model:latest', model: 'remote-model:latest' }] })
})
afterAll(() => Promise.all([ollama.stop(), remote.stop()]))

const marker = (name: string) => `${name}Marker${crypto.randomUUID().replaceAll('-', '')}`

test('presets, prompts and direct connections through the binary, sealed on disk and in a backup', async () => {
  const { app, cwd, server } = await startApp({ OLLAMA_BASE_URL: ollama.url, ENABLE_TITLE_GENERATION: 'false', ENABLE_DIRECT_CONNECTIONS: 'true', DIRECT_CONNECTIONS_ALLOWED_HOSTS: '127.0.0.1' })
  const admin = await signUp(app, 'admin@example.com')
  const bob = await signUp(app, 'bob@example.com')
  const send = async (token: string, method: string, path: string, body?: unknown) => {
    const res = await app.handle(req(method, path, body, bearer(token)))
    const text = await res.text()
    return { status: res.status, body: text === '' ? null : JSON.parse(text) }
  }
  expect((await send(admin.token, 'POST', `/api/v1/users/${bob.id}/update`, { role: 'user' })).status).toBe(200)
  const system = marker('PresetSystem')
  const content = marker('PromptContent')
  const key = marker('DirectKey')

  // note: the bodies as Open WebUI's page sends them (createNewModel, createNewPrompt).
  const created = await send(admin.token, 'POST', '/api/v1/models/create', {
    id: 'pirate', base_model_id: 'llama3.2:1b', name: 'Pirate', is_active: true, access_control: null, access_grants: [],
    meta: { profile_image_url: '/static/favicon.png', description: 'Arr', suggestion_prompts: null, tags: [], capabilities: { vision: true, citations: true } },
    params: { system, temperature: 0.4, num_ctx: 2048 },
  })
  expect(created.status).toBe(200)
  expect((await send(admin.token, 'POST', '/api/v1/models/create', { id: 'private-one', base_model_id: 'llama3.2:1b', name: 'Mine', meta: {}, params: {}, access_control: {}, is_active: true })).status).toBe(200)
  expect((await send(admin.token, 'POST', '/api/v1/prompts/create', { command: '/plan', title: 'Plan', content, access_control: {} })).status).toBe(200)

  const listed = (await send(bob.token, 'GET', '/api/models')).body.data
  expect(listed.find((model: { id: string }) => model.id === 'pirate')).toMatchObject({ name: 'Pirate', preset: true, info: { base_model_id: 'llama3.2:1b', meta: { description: 'Arr' } } })
  expect(listed.map((model: { id: string }) => model.id)).not.toContain('private-one')
  for (const [method, path, body] of [
    ['GET', '/api/v1/models/model?id=private-one', undefined],
    ['POST', '/api/v1/models/model/update?id=private-one', { id: 'private-one', base_model_id: 'llama3.2:1b', name: 'Stolen', meta: {}, params: {}, access_control: null }],
    ['POST', '/api/v1/models/model/delete', { id: 'private-one' }],
    ['GET', '/api/v1/prompts/command/plan', undefined],
    ['DELETE', '/api/v1/prompts/command/plan/delete', undefined],
  ] as const) expect([path, (await send(bob.token, method, path, body)).status]).toEqual([path, 404])
  expect((await send(admin.token, 'GET', '/api/v1/models/model?id=private-one')).body).toMatchObject({ name: 'Mine', access_control: {} })
  expect((await send(admin.token, 'GET', '/api/v1/prompts/command/plan')).body.content).toBe(content)

  const socket = await connect(`ws${server().url.slice(4)}/api/ws`, { token: bob.token })
  try {
    socket.send({ type: 'chat:send', model: 'pirate', content: 'ahoy matey', options: { temperature: 0.9 } })
    await socket.nextFrame((frame) => frame.type === 'chat:done', 20_000)
  } finally {
    await socket.close()
  }
  const asked = ollama.requests.filter((request) => request.path === '/api/chat').at(-1)!.body as { model: string; messages: { role: string; content: string }[]; options: Record<string, unknown> }
  expect(asked.model).toBe('llama3.2:1b')
  expect(asked.messages[0]).toEqual({ role: 'system', content: system })
  expect(asked.options).toMatchObject({ temperature: 0.9, num_ctx: 2048 })

  expect((await send(bob.token, 'POST', '/api/v1/users/user/settings/update', {
    ui: { directConnections: { OPENAI_API_BASE_URLS: [`${remote.url}/v1`], OPENAI_API_KEYS: [key], OPENAI_API_CONFIGS: { 0: { enable: true } } } },
  })).status).toBe(200)
  const direct = await send(bob.token, 'POST', '/api/chat/completions', { model: 'remote-model:latest', messages: [{ role: 'user', content: 'through the server' }] })
  expect(direct.status).toBe(200)
  expect(remote.requests.at(-1)).toMatchObject({ path: '/v1/chat/completions', headers: { authorization: `Bearer ${key}` } })

  expect((await runBinary(['backup', 'workspace.backup'], { cwd })).code).toBe(0)
  const files = [...readdirSync(join(cwd, 'data')).map((name) => join(cwd, 'data', name)), join(cwd, 'workspace.backup')].filter((path) => statSync(path).isFile())
  for (const path of files) {
    const bytes = readFileSync(path)
    for (const secret of [system, content, key]) expect([path, bytes.includes(Buffer.from(secret))]).toEqual([path, false])
  }
}, 90_000)
