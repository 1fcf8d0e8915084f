/**
 * One document's search index in memory: its embeddings as one row-major Float32Array (rows are
 * unit vectors, so a dot product is the cosine similarity) and, with hybrid search, each chunk's
 * term counts for BM25. Search is brute force in two passes: an int8 SIMD scan of every row
 * (int8-scan.ts), then the best few dozen scored exactly in float32, so results and scores are
 * exact while the scan reads a quarter of the bytes. No approximate structure to keep in step.
 */
import type { Int8Scan } from './int8-scan.ts'

export type VectorIndex = {
  rows: number
  dimensions: number
  matrix: Float32Array
  /** Null without hybrid search. */
  terms: TermIndex | null
  /** The quantised first pass; null scores every row exactly (tests). */
  scan: Int8Scan | null
  /** Bytes this index holds, for the memory bound. */
  bytes: number
}

export type TermIndex = { counts: Map<string, number>[]; lengths: Uint32Array; documentFrequency: Map<string, number>; averageLength: number }

export type Hit = { row: number; score: number }

/** Lower-cased words of two or more letters or digits (any script). */
export function tokenize(text: string): string[] {
  return text.toLowerCase().match(/[\p{L}\p{N}]{2,}/gu) ?? []
}

/** Builds the term counts BM25 needs from the chunks' texts. */
export function buildTermIndex(texts: readonly string[]): TermIndex {
  const counts: Map<string, number>[] = []
  const lengths = new Uint32Array(texts.length)
  const documentFrequency = new Map<string, number>()
  texts.forEach((text, row) => {
    const words = tokenize(text)
    const count = new Map<string, number>()
    for (const word of words) count.set(word, (count.get(word) ?? 0) + 1)
    for (const word of count.keys()) documentFrequency.set(word, (documentFrequency.get(word) ?? 0) + 1)
    counts.push(count)
    lengths[row] = words.length
  })
  const averageLength = texts.length === 0 ? 0 : lengths.reduce((sum, length) => sum + length, 0) / texts.length
  return { counts, lengths, documentFrequency, averageLength }
}

/** A rough size of a term index: each distinct term of a chunk costs a map entry. */
export function termIndexBytes(terms: TermIndex): number {
  let entries = 0
  for (const count of terms.counts) entries += count.size
  return entries * 64 + terms.documentFrequency.size * 64 + terms.lengths.byteLength
}

/** The cosine similarity of `query` (a unit vector) with every row. */
export function vectorScores(index: VectorIndex, query: Float32Array): Float32Array {
  const { matrix, rows, dimensions } = index
  const scores = new Float32Array(rows)
  for (let row = 0, offset = 0; row < rows; row++, offset += dimensions) {
    let sum = 0
    for (let i = 0; i < dimensions; i++) sum += matrix[offset + i]! * query[i]!
    scores[row] = sum
  }
  return scores
}

/** BM25 (k1 1.2, b 0.75) of the query's words against every row, scaled so the best row scores 1. */
export function bm25Scores(terms: TermIndex, query: string): Float32Array {
  const rows = terms.counts.length
  const scores = new Float32Array(rows)
  const words = [...new Set(tokenize(query))]
  for (const word of words) {
    const frequency = terms.documentFrequency.get(word) ?? 0
    if (frequency === 0) continue
    const idf = Math.log(1 + (rows - frequency + 0.5) / (frequency + 0.5))
    for (let row = 0; row < rows; row++) {
      const count = terms.counts[row]!.get(word)
      if (count === undefined) continue
      scores[row]! += idf * (count * 2.2) / (count + 1.2 * (0.25 + 0.75 * terms.lengths[row]! / (terms.averageLength || 1)))
    }
  }
  let best = 0
  for (const score of scores) if (score > best) best = score
  if (best > 0) for (let row = 0; row < rows; row++) scores[row]! /= best
  return scores
}

/** The `k` best rows by score, best first. */
export function topK(scores: Float32Array, k: number): Hit[] {
  const hits: Hit[] = []
  for (let row = 0; row < scores.length; row++) {
    const score = scores[row]!
    if (hits.length === k && score <= hits[k - 1]!.score) continue
    let at = hits.length
    while (at > 0 && hits[at - 1]!.score < score) at--
    hits.splice(at, 0, { row, score })
    if (hits.length > k) hits.pop()
  }
  return hits
}

/** Exact cosine similarity of one row with `query`. */
function rowScore(index: VectorIndex, row: number, query: Float32Array): number {
  let sum = 0
  const offset = row * index.dimensions
  for (let i = 0; i < index.dimensions; i++) sum += index.matrix[offset + i]! * query[i]!
  return sum
}

/**
 * The `k` best rows for `query` (a unit vector), best first, with exact scores; with `keyword`
 * (BM25 scores scaled to 0..1) each score is `(1 - weight) * cosine + weight * keyword`.
 */
export function searchIndex(index: VectorIndex, query: Float32Array, k: number, keyword: Float32Array | null = null, weight = 0): Hit[] {
  const blend = (cosine: number, row: number) => (keyword === null ? cosine : (1 - weight) * cosine + weight * keyword[row]!)
  if (index.scan === null) {
    const scores = vectorScores(index, query)
    for (let row = 0; row < scores.length; row++) scores[row] = blend(scores[row]!, row)
    return topK(scores, k)
  }
  const first = index.scan.scan(query)
  if (keyword !== null) for (let row = 0; row < first.length; row++) first[row] = blend(first[row]!, row)
  const candidates = topK(first, Math.max(k * 4, 32))
  return candidates
    .map(({ row }) => ({ row, score: blend(rowScore(index, row, query), row) }))
    .sort((a, b) => b.score - a.score)
    .slice(0, k)
}
