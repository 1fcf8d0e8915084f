/**
 * OpenAI-compatible embeddings (POST /api/embeddings and /api/v1/embeddings, as Open WebUI serves
 * them; https://platform.openai.com/docs/api-reference/embeddings), answered by Ollama's
 * /api/embed on the first connection that has the model, the next one when it can't be reached.
 *
 * `encoding_format: "base64"` (the official client's default) packs each vector as little-endian
 * float32, as OpenAI does. Token-array inputs are refused: Ollama embeds text only.
 */
import { Elysia, t } from 'elysia'
import { Integer } from '../numeric-schemas.ts'
import type { AuthDeps } from '../../auth/auth-deps.ts'
import type { Connections } from '../../chat/connections.ts'
import { OllamaError, type Embeddings } from '../../chat/ollama-client.ts'
import type { AddressList } from '../../config/network.ts'
import { requireAuth } from '../plugins/require-auth.ts'
import { toOpenAiError } from './openai.ts'
import { OpenAiError } from './openai-shapes.ts'

const Text = t.String({ maxLength: 1_000_000 })
const EmbeddingBody = t.Object({
  model: t.String({ minLength: 1, maxLength: 200 }),
  input: t.Union([Text, t.Array(t.Union([Text, t.Array(t.Number())]), { minItems: 1, maxItems: 2048 }), t.Array(t.Number(), { minItems: 1 })]),
  encoding_format: t.Optional(t.Union([t.Literal('float'), t.Literal('base64')])),
  dimensions: t.Optional(Integer({ minimum: 1, maximum: 65_536 })),
  user: t.Optional(t.String({ maxLength: 256 })),
}, { additionalProperties: true })

/** A vector as OpenAI's base64: the bytes of little-endian float32 values. */
function toBase64(vector: number[]): string {
  const floats = new Float32Array(vector)
  return Buffer.from(floats.buffer, floats.byteOffset, floats.byteLength).toString('base64')
}

/** The texts to embed; token arrays can't be, since Ollama takes text. */
function textsOf(input: (typeof EmbeddingBody)['static']['input']): string[] {
  const items = typeof input === 'string' ? [input] : input
  if (!items.every((item): item is string => typeof item === 'string')) {
    throw new OpenAiError(400, 'invalid_request_error', 'invalid_request', 'Only text input can be embedded; send strings, not token arrays.')
  }
  return items
}

/** POST /api/embeddings and /api/v1/embeddings for active users and their API keys. */
export const openAiEmbeddingRoutes = (deps: AuthDeps, trustedProxies: AddressList, connections: Connections) => {
  /** Embeds on each connection that has the model in turn, until one answers. */
  async function embed(model: string, input: string[], dimensions: number | undefined, signal: AbortSignal): Promise<Embeddings> {
    const targets = await connections.clientFor(model)
    if (targets.length === 0) throw new OpenAiError(404, 'invalid_request_error', 'model_not_found', 'The model does not exist.')
    let failure: unknown = null
    for (const { client } of targets) {
      try {
        return await client.embed({ model, input, ...(dimensions === undefined ? {} : { dimensions }), signal })
      } catch (error) {
        if (!(error instanceof OllamaError) || !['unreachable', 'timeout_first_byte'].includes(error.reason)) throw toOpenAiError(error)
        failure = error
      }
    }
    throw toOpenAiError(failure)
  }

  const embeddingsAt = (prefix: '/api' | '/api/v1') => new Elysia({ prefix })
    .use(requireAuth(deps, trustedProxies))
    .post('/embeddings', async ({ body, request, principal }) => {
      // note: the name goes to Ollama's /api/embed as it is: decided as Ollama's model, not a preset of that name (auth/model-access.ts).
      if (!await deps.models.mayUseOllamaModel(principal, body.model)) throw new OpenAiError(404, 'invalid_request_error', 'model_not_found', 'The model does not exist.')
      const answer = await embed(body.model, textsOf(body.input), body.dimensions, request.signal)
      const encode = body.encoding_format === 'base64' ? toBase64 : (vector: number[]) => vector
      const tokens = answer.promptEvalCount ?? 0
      return {
        object: 'list',
        data: answer.embeddings.map((vector, index) => ({ object: 'embedding', index, embedding: encode(vector) })),
        model: body.model,
        usage: { prompt_tokens: tokens, total_tokens: tokens },
      }
    }, { auth: 'active', body: EmbeddingBody })
  return new Elysia().use(embeddingsAt('/api')).use(embeddingsAt('/api/v1'))
}
