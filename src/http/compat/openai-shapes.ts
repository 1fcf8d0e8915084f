/**
 * OpenAI's Chat Completions shapes (https://platform.openai.com/docs/api-reference/chat): the
 * request schema, its mapping to Ollama's /api/chat messages and options, the answer objects, and
 * errors in OpenAI's `{ error: { message, type, code } }` shape.
 */
import { t, type Static } from 'elysia'
import { Integer } from '../numeric-schemas.ts'
import type { ChatMessage, ChatStats, ModelOptions, ToolCall } from '../../chat/ollama-client.ts'
import { MAX_JSON_NESTING, nestsDeeperThan } from '../../db/json-nesting.ts'
import { HttpError } from '../http-error.ts'

const ContentPart = t.Object({
  type: t.String({ maxLength: 40 }),
  text: t.Optional(t.String()),
  image_url: t.Optional(t.Object({ url: t.String() })),
})
/** A call the assistant asked for earlier in the conversation; `arguments` is a JSON string, as OpenAI sends it. */
const ToolCallPart = t.Object({
  id: t.Optional(t.String({ maxLength: 200 })),
  type: t.Optional(t.Literal('function')),
  function: t.Object({ name: t.String({ minLength: 1, maxLength: 200 }), arguments: t.Optional(t.String()) }),
}, { additionalProperties: true })
const Message = t.Object({
  role: t.Union([t.Literal('system'), t.Literal('developer'), t.Literal('user'), t.Literal('assistant'), t.Literal('tool')]),
  content: t.Optional(t.Union([t.String(), t.Array(ContentPart, { maxItems: 256 }), t.Null()])),
  tool_calls: t.Optional(t.Nullable(t.Array(ToolCallPart, { maxItems: 128 }))),
  tool_call_id: t.Optional(t.String({ maxLength: 200 })),
  name: t.Optional(t.String({ maxLength: 200 })),
}, { additionalProperties: true })
const FunctionTool = t.Object({
  type: t.Literal('function'),
  function: t.Object({
    name: t.String({ minLength: 1, maxLength: 200 }),
    description: t.Optional(t.String()),
    parameters: t.Optional(t.Record(t.String(), t.Unknown())),
  }, { additionalProperties: true }),
}, { additionalProperties: true })
const ToolChoice = t.Union([
  t.Literal('none'), t.Literal('auto'), t.Literal('required'),
  t.Object({ type: t.Literal('function'), function: t.Object({ name: t.String({ maxLength: 200 }) }) }),
])
const ResponseFormat = t.Union([
  t.Object({ type: t.Literal('text') }),
  t.Object({ type: t.Literal('json_object') }),
  t.Object({ type: t.Literal('json_schema'), json_schema: t.Object({ name: t.Optional(t.String()), schema: t.Optional(t.Record(t.String(), t.Unknown())), strict: t.Optional(t.Nullable(t.Boolean())) }, { additionalProperties: true }) }),
])

/** The fields of a chat completion request Enclave reads; others are accepted and ignored. */
export const CompletionBody = t.Object({
  model: t.String({ minLength: 1, maxLength: 200 }),
  messages: t.Array(Message, { minItems: 1, maxItems: 10_000 }),
  stream: t.Optional(t.Nullable(t.Boolean())),
  stream_options: t.Optional(t.Nullable(t.Object({ include_usage: t.Optional(t.Boolean()) }))),
  temperature: t.Optional(t.Nullable(t.Number({ minimum: 0, maximum: 2 }))),
  top_p: t.Optional(t.Nullable(t.Number({ minimum: 0, maximum: 1 }))),
  max_tokens: t.Optional(t.Nullable(Integer({ minimum: 1 }))),
  max_completion_tokens: t.Optional(t.Nullable(Integer({ minimum: 1 }))),
  stop: t.Optional(t.Nullable(t.Union([t.String(), t.Array(t.String(), { maxItems: 16 })]))),
  seed: t.Optional(t.Nullable(Integer())),
  frequency_penalty: t.Optional(t.Nullable(t.Number({ minimum: -2, maximum: 2 }))),
  presence_penalty: t.Optional(t.Nullable(t.Number({ minimum: -2, maximum: 2 }))),
  tools: t.Optional(t.Nullable(t.Array(FunctionTool, { maxItems: 128 }))),
  tool_choice: t.Optional(t.Nullable(ToolChoice)),
  response_format: t.Optional(t.Nullable(ResponseFormat)),
}, { additionalProperties: true })
export type CompletionRequest = Static<typeof CompletionBody>

/** A failure answered in OpenAI's error shape, so OpenAI clients raise their typed errors. */
export class OpenAiError extends HttpError {
  constructor(status: number, readonly type: string, code: string, message: string, options?: { cause?: unknown }) {
    super(status, code, message, options)
  }

  override toResponse(): Response {
    return Response.json({ error: { message: this.message, type: this.type, code: this.code } }, { status: this.status })
  }
}

const invalid = (message: string) => new OpenAiError(400, 'invalid_request_error', 'invalid_request', message)

/**
 * Refuses what Enclave can't honour rather than answering as if it had: several choices (`n`),
 * the deprecated `functions`, which would otherwise be dropped and leave a client waiting for a call,
 * and the `features` Open WebUI offers and Enclave does not (web search, image generation, code interpreter).
 */
export function refuseUnsupportedFields(body: Record<string, unknown>): void {
  if (body.n !== undefined && body.n !== null && body.n !== 1) throw invalid('Only one choice per request is supported: leave n out or set it to 1.')
  if (Array.isArray(body.functions) && body.functions.length > 0) throw invalid('Function calling with `functions` is not supported; send `tools` instead.')
  // note: Open WebUI's page and Conduit send `features: { web_search, image_generation, code_interpreter, ... }`
  // with every turn, false unless the user turned one on. Open WebUI (middleware process_chat_payload,
  // chat_web_search_handler) runs the search and, when it fails, answers without it after a status
  // that says so; Enclave has none of the three (/api/config and the permissions say false), so a
  // turn asking for one is refused rather than answered as if it had been applied.
  const features = body.features
  if (typeof features === 'object' && features !== null) {
    const asked = NOT_OFFERED.filter((name) => (features as Record<string, unknown>)[name] === true)
    if (asked.length > 0) {
      throw new OpenAiError(400, 'invalid_request_error', 'feature_not_offered', `This server has no ${asked.map((name) => name.replace('_', ' ')).join(', ')}; send the message with it turned off.`)
    }
  }
}

/** The `features` of Open WebUI's chat request that Enclave does not offer. */
const NOT_OFFERED = ['web_search', 'image_generation', 'code_interpreter'] as const

/**
 * The tools to offer Ollama, which has no `tool_choice`: `none` offers none, a named function offers
 * only that one, `auto` and `required` offer all (Ollama then decides whether to call one).
 */
export function toOllamaTools({ tools, tool_choice: choice }: CompletionRequest): unknown[] | undefined {
  if (tools === undefined || tools === null || tools.length === 0 || choice === 'none') return undefined
  if (typeof choice !== 'object' || choice === null) return tools
  const chosen = tools.filter((tool) => tool.function.name === choice.function.name)
  if (chosen.length === 0) throw invalid('tool_choice names a function that is not among the tools.')
  return chosen
}

/** Ollama's `format` for OpenAI's `response_format`: `"json"` for JSON mode, the schema itself for structured output. */
export function toOllamaFormat({ response_format: format }: CompletionRequest): unknown {
  if (format === undefined || format === null || format.type === 'text') return undefined
  if (format.type === 'json_object') return 'json'
  return format.json_schema.schema ?? 'json'
}

/** The arguments of an earlier call as the object Ollama takes; OpenAI sends them as a JSON string. */
function parseArguments(text: string | undefined): Record<string, unknown> {
  if (text === undefined || text.trim() === '') return {}
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch {
    value = undefined
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw invalid('The arguments of a tool call must be a JSON object.')
  // note: a string in the body, so body-nesting did not measure it; it goes on to Ollama as JSON.
  if (nestsDeeperThan(value, MAX_JSON_NESTING)) throw invalid(`The arguments of a tool call are nested deeper than the ${MAX_JSON_NESTING} levels this server accepts.`)
  return value as Record<string, unknown>
}

/**
 * Turns OpenAI messages into Ollama's: text parts joined, base64 data-URL images kept, `developer`
 * as `system`, an assistant's `tool_calls` with their arguments as objects, and a `tool` message
 * named after the call it answers (`tool_name`, found by its `tool_call_id`).
 */
export function toOllamaMessages(messages: CompletionRequest['messages']): ChatMessage[] {
  const toolNames = new Map<string, string>()
  return messages.map(({ role, content, tool_calls: calls, tool_call_id: callId, name }) => {
    const ollamaRole = role === 'developer' ? 'system' : role
    const extra: Pick<ChatMessage, 'tool_calls' | 'tool_name'> = {}
    if (role === 'assistant' && calls) {
      for (const call of calls) if (call.id !== undefined) toolNames.set(call.id, call.function.name)
      if (calls.length > 0) extra.tool_calls = calls.map((call) => ({ function: { name: call.function.name, arguments: parseArguments(call.function.arguments) } }))
    }
    const toolName = role === 'tool' ? (callId === undefined ? undefined : toolNames.get(callId)) ?? name : undefined
    if (toolName !== undefined) extra.tool_name = toolName
    if (content === undefined || content === null || typeof content === 'string') return { role: ollamaRole, content: content ?? '', ...extra }
    const texts: string[] = []
    const images: string[] = []
    for (const part of content) {
      if (part.type === 'text' && part.text !== undefined) texts.push(part.text)
      else if (part.type === 'image_url' && part.image_url !== undefined) images.push(imageData(part.image_url.url))
      else throw invalid(`Message content parts of type ${JSON.stringify(part.type.slice(0, 40))} are not supported.`)
    }
    return { role: ollamaRole, content: texts.join('\n'), ...(images.length > 0 ? { images } : {}), ...extra }
  })
}

/** The base64 of a `data:image/...;base64,` URL; Enclave never fetches an image URL for a client. */
function imageData(url: string): string {
  const match = /^data:image\/[a-z0-9.+-]+;base64,([A-Za-z0-9+/=\s]+)$/i.exec(url)
  if (match === null) throw invalid('Images must be base64 data: URLs; Enclave never fetches an image URL.')
  return match[1]!.replace(/\s+/g, '')
}

/** Maps the sampling fields to Ollama's Modelfile parameter names; absent fields stay absent. */
export function toOllamaOptions(body: CompletionRequest): ModelOptions {
  const maxTokens = body.max_completion_tokens ?? body.max_tokens
  const stop = typeof body.stop === 'string' ? [body.stop] : body.stop
  const options: Record<string, unknown> = {
    temperature: body.temperature, top_p: body.top_p, num_predict: maxTokens, stop, seed: body.seed,
    frequency_penalty: body.frequency_penalty, presence_penalty: body.presence_penalty,
  }
  return Object.fromEntries(Object.entries(options).filter(([, value]) => value !== undefined && value !== null))
}

/** OpenAI's `finish_reason` for Ollama's `done_reason`; Ollama says `stop` after a tool call too. */
export const finishReason = (doneReason: string | null, calledTools = false) => (calledTools ? 'tool_calls' : doneReason === 'length' ? 'length' : 'stop')

/** OpenAI's `tool_calls` entries for Ollama's calls, numbered from `first`; an id is made here when Ollama sent none. */
export function toOpenAiToolCalls(calls: readonly ToolCall[], first: number) {
  return calls.map((call, offset) => ({
    index: first + offset,
    id: call.id ?? `call_${crypto.randomUUID().replaceAll('-', '').slice(0, 24)}`,
    type: 'function' as const,
    function: { name: call.name, arguments: JSON.stringify(call.arguments) },
  }))
}

/** Token counts from Ollama's final statistics (0 when Ollama left them out). */
export function usageOf(stats: ChatStats) {
  const prompt = stats.promptEvalCount ?? 0
  const completion = stats.evalCount ?? 0
  return { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion }
}
