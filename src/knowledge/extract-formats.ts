/**
 * Reads the text out of one document, inside the extraction worker (extract-worker.ts). Every
 * reader is bounded: pages (a PDF may claim a million), bytes unpacked (a DOCX may be a zip bomb),
 * nesting (JSON and HTML a million levels deep) and characters out. Whatever a reader throws on
 * a malformed file becomes `unreadable`; the worker's wall-clock limit is enforced by its parent.
 */
import { Unzip, UnzipInflate } from 'fflate'
import type { ExtractionLimits } from '../config/rag-variables.ts'
import type { DocumentKind } from './document-kind.ts'

export type ExtractionFailure = 'unsupported' | 'unreadable' | 'too_many_pages' | 'too_large' | 'too_deep' | 'timeout'
export type ExtractionResult = { ok: true; text: string; pages: number | null } | { ok: false; reason: ExtractionFailure }

/** Thrown by a reader that hit a limit; anything else a reader throws means the file is unreadable. */
class LimitReached extends Error {
  constructor(readonly reason: ExtractionFailure) { super(reason) }
}

/** Extracts the text of `bytes` as `kind`, within `limits`. */
export async function extractDocument(bytes: Uint8Array, kind: DocumentKind, limits: ExtractionLimits): Promise<ExtractionResult> {
  try {
    switch (kind) {
      case 'pdf': return await extractPdf(bytes, limits)
      case 'docx': return await extractDocx(bytes, limits)
      case 'html': return { ok: true, text: htmlToText(decodeText(bytes, limits), limits), pages: null }
      case 'json': return { ok: true, text: checkJsonNesting(decodeText(bytes, limits), limits), pages: null }
      case 'text': case 'markdown': case 'csv': return { ok: true, text: decodeText(bytes, limits), pages: null }
    }
  } catch (error) {
    return { ok: false, reason: error instanceof LimitReached ? error.reason : 'unreadable' }
  }
}

const fatalUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false })

function decodeText(bytes: Uint8Array, limits: ExtractionLimits): string {
  // note: a UTF-8 character takes at least one byte, so more bytes than 4x the limit can't fit it.
  if (bytes.length > limits.maxChars * 4) throw new LimitReached('too_large')
  const text = fatalUtf8.decode(bytes)
  if (text.length > limits.maxChars) throw new LimitReached('too_large')
  return text
}

async function extractPdf(bytes: Uint8Array, limits: ExtractionLimits): Promise<ExtractionResult> {
  const { getDocumentProxy } = await import('unpdf')
  // note: pdf.js takes ownership of the buffer it is given, so it gets a copy.
  const pdf = await getDocumentProxy(new Uint8Array(bytes), { stopAtErrors: true })
  try {
    if (pdf.numPages > limits.maxPages) throw new LimitReached('too_many_pages')
    const pages: string[] = []
    let chars = 0
    for (let number = 1; number <= pdf.numPages; number++) {
      const page = await pdf.getPage(number)
      const content = await page.getTextContent()
      const text = content.items.map((item) => ('str' in item ? item.str + (item.hasEOL ? '\n' : '') : '')).join('')
      page.cleanup()
      chars += text.length + 2
      if (chars > limits.maxChars) throw new LimitReached('too_large')
      pages.push(text.trim())
    }
    return { ok: true, text: pages.join('\n\n'), pages: pdf.numPages }
  } finally {
    await pdf.cleanup()
  }
}

async function extractDocx(bytes: Uint8Array, limits: ExtractionLimits): Promise<ExtractionResult> {
  checkZipExpansion(bytes, limits)
  const mammoth = await import('mammoth')
  const { value } = await mammoth.extractRawText({ buffer: Buffer.from(bytes) })
  if (value.length > limits.maxChars) throw new LimitReached('too_large')
  return { ok: true, text: value.trim(), pages: null }
}

/** Unpacks every entry, counting bytes as they come, and stops at the limit: a zip's own sizes may lie. */
function checkZipExpansion(bytes: Uint8Array, limits: ExtractionLimits): void {
  let total = 0
  let entries = 0
  const unzip = new Unzip((file) => {
    if (++entries > 10_000) throw new LimitReached('too_large')
    file.ondata = (error, chunk) => {
      if (error) throw error
      total += chunk.length
      if (total > limits.maxDecompressedBytes) throw new LimitReached('too_large')
    }
    file.start()
  })
  unzip.register(UnzipInflate)
  // note: pushed in slices, so a bomb is stopped after about one slice's worth of output past the limit.
  for (let offset = 0; offset < bytes.length; offset += 64 * 1024) unzip.push(bytes.subarray(offset, offset + 64 * 1024), offset + 64 * 1024 >= bytes.length)
}

/** Refuses JSON nested deeper than the limit (a parser would recurse that deep); returns the text as is. */
function checkJsonNesting(text: string, limits: ExtractionLimits): string {
  let depth = 0
  let inString = false
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (inString) {
      if (c === 92) i++ // backslash: skip the escaped character
      else if (c === 34) inString = false
    } else if (c === 34) inString = true
    else if (c === 123 || c === 91) {
      if (++depth > limits.maxNesting) throw new LimitReached('too_deep')
    } else if (c === 125 || c === 93) depth--
  }
  JSON.parse(text)
  return text
}

const voidElements = new Set(['area', 'base', 'br', 'col', 'embed', 'hr', 'img', 'input', 'link', 'meta', 'param', 'source', 'track', 'wbr'])
const blockElements = /^(p|div|br|li|tr|h[1-6]|section|article|header|footer|blockquote|pre|table|ul|ol|dt|dd|hr)$/
const entities: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: ' ' }

/** The visible text of an HTML page: scripts, styles and comments dropped, tags gone, entities decoded. */
function htmlToText(html: string, limits: ExtractionLimits): string {
  const withoutHidden = html
    .replace(/<!--[\s\S]*?-->/g, '')
    .replace(/<(script|style|noscript|template)\b[\s\S]*?<\/\1\s*>/gi, '')
    .replace(/<(script|style|noscript|template)\b[\s\S]*$/i, '')
  let depth = 0
  const text = withoutHidden.replace(/<(\/?)([A-Za-z][A-Za-z0-9-]*)\b[^>]*?(\/?)>/g, (_, closing: string, name: string, selfClosing: string) => {
    const tag = name.toLowerCase()
    if (!voidElements.has(tag) && selfClosing === '') {
      depth += closing === '' ? 1 : -1
      if (depth > limits.maxNesting) throw new LimitReached('too_deep')
    }
    return blockElements.test(tag) ? '\n' : ''
  }).replace(/<[^>]*>/g, '')
  return text
    .replace(/&(#x[0-9a-f]{1,6}|#\d{1,7}|[a-z]{2,6});/gi, (whole, code: string) => decodeEntity(whole, code))
    .replace(/[ \t\r\f\v]+/g, ' ')
    .replace(/\n\s*\n+/g, '\n\n')
    .trim()
}

function decodeEntity(whole: string, code: string): string {
  if (code[0] !== '#') return entities[code.toLowerCase()] ?? whole
  const point = code[1] === 'x' || code[1] === 'X' ? Number.parseInt(code.slice(2), 16) : Number(code.slice(1))
  return point > 0 && point <= 0x10ffff ? String.fromCodePoint(point) : whole
}
