/**
 * A streaming reader of multipart/form-data (RFC 7578), for uploads: parts are handed out one at a
 * time, and a part's body is an async iterable of its bytes as they arrive, so a 100 MB file never
 * sits whole in memory (Bun's request.formData() would buffer it). Threat: a hostile body. Headers
 * are bounded (MAX_HEADER_BYTES a part, MAX_PARTS parts), the whole body is counted against
 * `maxBodyBytes` as it is read, and anything malformed throws MultipartError, which names the problem
 * without echoing the input.
 */
import { releaseChunkBuffer } from '../db/file-blobs.ts'

export class MultipartError extends Error {
  constructor(readonly reason: 'malformed' | 'too_large', message: string) {
    super(message)
    this.name = 'MultipartError'
  }
}

export type MultipartPart = {
  /** The form field's name. */
  name: string
  /** The file name the client sent, as given (decoded, not yet cleaned), or null for a plain field. */
  filename: string | null
  /** The bytes of the part; read it to its end (or stop reading the form) before asking for the next part. */
  body: AsyncIterable<Uint8Array>
}

const MAX_HEADER_BYTES = 8 * 1024
const MAX_PARTS = 32

/** The boundary of a multipart/form-data Content-Type, or null when it is not one. */
export function multipartBoundary(contentType: string | null): string | null {
  if (contentType === null) return null
  const [media, ...params] = contentType.split(';')
  if (media?.trim().toLowerCase() !== 'multipart/form-data') return null
  for (const param of params) {
    const match = /^\s*boundary\s*=\s*(?:"([^"]{1,70})"|([^\s";]{1,70}))\s*$/i.exec(param)
    if (match !== null) return match[1] ?? match[2]!
  }
  return null
}

/**
 * Yields the parts of a multipart body, each body streamed; throws MultipartError on a malformed or
 * oversized body. With `releaseChunks` (a request body, whose chunks are the reader's alone), each
 * chunk read is freed (releaseChunkBuffer) once parsing has moved past it; a part's piece is then
 * valid only until the next piece is asked for, so a reader that keeps pieces copies them.
 */
export async function* readMultipart(stream: ReadableStream<Uint8Array>, boundary: string, maxBodyBytes: number, { releaseChunks = false } = {}): AsyncGenerator<MultipartPart> {
  const reader = stream.getReader()
  const delimiter = Buffer.from(`\r\n--${boundary}`)
  let pending: Buffer = Buffer.from('\r\n') // so the first boundary matches like every later one
  // note: the chunk (or joined copy) `pending` is a view into. A 100 MB upload reads 100 MB of chunks,
  // and how many waited for the collector depended on the heap's history; freed here, they do not.
  let held: Uint8Array | null = null
  let total = 0
  let ended = false

  const pull = async (): Promise<boolean> => {
    if (ended) return false
    const next = await reader.read()
    if (next.done) {
      ended = true
      return false
    }
    total += next.value.byteLength
    if (total > maxBodyBytes) throw new MultipartError('too_large', `The upload is larger than the ${maxBodyBytes} bytes this server accepts.`)
    const before = held
    pending = pending.length === 0 ? Buffer.from(next.value.buffer, next.value.byteOffset, next.value.byteLength) : Buffer.concat([pending, next.value])
    held = pending.buffer === next.value.buffer ? next.value : pending
    if (releaseChunks) {
      if (before !== null) releaseChunkBuffer(before)
      if (held !== next.value) releaseChunkBuffer(next.value) // joined into a copy
    }
    return true
  }
  const malformed = (what: string) => new MultipartError('malformed', `The multipart body is malformed: ${what}.`)

  try {
    // The preamble, up to the first delimiter.
    for (;;) {
      const at = pending.indexOf(delimiter)
      if (at >= 0) {
        pending = pending.subarray(at + delimiter.length)
        break
      }
      if (pending.length > MAX_HEADER_BYTES) throw malformed('no boundary where the form should start')
      if (!(await pull())) throw malformed('no boundary where the form should start')
    }
    for (let parts = 0; ; parts++) {
      while (pending.length < 2) if (!(await pull())) throw malformed('it ends inside a boundary')
      if (pending[0] === 0x2d && pending[1] === 0x2d) return // "--": the closing delimiter
      if (parts >= MAX_PARTS) throw malformed(`more than ${MAX_PARTS} parts`)
      let headerEnd = pending.indexOf('\r\n\r\n')
      while (headerEnd < 0) {
        if (pending.length > MAX_HEADER_BYTES) throw malformed('a part\'s headers are too long')
        if (!(await pull())) throw malformed('it ends inside a part\'s headers')
        headerEnd = pending.indexOf('\r\n\r\n')
      }
      if (headerEnd > MAX_HEADER_BYTES) throw malformed('a part\'s headers are too long')
      // note: the delimiter's own CRLF, then the headers; browsers send names in UTF-8.
      const headers = parseHeaders(pending.subarray(0, headerEnd).toString('utf8'))
      if (headers === null) throw malformed('a part lacks a well-formed form-data Content-Disposition')
      pending = pending.subarray(headerEnd + 4)
      let done = false
      const body = (async function* () {
        for (;;) {
          const at = pending.indexOf(delimiter)
          if (at >= 0) {
            if (at > 0) yield pending.subarray(0, at)
            pending = pending.subarray(at + delimiter.length)
            done = true
            return
          }
          // Everything but a tail that could be the start of the delimiter is body; a tail without a
          // CR cannot be, so then all of it is, and the next read needs no copy to join it.
          const tailStart = Math.max(0, pending.length - (delimiter.length - 1))
          const carriage = pending.indexOf(0x0d, tailStart)
          const safe = carriage === -1 ? pending.length : carriage
          if (safe > 0) {
            const piece = pending.subarray(0, safe)
            pending = pending.subarray(safe)
            yield piece
          }
          if (!(await pull())) throw malformed('it ends inside a part')
        }
      })()
      yield { ...headers, body }
      // A part the caller did not read to its end is skipped.
      if (!done) for await (const _ of body) { /* skip */ }
    }
  } finally {
    await reader.cancel().catch(() => {})
  }
}

/** Reads a part that must be short (a form field) as text; throws MultipartError past `maxBytes`. */
export async function readPartText(part: MultipartPart, maxBytes: number): Promise<string> {
  const pieces: Uint8Array[] = []
  let total = 0
  for await (const piece of part.body) {
    total += piece.byteLength
    if (total > maxBytes) throw new MultipartError('too_large', `The form field ${part.name} is longer than ${maxBytes} bytes.`)
    pieces.push(Buffer.from(piece))
  }
  return Buffer.concat(pieces).toString('utf8')
}

function parseHeaders(block: string): { name: string; filename: string | null } | null {
  for (const line of block.split('\r\n')) {
    const colon = line.indexOf(':')
    if (colon < 0 || line.slice(0, colon).trim().toLowerCase() !== 'content-disposition') continue
    const value = line.slice(colon + 1)
    if (value.split(';')[0]!.trim().toLowerCase() !== 'form-data') return null
    // note: a quote left open (a name with a line break sent raw) would let the next header line into the name.
    if ((value.replace(/\\./g, '').match(/"/g)?.length ?? 0) % 2 === 1) return null
    const params = new Map<string, string>()
    for (const match of value.matchAll(/;\s*([^=\s;]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^;]*))/g)) {
      params.set(match[1]!.toLowerCase(), match[2] !== undefined ? match[2].replace(/\\(.)/g, '$1') : match[3]!.trim())
    }
    const name = params.get('name')
    if (name === undefined) return null
    const extended = params.get('filename*')
    const filename = extended !== undefined ? decodeExtended(extended) : params.get('filename') ?? null
    return { name, filename }
  }
  return null
}

/** RFC 5987's `UTF-8''percent-encoded` value, or null when it is not one. */
function decodeExtended(value: string): string | null {
  const match = /^utf-8'[^']*'(.*)$/i.exec(value)
  if (match === null) return null
  try {
    return decodeURIComponent(match[1]!)
  } catch {
    return null
  }
}
