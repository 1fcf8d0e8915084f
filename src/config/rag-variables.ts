import { ConfigError } from './config-error.ts'
import { boolean, byteSize, integerFrom, nonEmptyText, oneOf, type Parser } from './parsers.ts'
import type { Variable } from './variable.ts'
import type { VariableValues } from './variables.ts'

/** Retrieval: how documents are read, cut, embedded and searched, and how the context reaches the prompt. */
export type RagConfig = Readonly<{
  embedding: Readonly<{ engine: 'ollama'; model: string; batchSize: number }>
  chunkSize: number
  chunkOverlap: number
  topK: number
  /** Chunks scoring below this (0 to 1) are left out of the context. */
  relevanceThreshold: number
  /** Null when hybrid search is off; otherwise the weight of BM25 against the vectors (0 to 1). */
  hybrid: Readonly<{ bm25Weight: number }> | null
  template: string
  /** The decrypted vector indexes together: past it the least recently used are dropped. */
  indexMaxBytes: number
  indexIdleMs: number
  extraction: ExtractionLimits
}>

/** Bounds on reading one document, so a hostile file is refused instead of hurting the server. */
export type ExtractionLimits = Readonly<{
  timeoutMs: number
  maxPages: number
  maxDecompressedBytes: number
  maxChars: number
  maxNesting: number
}>

// note: Open WebUI's default text (backend/open_webui/config.py, DEFAULT_RAG_TEMPLATE), word for word.
export const DEFAULT_RAG_TEMPLATE = `### Task:
Respond to the user query using the provided context, incorporating inline citations in the format [id] **only when the <source> tag includes an explicit id attribute** (e.g., <source id="1">).

### Guidelines:
- If you don't know the answer, clearly state that.
- If uncertain, ask the user for clarification.
- Respond in the same language as the user's query.
- If the context is unreadable or of poor quality, inform the user and provide the best possible answer.
- If the answer isn't present in the context but you possess the knowledge, explain this to the user and provide the answer using your own understanding.
- **Only include inline citations using [id] (e.g., [1], [2]) when the <source> tag includes an id attribute.**
- Do not cite if the <source> tag does not contain an id attribute.
- Do not use XML tags in your response.
- Ensure citations are concise and directly related to the information provided.

### Example of Citation:
If the user asks about a specific topic and the information is found in a source with a provided id attribute, the response should include the citation like in the following example:
* "According to the study, the proposed method increases efficiency by 20% [1]."

### Output:
Provide a clear and direct response to the user's query, including inline citations in the format [id] only when the <source> tag with id attribute is present in the context.

<context>
{{CONTEXT}}
</context>
`

/** A decimal number from 0 to 1, such as 0.35. */
const fraction: Parser<number> = (raw) => {
  const value = Number(raw.trim())
  return raw.trim() !== '' && Number.isFinite(value) && value >= 0 && value <= 1 ? value : { expected: 'a number from 0 to 1, such as 0.5' }
}

/** Documents and retrieval. Open WebUI's names, meanings and defaults, except where a doc says otherwise. */
export const ragVariables = {
  RAG_EMBEDDING_ENGINE: {
    parse: oneOf(['ollama'] as const), default: 'ollama',
    doc: 'Where embeddings come from. Only ollama (its /api/embed on OLLAMA_BASE_URL); Open WebUI\'s default, an in-process sentence-transformers model, has no place in one binary.',
  },
  RAG_EMBEDDING_MODEL: {
    parse: nonEmptyText, default: 'nomic-embed-text',
    doc: 'Ollama model that embeds document chunks and questions. Changing it makes existing knowledge unsearchable until re-indexed (reset and add the files again). Open WebUI\'s default is a sentence-transformers name Ollama does not have.',
  },
  RAG_EMBEDDING_BATCH_SIZE: { parse: integerFrom(1, 4096), default: 1, doc: 'Chunks sent to Ollama in one /api/embed request.' },
  CHUNK_SIZE: { parse: integerFrom(50, 100_000), default: 1000, doc: 'Characters in a chunk of a document.' },
  CHUNK_OVERLAP: { parse: integerFrom(0, 50_000), default: 100, doc: 'Characters two neighbouring chunks share; less than CHUNK_SIZE.' },
  RAG_TOP_K: { parse: integerFrom(1, 100), default: 3, doc: 'Chunks put into the prompt for a question.' },
  RAG_RELEVANCE_THRESHOLD: { parse: fraction, default: 0, doc: 'Least relevance (0 to 1) a chunk needs to be used.' },
  ENABLE_RAG_HYBRID_SEARCH: { parse: boolean, default: false, doc: 'Rank chunks by BM25 keyword scores as well as by their vectors.' },
  RAG_HYBRID_BM25_WEIGHT: { parse: fraction, default: 0.5, doc: 'With hybrid search, the weight of the BM25 score against the vector score (0 to 1).' },
  RAG_TEMPLATE: {
    parse: nonEmptyText, default: DEFAULT_RAG_TEMPLATE, show: () => '(Open WebUI\'s default)',
    doc: 'Prompt that carries retrieved context: {{CONTEXT}} stands for the sources, {{QUERY}} for the question. Sent as a system message. Unset uses Open WebUI\'s default text.',
  },
  RAG_INDEX_MAX_MEMORY: {
    parse: byteSize, default: 512 * 1024 ** 2,
    doc: 'Memory the decrypted search indexes may take together; past it the least recently used is dropped (and rebuilt on its next use). Enclave\'s own.',
  },
  RAG_INDEX_IDLE_TIMEOUT: { parse: integerFrom(10, 86_400), default: 600, doc: 'Seconds a decrypted search index stays in memory unused. Enclave\'s own.' },
  RAG_EXTRACT_TIMEOUT: { parse: integerFrom(1, 600), default: 30, doc: 'Seconds reading one document may take before it is refused. Enclave\'s own.' },
  RAG_EXTRACT_MAX_PAGES: { parse: integerFrom(1, 100_000), default: 2000, doc: 'Most pages a PDF may have. Enclave\'s own.' },
  RAG_EXTRACT_MAX_CHARS: { parse: integerFrom(1000, 200_000_000), default: 20_000_000, doc: 'Most characters of text one document may yield. Enclave\'s own.' },
  RAG_EXTRACT_MAX_DECOMPRESSED: {
    parse: byteSize, default: 256 * 1024 ** 2,
    doc: 'Most bytes a DOCX may unpack to (zip bombs are refused). Enclave\'s own.',
  },
} as const satisfies Record<string, Variable<unknown>>

/** Builds the retrieval settings from the parsed variables. */
export function ragConfigFrom(values: VariableValues): RagConfig {
  // note: an overlap as long as the chunk would never advance; Open WebUI's splitter refuses it too.
  if (values.CHUNK_OVERLAP >= values.CHUNK_SIZE) {
    throw new ConfigError([{ variable: 'CHUNK_OVERLAP', value: String(values.CHUNK_OVERLAP), expected: `less than CHUNK_SIZE (${values.CHUNK_SIZE})` }])
  }
  return {
    embedding: { engine: values.RAG_EMBEDDING_ENGINE, model: values.RAG_EMBEDDING_MODEL, batchSize: values.RAG_EMBEDDING_BATCH_SIZE },
    chunkSize: values.CHUNK_SIZE,
    chunkOverlap: values.CHUNK_OVERLAP,
    topK: values.RAG_TOP_K,
    relevanceThreshold: values.RAG_RELEVANCE_THRESHOLD,
    hybrid: values.ENABLE_RAG_HYBRID_SEARCH ? { bm25Weight: values.RAG_HYBRID_BM25_WEIGHT } : null,
    template: values.RAG_TEMPLATE,
    indexMaxBytes: values.RAG_INDEX_MAX_MEMORY,
    indexIdleMs: values.RAG_INDEX_IDLE_TIMEOUT * 1000,
    extraction: {
      timeoutMs: values.RAG_EXTRACT_TIMEOUT * 1000,
      maxPages: values.RAG_EXTRACT_MAX_PAGES,
      maxDecompressedBytes: values.RAG_EXTRACT_MAX_DECOMPRESSED,
      maxChars: values.RAG_EXTRACT_MAX_CHARS,
      maxNesting: 200,
    },
  }
}
