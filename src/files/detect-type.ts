/**
 * What an upload is, decided from its first bytes: never from its name or the client's header. A
 * binary format is recognised by its signature (the `file-type` package, whose ZIP probing is bounded
 * to 1 MB per entry); anything else must read as UTF-8 text. Threat: a file that a browser would run
 * (HTML, SVG with a script) or a user's machine would execute, uploaded to be served from this
 * origin. So only the formats below are stored; executables, archives (other than the DOCX, XLSX and
 * PPTX containers), SVG and unknown binaries are refused with a sentence that says why; HTML is kept
 * as a document but only ever served as plain text, as an attachment (see servedContentType).
 * The name only picks among text types that are served alike (Markdown, CSV), never the safety.
 * `file-type` is imported at the first upload, so a start does not load it.
 */

/** How many leading bytes detection reads. */
export const DETECTION_HEAD_BYTES = 128 * 1024

export type FileKind = 'image' | 'document' | 'text'
export type DetectedType = { ok: true; contentType: string; kind: FileKind } | { ok: false; reason: 'file_type_refused' | 'file_type_unknown'; message: string }

/** Images a vision model reads. */
export const IMAGE_TYPES: ReadonlySet<string> = new Set(['image/png', 'image/jpeg', 'image/gif', 'image/webp'])

const DOCUMENT_TYPES: ReadonlySet<string> = new Set([
  'application/pdf',
  'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
  'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
  'application/vnd.openxmlformats-officedocument.presentationml.presentation',
])

const EXECUTABLE_TYPES: ReadonlySet<string> = new Set([
  'application/x-elf', 'application/x-msdownload', 'application/x-mach-binary', 'application/x-executable', 'application/vnd.microsoft.portable-executable',
  'application/x-sharedlib', 'application/x-dosexec', 'application/wasm', 'application/java-vm', 'application/x-msi', 'application/vnd.android.package-archive',
])

const refused = (message: string): DetectedType => ({ ok: false, reason: 'file_type_refused', message })

/** Decides the type of a file from `head` (its first DETECTION_HEAD_BYTES, or all of it when shorter); `name` only tells Markdown and CSV from plain text. */
export async function detectFileType(head: Uint8Array, name: string): Promise<DetectedType> {
  if (head.length === 0) return { ok: false, reason: 'file_type_unknown', message: 'The file is empty.' }
  const found = await detectBinary(head)
  if (found !== null) {
    if (IMAGE_TYPES.has(found)) return { ok: true, contentType: found, kind: 'image' }
    if (DOCUMENT_TYPES.has(found)) return { ok: true, contentType: found, kind: 'document' }
    if (EXECUTABLE_TYPES.has(found)) return refused('Executable files are not accepted.')
    if (found === 'application/zip' || /zip|compressed|tar|rar|7z|gzip|bzip|xz|zstd|lz|archive|cab/.test(found)) {
      return refused('Archives are not accepted (only DOCX, XLSX and PPTX documents, which are ZIP containers).')
    }
    if (found.startsWith('image/')) return refused(`${found} images are not accepted: upload PNG, JPEG, GIF or WebP.`)
    return refused(`Files of type ${found} are not accepted: upload images (PNG, JPEG, GIF, WebP), PDF, DOCX, XLSX, PPTX or text.`)
  }
  const text = readAsText(head)
  if (text === null) return { ok: false, reason: 'file_type_unknown', message: 'The file\'s type could not be recognised: upload images (PNG, JPEG, GIF, WebP), PDF, DOCX, XLSX, PPTX or UTF-8 text.' }
  return classifyText(text, name)
}

async function detectBinary(head: Uint8Array): Promise<string | null> {
  const { fileTypeFromBuffer } = await import('file-type')
  try {
    return (await fileTypeFromBuffer(head))?.mime ?? null
  } catch {
    // note: a damaged container (a ZIP entry past file-type's bounds) is refused as unknown, not guessed.
    return 'application/octet-stream'
  }
}

/** The text of `head` when it is UTF-8 without NUL or other binary control bytes, else null. */
function readAsText(head: Uint8Array): string | null {
  let text: string
  try {
    // note: stream mode lets a multi-byte character cut at the end of the head pass.
    text = new TextDecoder('utf-8', { fatal: true }).decode(head, { stream: true })
  } catch {
    return null
  }
  // Tab, line feed, form feed and carriage return are text; other C0 controls and DEL are binary.
  return /[\x00-\x08\x0b\x0e-\x1f\x7f]/.test(text) ? null : text.replace(/^\uFEFF/, '')
}

function classifyText(text: string, name: string): DetectedType {
  const start = text.trimStart().slice(0, 2048).toLowerCase()
  const markup = start.replace(/^<\?xml[^>]*>\s*/, '').replace(/^(<!--[\s\S]*?-->\s*)*/, '')
  if (markup.startsWith('<svg') || (markup.startsWith('<!doctype svg')) || /<svg[\s>]/.test(start)) {
    return refused('SVG images are not accepted: they can carry scripts. Upload PNG, JPEG, GIF or WebP.')
  }
  if (markup.startsWith('<!doctype html') || markup.startsWith('<html') || /<(script|iframe|object|embed)[\s>]/.test(start)) {
    return { ok: true, contentType: 'text/html', kind: 'text' }
  }
  const extension = name.toLowerCase().match(/\.([a-z0-9]+)$/)?.[1] ?? ''
  if ((start.startsWith('{') || start.startsWith('[')) && extension !== 'md') return { ok: true, contentType: 'application/json', kind: 'text' }
  if (extension === 'md' || extension === 'markdown') return { ok: true, contentType: 'text/markdown', kind: 'text' }
  if (extension === 'csv') return { ok: true, contentType: 'text/csv', kind: 'text' }
  return { ok: true, contentType: 'text/plain', kind: 'text' }
}

/**
 * The Content-Type a stored file is served with: images and documents as themselves (a browser
 * renders none of them as a page, and nosniff keeps it from guessing), every text type as plain text.
 */
export function servedContentType(contentType: string): string {
  if (IMAGE_TYPES.has(contentType) || DOCUMENT_TYPES.has(contentType)) return contentType
  if (contentType.startsWith('text/') || contentType === 'application/json') return 'text/plain; charset=utf-8'
  return 'application/octet-stream'
}

/** Whether a stored type is text, whose bytes are its content. */
export const isTextType = (contentType: string) => contentType.startsWith('text/') || contentType === 'application/json'
