/**
 * Embeddings from Ollama's POST /api/embed (`{ model, input: [...] }` → `{ embeddings: [[...]] }`),
 * sent `batchSize` texts at a time. Vectors come back normalised to unit length, so a dot product
 * is their cosine similarity. Ollama's reply is checked (one vector per text, all of one dimension,
 * finite numbers) before anything is stored.
 */
export type EmbedFailure = 'model_not_found' | 'unreachable' | 'bad_reply'

/** Raised when Ollama cannot embed; the reason is one of a closed list, the cause is for the log. */
export class EmbedError extends Error {
  constructor(readonly reason: EmbedFailure, options?: { cause?: unknown }) {
    super(`Embedding failed: ${reason}`, options)
    this.name = 'EmbedError'
  }
}

export type EmbedderOptions = { baseUrl: string; model: string; batchSize: number; timeoutMs: number; fetch?: typeof fetch }

/** Creates the embedder for one Ollama server and model. */
export function createEmbedder({ baseUrl, model, batchSize, timeoutMs, fetch: fetchFn = fetch }: EmbedderOptions) {
  async function embedBatch(input: readonly string[]): Promise<Float32Array[]> {
    let response: Response
    try {
      response = await fetchFn(`${baseUrl}/api/embed`, {
        method: 'POST', headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model, input, truncate: true }), signal: AbortSignal.timeout(timeoutMs),
      })
    } catch (error) {
      throw new EmbedError('unreachable', { cause: error })
    }
    const reply = await response.json().catch(() => null) as { embeddings?: unknown } | null
    if (response.status === 404) throw new EmbedError('model_not_found')
    if (!response.ok || reply === null || !Array.isArray(reply.embeddings) || reply.embeddings.length !== input.length) throw new EmbedError('bad_reply')
    return reply.embeddings.map((vector) => toUnitVector(vector))
  }

  return {
    model,
    /** Embeds every text in order; `onProgress(done, total)` after each batch. */
    async embed(texts: readonly string[], onProgress: (done: number, total: number) => void = () => {}): Promise<Float32Array[]> {
      const vectors: Float32Array[] = []
      for (let i = 0; i < texts.length; i += batchSize) {
        vectors.push(...await embedBatch(texts.slice(i, i + batchSize)))
        onProgress(Math.min(i + batchSize, texts.length), texts.length)
      }
      if (vectors.some((vector) => vector.length !== vectors[0]!.length)) throw new EmbedError('bad_reply')
      return vectors
    },
  }
}

export type Embedder = ReturnType<typeof createEmbedder>

function toUnitVector(raw: unknown): Float32Array {
  if (!Array.isArray(raw) || raw.length === 0 || raw.length > 65_536) throw new EmbedError('bad_reply')
  const vector = new Float32Array(raw.length)
  let norm = 0
  for (let i = 0; i < raw.length; i++) {
    const value = raw[i]
    if (typeof value !== 'number' || !Number.isFinite(value)) throw new EmbedError('bad_reply')
    vector[i] = value
    norm += value * value
  }
  norm = Math.sqrt(norm)
  if (norm > 0) for (let i = 0; i < vector.length; i++) vector[i]! /= norm
  return vector
}
