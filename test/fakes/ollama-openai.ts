/**
 * The Ollama stand-in's OpenAI-compatible API (/v1/*), as Ollama documents it
 * (https://docs.ollama.com/api/openai-compatibility, github.com/ollama/ollama/blob/main/openai/openai.go):
 * Ollama turns each request into its own /api/chat, /api/generate or /api/embed and the answer back,
 * so this does the same with the stand-in's deterministic replies. Errors are
 * `{ "error": { "message", "type", "param", "code" } }`.
 */
import { chatReply, embedReply, generateReply, type FakeMessage, type FakeModel } from './ollama-replies.ts'

type Json = Record<string, unknown>
const isJson = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value)

/** An error as Ollama's /v1 writes it. */
export function openAiError(status: number, message: string, type = 'invalid_request_error'): Response {
  return Response.json({ error: { message, type, param: null, code: null } }, { status })
}

/** GET /v1/models: `created` is the modification time in seconds, `owned_by` is `library`. */
export function listV1Models(models: readonly FakeModel[]): Json {
  return { object: 'list', data: models.map((model) => ({ id: model.name, object: 'model', created: Math.floor(Date.parse(model.modified_at) / 1000), owned_by: 'library' })) }
}

/** OpenAI messages as Ollama takes them: text parts joined, tool results kept. */
function messagesOf(value: unknown): FakeMessage[] {
  if (!Array.isArray(value)) return []
  return value.filter(isJson).map((message) => {
    const content = typeof message.content === 'string' ? message.content
      : Array.isArray(message.content) ? message.content.filter(isJson).map((part) => (typeof part.text === 'string' ? part.text : '')).join('\n') : ''
    return { role: String(message.role), content }
  })
}

/** `response_format` as Ollama's `format`. */
function formatOf(body: Json): unknown {
  const format = isJson(body.response_format) ? body.response_format : null
  if (format?.type === 'json_object') return 'json'
  if (format?.type === 'json_schema' && isJson(format.json_schema)) return format.json_schema.schema ?? 'json'
  return undefined
}

const usage = (final: Json) => {
  const prompt = Number(final.prompt_eval_count ?? 0)
  const completion = Number(final.eval_count ?? 0)
  return { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion }
}

/** Ollama's calls in OpenAI's shape: ids `call_<n>`, arguments as a JSON string. */
function toolCallsOf(message: Json, withIndex: boolean): Json[] | null {
  if (!Array.isArray(message.tool_calls)) return null
  return message.tool_calls.filter(isJson).map((call, index) => {
    const fn = isJson(call.function) ? call.function : {}
    return { ...(withIndex ? { index } : {}), id: `call_${index}`, type: 'function', function: { name: fn.name, arguments: JSON.stringify(fn.arguments ?? {}) } }
  })
}

/** A streamed answer: the Server-Sent Events to write, each a `data:` line, the last one `[DONE]`. */
export type SseEvents = { sse: string[] }

function sse(events: Json[]): SseEvents {
  return { sse: [...events.map((event) => `data: ${JSON.stringify(event)}\n\n`), 'data: [DONE]\n\n'] }
}

/** POST /v1/chat/completions for a model the stand-in has. */
export function v1ChatCompletion(model: string, body: Json, chunkCount: number | null): Response | SseEvents {
  const isStreamed = body.stream === true
  const tools = Array.isArray(body.tools) ? body.tools : undefined
  const format = formatOf(body)
  const lines = chatReply(model, messagesOf(body.messages), chunkCount, isStreamed, null, { ...(tools ? { tools } : {}), ...(format === undefined ? {} : { format }) })
  const head = { id: `chatcmpl-${Math.floor(Math.random() * 1000)}`, created: Math.floor(Date.now() / 1000), model, system_fingerprint: 'fp_ollama' }
  const final = lines.at(-1)!
  const calls = lines.flatMap((line) => (isJson(line.message) ? toolCallsOf(line.message, isStreamed) ?? [] : []))
  const finish = calls.length > 0 ? 'tool_calls' : 'stop'
  if (!isStreamed) {
    const message = final.message as Json
    return Response.json({
      ...head, object: 'chat.completion',
      choices: [{ index: 0, message: { role: 'assistant', content: message.content, ...(calls.length > 0 ? { tool_calls: calls } : {}) }, finish_reason: finish }],
      usage: usage(final),
    })
  }
  const chunk = (delta: Json, finishReason: string | null) => ({ ...head, object: 'chat.completion.chunk', choices: [{ index: 0, delta, finish_reason: finishReason }] })
  const events = lines.filter((line) => line.done !== true).map((line) => {
    const message = line.message as Json
    const lineCalls = toolCallsOf(message, true)
    return chunk({ role: 'assistant', content: message.content, ...(lineCalls ? { tool_calls: lineCalls } : {}) }, null)
  })
  const withUsage = isJson(body.stream_options) && body.stream_options.include_usage === true
  return sse([...events, chunk({ role: 'assistant', content: '' }, finish), ...(withUsage ? [{ ...head, object: 'chat.completion.chunk', choices: [], usage: usage(final) }] : [])])
}

/** POST /v1/completions for a model the stand-in has. */
export function v1Completion(model: string, body: Json): Response | SseEvents {
  const prompt = typeof body.prompt === 'string' ? body.prompt : ''
  const isStreamed = body.stream === true
  const lines = generateReply(model, prompt, null, isStreamed)
  const head = { id: `cmpl-${Math.floor(Math.random() * 1000)}`, created: Math.floor(Date.now() / 1000), model, system_fingerprint: 'fp_ollama' }
  const final = lines.at(-1)!
  if (!isStreamed) return Response.json({ ...head, object: 'text_completion', choices: [{ text: final.response, index: 0, finish_reason: 'stop' }], usage: usage(final) })
  return sse(lines.map((line) => ({ ...head, object: 'text_completion', choices: [{ text: line.response, index: 0, finish_reason: line.done === true ? 'stop' : null }] })))
}

/** POST /v1/embeddings; `encoding_format: "base64"` packs little-endian float32, as OpenAI does. */
export function v1Embeddings(model: string, body: Json): Response {
  const input = typeof body.input === 'string' ? [body.input] : Array.isArray(body.input) ? body.input.map(String) : []
  if (input.length === 0) return openAiError(400, 'invalid input')
  const answer = embedReply(model, input)
  const tokens = Number(answer.prompt_eval_count)
  const encode = body.encoding_format === 'base64' ? (vector: number[]) => Buffer.from(new Float32Array(vector).buffer).toString('base64') : (vector: number[]) => vector
  return Response.json({
    object: 'list', data: (answer.embeddings as number[][]).map((embedding, index) => ({ object: 'embedding', embedding: encode(embedding), index })),
    model, usage: { prompt_tokens: tokens, total_tokens: tokens },
  })
}
