/**
 * Documents and knowledge bases against the compiled binary: real files made here (a PDF, a DOCX,
 * Markdown, CSV) are uploaded as Open WebUI's frontend uploads them, read by the extraction worker
 * inside dist/enclave, chunked and embedded by the Ollama stand-in, gathered into a knowledge base,
 * and a question cites the file holding its answer. Hostile documents are refused with a clear
 * status while the server keeps serving; another user's ids are 404 everywhere; no document text
 * reaches the disk readable.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { defaultFakeModels } from '../fakes/ollama-replies.ts'
import { embeddingModel, startFakeOllama, type FakeOllama } from '../fakes/ollama.ts'
import { bearer, signUpAdminAndUser } from '../helpers/accounts.ts'
import { binaryAppStarter } from '../helpers/binary-app.ts'
import { makeDeepJson, makeDocx, makePdf, makeZipBombDocx } from '../helpers/make-documents.ts'

const startApp = binaryAppStarter()
const MODEL = 'llama3.2:1b'
const MARKERS = { pdf: 'Zanzibarite', docx: 'Quokkafjord', md: 'Brambleweft', csv: 'Thistlecrown' }
const DOCUMENTS = {
  'report.pdf': makePdf([
    'Annual report of the lighthouse society.\nThe keepers counted the storms of the winter.',
    `The ${MARKERS.pdf} lantern burns whale oil and is polished every morning at dawn.`,
  ]),
  'minutes.docx': makeDocx(['Minutes of the orchard meeting.', `The ${MARKERS.docx} orchard grows quinces that ripen in late October.`]),
  'guide.md': new TextEncoder().encode(`# Mountain guide\n\nThe ${MARKERS.md} pass closes when snow covers the northern ridge.\n`),
  'tides.csv': new TextEncoder().encode(`harbour,note\n${MARKERS.csv},high tide floods the fish market twice a month\n`),
}

let ollama: FakeOllama
beforeAll(async () => {
  ollama = await startFakeOllama({ models: [...defaultFakeModels, embeddingModel('nomic-embed-text:latest')] })
})
afterAll(async () => {
  await ollama.stop()
})

describe('knowledge through dist/enclave', async () => {
  let binary: Awaited<ReturnType<typeof startApp>>
  let users: Awaited<ReturnType<typeof signUpAdminAndUser>>
  const url = () => binary.server().url
  const call = async (token: string, method: string, path: string, body?: unknown) => {
    const response = await fetch(`${url()}${path}`, { method, headers: { ...bearer(token), 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) })
    return { status: response.status, body: await response.json().catch(() => null) as any }
  }
  async function upload(token: string, name: string, bytes: Uint8Array) {
    const form = new FormData()
    form.append('file', new File([bytes as Uint8Array<ArrayBuffer>], name, { type: 'application/octet-stream' }))
    const response = await fetch(`${url()}/api/v1/files/?process=true`, { method: 'POST', headers: bearer(token), body: form })
    return { status: response.status, body: await response.json() as any }
  }
  /** The file's processing status once it settles (bounded: 200 polls). */
  async function settledStatus(token: string, id: string): Promise<{ status: string; error?: string }> {
    for (let attempt = 0; attempt < 200; attempt++) {
      const { body } = await call(token, 'GET', `/api/v1/files/${id}`)
      const status = body?.data?.status
      if (status === 'completed' || status === 'failed') return { status, error: body.data.error }
      await Bun.sleep(50)
    }
    throw new Error('processing did not settle')
  }

  const fileIds: Record<string, string> = {}
  let knowledgeId = ''

  test('documents uploaded are read inside the binary, embedded and gathered into a knowledge base', async () => {
    binary = await startApp({ OLLAMA_BASE_URL: ollama.url, USER_PERMISSIONS_WORKSPACE_KNOWLEDGE_ACCESS: 'true', CHUNK_SIZE: '300', CHUNK_OVERLAP: '30', RAG_TOP_K: '3', RAG_EXTRACT_MAX_DECOMPRESSED: '4mb', RAG_EXTRACT_MAX_CHARS: '200000', RAG_EXTRACT_MAX_PAGES: '20' })
    users = await signUpAdminAndUser(binary.app as never)
    for (const [name, bytes] of Object.entries(DOCUMENTS)) {
      const uploaded = await upload(users.bob.token, name, bytes)
      expect(uploaded.status).toBe(200)
      fileIds[name] = uploaded.body.id
      expect(await settledStatus(users.bob.token, uploaded.body.id)).toEqual({ status: 'completed', error: undefined })
    }
    const text = await call(users.bob.token, 'GET', `/api/v1/files/${fileIds['report.pdf']}/data/content`)
    expect(text.body.content).toContain(`The ${MARKERS.pdf} lantern burns whale oil`)
    const created = await call(users.bob.token, 'POST', '/api/v1/knowledge/create', { name: 'Society papers', description: '', access_grants: [] })
    expect(created.status).toBe(200)
    knowledgeId = created.body.id
    for (const id of Object.values(fileIds)) expect((await call(users.bob.token, 'POST', `/api/v1/knowledge/${knowledgeId}/file/add`, { file_id: id })).status).toBe(200)
    const got = await call(users.bob.token, 'GET', `/api/v1/knowledge/${knowledgeId}`)
    expect(got.body.files.map((file: { meta: { name: string } }) => file.meta.name).sort()).toEqual(Object.keys(DOCUMENTS).sort())
  }, 30_000)

  test.each([
    ['report.pdf', 'What oil does the lantern burn, and when is it polished?', 'whale oil'],
    ['minutes.docx', 'When do the orchard quinces ripen?', 'ripen in late October'],
    ['guide.md', 'When does the mountain pass close with snow on the ridge?', 'snow covers the northern ridge'],
    ['tides.csv', 'How often does high tide flood the fish market?', 'floods the fish market'],
  ])('a question about %s cites that file\'s passage', async (name, question, passage) => {
    const asked = await call(users.bob.token, 'POST', '/api/chat/completions', { model: MODEL, messages: [{ role: 'user', content: question }], files: [{ type: 'collection', id: knowledgeId }] })
    expect(asked.status).toBe(200)
    expect(asked.body.sources[0].source).toEqual({ id: fileIds[name], name, type: 'file' })
    expect(asked.body.sources[0].document[0]).toContain(passage)
  })

  test.each([
    ['a zip bomb DOCX', 'bomb.docx', () => makeZipBombDocx(24 * 1024 * 1024), 'too_large'],
    ['a PDF cut in half', 'cut.pdf', () => makePdf(['Some text that goes on for a while.']).subarray(0, 150), 'unreadable'],
    ['a PDF with more pages than allowed', 'long.pdf', () => makePdf(Array.from({ length: 25 }, (_, i) => `page ${i}`)), 'too_many_pages'],
    ['deeply nested JSON', 'deep.json', () => new TextEncoder().encode(makeDeepJson(50_000)), 'too_deep'],
    ['deeply nested HTML', 'deep.html', () => new TextEncoder().encode('<div>'.repeat(20_000)), 'too_deep'],
    ['text over the character limit', 'huge.txt', () => new TextEncoder().encode('word '.repeat(50_000)), 'too_large'],
  ])('%s is refused with a clear reason, and the server keeps answering', async (_, name, make, reason) => {
    const uploaded = await upload(users.bob.token, name, make())
    if (uploaded.status === 200) {
      expect(await settledStatus(users.bob.token, uploaded.body.id)).toEqual({ status: 'failed', error: reason })
      const added = await call(users.bob.token, 'POST', `/api/v1/knowledge/${knowledgeId}/file/add`, { file_id: uploaded.body.id })
      expect(added.status).toBe(400)
      expect(added.body.code).toBe(`file_${reason}`)
    } else {
      // note: the upload itself may refuse it first (the file store checks archives), which is as clean.
      expect(uploaded.status).toBeGreaterThanOrEqual(400)
      expect(uploaded.status).toBeLessThan(500)
    }
    expect((await fetch(`${url()}/health`)).status).toBe(200)
  }, 30_000)

  test('another user\'s file and knowledge ids are 404 on every route, an admin\'s look included', async () => {
    const fileId = fileIds['guide.md']!
    for (const token of [users.ada.token]) {
      expect((await call(token, 'GET', `/api/v1/knowledge/${knowledgeId}`)).status).toBe(404)
      expect((await call(token, 'POST', `/api/v1/knowledge/${knowledgeId}/update`, { name: 'x' })).status).toBe(404)
      expect((await call(token, 'POST', `/api/v1/knowledge/${knowledgeId}/file/remove`, { file_id: fileId })).status).toBe(404)
      expect((await call(token, 'POST', `/api/v1/knowledge/${knowledgeId}/reset`)).status).toBe(404)
      expect((await call(token, 'DELETE', `/api/v1/knowledge/${knowledgeId}/delete`)).status).toBe(404)
      expect((await call(token, 'POST', '/api/v1/retrieval/process/file', { file_id: fileId })).status).toBe(404)
      const own = await call(token, 'POST', '/api/v1/knowledge/create', { name: 'Admin notes' })
      expect((await call(token, 'POST', `/api/v1/knowledge/${own.body.id}/file/add`, { file_id: fileId })).status).toBe(404)
      for (const files of [[{ type: 'file', id: fileId }], [{ type: 'collection', id: knowledgeId }]]) {
        const asked = await call(token, 'POST', '/api/chat/completions', { model: MODEL, messages: [{ role: 'user', content: 'mountain pass snow' }], files })
        expect(asked.status).toBe(404)
        expect(JSON.stringify(asked.body)).not.toContain(MARKERS.md)
      }
    }
  })

  test('files/batch/add adds the caller\'s files at once; one that cannot be read is named in warnings, the others added', async () => {
    const base = await call(users.bob.token, 'POST', '/api/v1/knowledge/create', { name: 'Batch', description: '' })
    const broken = await upload(users.bob.token, 'broken.pdf', makePdf(['Half a page.']).subarray(0, 150))
    await settledStatus(users.bob.token, broken.body.id)
    const added = await call(users.bob.token, 'POST', `/api/v1/knowledge/${base.body.id}/files/batch/add`, [{ file_id: fileIds['guide.md'] }, { file_id: fileIds['report.pdf'] }, { file_id: broken.body.id }])
    expect(added.status).toBe(200)
    expect(added.body.files.map((file: { id: string }) => file.id).sort()).toEqual([fileIds['guide.md'], fileIds['report.pdf']].sort())
    expect(added.body.warnings.message).toBe('Some files failed to process')
    expect(added.body.warnings.errors).toHaveLength(1)
    expect(added.body.warnings.errors[0]).toStartWith(`${broken.body.id}: `)
    const asked = await call(users.bob.token, 'POST', '/api/chat/completions', { model: MODEL, messages: [{ role: 'user', content: 'When does the mountain pass close with snow on the ridge?' }], files: [{ type: 'collection', id: base.body.id }] })
    expect(asked.body.sources[0].source.id).toBe(fileIds['guide.md'])
    const whole = await call(users.bob.token, 'POST', `/api/v1/knowledge/${base.body.id}/files/batch/add`, [{ file_id: fileIds['tides.csv'] }])
    expect(whole.body.warnings).toBeUndefined()
    expect(whole.body.files).toHaveLength(3)
  }, 30_000)

  test('files/batch/add with another user\'s file adds nothing; another user\'s base is 404; malformed lists are refused', async () => {
    const adas = await upload(users.ada.token, 'admin-notes.md', new TextEncoder().encode('# Notes\n\nThe admin keeps notes.\n'))
    await settledStatus(users.ada.token, adas.body.id)
    const own = await call(users.ada.token, 'POST', '/api/v1/knowledge/create', { name: 'Admin batch' })
    const mixed = await call(users.ada.token, 'POST', `/api/v1/knowledge/${own.body.id}/files/batch/add`, [{ file_id: adas.body.id }, { file_id: fileIds['guide.md'] }])
    expect(mixed.status).toBe(404)
    expect((await call(users.ada.token, 'GET', `/api/v1/knowledge/${own.body.id}`)).body.files).toEqual([])
    expect((await call(users.ada.token, 'POST', `/api/v1/knowledge/${knowledgeId}/files/batch/add`, [{ file_id: adas.body.id }])).status).toBe(404)
    for (const body of [[], { file_id: adas.body.id }, 'x', [{ id: adas.body.id }], Array.from({ length: 101 }, () => ({ file_id: adas.body.id }))]) {
      const refused = await call(users.ada.token, 'POST', `/api/v1/knowledge/${own.body.id}/files/batch/add`, body)
      expect(refused.status).toBeGreaterThanOrEqual(400)
      expect(refused.status).toBeLessThan(500)
    }
    expect((await call(users.ada.token, 'GET', `/api/v1/knowledge/${own.body.id}`)).body.files).toEqual([])
  }, 30_000)

  test('file/update reads a file of the base again; a file not in it, or another user\'s base, is 404', async () => {
    const before = (await call(users.bob.token, 'GET', `/api/v1/knowledge/${knowledgeId}`)).body.files.length
    const updated = await call(users.bob.token, 'POST', `/api/v1/knowledge/${knowledgeId}/file/update`, { file_id: fileIds['guide.md'] })
    expect(updated.status).toBe(200)
    expect(updated.body.files).toHaveLength(before)
    const asked = await call(users.bob.token, 'POST', '/api/chat/completions', { model: MODEL, messages: [{ role: 'user', content: 'When does the mountain pass close with snow on the ridge?' }], files: [{ type: 'collection', id: knowledgeId }] })
    expect(asked.body.sources[0].source.id).toBe(fileIds['guide.md'])
    const outside = await upload(users.bob.token, 'outside.md', new TextEncoder().encode('# Outside\n\nNot in the base.\n'))
    expect((await call(users.bob.token, 'POST', `/api/v1/knowledge/${knowledgeId}/file/update`, { file_id: outside.body.id })).status).toBe(404)
    expect((await call(users.ada.token, 'POST', `/api/v1/knowledge/${knowledgeId}/file/update`, { file_id: fileIds['guide.md'] })).status).toBe(404)
    expect((await call(users.bob.token, 'POST', `/api/v1/knowledge/${knowledgeId}/file/update`, { id: fileIds['guide.md'] })).status).toBeGreaterThanOrEqual(400)
  }, 30_000)

  test('search/files finds the files of the bases the caller may read, by name, each with its base', async () => {
    const found = await call(users.bob.token, 'GET', '/api/v1/knowledge/search/files?query=GUIDE')
    expect(found.status).toBe(200)
    expect(found.body.total).toBeGreaterThanOrEqual(1)
    const inSociety = found.body.items.find((item: { collection: { id: string } }) => item.collection.id === knowledgeId)
    expect(inSociety).toMatchObject({ id: fileIds['guide.md'], filename: 'guide.md', collection: { name: 'Society papers' } })
    expect(found.body.items.every((item: { filename: string }) => item.filename === 'guide.md')).toBe(true)
    const everything = await call(users.bob.token, 'GET', '/api/v1/knowledge/search/files')
    expect(everything.body.items.length).toBe(everything.body.total)
    const admins = await call(users.ada.token, 'GET', '/api/v1/knowledge/search/files?query=guide')
    expect(admins.status).toBe(200)
    expect(admins.body).toEqual({ items: [], total: 0 })
    expect((await call(users.ada.token, 'GET', `/api/v1/knowledge/search/files?query=${'x'.repeat(2000)}`)).status).toBeGreaterThanOrEqual(400)
    expect((await fetch(`${url()}/api/v1/knowledge/search/files`)).status).toBe(401)
  })

  test('access/update lets the owner share a base by access_grants and take it back; nobody else changes it', async () => {
    const base = await call(users.bob.token, 'POST', '/api/v1/knowledge/create', { name: 'Shared by grant' })
    await call(users.bob.token, 'POST', `/api/v1/knowledge/${base.body.id}/file/add`, { file_id: fileIds['guide.md'] })
    expect((await call(users.ada.token, 'GET', `/api/v1/knowledge/${base.body.id}`)).status).toBe(404)
    const shared = await call(users.bob.token, 'POST', `/api/v1/knowledge/${base.body.id}/access/update`, { access_grants: [{ principal_type: 'user', principal_id: users.ada.id, permission: 'read' }] })
    expect(shared.status).toBe(200)
    expect(shared.body.access_control.read.user_ids).toEqual([users.ada.id])
    expect(shared.body.files).toHaveLength(1)
    expect((await call(users.ada.token, 'GET', `/api/v1/knowledge/${base.body.id}`)).status).toBe(200)
    const seen = await call(users.ada.token, 'GET', '/api/v1/knowledge/search/files?query=guide')
    expect(seen.body.items.map((item: { collection: { id: string } }) => item.collection.id)).toEqual([base.body.id])
    // note: a reader may not change the grant, nor may a writer who is not the owner.
    expect((await call(users.ada.token, 'POST', `/api/v1/knowledge/${base.body.id}/access/update`, { access_grants: [] })).status).toBe(404)
    await call(users.bob.token, 'POST', `/api/v1/knowledge/${base.body.id}/access/update`, { access_grants: [{ principal_type: 'user', principal_id: users.ada.id, permission: 'write' }, { principal_type: 'user', principal_id: users.ada.id, permission: 'read' }] })
    expect((await call(users.ada.token, 'POST', `/api/v1/knowledge/${base.body.id}/access/update`, { access_grants: [{ principal_type: 'user', principal_id: '*', permission: 'read' }] })).status).toBe(404)
    for (const body of [{}, { access_grants: 'everyone' }, { access_grants: [{ principal_type: 'robot', principal_id: 'x', permission: 'read' }] }, { access_grants: null }]) {
      const refused = await call(users.bob.token, 'POST', `/api/v1/knowledge/${base.body.id}/access/update`, body)
      expect(refused.status).toBeGreaterThanOrEqual(400)
      expect(refused.status).toBeLessThan(500)
    }
    expect((await call(users.bob.token, 'POST', `/api/v1/knowledge/${base.body.id}/access/update`, { access_grants: [] })).status).toBe(200)
    expect((await call(users.ada.token, 'GET', `/api/v1/knowledge/${base.body.id}`)).status).toBe(404)
  })

  test('no document text, chunk or file name is readable in DATA_DIR, and a deleted file takes its chunks with it', async () => {
    const dataDir = join(binary.cwd, 'data')
    const everyFile = (dir: string): string[] => readdirSync(dir).flatMap((name) => {
      const path = join(dir, name)
      return statSync(path).isDirectory() ? everyFile(path) : [path]
    })
    for (const path of everyFile(dataDir)) {
      const bytes = readFileSync(path)
      for (const marker of Object.values(MARKERS)) expect(bytes.includes(marker), `${marker} in ${path}`).toBe(false)
      expect(bytes.includes('whale oil'), path).toBe(false)
    }
    expect((await call(users.bob.token, 'DELETE', `/api/v1/files/${fileIds['tides.csv']}`)).status).toBe(200)
    const asked = await call(users.bob.token, 'POST', '/api/chat/completions', { model: MODEL, messages: [{ role: 'user', content: 'How often does high tide flood the fish market?' }], files: [{ type: 'collection', id: knowledgeId }] })
    expect(JSON.stringify(asked.body.sources ?? [])).not.toContain(MARKERS.csv)
    expect((await call(users.bob.token, 'GET', `/api/v1/knowledge/${knowledgeId}`)).body.files).toHaveLength(3)
  })
})
