/**
 * Documents and retrieval: a 100-page PDF read by the extraction worker and cut into chunks (the
 * embedding of its chunks by the Ollama stand-in timed apart); then 100,000 chunks of 768-dimension
 * embeddings sealed into a file-backed store, the index built cold from them (every embedding
 * opened), a top-8 search timed warm, the index's memory, and the database's size against the
 * plaintext and the raw float32 embeddings it holds. Runs alone with `bun bench/knowledge.ts`.
 */
import { chunkText } from '../src/knowledge/chunk-text.ts'
import { createEmbedder } from '../src/knowledge/embedder.ts'
import { createTextExtractor } from '../src/knowledge/extract-text.ts'
import { createInt8Scan } from '../src/knowledge/int8-scan.ts'
import { searchIndex, type VectorIndex } from '../src/knowledge/vector-index.ts'
import { embeddingModel, startFakeOllama } from '../test/fakes/ollama.ts'
import { makePdf } from '../test/helpers/make-documents.ts'
import { openBenchStore } from './bench-store.ts'
import { median, nowMs } from './measure.ts'
import { formatNumber, type BenchRow } from './report.ts'
import { sampleText } from './sample-text.ts'

const PAGES = 100
const CHUNKS = 100_000
const DIMENSIONS = 768
const CHUNK_CHARS = 1000
const SEARCHES = 30

export type KnowledgeFigures = {
  extractMs: number; chunkMs: number; pdfChunks: number; embedMs: number
  coldBuildMs: number; searchP50Ms: number; indexBytes: number; rssGrowthBytes: number
  databaseBytes: number; plaintextBytes: number
}

/** A unit vector from a seed (deterministic, spread over every dimension). */
function randomUnitVector(seed: number): Float32Array {
  const vector = new Float32Array(DIMENSIONS)
  let state = seed * 2654435761 >>> 0
  let norm = 0
  for (let i = 0; i < DIMENSIONS; i++) {
    state = (Math.imul(state ^ (state >>> 15), 2246822507) + 0x6d2b79f5) >>> 0
    vector[i] = state / 4294967296 - 0.5
    norm += vector[i]! * vector[i]!
  }
  norm = Math.sqrt(norm)
  for (let i = 0; i < DIMENSIONS; i++) vector[i]! /= norm
  return vector
}

export async function measureKnowledge(): Promise<KnowledgeFigures> {
  // 1. a 100-page PDF: extraction in the worker, chunking, then embedding apart.
  const pages = Array.from({ length: PAGES }, (_, page) => Array.from({ length: 40 }, (_, line) => sampleText(80, page * 100 + line)).join('\n'))
  const pdf = makePdf(pages)
  const extractor = createTextExtractor({ timeoutMs: 120_000, maxPages: 10_000, maxDecompressedBytes: 256 * 1024 ** 2, maxChars: 50_000_000, maxNesting: 200 })
  let started = nowMs()
  const extracted = await extractor.extract(pdf, 'pdf')
  const extractMs = nowMs() - started
  if (!extracted.ok || extracted.pages !== PAGES) throw new Error('the benchmark PDF was not read whole')
  started = nowMs()
  const chunks = chunkText(extracted.text, 1000, 100)
  const chunkMs = nowMs() - started
  const ollama = await startFakeOllama({ models: [embeddingModel('nomic-embed-text:latest')] })
  let embedMs = 0
  try {
    const embedder = createEmbedder({ baseUrl: ollama.url, model: 'nomic-embed-text', batchSize: 32, timeoutMs: 60_000 })
    started = nowMs()
    await embedder.embed(chunks.map((chunk) => chunk.text))
    embedMs = nowMs() - started
  } finally {
    await ollama.stop()
  }

  // 2. 100,000 sealed chunks in a file-backed store; the index built cold, then searched warm.
  const bench = await openBenchStore()
  try {
    const { store, owner } = bench
    const texts: string[] = []
    const rows = Array.from({ length: CHUNKS }, (_, i) => {
      const text = sampleText(CHUNK_CHARS, 500_000 + i)
      texts.push(text)
      return { content: { text, start: i * CHUNK_CHARS }, embedding: randomUnitVector(i + 1) }
    })
    const document = await store.ragDocuments.saveDocument(owner, { fileId: null, name: 'bench corpus', model: 'nomic-embed-text', dimensions: DIMENSIONS }, rows)
    rows.length = 0
    store.db.run('PRAGMA wal_checkpoint(TRUNCATE)')
    const databaseBytes = (store.db.query<{ n: number }, []>('SELECT page_count * page_size AS n FROM pragma_page_count(), pragma_page_size()').get()!.n)
    const plaintextBytes = texts.reduce((sum, text) => sum + Buffer.byteLength(text), 0) + CHUNKS * DIMENSIONS * 4
    texts.length = 0
    Bun.gc(true)
    const rssBefore = process.memoryUsage().rss
    started = nowMs()
    const matrix = await store.ragDocuments.readEmbeddings(document)
    const scan = createInt8Scan(matrix, CHUNKS, DIMENSIONS)
    const coldBuildMs = nowMs() - started
    const index: VectorIndex = { rows: CHUNKS, dimensions: DIMENSIONS, matrix, terms: null, scan, bytes: matrix.byteLength + scan.bytes }
    Bun.gc(true)
    const rssGrowthBytes = process.memoryUsage().rss - rssBefore
    const times: number[] = []
    for (let run = 0; run < SEARCHES + 3; run++) {
      const query = randomUnitVector(10_000_000 + run)
      const at = nowMs()
      const hits = searchIndex(index, query, 8)
      if (run >= 3) times.push(nowMs() - at)
      if (hits.length !== 8) throw new Error('a search found fewer than 8 chunks')
    }
    return { extractMs, chunkMs, pdfChunks: chunks.length, embedMs, coldBuildMs, searchP50Ms: median(times), indexBytes: index.bytes, rssGrowthBytes, databaseBytes, plaintextBytes }
  } finally {
    bench.remove()
  }
}

const mb = (bytes: number) => `${formatNumber(bytes / 1024 ** 2, 1)} MB`

/** Rows for the benchmark table: ingestion, search against ≤20 ms, index memory, size against ≤1.2x. */
export function knowledgeRows(figures: KnowledgeFigures): BenchRow[] {
  const ingestMs = figures.extractMs + figures.chunkMs
  const ratio = figures.databaseBytes / figures.plaintextBytes
  return [
    {
      name: `ingest a ${PAGES}-page PDF`,
      figures: [`extract ${formatNumber(figures.extractMs)} ms`, `chunk ${formatNumber(figures.chunkMs, 1)} ms (${figures.pdfChunks} chunks)`, `embedding apart: ${formatNumber(figures.embedMs)} ms (stand-in, batches of 32)`],
      measured: ingestMs, measuredText: `${formatNumber(ingestMs)} ms`,
      target: { kind: 'atMost', limit: 10_000, label: '≤10 s' },
    },
    {
      name: `retrieval top-8 over ${formatNumber(CHUNKS)} chunks × ${DIMENSIONS}`,
      figures: [`${formatNumber(figures.searchP50Ms, 2)} ms p50 warm`, `cold build ${formatNumber(figures.coldBuildMs)} ms (every embedding opened)`],
      measured: figures.searchP50Ms, measuredText: `${formatNumber(figures.searchP50Ms, 2)} ms`,
      target: { kind: 'atMost', limit: 20, label: '≤20 ms' },
    },
    {
      name: `index memory per ${formatNumber(CHUNKS)} chunks`,
      figures: [`${mb(figures.indexBytes)} held (float32 + int8 copy)`, `RSS +${mb(figures.rssGrowthBytes)} on build`],
      measured: figures.indexBytes / 1024 ** 2, measuredText: mb(figures.indexBytes),
      target: { kind: 'atMost', limit: (CHUNKS * DIMENSIONS * 4 * 1.3) / 1024 ** 2, label: '≤1.3x raw float32' },
    },
    {
      name: 'knowledge database size vs plaintext + raw embeddings',
      figures: [`${mb(figures.databaseBytes)} for ${mb(figures.plaintextBytes)}`],
      measured: ratio, measuredText: `${formatNumber(ratio, 3)}x`,
      target: { kind: 'atMost', limit: 1.2, label: '≤1.2x' },
    },
  ]
}

if (import.meta.main) {
  const { formatTable } = await import('./report.ts')
  console.log(formatTable(knowledgeRows(await measureKnowledge())))
}
