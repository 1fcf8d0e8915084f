/**
 * What Open WebUI's page and Conduit read of the compiled binary, replayed with their request shapes:
 * the features `/api/config` and the permissions say (folders on; web search, image generation and
 * code interpreter off, and a turn asking for web search refused), the chat export as NDJSON when
 * the page asks for it, and a chat naming an upload whose processing failed: refused 409 while the
 * embedding model is missing, answered with the file cited once it is pulled.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { startFakeOllama, type FakeOllama } from '../fakes/ollama.ts'
import { bearer, signUpAdminAndUser } from '../helpers/accounts.ts'
import { binaryAppStarter } from '../helpers/binary-app.ts'
import { req } from '../helpers/test-app.ts'

const startApp = binaryAppStarter()
const MODEL = 'llama3.2:1b'

let ollama: FakeOllama
beforeAll(async () => {
  ollama = await startFakeOllama() // no embedding model until the last test pulls it
})
afterAll(async () => {
  await ollama.stop()
})

test('config, permissions, a web search turn, the NDJSON export and a failed file, through dist/enclave', async () => {
  const { app } = await startApp({ OLLAMA_BASE_URL: ollama.url, RAG_EMBEDDING_MODEL: 'nomic-embed-text' })
  const { bob } = await signUpAdminAndUser(app as never)
  const call = async (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) => {
    const response = await app.handle(req(method, path, body, { ...bearer(bob.token), ...headers }))
    return { status: response.status, type: response.headers.get('content-type'), text: await response.text() }
  }
  const json = async (method: string, path: string, body?: unknown) => JSON.parse((await call(method, path, body)).text)

  // Sidebar.svelte draws folders only when told; Conduit hides web search when told false
  expect((await json('GET', '/api/config')).features).toMatchObject({ enable_folders: true, enable_web_search: false, enable_image_generation: false })
  expect((await json('GET', '/api/v1/users/permissions')).features).toMatchObject({ web_search: false, image_generation: false, code_interpreter: false, folders: true })
  const searched = await call('POST', '/api/chat/completions', { model: MODEL, messages: [{ role: 'user', content: 'hi' }], features: { voice: false, web_search: true, image_generation: false, code_interpreter: false } })
  expect([searched.status, JSON.parse(searched.text).error.code]).toEqual([400, 'feature_not_offered'])

  // Open WebUI's getAllChats: Accept application/x-ndjson, one chat a line
  for (const title of ['first', 'second']) await call('POST', '/api/v1/chats/new', { chat: { title, messages: [] } })
  const exported = await call('GET', '/api/v1/chats/all', undefined, { Accept: 'application/x-ndjson' })
  expect(exported.type).toBe('application/x-ndjson')
  expect(exported.text.trim().split('\n').map((line) => JSON.parse(line).title).sort()).toEqual(['first', 'second'])

  // an upload processed while the embedding model is missing, then asked about
  const form = new FormData()
  form.append('file', new File(['# Kestrels\n\nKestrels hover over motorway verges while hunting voles.\n'], 'kestrels.md', { type: 'text/markdown' }))
  const uploaded = await app.handle(new Request('http://localhost/api/v1/files/?process=true', { method: 'POST', headers: bearer(bob.token), body: form }))
  const fileId = ((await uploaded.json()) as { id: string }).id
  let data: { status?: string; error?: string } = {}
  for (let i = 0; i < 200 && data.status !== 'failed'; i++) {
    await Bun.sleep(25)
    data = (await json('GET', `/api/v1/files/${fileId}`)).data
  }
  expect(data).toMatchObject({ status: 'failed', error: 'model_not_found' })
  const ask = () => call('POST', '/api/chat/completions', { model: MODEL, messages: [{ role: 'user', content: 'What do kestrels hunt?' }], files: [{ type: 'file', id: fileId }] })
  const refused = await ask()
  expect([refused.status, JSON.parse(refused.text).error.code]).toEqual([409, 'file_not_processed'])
  await fetch(`${ollama.url}/api/pull`, { method: 'POST', body: JSON.stringify({ name: 'nomic-embed-text', stream: false }) })
  const answered = await ask()
  expect(answered.status).toBe(200)
  expect(JSON.parse(answered.text).sources[0].document[0]).toContain('hunting voles')
}, 60_000)
