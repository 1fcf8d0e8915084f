/**
 * The extraction worker's entry point: one message in (the document's bytes, its kind and the
 * limits), one result out. It runs in its own thread, so a PDF that makes pdf.js spin or a file that
 * overflows a parser's stack ends this worker, never the server; its parent (extract-text.ts)
 * terminates it at the time limit. Compiled into the binary as a second entry point
 * (scripts/compile-binary.ts).
 */
import type { ExtractionLimits } from '../config/rag-variables.ts'
import type { DocumentKind } from './document-kind.ts'
import { extractDocument } from './extract-formats.ts'

declare const self: Worker

self.onmessage = async (event: MessageEvent<{ bytes: Uint8Array; kind: DocumentKind; limits: ExtractionLimits }>) => {
  const { bytes, kind, limits } = event.data
  const result = await extractDocument(bytes, kind, limits).catch(() => ({ ok: false as const, reason: 'unreadable' as const }))
  self.postMessage(result)
}
