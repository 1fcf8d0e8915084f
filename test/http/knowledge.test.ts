import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { defaultFakeModels } from '../fakes/ollama-replies.ts'
import { embeddingModel, startFakeOllama, type FakeOllama } from '../fakes/ollama.ts'
import { bearer, signUp, statusOf } from '../helpers/accounts.ts'
import { req, startTestApp } from '../helpers/test-app.ts'
import { connect } from '../helpers/ws.ts'
import { makePdf } from '../helpers/make-documents.ts'

const MODEL = 'llama3.2:1b'
const PASSAGES = {
  herons: 'Grey herons nest in tall trees near rivers and hunt fish by standing still in shallow water.',
  bread: 'Sourdough bread rises slowly because wild yeast and lactic bacteria ferment the flour overnight.',
  comets: 'Comets grow bright tails of gas and dust when sunlight warms their icy nucleus near perihelion.',
}

let ollama: FakeOllama
beforeAll(async () => {
  ollama = await startFakeOllama({ models: [...defaultFakeModels, embeddingModel('nomic-embed-text:latest')] })
})
afterAll(async () => {
  await ollama.stop()
})

async function start(env: Record<string, string> = {}) {
  // note: Open WebUI's default withholds workspace.knowledge from users; most tests grant it to everyone.
  const started = startTestApp({ OLLAMA_BASE_URL: ollama.url, CHUNK_SIZE: '200', CHUNK_OVERLAP: '20', RAG_TOP_K: '2', USER_PERMISSIONS_WORKSPACE_KNOWLEDGE_ACCESS: 'true', ...env })
  const ada = await signUp(started.app, 'ada@example.com') // the first account: an admin
  const bob = await signUp(started.app, 'bob@example.com')
  expect(await statusOf(started.app, 'POST', `/api/v1/users/${bob.id}/update`, bearer(ada.token), { role: 'user' })).toBe(200)
  const call = async (token: string, method: string, path: string, body?: unknown) => {
    const response = await started.app.handle(req(method, path, body, bearer(token)))
    return { status: response.status, body: await response.json().catch(() => null) as any }
  }
  return { ...started, ada, bob, call }
}

/** Bob's knowledge base holding the three passages, each as a document of its own. */
async function bobsKnowledge(app: Awaited<ReturnType<typeof start>>, access: unknown = undefined) {
  const created = await app.call(app.bob.token, 'POST', '/api/v1/knowledge/create', { name: 'Field notes', description: 'Things I read', ...(access === undefined ? {} : { access_control: access }) })
  expect(created.status).toBe(200)
  const fileIds: Record<string, string> = {}
  for (const [name, content] of Object.entries(PASSAGES)) {
    const processed = await app.call(app.bob.token, 'POST', '/api/v1/retrieval/process/text', { name: `${name}.md`, content: `# ${name}\n\n${content}`, collection_name: created.body.id })
    expect(processed.status).toBe(200)
    fileIds[name] = processed.body.file_id
  }
  return { id: created.body.id as string, fileIds }
}

describe('knowledge bases', () => {
  test('create, list, get, update, remove a file, reset and delete, in Open WebUI\'s shapes', async () => {
    const app = await start()
    const { id, fileIds } = await bobsKnowledge(app)
    const list = await app.call(app.bob.token, 'GET', '/api/v1/knowledge/?page=1')
    expect(list.body).toMatchObject({ total: 1, items: [{ id, name: 'Field notes', description: 'Things I read', write_access: true, access_control: {} }] })
    const got = await app.call(app.bob.token, 'GET', `/api/v1/knowledge/${id}`)
    expect(got.body.files.map((file: { meta: { name: string } }) => file.meta.name).sort()).toEqual(['bread.md', 'comets.md', 'herons.md'])
    expect((await app.call(app.bob.token, 'POST', `/api/v1/knowledge/${id}/update`, { name: 'Notes', description: 'Renamed' })).body).toMatchObject({ name: 'Notes', description: 'Renamed' })
    expect((await app.call(app.bob.token, 'GET', `/api/v1/knowledge/${id}/files?page=1&query=bread`)).body).toMatchObject({ total: 1, items: [{ id: fileIds.bread, meta: { name: 'bread.md' } }] })
    const removed = await app.call(app.bob.token, 'POST', `/api/v1/knowledge/${id}/file/remove`, { file_id: fileIds.bread })
    expect(removed.body.files).toHaveLength(2)
    expect((await app.call(app.bob.token, 'POST', `/api/v1/knowledge/${id}/file/add`, { file_id: fileIds.bread })).body.files).toHaveLength(3)
    expect((await app.call(app.bob.token, 'GET', '/api/v1/knowledge/search?query=notes')).body.total).toBe(1)
    expect((await app.call(app.bob.token, 'GET', '/api/v1/knowledge/search?query=nothing-like-it')).body.total).toBe(0)
    expect((await app.call(app.bob.token, 'POST', `/api/v1/knowledge/${id}/reset`)).body.files).toEqual([])
    expect((await app.call(app.bob.token, 'DELETE', `/api/v1/knowledge/${id}/delete`)).body).toBe(true)
    expect((await app.call(app.bob.token, 'GET', `/api/v1/knowledge/${id}`)).status).toBe(404)
  })

  test.each([
    ['no name', { description: 'x' }],
    ['an empty name', { name: '' }],
    ['a name of the wrong type', { name: 42 }],
    ['a grant of the wrong shape', { name: 'x', access_control: 'everyone' }],
    ['a grant listing something else than ids', { name: 'x', access_control: { read: { user_ids: [{}] } } }],
  ])('create refuses %s with 422', async (_, body) => {
    const app = await start()
    expect((await app.call(app.bob.token, 'POST', '/api/v1/knowledge/create', body)).status).toBe(422)
  })

  test('every route with another user\'s knowledge id is 404, for a user and for an admin', async () => {
    const app = await start()
    const { id, fileIds } = await bobsKnowledge(app)
    const eve = await signUp(app.app, 'eve@example.com')
    await app.call(app.ada.token, 'POST', `/api/v1/users/${eve.id}/update`, { role: 'user' })
    for (const token of [app.ada.token, eve.token]) {
      expect((await app.call(token, 'GET', `/api/v1/knowledge/${id}`)).status).toBe(404)
      expect((await app.call(token, 'GET', `/api/v1/knowledge/${id}/files`)).status).toBe(404)
      expect((await app.call(token, 'POST', `/api/v1/knowledge/${id}/update`, { name: 'mine' })).status).toBe(404)
      expect((await app.call(token, 'POST', `/api/v1/knowledge/${id}/file/add`, { file_id: fileIds.herons })).status).toBe(404)
      expect((await app.call(token, 'POST', `/api/v1/knowledge/${id}/file/remove`, { file_id: fileIds.herons })).status).toBe(404)
      expect((await app.call(token, 'POST', `/api/v1/knowledge/${id}/reset`)).status).toBe(404)
      expect((await app.call(token, 'DELETE', `/api/v1/knowledge/${id}/delete`)).status).toBe(404)
      expect((await app.call(token, 'POST', '/api/v1/retrieval/process/text', { name: 'x', content: 'planted text', collection_name: id })).status).toBe(404)
      expect((await app.call(token, 'GET', '/api/v1/knowledge/')).body.total).toBe(0)
      for (const files of [[{ type: 'collection', id }], [{ type: 'file', id: fileIds.herons }]]) {
        const asked = await app.call(token, 'POST', '/api/chat/completions', { model: MODEL, messages: [{ role: 'user', content: 'Where do herons nest?' }], files })
        expect(asked.status).toBe(404)
        expect(JSON.stringify(asked.body)).not.toContain('herons nest')
      }
    }
    // note: a file of Bob's cannot be put into a base of Eve's either.
    const eves = await app.call(eve.token, 'POST', '/api/v1/knowledge/create', { name: 'Eve' })
    expect((await app.call(eve.token, 'POST', `/api/v1/knowledge/${eves.body.id}/file/add`, { file_id: fileIds.herons })).status).toBe(404)
    expect((await app.call(app.bob.token, 'GET', `/api/v1/knowledge/${id}`)).body.files).toHaveLength(3)
  })

  test.each(['not-a-uuid', '00000000-0000-4000-8000-000000000000', '../../etc/passwd'])('an unknown or malformed id (%s) is 404', async (id) => {
    const app = await start()
    expect((await app.call(app.bob.token, 'GET', `/api/v1/knowledge/${encodeURIComponent(id)}`)).status).toBe(404)
  })

  test('a public base is readable by everyone and writable by its owner only', async () => {
    const app = await start()
    const eve = await signUp(app.app, 'eve@example.com')
    await app.call(app.ada.token, 'POST', `/api/v1/users/${eve.id}/update`, { role: 'user' })
    const { id } = await bobsKnowledge(app, null)
    expect((await app.call(eve.token, 'GET', `/api/v1/knowledge/${id}`)).body).toMatchObject({ id, write_access: false })
    expect((await app.call(eve.token, 'POST', `/api/v1/knowledge/${id}/update`, { name: 'taken' })).status).toBe(404)
    const asked = await app.call(eve.token, 'POST', '/api/chat/completions', { model: MODEL, messages: [{ role: 'user', content: 'How does sourdough bread rise?' }], files: [{ type: 'collection', id }] })
    expect(asked.status).toBe(200)
    expect(asked.body.sources[0].document[0]).toContain('Sourdough bread rises slowly')
  })

  test('a grant to a user gives read, and write where granted', async () => {
    const app = await start()
    const eve = await signUp(app.app, 'eve@example.com')
    await app.call(app.ada.token, 'POST', `/api/v1/users/${eve.id}/update`, { role: 'user' })
    const { id } = await bobsKnowledge(app, { read: { user_ids: [eve.id], group_ids: [] }, write: { user_ids: [], group_ids: [] } })
    expect((await app.call(eve.token, 'GET', `/api/v1/knowledge/${id}`)).status).toBe(200)
    expect((await app.call(eve.token, 'POST', `/api/v1/knowledge/${id}/reset`)).status).toBe(404)
    expect((await app.call(app.ada.token, 'GET', `/api/v1/knowledge/${id}`)).status).toBe(404)
  })
})

describe('the workspace.knowledge permission and model grants', () => {
  test('a user without workspace.knowledge cannot create a base until a group grants it; an admin always can', async () => {
    const app = await start({ USER_PERMISSIONS_WORKSPACE_KNOWLEDGE_ACCESS: 'false' })
    const refused = await app.call(app.bob.token, 'POST', '/api/v1/knowledge/create', { name: 'Mine', description: '' })
    expect(refused.status).toBe(401)
    expect((await app.call(app.ada.token, 'POST', '/api/v1/knowledge/create', { name: 'Admin\'s', description: '' })).status).toBe(200)
    const group = await app.call(app.ada.token, 'POST', '/api/v1/groups/create', { name: 'Librarians', description: '' })
    expect(group.status).toBe(200)
    expect((await app.call(app.ada.token, 'POST', `/api/v1/groups/id/${group.body.id}/update`, { name: 'Librarians', description: '', permissions: { workspace: { knowledge: true } }, user_ids: [app.bob.id] })).status).toBe(200)
    expect((await app.call(app.bob.token, 'POST', '/api/v1/knowledge/create', { name: 'Mine', description: '' })).status).toBe(200)
    // note: the permission is asked on each request: out of the group, the next create is refused.
    expect((await app.call(app.ada.token, 'POST', `/api/v1/groups/id/${group.body.id}/update`, { name: 'Librarians', description: '', permissions: { workspace: { knowledge: true } }, user_ids: [] })).status).toBe(200)
    expect((await app.call(app.bob.token, 'POST', '/api/v1/knowledge/create', { name: 'Again', description: '' })).status).toBe(401)
  })

  test('a completion with files on a model the user may not use is 404 before retrieval; the admin\'s embedding model needs no grant', async () => {
    const app = await start({ BYPASS_MODEL_ACCESS_CONTROL: 'false' })
    const { id } = await bobsKnowledge(app)
    const asked = await app.call(app.bob.token, 'POST', '/api/chat/completions', { model: MODEL, messages: [{ role: 'user', content: 'Where do herons nest?' }], files: [{ type: 'collection', id }] })
    expect(asked.status).toBe(404)
    expect(JSON.stringify(asked.body)).toContain('model_not_found')
    expect(JSON.stringify(asked.body)).not.toContain('herons')
  })
})

describe('retrieval in chat completions', () => {
  test('the right passage is retrieved, put into the prompt through RAG_TEMPLATE and cited in sources', async () => {
    const app = await start()
    const { id, fileIds } = await bobsKnowledge(app)
    const before = ollama.requests.length
    const asked = await app.call(app.bob.token, 'POST', '/api/chat/completions', { model: MODEL, messages: [{ role: 'user', content: 'Why do comets grow bright tails?' }], files: [{ type: 'collection', id, name: 'Field notes' }] })
    expect(asked.status).toBe(200)
    expect(asked.body.sources[0]).toMatchObject({ source: { id: fileIds.comets, name: 'comets.md', type: 'file' }, metadata: [{ file_id: fileIds.comets, name: 'comets.md' }] })
    expect(asked.body.sources[0].document[0]).toContain(PASSAGES.comets)
    const chat = ollama.requests.slice(before).find((request) => request.path === '/api/chat')!.body as { messages: { role: string; content: string }[] }
    expect(chat.messages[0]!.role).toBe('system')
    expect(chat.messages[0]!.content).toContain('### Task:')
    expect(chat.messages[0]!.content).toContain(`<source id="1" name="comets.md"># comets\n\n${PASSAGES.comets}</source>`)
    expect(chat.messages.at(-1)).toEqual({ role: 'user', content: 'Why do comets grow bright tails?' })
  })

  test('a streamed answer sends its sources first; a file reference works like a base', async () => {
    const app = await start()
    const { fileIds } = await bobsKnowledge(app)
    const response = await app.app.handle(req('POST', '/api/chat/completions', { model: MODEL, stream: true, messages: [{ role: 'user', content: 'herons nest where' }], files: [{ type: 'file', id: fileIds.herons }] }, bearer(app.bob.token)))
    const events = (await response.text()).split('\n\n').filter((event) => event.startsWith('data: {'))
    expect(JSON.parse(events[0]!.slice(6)).sources[0].document[0]).toContain('Grey herons nest')
  })

  test('RAG_TEMPLATE with {{QUERY}} and a relevance threshold above every score', async () => {
    const app = await start({ RAG_TEMPLATE: 'Use: {{CONTEXT}} to answer {{QUERY}}', RAG_RELEVANCE_THRESHOLD: '0.99' })
    const { id } = await bobsKnowledge(app)
    const asked = await app.call(app.bob.token, 'POST', '/api/chat/completions', { model: MODEL, messages: [{ role: 'user', content: 'tell me about bread' }], files: [{ type: 'collection', id }] })
    expect(asked.status).toBe(200)
    expect(asked.body.sources).toBeUndefined()
    const custom = await start({ RAG_TEMPLATE: 'Use: {{CONTEXT}} to answer {{QUERY}}' })
    const other = await bobsKnowledge(custom)
    const before = ollama.requests.length
    await custom.call(custom.bob.token, 'POST', '/api/chat/completions', { model: MODEL, messages: [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'sourdough bread' }], files: [{ type: 'collection', id: other.id }] })
    const chat = ollama.requests.slice(before).find((request) => request.path === '/api/chat')!.body as { messages: { role: string; content: string }[] }
    expect(chat.messages[0]!.content).toStartWith('Use: <source id="1" name="bread.md">')
    expect(chat.messages[0]!.content).toEndWith('to answer sourdough bread\nBe brief.')
  })

  test('with a chat_id the sources are stored, sealed, with the answer in the chat tree', async () => {
    const app = await start()
    const { id, fileIds } = await bobsKnowledge(app)
    const question = 'Why do comets grow bright tails?'
    const messages = {
      q1: { id: 'q1', parentId: null, childrenIds: ['a1'], role: 'user', content: question, timestamp: 1 },
      a1: { id: 'a1', parentId: 'q1', childrenIds: [], role: 'assistant', content: '', model: MODEL, done: false, timestamp: 1 },
    }
    const chat = await app.call(app.bob.token, 'POST', '/api/v1/chats/new', { chat: { title: 'comets', history: { messages, currentId: 'a1' }, messages: Object.values(messages) } })
    const asked = await app.call(app.bob.token, 'POST', '/api/chat/completions', { model: MODEL, messages: [{ role: 'user', content: question }], files: [{ type: 'collection', id }], chat_id: chat.body.id, id: 'a1' })
    expect(asked.status).toBe(200)
    const stored = await app.call(app.bob.token, 'GET', `/api/v1/chats/${chat.body.id}`)
    expect(stored.body.chat.history.messages.a1.sources[0]).toMatchObject({ source: { id: fileIds.comets, name: 'comets.md' } })
    const rows = app.deps.store.db!.query('SELECT content FROM message').all() as { content: Uint8Array }[]
    expect(rows.some((row) => Buffer.from(row.content).includes('perihelion'))).toBe(false)
  })

  test('hybrid search ranks the passage sharing the question\'s words first', async () => {
    const app = await start({ ENABLE_RAG_HYBRID_SEARCH: 'true' })
    const { id } = await bobsKnowledge(app)
    const asked = await app.call(app.bob.token, 'POST', '/api/chat/completions', { model: MODEL, messages: [{ role: 'user', content: 'wild yeast flour' }], files: [{ type: 'collection', id }] })
    expect(asked.body.sources[0].source.name).toBe('bread.md')
  })

  test('the decrypted index is reported, kept, and dropped when the user\'s access changes', async () => {
    const app = await start()
    const { id } = await bobsKnowledge(app)
    await app.call(app.bob.token, 'POST', '/api/chat/completions', { model: MODEL, messages: [{ role: 'user', content: 'comets' }], files: [{ type: 'collection', id }] })
    const status = await app.call(app.ada.token, 'GET', '/api/v1/retrieval/status')
    expect(status.body.index).toMatchObject({ indexes: 3, builds: 3 })
    expect(status.body.index.bytes).toBeGreaterThanOrEqual(3 * 768 * 5)
    expect((await app.call(app.bob.token, 'GET', '/api/v1/retrieval/status')).status).toBe(403)
    app.deps.store.accountChanges.accessChanged(app.bob.id as never)
    expect((await app.call(app.ada.token, 'GET', '/api/v1/retrieval/status')).body.index.indexes).toBe(0)
  })

  test('an embedding model Ollama does not have is a clear 400', async () => {
    const app = await start({ RAG_EMBEDDING_MODEL: 'missing-embedder' })
    const asked = await app.call(app.bob.token, 'POST', '/api/v1/retrieval/process/text', { name: 'a.md', content: 'some text' })
    expect(asked).toMatchObject({ status: 400, body: { code: 'embedding_model_not_found' } })
  })

  test('process/text refuses empty, oversized and mistyped content', async () => {
    const app = await start({ RAG_EXTRACT_MAX_CHARS: '1000' })
    for (const body of [{ name: 'a', content: '' }, { name: 'a', content: 'x'.repeat(1001) }, { name: 'a', content: 5 }, { content: 'x' }, { name: 'a', content: '   ' }]) {
      expect((await app.call(app.bob.token, 'POST', '/api/v1/retrieval/process/text', body)).status).toBeOneOf([400, 422])
    }
  })

  test('a request naming a file without being signed in is 401', async () => {
    const app = await start()
    const response = await app.app.handle(req('POST', '/api/v1/knowledge/create', { name: 'x' }))
    expect(response.status).toBe(401)
  })
})

describe('uploads', () => {
  test('an uploaded PDF is processed in the background, with its progress on the owner\'s socket only', async () => {
    const app = await start()
    app.app.listen({ hostname: '127.0.0.1', port: 0 })
    try {
      const url = `ws://127.0.0.1:${app.app.server!.port}/api/ws`
      const bobSocket = await connect(url, { token: app.bob.token })
      const adaSocket = await connect(url, { token: app.ada.token })
      const form = new FormData()
      form.append('file', new File([makePdf(['Kestrels hover over motorway verges while hunting voles.']) as Uint8Array<ArrayBuffer>], 'kestrels.pdf'))
      const uploaded = await app.app.handle(new Request('http://localhost/api/v1/files/?process=true', { method: 'POST', headers: bearer(app.bob.token), body: form }))
      expect(uploaded.status).toBe(200)
      const fileId = ((await uploaded.json()) as { id: string }).id
      expect(await bobSocket.nextFrame((frame) => frame.type === 'file:progress' && frame.stage === 'extracting')).toMatchObject({ fileId })
      expect(await bobSocket.nextFrame((frame) => frame.type === 'file:progress' && frame.stage === 'ready', 10_000)).toMatchObject({ fileId, done: 1, total: 1 })
      expect(adaSocket.frames.some((frame) => frame.type === 'file:progress')).toBe(false)
      const file = await app.call(app.bob.token, 'GET', `/api/v1/files/${fileId}`)
      expect(file.body.data.status).toBe('completed')
      const asked = await app.call(app.bob.token, 'POST', '/api/chat/completions', { model: MODEL, messages: [{ role: 'user', content: 'What do kestrels hunt?' }], files: [{ type: 'file', id: fileId }] })
      expect(asked.body.sources[0].document[0]).toContain('hunting voles')
      await bobSocket.close()
      await adaSocket.close()
    } finally {
      await app.app.stop(true)
    }
  }, 20_000)
})
