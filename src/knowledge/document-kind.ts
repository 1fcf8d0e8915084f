/**
 * Which reader a document needs, decided from its bytes first (a PDF or a zip says so in its first
 * bytes) and from its name or media type only among text formats, which have no signature. A file
 * claiming to be text that is not valid UTF-8 is refused rather than read as noise.
 */
export type DocumentKind = 'text' | 'markdown' | 'html' | 'csv' | 'json' | 'pdf' | 'docx'

const textKinds: Record<string, DocumentKind> = {
  txt: 'text', text: 'text', log: 'text', md: 'markdown', markdown: 'markdown', html: 'html', htm: 'html',
  csv: 'csv', tsv: 'csv', json: 'json',
}

const mediaKinds: Record<string, DocumentKind> = {
  'text/plain': 'text', 'text/markdown': 'markdown', 'text/x-markdown': 'markdown', 'text/html': 'html',
  'text/csv': 'csv', 'text/tab-separated-values': 'csv', 'application/json': 'json',
}

/** The kind of a document, or null when Enclave cannot read it (images, archives, binaries). */
export function detectDocumentKind(bytes: Uint8Array, name: string, mediaType: string | null): DocumentKind | null {
  if (startsWith(bytes, '%PDF-')) return 'pdf'
  if (startsWith(bytes, 'PK\x03\x04')) return isDocxName(name, mediaType) ? 'docx' : null
  if (bytes.includes(0)) return null
  const extension = /\.([A-Za-z0-9]{1,10})$/.exec(name)?.[1]?.toLowerCase() ?? ''
  return textKinds[extension] ?? mediaKinds[(mediaType ?? '').split(';')[0]!.trim().toLowerCase()] ?? 'text'
}

function isDocxName(name: string, mediaType: string | null): boolean {
  return /\.docx$/i.test(name) || mediaType === 'application/vnd.openxmlformats-officedocument.wordprocessingml.document'
}

function startsWith(bytes: Uint8Array, signature: string): boolean {
  if (bytes.length < signature.length) return false
  for (let i = 0; i < signature.length; i++) if (bytes[i] !== signature.charCodeAt(i)) return false
  return true
}

/** Whether a file of this (detected) media type is a document retrieval reads: text or JSON, PDF or DOCX. */
export function isDocumentMediaType(mediaType: string): boolean {
  return mediaType.startsWith('text/') || mediaType === 'application/json' || mediaType === 'application/pdf' || mediaType === 'application/vnd.openxmlformats-officedocument.wordprocessingml.document'
}
