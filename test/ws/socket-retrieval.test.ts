/**
 * Retrieval on the chat socket, against the compiled binary: a document or a knowledge base named
 * in chat:send's `files` (Open WebUI's `{ type, id }` entries, or a bare file id) puts the passage
 * that answers the question into the prompt through the RAG template, the answer's `sources` reach
 * every tab of the user in `chat:done` and are stored with it, and a regenerate searches the
 * question's documents again. The stand-in's embeddings are a hashed bag of words, so the right
 * passage is asserted. Another user's file or knowledge base is `file_not_found` (an admin is
 * another user) and Ollama is never asked; a knowledge base read by grant is usable by its grantee.
 * A document whose processing failed is refused naming its status, and read again once Ollama has
 * the embedding model.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { defaultFakeModels } from '../fakes/ollama-replies.ts'
import { embeddingModel, startFakeOllama, type FakeOllama } from '../fakes/ollama.ts'
import { bearer, PASSWORD } from '../helpers/accounts.ts'
import { startBinary, tempDirsRemovedAfterAll, type RunningBinary } from '../helpers/binary.ts'
import { makeDocx } from '../helpers/make-documents.ts'
import { connect, ofType, type Frame } from '../helpers/ws.ts'

const tempDir = tempDirsRemovedAfterAll()
const MODEL = 'llama3.2:1b'
const LIGHTHOUSE = 'The Zanzibarite lantern burns whale oil and is polished every morning at dawn.'
const ORCHARD = 'The Quokkafjord orchard grows quinces that ripen in late October.'

let fake: FakeOllama
let server: RunningBinary
let cwd: string
let ada: { id: string; token: string }
let bob: { id: string; token: string }
let carol: { id: string; token: string }
const ids = { lighthouse: '', orchard: '', shared: '', private: '' }

async function call(method: string, path: string, token: string | null, body?: unknown) {
  const response = await fetch(`${server.url}${path}`, {
    method, headers: { 'content-type': 'application/json', ...(token === null ? {} : bearer(token)) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  })
  return { status: response.status, body: await response.json().catch(() => null) as any }
}

async function signUp(email: string) {
  const response = await call('POST', '/api/v1/auths/signup', null, { name: email.split('@')[0], email, password: PASSWORD })
  expect(response.status).toBe(200)
  return response.body as { id: string; token: string }
}

/** Uploads a document and waits (bounded) until it is read and embedded. */
async function uploadDocument(token: string, name: string, bytes: Uint8Array): Promise<string> {
  const form = new FormData()
  form.append('file', new File([bytes as Uint8Array<ArrayBuffer>], name))
  const response = await fetch(`${server.url}/api/v1/files/?process=true`, { method: 'POST', headers: bearer(token), body: form })
  expect(response.status).toBe(200)
  const id = (await response.json() as { id: string }).id
  for (let attempt = 0; attempt < 200; attempt++) {
    const status = (await call('GET', `/api/v1/files/${id}`, token)).body?.data?.status
    if (status === 'completed') return id
    if (status === 'failed') throw new Error('processing failed')
    await Bun.sleep(50)
  }
  throw new Error('processing did not settle')
}

const wsUrl = () => `${server.url.replace('http', 'ws')}/api/ws`
const chatRequests = () => fake.requests.filter((request) => request.path === '/api/chat')
/** Whether Ollama was ever asked anything that mentions `text`. */
const wasAsked = (text: string) => chatRequests().some((request) => JSON.stringify(request.body).includes(text))
const lastSystemPrompt = () => {
  const sent = chatRequests().at(-1)!.body as { messages: { role: string; content: string }[] }
  return sent.messages.filter((message) => message.role === 'system').map((message) => message.content).join('\n')
}

beforeAll(async () => {
  fake = await startFakeOllama({ models: [...defaultFakeModels, embeddingModel('nomic-embed-text:latest')] })
  cwd = tempDir()
  server = await startBinary({ cwd, env: { OLLAMA_BASE_URL: fake.url, USER_PERMISSIONS_WORKSPACE_KNOWLEDGE_ACCESS: 'true', CHUNK_SIZE: '300', CHUNK_OVERLAP: '30', RAG_TOP_K: '1', RAG_FILE_MAX_COUNT: '5' } })
  ada = await signUp('ada@example.com')
  bob = await signUp('bob@example.com')
  carol = await signUp('carol@example.com')
  for (const user of [bob, carol]) expect((await call('POST', `/api/v1/users/${user.id}/update`, ada.token, { role: 'user' })).status).toBe(200)
  ids.lighthouse = await uploadDocument(bob.token, 'lighthouse.md', new TextEncoder().encode(`# Lighthouse\n\n${LIGHTHOUSE}\n`))
  ids.orchard = await uploadDocument(bob.token, 'orchard.docx', makeDocx(['Minutes of the orchard meeting.', ORCHARD]))
  const shared = await call('POST', '/api/v1/knowledge/create', bob.token, { name: 'Society papers', description: '', access_control: { read: { user_ids: [carol.id], group_ids: [] }, write: { user_ids: [], group_ids: [] } } })
  const own = await call('POST', '/api/v1/knowledge/create', bob.token, { name: 'Private papers', description: '', access_control: {} })
  ids.shared = shared.body.id
  ids.private = own.body.id
  for (const knowledge of [ids.shared, ids.private]) {
    for (const file of [ids.lighthouse, ids.orchard]) expect((await call('POST', `/api/v1/knowledge/${knowledge}/file/add`, bob.token, { file_id: file })).status).toBe(200)
  }
}, 60_000)

afterAll(async () => {
  await server?.stop()
  await fake?.stop()
})

type Sources = { source: { id: string; name: string; type: string }; document: string[]; metadata: { file_id: string }[] }[]

describe('retrieval on chat:send', () => {
  let chatId = ''
  let questionUid = ''

  test('a document named by { type: file } puts its passage into the prompt, and every tab gets the sources', async () => {
    const [tab, otherTab] = await Promise.all([connect(wsUrl(), { token: bob.token }), connect(wsUrl(), { token: bob.token })])
    try {
      tab.send({ type: 'chat:send', model: MODEL, content: 'What oil does the lantern burn, and when is it polished?', files: [{ type: 'file', id: ids.lighthouse }, ids.orchard] })
      const started = await tab.nextFrame(ofType('chat:started'), 10_000)
      const done = await tab.nextFrame(ofType('chat:done'), 10_000) as Frame & { sources: Sources }
      const seen = await otherTab.nextFrame(ofType('chat:done'), 10_000) as Frame & { sources: Sources }
      chatId = String(started.chatId)
      questionUid = String(started.parentId)
      expect(done.sources).toHaveLength(1)
      expect(done.sources[0]!.source).toEqual({ id: ids.lighthouse, name: 'lighthouse.md', type: 'file' })
      expect(done.sources[0]!.document[0]).toContain('burns whale oil')
      expect(seen.sources).toEqual(done.sources)
      const system = lastSystemPrompt()
      expect(system).toContain(`<source id="1" name="lighthouse.md">`)
      expect(system).toContain('burns whale oil')
      expect(system).not.toContain('quinces')
    } finally {
      tab.close()
      otherTab.close()
    }
  })

  test('the sources are stored with the answer, and the question keeps its files', async () => {
    const chat = (await call('GET', `/api/v1/chats/${chatId}`, bob.token)).body.chat as { messages: { role: string; sources?: Sources; files?: { id: string; type: string }[] }[] }
    const question = chat.messages.find((message) => message.role === 'user')!
    const answer = chat.messages.find((message) => message.role === 'assistant')!
    expect(question.files!.map((file) => [file.type, file.id])).toEqual([['file', ids.lighthouse], ['file', ids.orchard]])
    expect(answer.sources![0]!.source.id).toBe(ids.lighthouse)
    expect(answer.sources![0]!.document[0]).toContain('burns whale oil')
  })

  test('a regenerate searches the question\'s documents again', async () => {
    const socket = await connect(wsUrl(), { token: bob.token })
    try {
      const before = chatRequests().length
      socket.send({ type: 'chat:regenerate', chatId, parentId: questionUid, model: MODEL })
      const done = await socket.nextFrame(ofType('chat:done'), 10_000) as Frame & { sources: Sources }
      expect(chatRequests().length).toBe(before + 1)
      expect(done.sources[0]!.document[0]).toContain('burns whale oil')
      expect(lastSystemPrompt()).toContain('burns whale oil')
    } finally {
      socket.close()
    }
  })

  test('a knowledge base (type collection) finds the passage of the right file, and the question references it by name', async () => {
    const socket = await connect(wsUrl(), { token: bob.token })
    try {
      socket.send({ type: 'chat:send', model: MODEL, content: 'When do the orchard quinces ripen?', files: [{ type: 'collection', id: ids.private }] })
      const started = await socket.nextFrame(ofType('chat:started'), 10_000)
      const done = await socket.nextFrame(ofType('chat:done'), 10_000) as Frame & { sources: Sources }
      expect(done.sources[0]!.source).toEqual({ id: ids.orchard, name: 'orchard.docx', type: 'file' })
      expect(done.sources[0]!.document[0]).toContain('ripen in late October')
      expect(lastSystemPrompt()).toContain('ripen in late October')
      const chat = (await call('GET', `/api/v1/chats/${started.chatId}`, bob.token)).body.chat as { messages: { role: string; files?: unknown[] }[] }
      expect(chat.messages.find((message) => message.role === 'user')!.files).toEqual([{ type: 'collection', id: ids.private, name: 'Private papers' }])
    } finally {
      socket.close()
    }
  })

  test('a message without documents carries no sources', async () => {
    const socket = await connect(wsUrl(), { token: bob.token })
    try {
      socket.send({ type: 'chat:send', model: MODEL, content: 'When do the orchard quinces ripen?' })
      const done = await socket.nextFrame(ofType('chat:done'), 10_000)
      expect(done.sources).toBeUndefined()
      expect(lastSystemPrompt()).not.toContain('quinces')
    } finally {
      socket.close()
    }
  })
})

describe('who may name which file or knowledge base', () => {
  test('a grantee reads a shared knowledge base; a knowledge base not shared with them is not found', async () => {
    const socket = await connect(wsUrl(), { token: carol.token })
    try {
      socket.send({ type: 'chat:send', model: MODEL, content: 'When do the orchard quinces ripen?', files: [{ type: 'collection', id: ids.shared }] })
      const done = await socket.nextFrame(ofType('chat:done'), 10_000) as Frame & { sources: Sources }
      expect(done.sources[0]!.source.id).toBe(ids.orchard)
      socket.send({ type: 'chat:send', model: MODEL, content: 'Carol asks about quinces once', files: [{ type: 'collection', id: ids.private }] })
      expect(await socket.nextFrame(ofType('error'), 10_000)).toMatchObject({ code: 'file_not_found' })
      // note: the grant reaches the knowledge base, not the files in it: Bob's file by its own id stays his.
      socket.send({ type: 'chat:send', model: MODEL, content: 'Carol asks about quinces twice', files: [{ type: 'file', id: ids.orchard }] })
      expect(await socket.nextFrame(ofType('error'), 10_000)).toMatchObject({ code: 'file_not_found' })
      expect(wasAsked('Carol asks about quinces')).toBe(false)
    } finally {
      socket.close()
    }
  })

  test('a regenerate after the grant is taken back is refused, and Ollama is not asked again', async () => {
    const socket = await connect(wsUrl(), { token: carol.token })
    const answersWithContext = () => chatRequests().filter((request) => {
      const messages = (request.body as { messages: { role: string; content: string }[] }).messages
      return messages.some((message) => message.content.includes('Carol wonders')) && messages[0]?.role === 'system' && messages[0].content.includes('<source')
    }).length
    try {
      const shared = await call('POST', '/api/v1/knowledge/create', bob.token, { name: 'Briefly shared', access_control: { read: { user_ids: [carol.id], group_ids: [] }, write: { user_ids: [], group_ids: [] } } })
      expect((await call('POST', `/api/v1/knowledge/${shared.body.id}/file/add`, bob.token, { file_id: ids.orchard })).status).toBe(200)
      socket.send({ type: 'chat:send', model: MODEL, content: 'Carol wonders when the orchard quinces ripen', files: [{ type: 'collection', id: shared.body.id }] })
      const started = await socket.nextFrame(ofType('chat:started'), 10_000)
      await socket.nextFrame(ofType('chat:done'), 10_000)
      expect(answersWithContext()).toBe(1)
      expect((await call('POST', `/api/v1/knowledge/${shared.body.id}/update`, bob.token, { access_control: {} })).status).toBe(200)
      socket.send({ type: 'chat:regenerate', chatId: started.chatId, parentId: started.parentId, model: MODEL })
      expect(await socket.nextFrame(ofType('error'), 10_000)).toMatchObject({ code: 'file_not_found' })
      expect(answersWithContext()).toBe(1)
    } finally {
      socket.close()
    }
  })

  test('an admin naming another user\'s file or knowledge base is refused as not found, and Ollama is not asked', async () => {
    const socket = await connect(wsUrl(), { token: ada.token })
    try {
      for (const files of [[{ type: 'file', id: ids.lighthouse }], [ids.lighthouse], [{ type: 'collection', id: ids.private }], [{ type: 'collection', id: crypto.randomUUID() }], [{ type: 'collection', id: '../../etc/passwd' }]]) {
        socket.send({ type: 'chat:send', model: MODEL, content: 'Ada asks about the lantern', files })
        const refused = await socket.nextFrame(ofType('error'), 10_000)
        expect(refused).toMatchObject({ code: 'file_not_found' })
        expect(JSON.stringify(refused)).not.toContain('whale')
      }
      expect(wasAsked('Ada asks about the lantern')).toBe(false)
    } finally {
      socket.close()
    }
  })

  test.each([
    ['an unknown entry type', [{ type: 'web', id: 'https://example.com' }]],
    ['an id that is not a string', [{ type: 'file', id: 7 }]],
    ['an entry without an id', [{ type: 'collection' }]],
    ['an overlong id', [{ type: 'collection', id: 'x'.repeat(200) }]],
  ])('%s is an invalid frame', async (_, files) => {
    const socket = await connect(wsUrl(), { token: bob.token })
    try {
      socket.send({ type: 'chat:send', model: MODEL, content: 'hello', files })
      expect(await socket.nextFrame(ofType('error'), 10_000)).toMatchObject({ code: 'invalid_frame' })
    } finally {
      socket.close()
    }
  })

  test('a document whose processing failed (no embedding model) is refused naming why, and read again once the model is back', async () => {
    await fetch(`${fake.url}/api/delete`, { method: 'DELETE', body: JSON.stringify({ name: 'nomic-embed-text' }) })
    const form = new FormData()
    form.append('file', new File(['# Harbour\n\nThe Wrenholm ferry leaves at seven when the tide is high.\n'], 'harbour.md'))
    const uploaded = await fetch(`${server.url}/api/v1/files/?process=true`, { method: 'POST', headers: bearer(bob.token), body: form })
    const fileId = (await uploaded.json() as { id: string }).id
    let data: { status?: string; error?: string } = {}
    for (let attempt = 0; attempt < 200 && data.status !== 'failed'; attempt++) {
      await Bun.sleep(25)
      data = (await call('GET', `/api/v1/files/${fileId}`, bob.token)).body.data
    }
    expect(data).toMatchObject({ status: 'failed', error: 'model_not_found' })
    const socket = await connect(wsUrl(), { token: bob.token })
    try {
      socket.send({ type: 'chat:send', model: MODEL, content: 'When does the Wrenholm ferry leave?', files: [{ type: 'file', id: fileId }] })
      const refused = await socket.nextFrame(ofType('error'), 10_000)
      expect(refused.message).toContain('failed: model_not_found')
      expect(wasAsked('When does the Wrenholm ferry leave?')).toBe(false)
      await fetch(`${fake.url}/api/pull`, { method: 'POST', body: JSON.stringify({ name: 'nomic-embed-text', stream: false }) })
      socket.send({ type: 'chat:send', model: MODEL, content: 'When does the Wrenholm ferry leave?', files: [{ type: 'file', id: fileId }] })
      const done = await socket.nextFrame(ofType('chat:done'), 10_000) as Frame & { sources: Sources }
      expect(done.sources[0]!.document[0]).toContain('leaves at seven')
    } finally {
      socket.close()
    }
  })

  test('more entries than RAG_FILE_MAX_COUNT are refused', async () => {
    const socket = await connect(wsUrl(), { token: bob.token })
    try {
      const files = Array.from({ length: 6 }, () => ({ type: 'collection', id: ids.private }))
      socket.send({ type: 'chat:send', model: MODEL, content: 'hello', files })
      expect(await socket.nextFrame(ofType('error'), 10_000)).toMatchObject({ code: 'too_many_files' })
    } finally {
      socket.close()
    }
  })
})

describe('at rest', () => {
  test('the passages stored as sources with the answers are readable nowhere in DATA_DIR', async () => {
    const everyFile = (dir: string): string[] => readdirSync(dir).flatMap((name) => {
      const path = join(dir, name)
      return statSync(path).isDirectory() ? everyFile(path) : [path]
    })
    const files = everyFile(join(cwd, 'data'))
    expect(files.length).toBeGreaterThan(0)
    for (const path of files) {
      const bytes = readFileSync(path)
      for (const marker of ['Zanzibarite', 'Quokkafjord', 'whale oil', 'Society papers', 'lighthouse.md']) expect(bytes.includes(marker), `${marker} in ${path}`).toBe(false)
    }
  })
})
