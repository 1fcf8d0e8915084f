/**
 * One document's search index in memory: its embeddings as one row-major Float32Array (rows are
 * unit vectors, so a dot product is the cosine similarity) and, with hybrid search, each chunk's
 * term counts for BM25. Search is brute force: for 100,000 rows of 768 dimensions that is 77M
 * multiply-adds, a few tens of milliseconds, with no approximate structure to keep in step.
 */
export type VectorIndex = {
  rows: number
  dimensions: number
  matrix: Float32Array
  /** Null without hybrid search. */
  terms: TermIndex | null
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
