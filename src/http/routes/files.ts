/**
 * Open WebUI's file routes under /api/v1/files, each for the signed-in user's own files only: an id
 * that is malformed, unknown or someone else's (an admin's included: CVE-2026-45402, CVE-2026-28788)
 * is answered 404 alike. An upload is streamed from the multipart body into the encrypted store
 * (src/db/files.ts) as it arrives; its type is detected from its bytes (src/files/detect-type.ts).
 * Content is served as an attachment with nosniff and a sandboxing CSP, text as text/plain, so no
 * uploaded file ever runs as a page of this origin.
 */
import { Elysia, t } from 'elysia'
import { Numeric } from '../numeric-schemas.ts'
import type { AuthDeps } from '../../auth/auth-deps.ts'
import type { FileConfig } from '../../config/file-variables.ts'
import type { AddressList } from '../../config/network.ts'
import { FILE_CHUNK_BYTES, FileChunkError } from '../../crypto/chunk-cipher.ts'
import { parseFileId, type FileId, type FileRepo, type StoredFile } from '../../db/files.ts'
import type { UserId } from '../../db/ids.ts'
import { isTextType, servedContentType } from '../../files/detect-type.ts'
import { cleanFileName } from '../../files/file-name.ts'
import type { Logger } from '../../log/logger.ts'
import { parseByteRange } from '../byte-range.ts'
import { HttpError } from '../http-error.ts'
import { requireAuth } from '../plugins/require-auth.ts'
import { receiveUpload } from './file-upload.ts'
import { requirePermission } from '../permission-gate.ts'

const Params = t.Object({ id: t.String({ maxLength: 128 }) })
const ListQuery = t.Object({ content: t.Optional(t.String({ maxLength: 8 })) })
const SearchQuery = t.Object({
  filename: t.Optional(t.String({ maxLength: 1000 })), content: t.Optional(t.String({ maxLength: 8 })),
  skip: t.Optional(Numeric({ minimum: 0 })), limit: t.Optional(Numeric({ minimum: 1, maximum: 1000 })),
})
const ContentBody = t.Object({ content: t.String({ maxLength: 10 * 1024 * 1024 }) })
const RenameBody = t.Object({ filename: t.String({ minLength: 1, maxLength: 255 }) })

/** The most text /data/content decodes from a text file's bytes when no extracted text is stored. */
const MAX_TEXT_CONTENT_BYTES = 10 * 1024 * 1024

// note: a parse hook that answers stops Elysia from reading the body itself (into memory): the upload handler streams it.
const STREAMED_BODY = Symbol('streamed body')
const seconds = (ms: number) => Math.floor(ms / 1000)
export const fileNotFound = () => new HttpError(404, 'file_not_found', 'File not found.')

/** A file as Open WebUI answers it (FileModelResponse); `withContent` false leaves out the extracted text. */
export const describeFile = (file: StoredFile, withContent = true) => {
  const { content, ...rest } = file.data
  return {
    id: file.id, user_id: file.ownerId, hash: file.hash, filename: file.name,
    data: withContent && content !== undefined ? { ...rest, content } : rest,
    meta: { ...file.meta, name: file.name, content_type: file.contentType, size: file.size },
    created_at: seconds(file.createdAt), updated_at: seconds(file.updatedAt),
  }
}

/** The owner's file named by `raw`; throws 404 when it is malformed, unknown or someone else's. */
export async function ownFile(files: FileRepo, owner: UserId, raw: string): Promise<StoredFile> {
  const id = parseFileId(raw)
  const file = id === null ? null : await files.get(owner, id)
  if (file === null) throw fileNotFound()
  return file
}

/** Content-Disposition for a download (RFC 6266): an ASCII fallback and the exact name in filename*. */
export function attachmentDisposition(name: string): string {
  const fallback = name.replace(/[^\x20-\x7e]/g, '_').replace(/["\\%;]/g, '_').slice(0, 200) || 'file'
  const exact = encodeURIComponent(name).replace(/['()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)
  return `attachment; filename="${fallback}"; filename*=UTF-8''${exact}`
}

/** The signed-in user's files under /api/v1/files. */
export const fileRoutes = (deps: AuthDeps, trustedProxies: AddressList, limits: FileConfig, log: Logger, onUploaded: (owner: UserId, fileId: FileId) => void = () => {}) => {
  const { files } = deps.store
  const wantsContent = (raw: string | undefined) => raw !== 'false'

  return new Elysia({ prefix: '/api/v1/files' })
    .use(requireAuth(deps, trustedProxies))
    // note: Open WebUI's page offers uploads only with chat.file_upload (user.permissions); the route holds to it too.
    .post('/', async ({ principal, request }) => {
      await requirePermission(deps.permissions, principal, 'chat.file_upload')
      const file = await receiveUpload(files, principal.user.id, request, limits)
      // note: a document is then read and embedded in the background (knowledge/rag-deps.ts), as Open WebUI processes uploads.
      onUploaded(principal.user.id, file.id)
      return { status: true, ...describeFile(file) }
    }, { auth: 'active', parse: () => STREAMED_BODY })
    .get('/', async ({ principal, query }) => (await files.list(principal.user.id)).map((file) => describeFile(file, wantsContent(query.content))), { auth: 'active', query: ListQuery })
    .get('/search', async ({ principal, query }) => {
      const pattern = globPattern(query.filename ?? '*')
      const found = (await files.list(principal.user.id)).filter((file) => pattern.test(file.name))
      const skip = query.skip ?? 0
      return found.slice(skip, skip + (query.limit ?? 100)).map((file) => describeFile(file, wantsContent(query.content)))
    }, { auth: 'active', query: SearchQuery })
    .get('/:id', async ({ principal, params }) => describeFile(await ownFile(files, principal.user.id, params.id)), { auth: 'active', params: Params })
    .get('/:id/content', async ({ principal, params, set, headers }) => {
      const file = await ownFile(files, principal.user.id, params.id)
      // note: there is no validator to match an If-Range against, so a conditional range gets the whole file.
      const range = headers['if-range'] === undefined ? parseByteRange(headers.range, file.size) : { kind: 'full' as const }
      set.headers['content-type'] = servedContentType(file.contentType)
      set.headers['content-disposition'] = attachmentDisposition(file.name)
      set.headers['x-content-type-options'] = 'nosniff'
      set.headers['content-security-policy'] = "default-src 'none'; sandbox"
      set.headers['cache-control'] = 'private, no-store'
      set.headers['accept-ranges'] = 'bytes'
      if (range.kind === 'unsatisfiable') {
        set.status = 416
        set.headers['content-range'] = `bytes */${file.size}`
        return new Response(null, { status: 416 })
      }
      if (range.kind === 'full') {
        set.headers['content-length'] = String(file.size)
        return new Response(await openForServing(files, principal.user.id, file, log))
      }
      const fromChunk = Math.floor(range.start / FILE_CHUNK_BYTES)
      const body = await openForServing(files, principal.user.id, file, log, fromChunk)
      set.status = 206
      set.headers['content-range'] = `bytes ${range.start}-${range.end}/${file.size}`
      set.headers['content-length'] = String(range.end - range.start + 1)
      return new Response(sliceStream(body, range.start - fromChunk * FILE_CHUNK_BYTES, range.end - range.start + 1), { status: 206 })
    }, { auth: 'active', params: Params })
    .get('/:id/data/content', async ({ principal, params }) => {
      const file = await ownFile(files, principal.user.id, params.id)
      if (typeof file.data.content === 'string') return { content: file.data.content, status: file.data.status ?? 'completed' }
      if (isTextType(file.contentType) && file.size <= MAX_TEXT_CONTENT_BYTES) {
        const bytes = await files.readBytes(principal.user.id, file.id, MAX_TEXT_CONTENT_BYTES)
        // note: the recorded status while processing is under way (pending, processing), not `completed`:
        // a client polling for the outcome would stop at the first answer.
        return { content: new TextDecoder().decode(bytes ?? new Uint8Array()), status: statusOf(file) }
      }
      const status = typeof file.data.status === 'string' ? file.data.status : 'not_extracted'
      return { content: '', status, detail: isTextType(file.contentType) ? 'The text file is too large to return whole.' : 'No text has been extracted from this file.' }
    }, { auth: 'active', params: Params })
    .post('/:id/data/content/update', async ({ principal, params, body }) => {
      const file = await ownFile(files, principal.user.id, params.id)
      await files.setData(principal.user.id, file.id, { ...file.data, content: body.content })
      return describeFile((await files.get(principal.user.id, file.id))!)
    }, { auth: 'active', params: Params, body: ContentBody })
    .post('/:id/rename', async ({ principal, params, body }) => {
      const file = await ownFile(files, principal.user.id, params.id)
      const name = cleanFileName(body.filename)
      if (!name.ok) throw new HttpError(400, 'invalid_file_name', name.message)
      await files.rename(principal.user.id, file.id, name.name)
      return describeFile((await files.get(principal.user.id, file.id))!)
    }, { auth: 'active', params: Params, body: RenameBody })
    .get('/:id/process/status', async ({ principal, params, query }) => {
      const file = await ownFile(files, principal.user.id, params.id)
      if (query.stream !== 'true') return { status: statusOf(file) }
      return new Response(processStatusEvents(files, principal.user.id, file.id), { headers: { 'content-type': 'text/event-stream', 'cache-control': 'no-store' } })
    }, { auth: 'active', params: Params, query: t.Object({ stream: t.Optional(t.String({ maxLength: 8 })) }) })
    .delete('/:id', async ({ principal, params }) => {
      const file = await ownFile(files, principal.user.id, params.id)
      await files.delete(principal.user.id, file.id)
      return { message: 'File deleted successfully' }
    }, { auth: 'active', params: Params })
}

const statusOf = (file: StoredFile) => (typeof file.data.status === 'string' ? file.data.status : 'completed')
const isSettled = (status: string) => status !== 'pending' && status !== 'processing'

/** Opens the file's first chunk before any header is sent, so a damaged file is a clear 500 rather than a cut download. */
/** `length` bytes of `stream` after its first `skip`; the rest of it is not read. */
function sliceStream(stream: ReadableStream<Uint8Array>, skip: number, length: number): ReadableStream<Uint8Array> {
  const reader = stream.getReader()
  let toSkip = skip
  let left = length
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      while (left > 0) {
        const next = await reader.read()
        if (next.done) break
        let bytes = next.value
        if (toSkip >= bytes.length) {
          toSkip -= bytes.length
          continue
        }
        bytes = bytes.subarray(toSkip, Math.min(bytes.length, toSkip + left))
        toSkip = 0
        left -= bytes.length
        controller.enqueue(bytes)
        if (left > 0) return
      }
      controller.close()
      await reader.cancel()
    },
    cancel: () => reader.cancel(),
  })
}

async function openForServing(files: FileRepo, owner: UserId, file: StoredFile, log: Logger, fromChunk = 0): Promise<ReadableStream<Uint8Array>> {
  const stream = await files.readStream(owner, file.id, fromChunk)
  if (stream === null) throw fileNotFound()
  const reader = stream.getReader()
  let first: Awaited<ReturnType<typeof reader.read>>
  try {
    first = await reader.read()
  } catch (error) {
    throw damaged(error, log)
  }
  return new ReadableStream<Uint8Array>({
    start(controller) {
      if (first.done) controller.close()
      else controller.enqueue(first.value)
    },
    async pull(controller) {
      try {
        const next = await reader.read()
        if (next.done) controller.close()
        else controller.enqueue(next.value)
      } catch (error) {
        // note: the headers are gone; cutting the body makes the client see a failed download, not a short file.
        log.error('A stored file failed its integrity check while being served', { reason: error instanceof FileChunkError ? error.message : 'unknown' })
        controller.error(error)
      }
    },
    cancel: () => reader.cancel(),
  })
}

function damaged(error: unknown, log: Logger): HttpError {
  if (!(error instanceof FileChunkError)) return new HttpError(500, 'internal_error', 'The file could not be read.', { cause: error })
  log.error('A stored file failed its integrity check', { reason: error.message })
  return new HttpError(500, 'file_damaged', 'The stored file is damaged: it failed its integrity check, so it is not served.')
}

/** Server-sent events with the file's processing status until it settles (at most a minute), as Open WebUI's upload waits for. */
function processStatusEvents(files: FileRepo, owner: UserId, id: FileId): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder()
  return new ReadableStream<Uint8Array>({
    async start(controller) {
      for (let attempt = 0; attempt < 120; attempt++) {
        const file = await files.get(owner, id)
        const status = file === null ? 'not_found' : statusOf(file)
        if (isSettled(status) || attempt === 119) {
          const event = file === null ? { status, error: 'File not found.' } : { status, ...(typeof file.data.error === 'string' ? { error: file.data.error } : {}) }
          controller.enqueue(encoder.encode(`data: ${JSON.stringify(event)}\n\n`))
          break
        }
        await Bun.sleep(500)
      }
      controller.close()
    },
  })
}

/** A shell-style pattern (`*` and `?`) as a case-insensitive regular expression over whole names. */
function globPattern(glob: string): RegExp {
  const escaped = glob.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')
  return new RegExp(`^${escaped}$`, 'i')
}
