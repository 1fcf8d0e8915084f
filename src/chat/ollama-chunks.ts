/**
 * Ollama's answers, checked field by field and turned into our types (camelCase, units in names).
 * Shapes are those of https://github.com/ollama/ollama/blob/main/docs/api.md and
 * https://docs.ollama.com/api. A required field that is missing or of the wrong type is
 * `bad_response`; Ollama's `{ "error": "..." }` line is `ollama_error`. Unknown fields are ignored.
 */
import { OllamaError } from './ollama-error.ts'

/** Ollama's statistics for one answer; durations in nanoseconds, counts in tokens, `null` when absent. */
export type ChatStats = {
  totalDurationNs: number | null
  loadDurationNs: number | null
  promptEvalCount: number | null
  promptEvalDurationNs: number | null
  evalCount: number | null
  evalDurationNs: number | null
}

/** A function the model asks to have called; `arguments` is an object, as Ollama sends it (not a JSON string); `id` only from Ollama versions that send one. */
export type ToolCall = { name: string; arguments: Record<string, unknown>; id?: string }

/** `model` and `created_at` are checked on every chunk but not kept: nothing reads them. `toolCalls` is absent on text chunks. */
type ChunkBase = { content: string; thinking: string | null; toolCalls?: ToolCall[] }

/** A piece of the assistant's message; the final chunk (`done: true`) carries the statistics. */
export type ChatChunk =
  | (ChunkBase & { done: false })
  | (ChunkBase & { done: true; doneReason: string | null; stats: ChatStats })

/** One line of pull progress; byte counts are `null` when Ollama leaves them out. */
export type PullProgress = { status: string; digest: string | null; totalBytes: number | null; completedBytes: number | null }

/** An installed model, as /api/tags lists it; `sizeBytes` is its size on disk. */
export type OllamaModel = {
  name: string
  model: string
  modifiedAt: string
  sizeBytes: number
  digest: string
  details: {
    parentModel: string | null
    format: string | null
    family: string | null
    families: string[]
    parameterSize: string | null
    quantizationLevel: string | null
  }
}

/** Checks one /api/chat line. */
export function toChatChunk(value: unknown): ChatChunk {
  const chunk = fieldsOf(value, 'chat chunk')
  const done = chunk.required('done', isBoolean)
  chunk.required('model', isString)
  chunk.required('created_at', isString)
  // note: older Ollama versions leave `message` out of the final chunk (docs/api.md, "Final response")
  const rawMessage = done ? chunk.optional('message', isRecord) : chunk.required('message', isRecord)
  const message = rawMessage === null ? null : fieldsOf(rawMessage, 'chat message')
  message?.required('role', isString)
  const content = message?.required('content', isString) ?? ''
  const thinking = message?.optional('thinking', isString) ?? null
  const rawCalls = message?.optional('tool_calls', isArray) ?? null
  const calls = rawCalls === null || rawCalls.length === 0 ? {} : { toolCalls: rawCalls.map(toToolCall) }
  if (!done) return { done, content, thinking, ...calls }
  return {
    done, content, thinking, ...calls,
    doneReason: chunk.optional('done_reason', isString),
    stats: {
      totalDurationNs: chunk.optional('total_duration', isCount),
      loadDurationNs: chunk.optional('load_duration', isCount),
      promptEvalCount: chunk.optional('prompt_eval_count', isCount),
      promptEvalDurationNs: chunk.optional('prompt_eval_duration', isCount),
      evalCount: chunk.optional('eval_count', isCount),
      evalDurationNs: chunk.optional('eval_duration', isCount),
    },
  }
}

/** Checks one `message.tool_calls` entry: `{ "function": { "name": "...", "arguments": { ... } } }`. */
function toToolCall(value: unknown): ToolCall {
  const call = fieldsOf(value, 'tool call')
  const fn = fieldsOf(call.required('function', isRecord), 'tool call function')
  const id = call.optional('id', isString)
  return { name: fn.required('name', isString), arguments: fn.optional('arguments', isRecord) ?? {}, ...(id === null ? {} : { id }) }
}

/** The vectors /api/embed answers, one per input, and the tokens it read. */
export type Embeddings = { embeddings: number[][]; promptEvalCount: number | null }

/** Checks an /api/embed answer: `{ "embeddings": [[...], ...], "prompt_eval_count": n }`. */
export function toEmbeddings(value: unknown): Embeddings {
  const answer = fieldsOf(value, 'embed answer')
  return { embeddings: answer.required('embeddings', isVectorList), promptEvalCount: answer.optional('prompt_eval_count', isCount) }
}

/** Checks one /api/pull line. */
export function toPullProgress(value: unknown): PullProgress {
  const line = fieldsOf(value, 'pull progress line')
  return {
    status: line.required('status', isString),
    digest: line.optional('digest', isString),
    totalBytes: line.optional('total', isCount),
    completedBytes: line.optional('completed', isCount),
  }
}

/** Checks one /api/tags entry. */
export function toOllamaModel(value: unknown): OllamaModel {
  const entry = fieldsOf(value, 'model list entry')
  const name = entry.required('name', isString)
  const details = fieldsOf(entry.optional('details', isRecord) ?? {}, 'model details')
  return {
    name,
    model: entry.optional('model', isString) ?? name, // note: `model` joined `name` in later versions; older ones send only `name`
    modifiedAt: entry.required('modified_at', isString),
    sizeBytes: entry.required('size', isCount),
    digest: entry.required('digest', isString),
    details: {
      parentModel: details.optional('parent_model', isString),
      format: details.optional('format', isString),
      family: details.optional('family', isString),
      families: details.optional('families', isStringArray) ?? [],
      parameterSize: details.optional('parameter_size', isString),
      quantizationLevel: details.optional('quantization_level', isString),
    },
  }
}

/** Shortens text from Ollama for a message: no control characters, at most `maxChars`. */
export function excerpt(text: string, maxChars = 160): string {
  const flat = text.replace(/[\u0000-\u001f\u007f]+/g, ' ').trim()
  return flat.length <= maxChars ? flat : flat.slice(0, maxChars - 1) + '…'
}

/** Tells whether a parsed JSON value is an object (not null, not an array). */
export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/** Reads fields of `value`, an object; Ollama's error line throws `ollama_error` instead. */
function fieldsOf(value: unknown, what: string): Fields {
  if (!isRecord(value)) throw new OllamaError('bad_response', `Ollama sent a ${what} that is not a JSON object.`)
  if (value.error !== undefined) {
    const said = typeof value.error === 'string' ? `: ${JSON.stringify(excerpt(value.error))}` : '.'
    throw new OllamaError('ollama_error', `Ollama reported an error mid-stream${said}`)
  }
  return new Fields(value, what)
}

/**
 * The checked reads of one object's fields. A class rather than closures: a long answer checks
 * thousands of chunks a second, and methods on a prototype cost one small object per chunk instead
 * of three new functions.
 */
class Fields {
  constructor(private readonly value: Record<string, unknown>, private readonly what: string) {}

  required<T>(key: string, is: (field: unknown) => field is T): T {
    const field = this.value[key]
    if (!is(field)) throw this.wrong(key)
    return field
  }

  optional<T>(key: string, is: (field: unknown) => field is T): T | null {
    const field = this.value[key]
    if (field === undefined || field === null) return null
    if (!is(field)) throw this.wrong(key)
    return field
  }

  private wrong(key: string): OllamaError {
    return new OllamaError('bad_response', `Ollama sent a ${this.what} whose \`${key}\` is missing or of the wrong type.`)
  }
}

const isString = (value: unknown): value is string => typeof value === 'string'
const isBoolean = (value: unknown): value is boolean => typeof value === 'boolean'
const isCount = (value: unknown): value is number => typeof value === 'number' && Number.isSafeInteger(value) && value >= 0
const isArray = (value: unknown): value is unknown[] => Array.isArray(value)
const isVectorList = (value: unknown): value is number[][] =>
  Array.isArray(value) && value.every((vector) => Array.isArray(vector) && vector.every((x) => typeof x === 'number' && Number.isFinite(x)))
const isStringArray = (value: unknown): value is string[] => Array.isArray(value) && value.every(isString)
