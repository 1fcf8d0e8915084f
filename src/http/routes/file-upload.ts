/**
 * Receives one upload: a multipart/form-data body with a `file` part (and optionally Open WebUI's
 * `metadata` JSON field), read as a stream. The first bytes decide the type (src/files/detect-type.ts)
 * before anything is stored; the rest goes straight into the encrypted store, counted against the
 * size limit and the user's quota as it arrives. A refusal at any point leaves nothing behind.
 */
import type { FileConfig } from '../../config/file-variables.ts'
import type { FileRepo, StoredFile } from '../../db/files.ts'
import type { UserId } from '../../db/ids.ts'
import { MAX_JSON_NESTING, nestsDeeperThan } from '../../db/json-nesting.ts'
import { cleanFileName } from '../../files/file-name.ts'
import { detectFileType, DETECTION_HEAD_BYTES } from '../../files/detect-type.ts'
import { HttpError } from '../http-error.ts'
import { MultipartError, multipartBoundary, readMultipart, readPartText, type MultipartPart } from '../multipart-stream.ts'

/** Room for the multipart framing and small fields around the file itself. */
export const UPLOAD_OVERHEAD_BYTES = 1024 * 1024
const MAX_METADATA_BYTES = 64 * 1024

/** Stores the upload in `request` as a new file of the owner's, or throws the HttpError that says why not. */
export async function receiveUpload(files: FileRepo, owner: UserId, request: Request, limits: FileConfig): Promise<StoredFile> {
  const boundary = multipartBoundary(request.headers.get('content-type'))
  if (boundary === null || request.body === null) throw new HttpError(415, 'unsupported_media_type', 'Send the file as multipart/form-data, in a field named file.')
  if ((await files.usage(owner)).bytes >= limits.userQuotaBytes) throw quotaExceeded(limits)
  let stored: StoredFile | null = null
  let metadata: Record<string, unknown> | null = null
  try {
    // note: the pieces are copied (readHead, readPartText) or written (files.create) before the next is read, as releaseChunks asks.
    for await (const part of readMultipart(request.body, boundary, limits.maxFileBytes + UPLOAD_OVERHEAD_BYTES, { releaseChunks: true })) {
      if (part.name === 'file' && part.filename !== null) {
        if (stored !== null) throw new HttpError(400, 'one_file_per_upload', 'Send one file per upload.')
        stored = await storePart(files, owner, part, limits)
      } else if (part.name === 'metadata') {
        metadata = parseMetadata(await readPartText(part, MAX_METADATA_BYTES))
      }
    }
    if (stored === null) throw new HttpError(400, 'file_missing', 'The form has no file: send it in a field named file.')
    if (metadata !== null) {
      await files.setMeta(owner, stored.id, { ...stored.meta, data: metadata })
      stored = (await files.get(owner, stored.id))!
    }
    return stored
  } catch (error) {
    if (stored !== null) await files.delete(owner, stored.id)
    if (error instanceof MultipartError) {
      throw error.reason === 'too_large' ? tooLarge(limits) : new HttpError(400, 'malformed_upload', error.message)
    }
    throw error
  }
}

async function storePart(files: FileRepo, owner: UserId, part: MultipartPart, limits: FileConfig): Promise<StoredFile> {
  const name = cleanFileName(part.filename!)
  if (!name.ok) throw new HttpError(400, 'invalid_file_name', name.message)
  const iterator = part.body[Symbol.asyncIterator]()
  const head = await readHead(iterator)
  const type = await detectFileType(head, name.name)
  if (!type.ok) throw new HttpError(415, type.reason, type.message)
  const source = (async function* () {
    yield head
    for (let next = await iterator.next(); !next.done; next = await iterator.next()) yield next.value
  })()
  const data = { status: type.kind === 'document' ? 'pending' : 'completed' }
  const created = await files.create(owner, { name: name.name, contentType: type.contentType, data }, source, { maxFileBytes: limits.maxFileBytes, quotaBytes: limits.userQuotaBytes })
  if (!created.ok) throw created.reason === 'file_too_large' ? tooLarge(limits) : quotaExceeded(limits)
  return created.file
}

/** Reads up to DETECTION_HEAD_BYTES from the part, for type detection. */
async function readHead(iterator: AsyncIterator<Uint8Array>): Promise<Uint8Array> {
  const pieces: Uint8Array[] = []
  let total = 0
  while (total < DETECTION_HEAD_BYTES) {
    const next = await iterator.next()
    if (next.done) break
    pieces.push(Buffer.from(next.value))
    total += next.value.byteLength
  }
  return Buffer.concat(pieces)
}

function parseMetadata(text: string): Record<string, unknown> {
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch { /* answered below */ }
  if (value === null) return {}
  if (typeof value !== 'object' || Array.isArray(value)) throw new HttpError(400, 'invalid_metadata', 'The metadata field must be a JSON object.')
  // note: a form field, so body-nesting did not measure it.
  if (nestsDeeperThan(value, MAX_JSON_NESTING)) throw new HttpError(400, 'invalid_metadata', `The metadata field is nested deeper than the ${MAX_JSON_NESTING} levels this server accepts.`)
  return value as Record<string, unknown>
}

const mb = (bytes: number) => Math.round(bytes / (1024 * 1024))
const tooLarge = (limits: FileConfig) => new HttpError(413, 'file_too_large', `The file is larger than the ${mb(limits.maxFileBytes)} MB this server accepts (RAG_FILE_MAX_SIZE).`)
const quotaExceeded = (limits: FileConfig) => new HttpError(413, 'file_quota_exceeded', `Your files would take more than your ${mb(limits.userQuotaBytes)} MB of storage: delete some files first.`)
