/**
 * Puts retrieved chunks into the prompt as Open WebUI does, and describes them as Open WebUI's
 * `sources`. Context: one `<source id="N" name="...">text</source>` per chunk, N numbering the
 * distinct documents from 1 in order of first appearance, so the model's [N] citations name a
 * document. The template's {{CONTEXT}} (or [context]) takes the context and {{QUERY}} (or [query])
 * the question. Sources: one entry per document with its chunks' texts, metadata and scores, in
 * the order of the ids.
 */
import type { RetrievedChunk } from './retrieval.ts'

/** Open WebUI's `sources` entry: which chunks of which file, with their relevance. */
export type Source = {
  source: { id: string; name: string; type: 'file' }
  document: string[]
  metadata: { file_id: string; name: string; source: string; start_index: number; chunk: number }[]
  distances: number[]
}

const escapeAttribute = (text: string) => text.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;')

/** The retrieved chunks grouped by document, in order of each document's best chunk. */
export function sourcesFrom(chunks: readonly RetrievedChunk[]): Source[] {
  const byDocument = new Map<string, Source>()
  for (const chunk of chunks) {
    const id = chunk.document.fileId ?? chunk.document.id
    let source = byDocument.get(id)
    if (source === undefined) {
      source = { source: { id, name: chunk.document.name, type: 'file' }, document: [], metadata: [], distances: [] }
      byDocument.set(id, source)
    }
    source.document.push(chunk.text)
    source.metadata.push({ file_id: id, name: chunk.document.name, source: chunk.document.name, start_index: chunk.start, chunk: chunk.position })
    source.distances.push(Math.round(chunk.score * 10_000) / 10_000)
  }
  return [...byDocument.values()]
}

/** The `<source>` elements for the sources, numbered from 1. */
export function contextFrom(sources: readonly Source[]): string {
  return sources.flatMap((source, i) => source.document.map((text) =>
    `<source id="${i + 1}" name="${escapeAttribute(source.source.name)}">${text}</source>`)).join('\n')
}

/** Fills Open WebUI's RAG template with the context and the question. */
export function fillRagTemplate(template: string, context: string, query: string): string {
  // note: one pass, so a placeholder written inside a document or the question stays as written.
  return template.replace(/\{\{CONTEXT\}\}|\[context\]|\{\{QUERY\}\}|\[query\]/g, (placeholder) => (/context/i.test(placeholder) ? context : query))
}
