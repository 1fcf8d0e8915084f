/**
 * OpenAI-compatible chat completions (POST /api/chat/completions, and /api/v1/chat/completions as
 * Open WebUI also serves it), so OpenAI's clients work against Enclave with a session token or an
 * API key. The model list is GET /api/models (routes/models.ts), whose `data[].id` is what OpenAI
 * clients read. Tools and `response_format` go to Ollama as its `tools` and `format`; the calls
 * Ollama asks for come back as OpenAI's `tool_calls`, with ids made here. The chat controls Open
 * WebUI's page and Conduit send in `params` become Ollama's options (completion-params.ts).
 *
 * A model the caller may not use (auth/model-access.ts) answers 404 model_not_found, as an unknown one.
 * With `chat_id`, the answer is also stored into that chat of the caller as it streams
 * (chat-completion-store.ts). The request goes to the first connection that has the model; when it
 * fails before its first chunk, the next one is tried. A client that goes away (request.signal, or cancelling the stream)
 * aborts the request to Ollama, so Ollama stops generating; so does revoking the credential the
 * answer was asked with (auth/credential-watch.ts), which ends a stream with an error event (the
 * official client raises it as an APIError) and answers a whole completion 401.
 */
import { Elysia } from 'elysia'
import type { AuthDeps } from '../../auth/auth-deps.ts'
import { credentialOf, watchCredential, type CredentialWatch } from '../../auth/credential-watch.ts'
import type { Connection, Connections } from '../../chat/connections.ts'
import type { DirectConnections } from '../../chat/direct-connections.ts'
import type { Principal } from '../../auth/principal.ts'
import type { UserId } from '../../db/ids.ts'
import { applyPreset, type ModelResolver } from '../../chat/resolve-model.ts'
import { checkVision } from '../../chat/attachments.ts'
import { OllamaError, type ChatChunk, type ChatRequest, type ToolCall } from '../../chat/ollama-client.ts'
import type { AddressList } from '../../config/network.ts'
import { requireAuth } from '../plugins/require-auth.ts'
import { failRecord, readBackgroundTasks, recordChunks, type ChatCompletionStore } from './chat-completion-store.ts'
import { hasImageParts, inlineImageParts } from './openai-images.ts'
import {
  CompletionBody, finishReason, OpenAiError, refuseUnsupportedFields, toOllamaFormat, toOllamaMessages, toOllamaOptions, toOllamaTools, toOpenAiToolCalls, usageOf,
  type CompletionRequest,
} from './openai-shapes.ts'
import { requestPath } from '../request-path.ts'
import { readCompletionParams, type CompletionParams } from './completion-params.ts'
import { fileReferencesOf, refusalMessage, retrieveForChat, type ChatRetrievalDeps } from '../../knowledge/chat-retrieval.ts'

type Started = { first: IteratorResult<ChatChunk>; rest: AsyncGenerator<ChatChunk> }

const revoked = () => new OpenAiError(401, 'invalid_request_error', 'credential_revoked', 'The credential was revoked; sign in again.')

const encoder = new TextEncoder()
const sseEvent = (value: unknown) => encoder.encode(`data: ${JSON.stringify(value)}\n\n`)

/** Maps a failed Ollama call to OpenAI's error shape; anything else is passed on unchanged. */
export function toOpenAiError(error: unknown): unknown {
  if (!(error instanceof OllamaError)) return error
  switch (error.reason) {
    case 'model_not_found':
      return new OpenAiError(404, 'invalid_request_error', 'model_not_found', 'The model does not exist.', { cause: error })
    case 'timeout_first_byte':
    case 'timeout_idle':
      return new OpenAiError(504, 'api_error', 'ollama_timeout', 'Ollama did not answer in time.', { cause: error })
    case 'unreachable':
      return new OpenAiError(502, 'api_error', 'ollama_unreachable', 'Ollama is not reachable.', { cause: error })
    case 'aborted':
      // note: stopped on purpose (POST /api/tasks/stop/{id}, the chat deleted, the client gone), not an outage: Open WebUI's
      // main.py chat_completion meets the cancelled task with `chat:tasks:cancel`, no error. 499 is what a cancelled call
      // answers in google.rpc.Code (CANCELLED) and nginx; not a 5xx, which OpenAI's clients would retry, starting it again.
      return new OpenAiError(499, 'cancelled', 'cancelled', 'The request was stopped before it finished.', { cause: error })
    case 'bad_response':
    case 'ollama_error':
      return new OpenAiError(502, 'api_error', 'ollama_failed', 'Ollama refused or sent an unexpected answer.', { cause: error })
  }
}

/**
 * The /api/chat request for an OpenAI chat completion request and its `params` (completion-params.ts).
 * A field set both at the top level and in `params` is taken from `params`, as Open WebUI's
 * apply_params_to_form_data writes them over the top-level ones (and for an Ollama model sends
 * only them); but `stop` and `response_format` are taken from the top level, as its
 * convert_payload_openai_to_ollama (utils/payload.py) does.
 */
function toChatRequest(body: CompletionRequest, params: CompletionParams): Omit<ChatRequest, 'signal'> {
  const tools = toOllamaTools(body)
  const format = toOllamaFormat(body) ?? params.format
  const top = toOllamaOptions(body)
  const options = { ...top, ...params.options, ...(top.stop === undefined ? {} : { stop: top.stop }) }
  return {
    model: body.model, messages: toOllamaMessages(body.messages), options, ...(tools ? { tools } : {}), ...(format === undefined ? {} : { format }),
    ...(params.keepAlive === undefined ? {} : { keepAlive: params.keepAlive }), ...(params.think === undefined ? {} : { think: params.think }),
  }
}

/**
 * POST /api/chat/completions (and /api/v1/chat/completions) for active users and their API keys;
 * with `store`, a request naming a chat has its answer stored there.
 */
export const openAiRoutes = (deps: AuthDeps, trustedProxies: AddressList, connections: Connections, models: ModelResolver, store: ChatCompletionStore | null = null, direct: Pick<DirectConnections, 'findModel' | 'clientFor' | 'listModels'> | null = null, maxImageBytes = 20 * 1024 * 1024, rag: ChatRetrievalDeps | null = null) => {
  /** The model the request names, resolved: a preset to its base model, a user's own endpoint's model; null is answered as no such model. */
  // note: a model the caller may not use is answered as one that does not exist (resolve-model.ts, auth/model-access.ts).
  async function resolveTarget(principal: Principal, model: string) {
    // note: the caller's own endpoints are listed first (reused for 30 seconds), so a name only they hold is known to the decision.
    if (direct !== null) await direct.listModels(principal.user.id as UserId)
    const target = await models.resolve(principal, model)
    if (target === null) throw new OpenAiError(404, 'invalid_request_error', 'model_not_found', 'The model does not exist.')
    return target
  }

  /** Starts the chat on each connection that has the model in turn, until one yields its first chunk. */
  async function startChat(userId: UserId, request: ChatRequest, isDirect: boolean): Promise<Started> {
    let targets: { client: Pick<Connection['client'], 'chat'> }[] = isDirect ? [] : await connections.clientFor(request.model)
    if (targets.length === 0) {
      // note: a model no Ollama lists may be one of the caller's own endpoints (direct-connections.ts), when resolve-model.ts decided so.
      const found = isDirect ? await direct?.findModel(userId, request.model) ?? null : null
      if (found === null) throw new OpenAiError(404, 'invalid_request_error', 'model_not_found', 'The model does not exist.')
      targets = [{ client: direct!.clientFor(found) }]
    }
    let failure: unknown = null
    for (const { client } of targets) {
      const rest = client.chat(request)
      try {
        return { first: await rest.next(), rest }
      } catch (error) {
        if (!(error instanceof OllamaError) || error.reason === 'aborted') throw toOpenAiError(error)
        failure = error // note: nothing reached the client yet, so the next connection may answer instead
      }
    }
    throw toOpenAiError(failure)
  }

  const completionsAt = (prefix: '/api' | '/api/v1') => new Elysia({ prefix })
    .use(requireAuth(deps, trustedProxies))
    .post('/chat/completions', async ({ body, request, principal, set }) => {
      refuseUnsupportedFields(body)
      const params = readCompletionParams((body as { params?: unknown }).params)
      const background = readBackgroundTasks((body as { background_tasks?: unknown }).background_tasks)
      const target = await resolveTarget(principal, body.model)
      const isDirect = target.direct
      const messages = await inlineImageParts(deps.store.files, principal.user.id, body.messages, maxImageBytes)
      // note: the model that reads the images is the base model a preset stands for; a user's own endpoint answers for itself.
      if (hasImageParts(messages) && !isDirect) {
        const vision = await checkVision(connections, target.model)
        if (!vision.ok) throw new OpenAiError(400, 'invalid_request_error', vision.code, vision.message)
      }
      // note: the files and knowledge bases the request names put their best passages into the prompt (knowledge/chat-retrieval.ts).
      const references = fileReferencesOf((body as { files?: unknown }).files)
      if (references.length > 0 && rag === null) throw new OpenAiError(400, 'invalid_request_error', 'retrieval_unavailable', 'Files and knowledge bases are not available on this server.')
      const retrieved = rag === null ? null : await retrieveForChat(rag, principal.user, references, messages)
      // note: Open WebUI (middleware chat_completion_files_handler, get_sources_from_items) goes on without
      // a file whose collection is missing; Enclave reads a file whose processing failed again (the model
      // may be there now), and refuses the turn, naming the file's status, when it still has no text, rather
      // than answering as if the file had been read.
      if (retrieved?.ok === false) {
        throw retrieved.reason === 'file_not_found'
          ? new OpenAiError(404, 'invalid_request_error', 'file_not_found', refusalMessage(retrieved))
          : new OpenAiError(409, 'invalid_request_error', 'file_not_processed', refusalMessage(retrieved))
      }
      const sources = retrieved?.sources ?? []
      const requested = toChatRequest({ ...body, messages: retrieved?.ok === true ? retrieved.messages : messages }, params)
      const sent = applyPreset(target.preset, requested.messages, requested.options ?? {})
      const chatRequest = { ...requested, model: target.model, messages: sent.messages, options: sent.options }
      const record = (await store?.open(principal.user.id, body)) ?? null
      if (record !== null && sources.length > 0) record.setSources(sources)
      // note: the tasks ask the base model the answer came from, as the socket turn's title does (chat-turn.ts); a user's own endpoint is not asked.
      if (record !== null) store?.afterAnswer(record, isDirect ? null : target.model, background)
      const watch = watchCredential(deps, credentialOf(principal, requestPath(request), 'active'), request.signal)
      const signal = record === null ? watch.signal : AbortSignal.any([watch.signal, record.task.signal])
      const asked = await startChat(principal.user.id, { ...chatRequest, signal }, isDirect).catch((error: unknown) => {
        watch.stop()
        failRecord(record, error)
        throw watch.revoked.aborted ? revoked() : error
      })
      const started = record === null ? asked : await recordChunks(record, asked)
      // note: the task id lets the client stop the answer (POST /api/tasks/stop/{id}) or find it again (GET /api/tasks/chat/{chat_id}).
      if (record !== null) set.headers['x-task-id'] = record.task.id
      const head = { id: `chatcmpl-${crypto.randomUUID().replaceAll('-', '')}`, created: Math.floor(deps.now() / 1000), model: body.model }
      if (body.stream !== true) {
        return completeAnswer(head, started, sources).catch((error: unknown) => {
          throw watch.revoked.aborted ? revoked() : error
        }).finally(watch.stop)
      }
      const chunks = streamAnswer(head, started, body.stream_options?.include_usage === true, watch, sources)
      const stream = new ReadableStream<Uint8Array>({
        async pull(controller) {
          const step = await chunks.next()
          if (step.done) controller.close()
          else controller.enqueue(step.value)
        },
        async cancel() {
          watch.stop() // note: a generator cancelled before its first step never runs its `finally`
          await chunks.return(undefined)
        },
      })
      return new Response(stream, { headers: { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', ...(record === null ? {} : { 'x-task-id': record.task.id }) } })
    }, { auth: 'active', body: CompletionBody })
  return new Elysia().use(completionsAt('/api')).use(completionsAt('/api/v1'))
}

type Head = { id: string; created: number; model: string }

/** Collects the whole answer into one `chat.completion` object. */
async function completeAnswer(head: Head, { first, rest }: Started, sources: readonly unknown[]) {
  let content = ''
  const calls: ToolCall[] = []
  try {
    for (let step = first; !step.done; step = await rest.next()) {
      const chunk = step.value
      content += chunk.content
      if (chunk.toolCalls) calls.push(...chunk.toolCalls)
      if (!chunk.done) continue
      const toolCalls = calls.length === 0 ? {} : { tool_calls: toOpenAiToolCalls(calls, 0).map(({ index: _, ...call }) => call) }
      return {
        ...head, object: 'chat.completion',
        choices: [{ index: 0, message: { role: 'assistant', content: calls.length > 0 && content === '' ? null : content, ...toolCalls }, finish_reason: finishReason(chunk.doneReason, calls.length > 0) }],
        usage: usageOf(chunk.stats),
        ...(sources.length === 0 ? {} : { sources }),
      }
    }
  } catch (error) {
    throw toOpenAiError(error)
  } finally {
    await rest.return(undefined) // note: closes the request to Ollama after the final chunk
  }
  throw new OpenAiError(502, 'api_error', 'ollama_failed', 'Ollama ended the answer early.')
}

/**
 * Yields the answer as Server-Sent Events: a role chunk, content chunks, the finishing chunk, usage
 * if asked, `[DONE]`; the watch ends with it. A revoked credential aborts the request to Ollama at
 * once and ends the stream with an error event instead.
 */
async function* streamAnswer(head: Head, { first, rest }: Started, includeUsage: boolean, watch: CredentialWatch, sources: readonly unknown[]) {
  const chunk = (delta: object, finish: string | null) => ({ ...head, object: 'chat.completion.chunk', choices: [{ index: 0, delta, finish_reason: finish }] })
  const errorEvent = (failure: OpenAiError) => sseEvent({ error: { message: failure.message, type: failure.type, code: failure.code } })
  try {
    // note: as Open WebUI, the sources go first, in an event of their own.
    if (sources.length > 0) yield sseEvent({ sources })
    yield sseEvent(chunk({ role: 'assistant', content: '' }, null))
    let callCount = 0
    // note: chunks Ollama sent before the revocation may still be buffered; none of them goes out after it.
    for (let step = first; !step.done && !watch.revoked.aborted; step = await rest.next()) {
      // note: a re-check of the credential in progress is answered before anything more goes out.
      const checking = watch.checked()
      if (checking !== null) await checking
      if (watch.revoked.aborted) break
      const value = step.value
      if (value.content !== '') yield sseEvent(chunk({ content: value.content }, null))
      if (value.toolCalls) {
        // note: Ollama sends each call whole, so each goes out in one delta with its full arguments.
        yield sseEvent(chunk({ tool_calls: toOpenAiToolCalls(value.toolCalls, callCount) }, null))
        callCount += value.toolCalls.length
      }
      if (!value.done) continue
      yield sseEvent(chunk({}, finishReason(value.doneReason, callCount > 0)))
      if (includeUsage) yield sseEvent({ ...head, object: 'chat.completion.chunk', choices: [], usage: usageOf(value.stats) })
      yield encoder.encode('data: [DONE]\n\n')
      return
    }
    if (watch.revoked.aborted) yield errorEvent(revoked())
  } catch (error) {
    if (!(error instanceof OllamaError)) throw error
    // note: the status line is sent by now, so the failure is an error event, which OpenAI's clients raise.
    yield errorEvent(watch.revoked.aborted ? revoked() : toOpenAiError(error) as OpenAiError)
  } finally {
    watch.stop()
    await rest.return(undefined)
  }
}
