/**
 * Uploads against the compiled binary, as Open WebUI's frontend sends them (multipart `file`, the
 * `process` query, a `metadata` field): what is accepted comes back byte for byte as a safe
 * attachment; what is hostile is refused with a clear code and leaves nothing on disk or in the
 * database; another user's file, an admin's look included, is 404 on every route; no file name or
 * content is readable in DATA_DIR.
 */
import { describe, expect, test } from 'bun:test'
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { bearer, signUpAdminAndUser } from '../helpers/accounts.ts'
import { binaryAppStarter } from '../helpers/binary-app.ts'
import { countStoredRows } from '../helpers/binary.ts'
import { MAX_JSON_NESTING } from '../../src/db/json-nesting.ts'
import {
  GIF_HTML_POLYGLOT, HTML_PAGE, makeDocx, makeElf, makeJpeg, makePng, makeWindowsExe, makeZip, makeZipBomb, rawMultipart, SVG_WITH_SCRIPT,
} from '../helpers/sample-files.ts'

const startApp = binaryAppStarter()
const FILES = '/api/v1/files'
const NAME_MARKER = 'MARKER-UPLOADNAME-5d21'
const TEXT_MARKER = 'MARKER-UPLOADTEXT-e08a'

type FileBody = { id: string; user_id: string; filename: string; hash: string; data: Record<string, unknown>; meta: { name: string; content_type: string; size: number; data?: unknown }; created_at: number; updated_at: number }

describe('files through dist/enclave', async () => {
  const binary = await startApp({ RAG_FILE_MAX_SIZE: '2', USER_FILE_STORAGE_QUOTA: '5' })
  const { app } = binary
  const { ada, bob } = await signUpAdminAndUser(app as never)
  const url = () => binary.server().url
  const dataDir = join(binary.cwd, 'data')
  const blobCount = () => readdirSync(join(dataDir, 'files')).length

  async function upload(token: string, name: string, bytes: Uint8Array, extra: Record<string, string> = {}) {
    const form = new FormData()
    form.append('file', new File([Buffer.from(bytes)], name, { type: 'application/octet-stream' }))
    for (const [key, value] of Object.entries(extra)) form.append(key, value)
    return fetch(`${url()}${FILES}/?process=true`, { method: 'POST', headers: { ...bearer(token), accept: 'application/json' }, body: form })
  }
  async function uploadRaw(token: string, name: string, bytes: Uint8Array) {
    const { body, contentType } = rawMultipart(name, bytes)
    return fetch(`${url()}${FILES}/`, { method: 'POST', headers: { ...bearer(token), 'content-type': contentType }, body: new Uint8Array(body) })
  }
  const get = (token: string, path: string, init: RequestInit = {}) => fetch(`${url()}${path}`, { ...init, headers: { ...bearer(token), ...init.headers } })

  const docx = makeDocx(TEXT_MARKER)
  const accepted: [string, string, Uint8Array, string, string][] = [
    ['a PNG', `${NAME_MARKER} photo.png`, makePng(16, 16), 'image/png', 'image/png'],
    ['a JPEG named .txt (the bytes decide)', 'holiday.txt', makeJpeg(), 'image/jpeg', 'image/jpeg'],
    ['plain text', 'notes.txt', Buffer.from(`${TEXT_MARKER} plain notes\n`), 'text/plain', 'text/plain; charset=utf-8'],
    ['Markdown', 'readme.md', Buffer.from(`# Title\n\n${TEXT_MARKER} *emphasis*\n`), 'text/markdown', 'text/plain; charset=utf-8'],
    ['CSV', 'table.csv', Buffer.from(`name,value\nalpha,${TEXT_MARKER}\n`), 'text/csv', 'text/plain; charset=utf-8'],
    ['JSON', 'data.json', Buffer.from(`{"k": "${TEXT_MARKER}"}`), 'application/json', 'text/plain; charset=utf-8'],
    ['a DOCX', 'report.docx', docx, 'application/vnd.openxmlformats-officedocument.wordprocessingml.document', 'application/vnd.openxmlformats-officedocument.wordprocessingml.document'],
    ['HTML, kept as a document, served as text', 'page.html', Buffer.from(HTML_PAGE), 'text/html', 'text/plain; charset=utf-8'],
    ['a GIF/HTML polyglot, served as a GIF only', 'funny.gif', GIF_HTML_POLYGLOT, 'image/gif', 'image/gif'],
    ['a path-like name, kept as its last part', '../../x.txt', Buffer.from('path test'), 'text/plain', 'text/plain; charset=utf-8'],
    ['a Unicode name', 'Réunion ✈ 日本.txt', Buffer.from('unicode name'), 'text/plain', 'text/plain; charset=utf-8'],
  ]
  const stored: { id: string; bytes: Uint8Array }[] = []

  test.each(accepted)('accepted: %s', async (_, name, bytes, contentType, servedType) => {
    const res = await upload(bob.token, name, bytes, { metadata: JSON.stringify({ source: 'test' }) })
    expect(res.status).toBe(200)
    const file = await res.json() as FileBody
    expect(file).toMatchObject({ user_id: bob.id, filename: name.split('/').pop()!, meta: { content_type: contentType, size: bytes.length, data: { source: 'test' } } })
    expect(file.created_at).toBeLessThan(10_000_000_000)
    stored.push({ id: file.id, bytes })
    const content = await get(bob.token, `${FILES}/${file.id}/content`)
    expect(content.status).toBe(200)
    expect(Buffer.from(await content.arrayBuffer()).equals(Buffer.from(bytes))).toBe(true)
    expect(content.headers.get('content-type')).toBe(servedType)
    expect(content.headers.get('x-content-type-options')).toBe('nosniff')
    expect(content.headers.get('content-disposition')).toStartWith('attachment; filename="')
    expect(content.headers.get('content-disposition')).toContain(`filename*=UTF-8''${encodeURIComponent(file.filename).replace(/['()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)}`)
    expect(content.headers.get('content-security-policy')).toContain('sandbox')
    expect(await get(bob.token, `${FILES}/${file.id}`).then((r) => r.json())).toMatchObject({ id: file.id, filename: file.filename })
  })

  test('data/content: a text file\'s text; a document\'s status until text is extracted', async () => {
    const [, , notes] = stored
    const settled = async (id: string) => {
      let found: { content: string; status: string } = { content: '', status: 'pending' }
      for (let attempt = 0; attempt < 200 && ['pending', 'processing'].includes(found.status); attempt++) {
        found = await get(bob.token, `${FILES}/${id}/data/content`).then((r) => r.json())
        if (['pending', 'processing'].includes(found.status)) await Bun.sleep(25)
      }
      return found
    }
    // note: documents are read in the background after their upload (docs/knowledge.md); without Ollama for
    // their embeddings they end `failed`, the extracted text kept.
    expect(await settled(notes!.id)).toEqual({ content: `${TEXT_MARKER} plain notes\n`, status: 'failed' })
    const report = stored[6]!
    expect(await settled(report.id)).toEqual({ content: TEXT_MARKER, status: 'failed' })
    const updated = await get(bob.token, `${FILES}/${report.id}/data/content/update`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ content: 'edited text' }) })
    expect(updated.status).toBe(200)
    expect((await get(bob.token, `${FILES}/${report.id}/data/content`).then((r) => r.json())).content).toBe('edited text')
    const status = await get(bob.token, `${FILES}/${notes!.id}/process/status?stream=true`)
    expect(status.headers.get('content-type')).toStartWith('text/event-stream')
    expect(await status.text()).toBe('data: {"status":"failed","error":"unreachable"}\n\n')
  })

  test.each([
    ['SVG with a script', 'logo.svg', Buffer.from(SVG_WITH_SCRIPT), 415, 'file_type_refused'],
    ['SVG named .png', 'logo.png', Buffer.from(SVG_WITH_SCRIPT), 415, 'file_type_refused'],
    ['an ELF executable', 'tool', makeElf(), 415, 'file_type_refused'],
    ['a Windows executable named .png', 'cat.png', makeWindowsExe(), 415, 'file_type_refused'],
    ['a zip bomb named .docx', 'bomb.docx', makeZipBomb(), 415, 'file_type_refused'],
    ['a plain ZIP archive', 'stuff.zip', makeZip([{ name: 'a.txt', data: Buffer.from('a') }]), 415, 'file_type_refused'],
    ['unknown binary bytes', 'mystery.bin', Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7 + 3) & 0xff)), 415, 'file_type_unknown'],
    ['an empty file', 'empty.txt', Buffer.alloc(0), 415, 'file_type_unknown'],
    ['over RAG_FILE_MAX_SIZE (2 MB)', 'big.txt', Buffer.alloc(3 * 1024 * 1024, 'a'), 413, 'file_too_large'],
  ])('refused: %s', async (_, name, bytes, status, code) => {
    const before = [countStoredRows(binary.cwd, 'file'), blobCount()]
    const res = await upload(bob.token, name, bytes)
    expect(res.status).toBe(status)
    const body = await res.json() as { detail: string; code: string }
    expect(body.code).toBe(code)
    expect(body.detail.length).toBeGreaterThan(10)
    expect([countStoredRows(binary.cwd, 'file'), blobCount()]).toEqual(before)
  })

  test.each([
    ['a NUL', 'evil\0.txt', 'invalid_file_name'],
    ['a line break (the header it would inject makes the part malformed)', 'evil\r\nX-Injected: 1.txt', 'malformed_upload'],
    ['an escape', 'evil\x1b[31m.txt', 'invalid_file_name'],
    ['a right-to-left override', 'invoice\u202Egnp.exe', 'invalid_file_name'],
  ])('refused: a name with %s', async (_, name, code) => {
    const before = countStoredRows(binary.cwd, 'file')
    const res = await uploadRaw(bob.token, name, Buffer.from('hello'))
    expect(res.status).toBe(400)
    expect((await res.json() as { code: string }).code).toBe(code)
    expect(countStoredRows(binary.cwd, 'file')).toBe(before)
  })

  test('a streamed (chunked) upload over the limit stops with 413, and one within it is stored', async () => {
    const before = [countStoredRows(binary.cwd, 'file'), blobCount()]
    const streamed = (size: number) => {
      const { body, contentType } = rawMultipart('stream.txt', Buffer.alloc(size, 'b'))
      let sent = 0
      return {
        contentType,
        body: new ReadableStream<Uint8Array>({
          pull(controller) {
            if (sent >= body.length) return controller.close()
            controller.enqueue(body.subarray(sent, sent + 256 * 1024))
            sent += 256 * 1024
          },
        }),
      }
    }
    const over = streamed(4 * 1024 * 1024)
    const refused = await fetch(`${url()}${FILES}/`, { method: 'POST', headers: { ...bearer(bob.token), 'content-type': over.contentType }, body: over.body }).catch(() => null)
    // note: the server may answer and close before the client has sent everything; either way nothing is stored.
    if (refused !== null) expect(refused.status).toBe(413)
    expect([countStoredRows(binary.cwd, 'file'), blobCount()]).toEqual(before)
    const within = streamed(1024 * 1024)
    const res = await fetch(`${url()}${FILES}/`, { method: 'POST', headers: { ...bearer(bob.token), 'content-type': within.contentType }, body: within.body })
    expect(res.status).toBe(200)
    const file = await res.json() as FileBody
    expect(file.meta.size).toBe(1024 * 1024)
    expect(await get(bob.token, `${FILES}/${file.id}`, { method: 'DELETE' }).then((r) => r.status)).toBe(200)
  })

  test('the per-user quota (USER_FILE_STORAGE_QUOTA, 5 MB) refuses the upload that would pass it', async () => {
    const carol = await signUpAdminAndUserOther()
    const piece = Buffer.alloc(1900 * 1024, 'q')
    expect((await upload(carol, 'one.txt', piece)).status).toBe(200)
    expect((await upload(carol, 'two.txt', piece)).status).toBe(200)
    const before = [countStoredRows(binary.cwd, 'file'), blobCount()]
    const third = await upload(carol, 'three.txt', piece)
    expect(third.status).toBe(413)
    expect((await third.json() as { code: string }).code).toBe('file_quota_exceeded')
    expect([countStoredRows(binary.cwd, 'file'), blobCount()]).toEqual(before)
  })

  async function signUpAdminAndUserOther(): Promise<string> {
    const res = await fetch(`${url()}/api/v1/auths/signup`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'Carol', email: 'carol@example.com', password: 'correct horse battery' }) })
    const carol = await res.json() as { id: string; token: string }
    await fetch(`${url()}/api/v1/users/${carol.id}/update`, { method: 'POST', headers: { ...bearer(ada.token), 'content-type': 'application/json' }, body: JSON.stringify({ role: 'user' }) })
    return carol.token
  }

  test('ownership: every route with bob\'s file id is 404 for the admin, and 401 without a sign-in', async () => {
    const id = stored[0]!.id
    const routes: [string, string, unknown?][] = [
      ['GET', `${FILES}/${id}`], ['GET', `${FILES}/${id}/content`], ['GET', `${FILES}/${id}/data/content`],
      ['POST', `${FILES}/${id}/data/content/update`, { content: 'x' }], ['POST', `${FILES}/${id}/rename`, { filename: 'x' }],
      ['GET', `${FILES}/${id}/process/status`], ['DELETE', `${FILES}/${id}`],
    ]
    for (const [method, path, body] of routes) {
      const init = { method, headers: { 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) }
      expect([method, path, (await get(ada.token, path, init)).status]).toEqual([method, path, 404])
      expect([method, path, (await fetch(`${url()}${path}`, init)).status]).toEqual([method, path, 401])
    }
    for (const path of [`${FILES}/not-an-id`, `${FILES}/${crypto.randomUUID()}/content`, `${FILES}/..%2f..%2fetc%2fpasswd/content`]) {
      expect((await get(bob.token, path)).status).toBe(404)
    }
    expect(await get(ada.token, `${FILES}/`).then((r) => r.json())).toEqual([])
    expect((await get(ada.token, `${FILES}/search?filename=*`).then((r) => r.json()) as unknown[]).length).toBe(0)
    // bob's file is untouched
    const untouched = await get(bob.token, `${FILES}/${id}/content`)
    expect(Buffer.from(await untouched.arrayBuffer()).equals(Buffer.from(stored[0]!.bytes))).toBe(true)
  })

  test('a cross-site upload is refused; a body that is not multipart is 415', async () => {
    const form = new FormData()
    form.append('file', new File(['x'], 'x.txt'))
    const crossSite = await fetch(`${url()}${FILES}/`, { method: 'POST', headers: { cookie: `token=${bob.token}`, origin: 'https://evil.example' }, body: form })
    expect(crossSite.status).toBe(403)
    const json = await get(bob.token, `${FILES}/`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"file":"x"}' })
    expect(json.status).toBe(415)
    const noFile = await get(bob.token, `${FILES}/`, { method: 'POST', body: (() => { const f = new FormData(); f.append('metadata', '{}'); return f })() })
    expect(noFile.status).toBe(400)
  })

  test('metadata that is not a JSON object, or nested past MAX_JSON_NESTING, is 400 invalid_metadata and stores nothing; at the limit it is kept', async () => {
    const metadata = (levels: number) => `{"a":${'['.repeat(levels)}${']'.repeat(levels)}}`
    const blobs = blobCount()
    for (const sent of ['[1]', '"text"', '{"a":', metadata(MAX_JSON_NESTING), metadata(30_000)]) {
      const res = await upload(bob.token, 'meta.txt', Buffer.from('meta'), { metadata: sent })
      expect([sent.slice(0, 12), res.status, ((await res.json()) as { code: string }).code]).toEqual([sent.slice(0, 12), 400, 'invalid_metadata'])
    }
    expect(blobCount()).toBe(blobs)
    const kept = await upload(bob.token, 'meta.txt', Buffer.from('meta'), { metadata: metadata(MAX_JSON_NESTING - 1) })
    expect(kept.status).toBe(200)
    await get(bob.token, `${FILES}/${((await kept.json()) as FileBody).id}`, { method: 'DELETE' })
  })

  test('/api/config tells a signed-in page the upload limits, as Open WebUI\'s does', async () => {
    expect((await get(bob.token, '/api/config').then((r) => r.json()) as { file?: unknown }).file).toEqual({ max_size: 2, max_count: 10 })
    expect((await fetch(`${url()}/api/config`).then((r) => r.json()) as { file?: unknown }).file).toBeUndefined()
  })

  test('list, search, rename; delete removes the blob and the row', async () => {
    const listed = await get(bob.token, `${FILES}/`).then((r) => r.json()) as FileBody[]
    expect(listed.length).toBe(stored.length)
    const found = await get(bob.token, `${FILES}/search?filename=*.md`).then((r) => r.json()) as FileBody[]
    expect(found.map((file) => file.filename)).toEqual(['readme.md'])
    const target = stored.at(-1)!
    const renamed = await get(bob.token, `${FILES}/${target.id}/rename`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ filename: 'renamed.txt' }) })
    expect((await renamed.json() as FileBody).filename).toBe('renamed.txt')
    const blobs = blobCount()
    expect((await get(bob.token, `${FILES}/${target.id}`, { method: 'DELETE' }).then((r) => r.json()))).toEqual({ message: 'File deleted successfully' })
    expect(blobCount()).toBe(blobs - 1)
    expect(readdirSync(join(dataDir, 'files'))).not.toContain(target.id)
    expect(countStoredRows(binary.cwd, 'file', 'id = ?', target.id)).toBe(0)
    expect((await get(bob.token, `${FILES}/${target.id}`)).status).toBe(404)
  })

  test('a blob altered on disk is refused with file_damaged before any byte is served', async () => {
    const id = await upload(bob.token, 'fragile.txt', Buffer.from('fragile text '.repeat(100))).then((r) => r.json()).then((file) => (file as FileBody).id)
    const path = join(dataDir, 'files', id)
    const bytes = readFileSync(path)
    bytes[bytes.length - 20]! ^= 1
    writeFileSync(path, bytes)
    const res = await get(bob.token, `${FILES}/${id}/content`)
    expect(res.status).toBe(500)
    expect(await res.json()).toEqual({ code: 'file_damaged', detail: 'The stored file is damaged: it failed its integrity check, so it is not served.' })
    expect((await get(bob.token, `${FILES}/${id}`, { method: 'DELETE' })).status).toBe(200)
  })

  test('the files directory is 0700 and each blob 0600, named by its random id', () => {
    expect(statSync(join(dataDir, 'files')).mode & 0o777).toBe(0o700)
    for (const name of readdirSync(join(dataDir, 'files'))) {
      expect(name).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/)
      expect(statSync(join(dataDir, 'files', name)).mode & 0o777).toBe(0o600)
    }
  })

  test('no file name or content is readable anywhere in DATA_DIR', () => {
    const paths = [
      ...readdirSync(dataDir).filter((name) => name.startsWith('enclave.db')).map((name) => join(dataDir, name)),
      ...readdirSync(join(dataDir, 'files')).map((name) => join(dataDir, 'files', name)),
    ]
    expect(paths.length).toBeGreaterThan(5)
    const pngBody = makePng(16, 16).subarray(40, 80)
    for (const path of paths) {
      const bytes = readFileSync(path)
      for (const marker of [Buffer.from(NAME_MARKER), Buffer.from(TEXT_MARKER), Buffer.from('plain notes'), pngBody]) expect([path, bytes.indexOf(marker)]).toEqual([path, -1])
    }
    expect(docx.indexOf(Buffer.from('[Content_Types].xml'))).toBeGreaterThanOrEqual(0)
  })
})
