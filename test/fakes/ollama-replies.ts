/**
 * What the Ollama stand-in says, field for field as Ollama's API documents it
 * (https://github.com/ollama/ollama/blob/main/docs/api.md, https://docs.ollama.com/api): the model
 * list, /api/show, /api/ps, the chat and generate chunks with their final statistics, pull
 * progress and embeddings. Answers are deterministic: the last user message echoed back, one word
 * per chunk. With `tools`, a user's question gets a call of the first tool (arguments filled from
 * its schema) and a tool's result is answered `The tool said: <result>`. With `format`, the answer
 * is one JSON object: `{"answer": question}` for `"json"`, the schema's properties filled otherwise.
 */
export type FakeModel = {
  name: string
  model: string
  modified_at: string
  size: number
  digest: string
  details: {
    parent_model: string
    format: string
    family: string
    families: string[] | null
    parameter_size: string
    quantization_level: string
  }
  /** What /api/show lists under `capabilities`; absent: `["completion"]`. A model with "vision" reads `images`. */
  capabilities?: string[]
}

export type FakeMessage = { role: string; content: string }
/** What a chat request asks beyond its messages. */
export type FakeChatOptions = { tools?: unknown[]; format?: unknown }

type Json = Record<string, unknown>

/** Two small models with realistic /api/tags entries. */
export const defaultFakeModels: readonly FakeModel[] = [
  {
    name: 'qwen2.5:0.5b',
    model: 'qwen2.5:0.5b',
    modified_at: '2025-01-15T10:21:07.318473922+01:00',
    size: 397821319,
    digest: 'a8b0c51577010a279d933d14c2a8ab4b268079d44c5c8830c0a93900f1827c67',
    details: { parent_model: '', format: 'gguf', family: 'qwen2', families: ['qwen2'], parameter_size: '494.03M', quantization_level: 'Q4_K_M' },
  },
  {
    name: 'llama3.2:1b',
    model: 'llama3.2:1b',
    modified_at: '2024-12-02T18:04:55.930512713+01:00',
    size: 1321098329,
    digest: 'baf6a787fdffd633537aa2eb51cfd54cb93ff08e28040095462bb63daf552878',
    details: { parent_model: '', format: 'gguf', family: 'llama', families: ['llama'], parameter_size: '1.2B', quantization_level: 'Q8_0' },
  },
]

/** Adds Ollama's default tag, so `llama3.2` names `llama3.2:latest`. */
export function fullModelName(name: string): string {
  return name.includes(':') ? name : `${name}:latest`
}

/** The pieces of the answer: the words of `text`, each after the first with its leading space. */
export function answerPieces(text: string, chunkCount: number | null): string[] {
  const words = text.split(/\s+/).filter((word) => word !== '')
  const source = words.length > 0 ? words : ['(silence)']
  const count = chunkCount ?? source.length
  return Array.from({ length: count }, (_, i) => (i === 0 ? '' : ' ') + source[i % source.length])
}

/** The statistics Ollama puts on the final chunk; durations are in nanoseconds. */
export function finalStats(promptText: string, evalCount: number): Json {
  const promptEvalCount = Math.max(1, promptText.split(/\s+/).filter((word) => word !== '').length)
  const stats = {
    load_duration: 1_204_500,
    prompt_eval_count: promptEvalCount,
    prompt_eval_duration: promptEvalCount * 1_000_000,
    eval_count: evalCount,
    eval_duration: evalCount * 20_000_000,
  }
  return { total_duration: stats.load_duration + stats.prompt_eval_duration + stats.eval_duration, ...stats }
}

const now = () => new Date().toISOString()
const isJson = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value)

/** A value of the JSON schema's type, strings being `text`; objects get every property. */
export function valueFor(schema: unknown, text: string): unknown {
  const node = isJson(schema) ? schema : {}
  if (Array.isArray(node.enum) && node.enum.length > 0) return node.enum[0]
  switch (node.type) {
    case 'number': case 'integer': return 1
    case 'boolean': return true
    case 'array': return [valueFor(node.items, text)]
    case 'object': return Object.fromEntries(Object.entries(isJson(node.properties) ? node.properties : {}).map(([key, value]) => [key, valueFor(value, text)]))
    default: return text
  }
}

/** The call of the first tool that a question gets: `{ function: { name, arguments } }`, arguments as an object. */
export function toolCallFor(tools: unknown[], question: string): Json {
  const first = tools.find(isJson)
  const fn = isJson(first?.function) ? first.function : {}
  return { function: { name: typeof fn.name === 'string' ? fn.name : 'tool', arguments: valueFor({ type: 'object', ...(isJson(fn.parameters) ? fn.parameters : {}) }, question) } }
}

/** The answer text: the question echoed, a tool's result acknowledged, or JSON when a format is asked. */
function answerText(messages: FakeMessage[], format: unknown): string {
  const last = messages.at(-1)
  const question = messages.findLast((message) => message.role === 'user')?.content ?? ''
  if (format === 'json') return JSON.stringify({ answer: question })
  if (isJson(format)) return JSON.stringify(valueFor({ type: 'object', ...format }, question))
  return last?.role === 'tool' ? `The tool said: ${last.content}` : question
}

/** /api/chat: the streamed chunks and the final one, or one object when not streamed. */
export function chatReply(model: string, messages: FakeMessage[], chunkCount: number | null, isStreamed: boolean, replyChunks: readonly string[] | null = null, asked: FakeChatOptions = {}): Json[] {
  const assistant = (content: string) => ({ role: 'assistant', content })
  if (messages.length === 0) return [{ model, created_at: now(), message: assistant(''), done_reason: 'load', done: true }]
  const statsFor = (count: number) => finalStats(messages.map((message) => message.content).join(' '), count)
  if (asked.tools !== undefined && asked.tools.length > 0 && messages.at(-1)?.role === 'user') {
    // note: Ollama sends a call whole in one chunk with empty content, then the final chunk (done_reason `stop`).
    const called = { ...assistant(''), tool_calls: [toolCallFor(asked.tools, messages.at(-1)!.content)] }
    if (!isStreamed) return [{ model, created_at: now(), message: called, done_reason: 'stop', done: true, ...statsFor(1) }]
    return [{ model, created_at: now(), message: called, done: false }, { model, created_at: now(), message: assistant(''), done_reason: 'stop', done: true, ...statsFor(1) }]
  }
  const text = answerText(messages, asked.format)
  const pieces = replyChunks !== null ? [...replyChunks] : asked.format !== undefined ? [text] : answerPieces(text, chunkCount)
  const stats = statsFor(pieces.length)
  if (!isStreamed) return [{ model, created_at: now(), message: assistant(pieces.join('')), done_reason: 'stop', done: true, ...stats }]
  return [
    ...pieces.map((piece) => ({ model, created_at: now(), message: assistant(piece), done: false })),
    { model, created_at: now(), message: assistant(''), done_reason: 'stop', done: true, ...stats },
  ]
}

/** A unit vector of 8 dimensions that depends only on `text`. */
export function embeddingOf(text: string): number[] {
  const bytes = new Bun.CryptoHasher('sha256').update(text).digest()
  const raw = Array.from({ length: 8 }, (_, i) => (bytes[i]! - 127.5) / 127.5)
  const norm = Math.hypot(...raw) || 1
  return raw.map((x) => x / norm)
}

/** An embedding model as Ollama lists it: nomic-embed-text (768 dimensions) or all-minilm (384). */
export function embeddingModel(name: 'nomic-embed-text:latest' | 'all-minilm:latest'): FakeModel {
  const isNomic = name.startsWith('nomic')
  return {
    name, model: name, modified_at: '2025-02-03T09:12:44.1123+01:00', size: isNomic ? 274302450 : 45960996,
    digest: isNomic ? '0a109f422b47e3a30ba2b10eca18548e944e8a23073ee3f3e947efcf3c45e59f' : '1b226e2802dbb772b5fc32a58f103ca1804ef7501331012de126ab22f67475ef',
    details: { parent_model: '', format: 'gguf', family: isNomic ? 'nomic-bert' : 'bert', families: [isNomic ? 'nomic-bert' : 'bert'], parameter_size: isNomic ? '137M' : '23M', quantization_level: 'F16' },
  }
}

/** The vector length of an embedding model's family, or null for a chat model. */
export function embeddingDimensions(model: FakeModel): number | null {
  return model.details.family === 'nomic-bert' ? 768 : model.details.family === 'bert' ? 384 : null
}

/**
 * A deterministic stand-in for a real embedding: a bag of words, each lower-cased word hashed to
 * one of `dimensions` slots, normalised to unit length. Texts sharing words score high against
 * each other, so a test can assert which passage a question retrieves.
 */
export function bagOfWordsEmbedding(text: string, dimensions: number): number[] {
  const vector = new Array<number>(dimensions).fill(0)
  for (const word of text.toLowerCase().match(/[\p{L}\p{N}]{2,}/gu) ?? []) {
    const hash = new Bun.CryptoHasher('sha256').update(word).digest()
    vector[hash.readUInt32LE(0) % dimensions]! += 1
  }
  const norm = Math.hypot(...vector) || 1
  return vector.map((x) => x / norm)
}

/** /api/embed: one vector per input, with the statistics Ollama adds; an embedding model's are bags of words. */
export function embedReply(model: string, input: string[], dimensions: number | null = null): Json {
  const tokens = input.reduce((sum, text) => sum + Math.max(1, text.split(/\s+/).filter((word) => word !== '').length), 0)
  const embed = (text: string) => (dimensions === null ? embeddingOf(text) : bagOfWordsEmbedding(text, dimensions))
  return { model, embeddings: input.map(embed), total_duration: 14_143_917, load_duration: 1_019_500, prompt_eval_count: tokens }
}

/** /api/generate: as chat, with `response` text and a `context`. */
export function generateReply(model: string, prompt: string, chunkCount: number | null, isStreamed: boolean): Json[] {
  if (prompt === '') return [{ model, created_at: now(), response: '', done: true }]
  const pieces = answerPieces(prompt, chunkCount)
  const final = { model, created_at: now(), done_reason: 'stop', done: true, context: [1, 2, 3], ...finalStats(prompt, pieces.length) }
  if (!isStreamed) return [{ ...final, response: pieces.join('') }]
  return [...pieces.map((piece) => ({ model, created_at: now(), response: piece, done: false })), { ...final, response: '' }]
}

/** /api/pull progress for one layer of `totalBytes`, ending in `success`. */
export function pullProgress(digest: string, totalBytes: number): Json[] {
  const downloading = (completed: number | null) => ({
    status: `downloading ${digest}`, digest, total: totalBytes, ...(completed === null ? {} : { completed }),
  })
  return [
    { status: 'pulling manifest' },
    downloading(null), // note: "until any of the download is completed, the `completed` key may not be included"
    ...[1, 2, 3, 4].map((quarter) => downloading((totalBytes * quarter) / 4)),
    { status: 'verifying sha256 digest' },
    { status: 'writing manifest' },
    { status: 'removing any unused layers' },
    { status: 'success' },
  ]
}

/** The model a pull of `name` leaves behind. */
export function pulledModel(name: string, totalBytes: number): FakeModel {
  return {
    name, model: name, modified_at: now(), size: totalBytes, digest: layerDigest(name).slice('sha256:'.length),
    details: { parent_model: '', format: 'gguf', family: 'llama', families: ['llama'], parameter_size: '1B', quantization_level: 'Q4_K_M' },
  }
}

/** A stable layer digest for a model name. */
export function layerDigest(name: string): string {
  return 'sha256:' + new Bun.CryptoHasher('sha256').update(name).digest('hex')
}

/** /api/show for a model. */
export function showReply(model: FakeModel): Json {
  return {
    modelfile: `# Modelfile generated by "ollama show"\nFROM ${model.name}\nPARAMETER stop "<|eot_id|>"`,
    parameters: 'stop                           "<|eot_id|>"',
    template: '{{ if .System }}{{ .System }}\n{{ end }}{{ .Prompt }}',
    details: model.details,
    model_info: { 'general.architecture': model.details.family, 'general.file_type': 15, 'general.parameter_count': 494032768, [`${model.details.family}.context_length`]: 32768 },
    capabilities: model.capabilities ?? ['completion'],
    modified_at: model.modified_at,
  }
}

/** A model that reads images, as llava and gemma3 do (add it to a stand-in's models). */
export const visionFakeModel: FakeModel = {
  name: 'llava:7b',
  model: 'llava:7b',
  modified_at: '2025-02-01T09:00:00.000000000+01:00',
  size: 4733363377,
  digest: '8dd30f6b0cb19f555f2c7a7ebda861449ea2cc76bf1f44e262931f45fc81d081',
  details: { parent_model: '', format: 'gguf', family: 'llama', families: ['llama', 'clip'], parameter_size: '7B', quantization_level: 'Q4_0' },
  capabilities: ['completion', 'vision'],
}

/** One /api/ps entry: a loaded model and when it unloads. */
export function runningModel(model: FakeModel): Json {
  const { name, size, digest, details } = model
  return { name, model: model.model, size, digest, details, expires_at: new Date(Date.now() + 5 * 60_000).toISOString(), size_vram: size }
}
