/**
 * OpenAI's Chat Completions shapes (https://platform.openai.com/docs/api-reference/chat): the
 * request schema, its mapping to Ollama's /api/chat messages and options, the answer objects, and
 * errors in OpenAI's `{ error: { message, type, code } }` shape.
 */
import { t, type Static } from 'elysia'
import type { ChatMessage, ChatStats, ModelOptions } from '../../chat/ollama-client.ts'
import { HttpError } from '../http-error.ts'

const ContentPart = t.Object({
  type: t.String({ maxLength: 40 }),
  text: t.Optional(t.String()),
  image_url: t.Optional(t.Object({ url: t.String() })),
})
const Message = t.Object({
  role: t.Union([t.Literal('system'), t.Literal('developer'), t.Literal('user'), t.Literal('assistant'), t.Literal('tool')]),
  content: t.Optional(t.Union([t.String(), t.Array(ContentPart, { maxItems: 256 }), t.Null()])),
})

/** The fields of a chat completion request Enclave reads; others are accepted and ignored. */
export const CompletionBody = t.Object({
  model: t.String({ minLength: 1, maxLength: 200 }),
  messages: t.Array(Message, { minItems: 1, maxItems: 10_000 }),
  stream: t.Optional(t.Nullable(t.Boolean())),
  stream_options: t.Optional(t.Nullable(t.Object({ include_usage: t.Optional(t.Boolean()) }))),
  temperature: t.Optional(t.Nullable(t.Number({ minimum: 0, maximum: 2 }))),
  top_p: t.Optional(t.Nullable(t.Number({ minimum: 0, maximum: 1 }))),
  max_tokens: t.Optional(t.Nullable(t.Integer({ minimum: 1 }))),
  max_completion_tokens: t.Optional(t.Nullable(t.Integer({ minimum: 1 }))),
  stop: t.Optional(t.Nullable(t.Union([t.String(), t.Array(t.String(), { maxItems: 16 })]))),
  seed: t.Optional(t.Nullable(t.Integer())),
  frequency_penalty: t.Optional(t.Nullable(t.Number({ minimum: -2, maximum: 2 }))),
  presence_penalty: t.Optional(t.Nullable(t.Number({ minimum: -2, maximum: 2 }))),
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
 * Refuses what Enclave can't honour rather than answering as if it had: several choices (`n`), and
 * tool definitions, which would otherwise be dropped and leave a client waiting for tool calls.
 */
export function refuseUnsupportedFields(body: Record<string, unknown>): void {
  if (body.n !== undefined && body.n !== null && body.n !== 1) throw invalid('Only one choice per request is supported: leave n out or set it to 1.')
  if (Array.isArray(body.tools) && body.tools.length > 0) throw invalid('Tool calling is not supported on this endpoint yet; send the request without tools.')
  if (Array.isArray(body.functions) && body.functions.length > 0) throw invalid('Function calling is not supported on this endpoint yet; send the request without functions.')
}

/** Turns OpenAI messages into Ollama's: text parts joined, base64 data-URL images kept, `developer` as `system`. */
export function toOllamaMessages(messages: CompletionRequest['messages']): ChatMessage[] {
  return messages.map(({ role, content }) => {
    const ollamaRole = role === 'developer' ? 'system' : role
    if (content === undefined || content === null || typeof content === 'string') return { role: ollamaRole, content: content ?? '' }
    const texts: string[] = []
    const images: string[] = []
    for (const part of content) {
      if (part.type === 'text' && part.text !== undefined) texts.push(part.text)
      else if (part.type === 'image_url' && part.image_url !== undefined) images.push(imageData(part.image_url.url))
      else throw invalid(`Message content parts of type ${JSON.stringify(part.type.slice(0, 40))} are not supported.`)
    }
    return { role: ollamaRole, content: texts.join('\n'), ...(images.length > 0 ? { images } : {}) }
  })
}

/** The base64 of a `data:image/...;base64,` URL; Enclave never fetches an image URL for a client. */
function imageData(url: string): string {
  const match = /^data:image\/[a-z0-9.+-]+;base64,([A-Za-z0-9+/=\s]+)$/i.exec(url)
  if (match === null) throw invalid('Images must be base64 data URLs.')
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

/** OpenAI's `finish_reason` for Ollama's `done_reason`. */
export const finishReason = (doneReason: string | null) => (doneReason === 'length' ? 'length' : 'stop')

/** Token counts from Ollama's final statistics (0 when Ollama left them out). */
export function usageOf(stats: ChatStats) {
  const prompt = stats.promptEvalCount ?? 0
  const completion = stats.evalCount ?? 0
  return { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion }
}
