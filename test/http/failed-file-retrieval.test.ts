/**
 * A chat naming an uploaded document whose processing failed (no embedding model in Ollama at
 * upload: the file is `failed` / `model_not_found`), replayed as Open WebUI's page sends it
 * (`POST /api/chat/completions` with `files: [{ type: 'file', id }]`): refused 409
 * `file_not_processed` naming the status while the model is still missing, never answered as if
 * the file had been read; once the model is there the file is read again and the answer cites it.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { startFakeOllama, type FakeOllama } from '../fakes/ollama.ts'
import { bearer, signUp } from '../helpers/accounts.ts'
import { req, startTestApp } from '../helpers/test-app.ts'

const MODEL = 'llama3.2:1b'
const NOTE = 'Kestrels hover over motorway verges while hunting voles.'

let ollama: FakeOllama
beforeAll(async () => {
  ollama = await startFakeOllama() // no embedding model until the test pulls it
})
afterAll(async () => {
  await ollama.stop()
})

async function uploadFailed(text = `# Kestrels\n\n${NOTE}\n`, error = 'model_not_found') {
  const started = startTestApp({ OLLAMA_BASE_URL: ollama.url, RAG_EMBEDDING_MODEL: 'nomic-embed-text' })
  const ada = await signUp(started.app, 'ada@example.com')
  const call = async (method: string, path: string, body?: unknown, token = ada.token) => {
    const response = await started.app.handle(req(method, path, body, bearer(token)))
    return { status: response.status, body: await response.json().catch(() => null) as any }
  }
  const form = new FormData()
  form.append('file', new File([text], 'kestrels.md', { type: 'text/markdown' }))
  const uploaded = await started.app.handle(new Request('http://localhost/api/v1/files/?process=true', { method: 'POST', headers: bearer(ada.token), body: form }))
  const fileId = ((await uploaded.json()) as { id: string }).id
  let data: { status?: string; error?: string } = {}
  for (let i = 0; i < 100 && data.status !== 'failed'; i++) {
    await Bun.sleep(20)
    data = (await call('GET', `/api/v1/files/${fileId}`)).body.data
  }
  expect(data).toMatchObject({ status: 'failed', error })
  const ask = (token = ada.token) => call('POST', '/api/chat/completions', { model: MODEL, messages: [{ role: 'user', content: 'What do kestrels hunt?' }], files: [{ type: 'file', id: fileId }] }, token)
  return { ...started, ada, fileId, call, ask }
}

test('a failed file is refused 409 file_not_processed, naming its status, and Ollama is not asked for an answer', async () => {
  const { ask, fileId } = await uploadFailed()
  const before = ollama.requests.filter((request) => request.path === '/api/chat').length
  const asked = await ask()
  expect(asked.status).toBe(409)
  expect(asked.body.error).toMatchObject({ code: 'file_not_processed', type: 'invalid_request_error' })
  expect(asked.body.error.message).toContain(fileId)
  expect(asked.body.error.message).toContain('failed: model_not_found')
  expect(ollama.requests.filter((request) => request.path === '/api/chat').length).toBe(before)
})

test('another user naming the file gets 404, as for a file that is not there, and does not make it read again', async () => {
  const { app, ask, fileId, call } = await uploadFailed()
  const bob = await signUp(app, 'bob@example.com')
  await call('POST', `/api/v1/users/${bob.id}/update`, { role: 'user' })
  const asked = await ask(bob.token)
  expect([asked.status, asked.body.error?.code]).toEqual([404, 'file_not_found'])
  expect((await call('GET', `/api/v1/files/${fileId}`)).body.data).toMatchObject({ status: 'failed', error: 'model_not_found' })
})

test('once the embedding model is pulled, the same request reads the file again and cites it', async () => {
  const { ask, fileId, call } = await uploadFailed()
  const pulled = await fetch(`${ollama.url}/api/pull`, { method: 'POST', body: JSON.stringify({ name: 'nomic-embed-text', stream: false }) })
  expect(pulled.status).toBe(200)
  try {
    const asked = await ask()
    expect(asked.status).toBe(200)
    expect(asked.body.sources[0].document[0]).toContain('hunting voles')
    expect((await call('GET', `/api/v1/files/${fileId}`)).body.data.status).toBe('completed')
  } finally {
    await fetch(`${ollama.url}/api/delete`, { method: 'DELETE', body: JSON.stringify({ name: 'nomic-embed-text' }) })
  }
})

test('an image named as a file is refused as having no text, and its data is left as it was', async () => {
  const { app, ada, call } = await uploadFailed()
  const png = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==', 'base64')
  const form = new FormData()
  form.append('file', new File([png], 'dot.png', { type: 'image/png' }))
  const uploaded = await app.handle(new Request('http://localhost/api/v1/files/?process=true', { method: 'POST', headers: bearer(ada.token), body: form }))
  const imageId = ((await uploaded.json()) as { id: string }).id
  const before = (await call('GET', `/api/v1/files/${imageId}`)).body.data
  const asked = await call('POST', '/api/chat/completions', { model: MODEL, messages: [{ role: 'user', content: 'hi' }], files: [{ type: 'file', id: imageId }] })
  expect([asked.status, asked.body.error.code]).toEqual([409, 'file_not_processed'])
  expect((await call('GET', `/api/v1/files/${imageId}`)).body.data).toEqual(before)
})

const pullEmbedding = async () => {
  const pulled = await fetch(`${ollama.url}/api/pull`, { method: 'POST', body: JSON.stringify({ name: 'nomic-embed-text', stream: false }) })
  expect(pulled.status).toBe(200)
}
const dropEmbedding = () => fetch(`${ollama.url}/api/delete`, { method: 'DELETE', body: JSON.stringify({ name: 'nomic-embed-text' }) })
/** How many times the document's text was sent to be embedded (the question's embedding is not counted). */
const documentEmbeds = () => ollama.requests.filter((request) => request.path === '/api/embed' && JSON.stringify(request.body).includes('hunting voles')).length

test('a file that failed for good (no text) is refused at once, and never read again, even with the embedding model there', async () => {
  const { ask, fileId, call, deps } = await uploadFailed('   \n\n  \n', 'empty')
  const files = deps.store.files
  const readBytes = files.readBytes
  let reads = 0
  files.readBytes = (owner, id, maxBytes) => {
    if (id === fileId) reads++
    return readBytes(owner, id, maxBytes)
  }
  await pullEmbedding()
  try {
    const embedsBefore = ollama.requests.filter((request) => request.path === '/api/embed').length
    for (let i = 0; i < 3; i++) {
      const asked = await ask()
      expect([asked.status, asked.body.error?.code]).toEqual([409, 'file_not_processed'])
      expect(asked.body.error.message).toContain('failed: empty')
    }
    expect(ollama.requests.filter((request) => request.path === '/api/embed').length).toBe(embedsBefore)
    expect(reads).toBe(0)
    expect((await call('GET', `/api/v1/files/${fileId}`)).body.data).toMatchObject({ status: 'failed', error: 'empty' })
  } finally {
    await dropEmbedding()
  }
})

test('two requests at once naming the same failed file read it once, and both answer citing it; later turns do not read it again', async () => {
  const { ask, fileId, call } = await uploadFailed()
  await pullEmbedding()
  try {
    const before = documentEmbeds()
    const [first, second] = await Promise.all([ask(), ask()])
    expect([first.status, second.status]).toEqual([200, 200])
    expect(first.body.sources[0].document[0]).toContain('hunting voles')
    expect(second.body.sources[0].document[0]).toContain('hunting voles')
    expect(documentEmbeds() - before).toBe(1)
    const again = await ask()
    expect(again.status).toBe(200)
    expect(documentEmbeds() - before).toBe(1)
    expect((await call('GET', `/api/v1/files/${fileId}`)).body.data.status).toBe('completed')
  } finally {
    await dropEmbedding()
  }
})

test('a request naming two failed files reads one of them again, and refuses the other with its status', async () => {
  const { app, ada, ask, fileId } = await uploadFailed()
  const form = new FormData()
  form.append('file', new File([`# Owls\n\nBarn owls hunt by ear.\n`], 'owls.md', { type: 'text/markdown' }))
  const uploaded = await app.handle(new Request('http://localhost/api/v1/files/?process=true', { method: 'POST', headers: bearer(ada.token), body: form }))
  const otherId = ((await uploaded.json()) as { id: string }).id
  for (let i = 0; i < 100; i++) {
    const data = ((await (await app.handle(req('GET', `/api/v1/files/${otherId}`, undefined, bearer(ada.token)))).json()) as any).data
    if (data.status === 'failed') break
    await Bun.sleep(20)
  }
  await pullEmbedding()
  try {
    const both = await app.handle(req('POST', '/api/chat/completions', { model: MODEL, messages: [{ role: 'user', content: 'What do kestrels hunt?' }], files: [{ type: 'file', id: fileId }, { type: 'file', id: otherId }] }, bearer(ada.token)))
    const body = await both.json() as any
    expect([both.status, body.error?.code]).toEqual([409, 'file_not_processed'])
    expect(body.error.message).toContain(otherId)
    expect(body.error.message).toContain('failed: model_not_found')
    expect((await ask()).status).toBe(200) // the first one was read
  } finally {
    await dropEmbedding()
  }
})
