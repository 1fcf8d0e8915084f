/**
 * Ingestion and search. Ingestion: detect the kind from the bytes, extract the text in a worker,
 * cut it into chunks, embed them in batches (progress reported per batch), and store the document
 * sealed. Search: embed the question, score it against each document's in-memory index (built from
 * the sealed embeddings on first use), blend in BM25 with hybrid search, keep the `topK` best over
 * the threshold, and open only those chunks' texts.
 */
import type { RagConfig } from '../config/rag-variables.ts'
import type { UserId } from '../db/ids.ts'
import type { RagDocument, RagDocumentRepo } from '../db/rag-documents.ts'
import { chunkText } from './chunk-text.ts'
import { detectDocumentKind } from './document-kind.ts'
import { EmbedError, type Embedder, type EmbedFailure } from './embedder.ts'
import type { ExtractionFailure, TextExtractor } from './extract-text.ts'
import type { IndexCache } from './index-cache.ts'
import { createInt8Scan } from './int8-scan.ts'
import { bm25Scores, buildTermIndex, searchIndex, termIndexBytes, type VectorIndex } from './vector-index.ts'

export type IndexFailure = ExtractionFailure | EmbedFailure | 'empty'
/** `text`: what was extracted, when extraction succeeded and a later step failed. */
export type IndexResult = { ok: true; document: RagDocument; text: string } | { ok: false; reason: IndexFailure; text?: string }

/** Where an ingestion is: extracting, then embedding `done` of `total` chunks. */
export type IngestProgress = { stage: 'extracting' } | { stage: 'embedding'; done: number; total: number }

/** One chunk found for a question. */
export type RetrievedChunk = { document: RagDocument; position: number; text: string; start: number; score: number }

export type RetrievalDeps = { config: RagConfig; documents: RagDocumentRepo; embedder: Embedder; extractor: TextExtractor; cache: IndexCache }

export function createRetrieval({ config, documents, embedder, extractor, cache }: RetrievalDeps) {
  async function indexText(owner: UserId, source: { fileId: string | null; name: string; text: string }, onProgress: (progress: IngestProgress) => void = () => {}): Promise<IndexResult> {
    const chunks = chunkText(source.text, config.chunkSize, config.chunkOverlap)
    if (chunks.length === 0) return { ok: false, reason: 'empty' }
    let vectors: Float32Array[]
    try {
      vectors = await embedder.embed(chunks.map((chunk) => chunk.text), (done, total) => onProgress({ stage: 'embedding', done, total }))
    } catch (error) {
      if (error instanceof EmbedError) return { ok: false, reason: error.reason }
      throw error
    }
    const earlier = source.fileId === null ? null : await documents.findDocumentForFile(owner, source.fileId)
    const document = await documents.saveDocument(owner, { fileId: source.fileId, name: source.name, model: embedder.model, dimensions: vectors[0]!.length },
      chunks.map((content, i) => ({ content, embedding: vectors[i]! })))
    if (earlier !== null) cache.dropDocument(earlier.id)
    return { ok: true, document, text: source.text }
  }

  async function buildIndex(document: RagDocument): Promise<VectorIndex> {
    const matrix = await documents.readEmbeddings(document)
    let terms = null
    if (config.hybrid !== null) {
      const chunks = await documents.readChunks(document)
      const texts = Array.from({ length: document.chunkCount }, (_, position) => chunks[position]?.text ?? '')
      terms = buildTermIndex(texts)
    }
    const scan = createInt8Scan(matrix, document.chunkCount, document.dimensions)
    return { rows: document.chunkCount, dimensions: document.dimensions, matrix, terms, scan, bytes: matrix.byteLength + scan.bytes + (terms === null ? 0 : termIndexBytes(terms)) }
  }

  return {
    indexText,
    /** Reads a file's bytes into text and indexes it; an unknown kind is `unsupported`. Takes `file.bytes`: they move to the extraction worker. */
    async indexFile(owner: UserId, file: { fileId: string; name: string; mediaType: string | null; bytes: Uint8Array }, onProgress: (progress: IngestProgress) => void = () => {}): Promise<IndexResult> {
      const kind = detectDocumentKind(file.bytes, file.name, file.mediaType)
      if (kind === null) return { ok: false, reason: 'unsupported' }
      onProgress({ stage: 'extracting' })
      const extracted = await extractor.extract(file.bytes, kind, { handOver: true })
      if (!extracted.ok) return extracted
      const indexed = await indexText(owner, { fileId: file.fileId, name: file.name, text: extracted.text }, onProgress)
      return indexed.ok ? indexed : { ...indexed, text: extracted.text }
    },
    /**
     * The best chunks of these documents for `query`, best first. Documents embedded with another
     * model than the current one are skipped: their vectors do not compare.
     */
    async search(among: readonly RagDocument[], query: string, k = config.topK): Promise<RetrievedChunk[]> {
      const searchable = among.filter((document) => document.model === embedder.model && document.chunkCount > 0)
      if (searchable.length === 0 || query.trim() === '') return []
      const [vector] = await embedder.embed([query])
      const hits: { document: RagDocument; row: number; score: number }[] = []
      for (const document of searchable) {
        const index = await cache.get(document.userId, document.id, () => buildIndex(document))
        if (index.dimensions !== vector!.length) continue
        const keyword = config.hybrid !== null && index.terms !== null ? bm25Scores(index.terms, query) : null
        for (const hit of searchIndex(index, vector!, k, keyword, config.hybrid?.bm25Weight ?? 0)) hits.push({ document, ...hit })
      }
      const best = hits
        .filter((hit) => hit.score >= config.relevanceThreshold)
        .sort((a, b) => b.score - a.score)
        .slice(0, k)
      const found: RetrievedChunk[] = []
      for (const hit of best) {
        const chunk = await documents.readChunk(hit.document, hit.row)
        if (chunk !== null) found.push({ document: hit.document, position: hit.row, text: chunk.text, start: chunk.start, score: hit.score })
      }
      return found
    },
  }
}

export type Retrieval = ReturnType<typeof createRetrieval>
