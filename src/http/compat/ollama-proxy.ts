/**
 * Ollama's own API under /ollama/api/*, and its OpenAI-compatible one under /ollama/v1/*, as Open
 * WebUI proxies them, for Ollama's and OpenAI's clients holding a session token or an API key. Model calls go to the connections that have the model (the next one
 * when one cannot be reached); /api/tags and /api/ps merge every connection's answer. Streams pass
 * through chunk by chunk, and a client going away closes the request to Ollama. An Ollama that
 * goes silent mid-answer for `timeouts.idleMs` is dropped, and so is every request whose credential
 * is revoked while it runs (auth/credential-watch.ts; admin calls also when the role drops below
 * admin): a stream ends with Ollama's own `{"error": ...}` line, as Ollama reports a failure mid-stream,
 * or under /v1 with an event in OpenAI's error shape.
 *
 * Threat: this route makes the server send requests. Only the listed paths go through, a model the
 * caller may not use answers as unknown and never reaches Ollama (auth/model-access.ts; Open WebUI's
 * CVE-2026-44563), listings hold only the models the caller may use, model management (pull, delete, create, copy,
 * push) is for administrators, and the client's
 * Authorization header and cookies never travel upstream: each request is built afresh here.
 */
import { Elysia, t } from 'elysia'
import { Numeric } from '../numeric-schemas.ts'
import type { AuthDeps } from '../../auth/auth-deps.ts'
import { credentialOf, watchCredential, type CredentialWatch } from '../../auth/credential-watch.ts'
import type { Principal } from '../../auth/principal.ts'
import type { Connections } from '../../chat/connections.ts'
import { parseBaseUrl, type OllamaModel, type OllamaTimeouts } from '../../chat/ollama-client.ts'
import type { AddressList } from '../../config/network.ts'
import { MAX_OLLAMA_CONNECTIONS } from '../../config/ollama-variables.ts'
import { HttpError } from '../http-error.ts'
import { requireAuth } from '../plugins/require-auth.ts'
import { requestPath } from '../request-path.ts'

/** Ollama's request bodies vary by path; the model is named by `model` (or the older `name`). */
const ModelBody = t.Object({ model: t.Optional(t.String({ maxLength: 200 })), name: t.Optional(t.String({ maxLength: 200 })) }, { additionalProperties: true })
const IndexParams = t.Object({ index: Numeric({ minimum: 0, maximum: MAX_OLLAMA_CONNECTIONS - 1, multipleOf: 1 }) })
const CopyBody = t.Object({ source: t.String({ minLength: 1, maxLength: 200 }) }, { additionalProperties: true })
type Body = Record<string, unknown>
/** What a handler needs of its request to watch the credential it came with. */
type Asked = { request: Request; principal: Principal }

/** A failure in Ollama's `{ "error": "..." }` shape, which Ollama's clients read. */
class OllamaShapedError extends HttpError {
  override toResponse(): Response {
    return Response.json({ error: this.message }, { status: this.status })
  }
}

const unreachable = () => new OllamaShapedError(502, 'ollama_unreachable', 'Ollama is not reachable.')
const timedOut = () => new OllamaShapedError(504, 'ollama_timeout', 'Ollama did not answer in time.')
const revokedError = () => new OllamaShapedError(401, 'credential_revoked', REVOKED_MESSAGE)
const modelNotFound = (name: string) => new OllamaShapedError(404, 'model_not_found', `model ${JSON.stringify(name.slice(0, 200))} not found`)

/** How a failure mid-body is told: a last NDJSON line, a last Server-Sent Event, or by breaking the body. */
type BodyKind = 'ndjson' | 'sse' | 'other'
type PassThrough = { kind: BodyKind; idleMs: number; closeUpstream: () => void; revoked: AbortSignal; checked: () => Promise<void> | null; onEnd: () => void }

/**
 * Passes Ollama's body on as it comes. Silence longer than `idleMs`, or a revoked credential, closes
 * the upstream request and ends the body: an NDJSON stream with an `{"error": ...}` line, anything
 * else by failing it. `onEnd` runs once the body ends in any way.
 */
function passThrough(body: ReadableStream<Uint8Array>, { kind, idleMs, closeUpstream, revoked, checked, onEnd }: PassThrough): ReadableStream<Uint8Array> {
  const reader = body.getReader()
  const stop = () => {
    closeUpstream()
    reader.cancel().catch(() => {})
    onEnd()
  }
  const endWith = (controller: ReadableStreamDefaultController<Uint8Array>, message: string) => {
    stop()
    if (kind === 'other') return controller.error(new Error(message))
    const code = message === REVOKED_MESSAGE ? 'credential_revoked' : 'ollama_timeout'
    const last = kind === 'ndjson'
      ? JSON.stringify({ error: message }) + '\n'
      : `data: ${JSON.stringify({ error: { message, type: code === 'credential_revoked' ? 'invalid_request_error' : 'api_error', code } })}\n\n`
    controller.enqueue(new TextEncoder().encode(last))
    controller.close()
  }
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      let timer: ReturnType<typeof setTimeout> | undefined
      const silence = new Promise<'idle'>((resolve) => (timer = setTimeout(() => resolve('idle'), idleMs)))
      try {
        const step = await Promise.race([reader.read(), silence])
        // note: a re-check of the credential in progress is answered before anything more goes out.
        const checking = checked()
        if (checking !== null) await checking
        // note: what Ollama sent before the revocation may still be buffered; none of it goes out after it.
        if (revoked.aborted) return endWith(controller, REVOKED_MESSAGE)
        if (step === 'idle') return endWith(controller, `Ollama sent nothing for ${idleMs / 1000} s and was stopped.`)
        if (!step.done) return controller.enqueue(step.value)
        onEnd()
        controller.close()
      } catch (error) {
        if (revoked.aborted) return endWith(controller, REVOKED_MESSAGE)
        stop()
        controller.error(error)
      } finally {
        clearTimeout(timer)
      }
    },
    cancel() {
      stop()
    },
  })
}

const REVOKED_MESSAGE = 'The credential was revoked; sign in again.'

/** The /ollama/api/* routes; `timeouts.firstByteMs` bounds the wait for Ollama's status line, `idleMs` each later wait. */
export const ollamaProxyRoutes = (deps: AuthDeps, trustedProxies: AddressList, connections: Connections, timeouts: OllamaTimeouts) => {
  /** Sends one request to connection `index`; throws for a connection that can't be reached in time. */
  async function send(index: number, method: string, path: string, body: Body | null, signal: AbortSignal): Promise<Response> {
    const base = connections.listUrls().urls[index]
    if (base === undefined) throw unreachable()
    const { root, authorization } = parseBaseUrl(base)
    const headers: Record<string, string> = { accept: 'application/json, application/x-ndjson' }
    if (body !== null) headers['content-type'] = 'application/json'
    if (authorization !== null) headers.authorization = authorization
    const deadline = new AbortController()
    const timer = setTimeout(() => deadline.abort(), timeouts.firstByteMs)
    try {
      const init: RequestInit = { method, headers, redirect: 'manual', signal: AbortSignal.any([signal, deadline.signal]) }
      if (body !== null) init.body = JSON.stringify(body)
      const response = await fetch(root + path, init)
      if (response.status >= 300 && response.status < 400) throw new OllamaShapedError(502, 'ollama_failed', 'Ollama answered with a redirect, which is not followed.')
      return response
    } catch (error) {
      if (error instanceof HttpError) throw error
      throw deadline.signal.aborted ? timedOut() : unreachable()
    } finally {
      clearTimeout(timer)
    }
  }

  /**
   * Tries each connection in `indexes` until one answers; its status and body pass through unread.
   * The watch ends with the body (or the failure); a revocation before then aborts the request.
   */
  async function forward(indexes: number[], method: string, path: string, body: Body | null, watch: CredentialWatch): Promise<Response> {
    let failure: unknown = unreachable()
    for (const index of indexes) {
      const upstreamRequest = new AbortController()
      try {
        const upstream = await send(index, method, path, body, AbortSignal.any([watch.signal, upstreamRequest.signal]))
        const contentType = upstream.headers.get('content-type')
        if (upstream.body === null) watch.stop()
        const passed = upstream.body === null ? null : passThrough(upstream.body, {
          kind: bodyKind(contentType), idleMs: timeouts.idleMs, closeUpstream: () => upstreamRequest.abort(), revoked: watch.revoked, checked: watch.checked, onEnd: watch.stop,
        })
        return new Response(passed, { status: upstream.status, headers: contentType === null ? {} : { 'content-type': contentType } })
      } catch (error) {
        if (watch.signal.aborted) {
          watch.stop()
          throw watch.revoked.aborted ? revokedError() : error
        }
        failure = error
      }
    }
    watch.stop()
    throw failure
  }

  /**
   * The connections that have the model the body names; 404 when none has it, or when the caller
   * may not use it (auth/model-access.ts: the same answer, so a refusal tells nothing). The name
   * goes to Ollama as it is, so it is decided as Ollama's model of that name (`mayUseOllamaModel`),
   * never by a workspace model's grant.
   */
  // note: Open WebUI's routers/ollama.py sends generate, show, embed and embeddings to Ollama under
  // the name given, as here. Its generate_chat_completion and generate_openai_chat_completion
  // replace a preset's id by its base model first; Enclave's /ollama routes carry Ollama's names
  // only (a preset's id reaches Ollama as written and is answered as unknown) and presets run
  // through /api/chat/completions, which applies them (chat/resolve-model.ts).

  async function holders(body: Body, principal: Principal, purpose: 'use' | 'manage' = 'use'): Promise<number[]> {
    const name = typeof body.model === 'string' ? body.model : typeof body.name === 'string' ? body.name : ''
    if (name === '') throw new OllamaShapedError(400, 'model_required', 'model is required')
    if (!(purpose === 'use' ? await deps.models.mayUseOllamaModel(principal, name) : deps.models.mayManage(principal, name))) throw modelNotFound(name)
    const found = await connections.clientFor(name)
    if (found.length === 0) throw modelNotFound(name)
    return found.map(({ connection }) => connection)
  }
  const allIndexes = () => connections.listUrls().urls.map((_, index) => index)
  /** Watches the request's credential from now until its answer ends (auth/credential-watch.ts). */
  const watch = ({ request, principal }: Asked, needs: 'active' | 'admin') =>
    watchCredential(deps, credentialOf(principal, requestPath(request), needs), request.signal)
  const toModel = (path: string) => (asked: Asked & { body: Body }) =>
    holders(asked.body, asked.principal).then((indexes) => forward(indexes, 'POST', path, asked.body, watch(asked, 'active')))
  /** Runs a management call on one connection, then forgets the cached model list. */
  const manage = (method: string, path: string, pick: (body: Body, principal: Principal) => Promise<number[]>) => async (asked: Asked & { body: Body }) => {
    const indexes = await pick(asked.body, asked.principal)
    try {
      return await forward(indexes.slice(0, 1), method, path, asked.body, watch(asked, 'admin'))
    } finally {
      connections.forgetModels()
    }
  }
  /** Connection 0, for a model not there yet (pull, create); the name must still be one the caller may use (an API key's list). */
  const firstConnection = async (body: Body, principal: Principal) => {
    const name = typeof body.model === 'string' ? body.model : typeof body.name === 'string' ? body.name : ''
    if (name !== '' && !deps.models.mayManage(principal, name)) throw modelNotFound(name)
    return [0]
  }
  /** The connection at `index` alone; 404 when there is none. */
  const onlyConnection = (index: number) => {
    if (connections.listUrls().urls[index] === undefined) throw new OllamaShapedError(404, 'connection_not_found', 'There is no Ollama connection with that index.')
    return [index]
  }

  const ollamaApi = new Elysia({ prefix: '/ollama/api' })
    .use(requireAuth(deps, trustedProxies))
    .get('/version', (asked) => forward(allIndexes(), 'GET', '/api/version', null, watch(asked, 'active')), { auth: 'active' })
    .get('/version/:index', (asked) => forward(onlyConnection(asked.params.index), 'GET', '/api/version', null, watch(asked, 'active')), { auth: 'active', params: IndexParams })
    .get('/tags', async ({ principal }) => ({
      models: (await deps.models.filter(principal, (await connections.listModels()).models, (model) => model.name)).map(({ entry }) => tagsEntry(entry)),
    }), { auth: 'active' })
    .get('/ps', async ({ request, principal }) => {
      const answers = await Promise.all(allIndexes().map((index) =>
        send(index, 'GET', '/api/ps', null, request.signal).then((res) => (res.ok ? res.json() as Promise<{ models?: unknown[] }> : null), () => null)))
      const running = answers.flatMap((answer) => (Array.isArray(answer?.models) ? answer.models : []))
      // note: an entry that names no model is left out: it can't be checked.
      return { models: (await deps.models.filter(principal, running, (entry) => nameOfRunning(entry) ?? '')).filter((entry) => nameOfRunning(entry) !== null) }
    }, { auth: 'active' })
    .post('/chat', toModel('/api/chat'), { auth: 'active', body: ModelBody })
    .post('/generate', toModel('/api/generate'), { auth: 'active', body: ModelBody })
    .post('/embed', toModel('/api/embed'), { auth: 'active', body: ModelBody })
    .post('/embeddings', toModel('/api/embeddings'), { auth: 'active', body: ModelBody })
    .post('/show', toModel('/api/show'), { auth: 'active', body: ModelBody })
    // note: Open WebUI's "unload": every connection holding the model drops it from memory (Ollama's keep_alive 0).
    .post('/unload', async ({ body, request, principal }) => {
      const indexes = await holders(body, principal, 'manage')
      const answers = await Promise.all(indexes.map((index) => send(index, 'POST', '/api/generate', { model: body.model ?? body.name, keep_alive: 0 }, request.signal)))
      for (const answer of answers) await answer.body?.cancel()
      if (answers.some((answer) => !answer.ok)) throw new OllamaShapedError(502, 'unload_failed', 'Ollama did not unload the model.')
      return { status: true }
    }, { auth: 'admin', body: ModelBody })
    .post('/pull', manage('POST', '/api/pull', firstConnection), { auth: 'admin', body: ModelBody })
    .post('/push', manage('POST', '/api/push', (body, principal) => holders(body, principal, 'manage')), { auth: 'admin', body: ModelBody })
    .post('/create', manage('POST', '/api/create', firstConnection), { auth: 'admin', body: ModelBody })
    .post('/copy', manage('POST', '/api/copy', (body, principal) => holders({ model: body.source }, principal, 'manage')), { auth: 'admin', body: CopyBody })
    .delete('/delete', manage('DELETE', '/api/delete', (body, principal) => holders(body, principal, 'manage')), { auth: 'admin', body: ModelBody })
    .post('/pull/:index', (asked) => manage('POST', '/api/pull', async (body, principal) => {
      await firstConnection(body, principal)
      return onlyConnection(asked.params.index)
    })(asked), { auth: 'admin', body: ModelBody, params: IndexParams })

  // note: Ollama's OpenAI-compatible API, passed through as it is (tools, JSON mode, streams included).
  const openAiApi = new Elysia({ prefix: '/ollama/v1' })
    .use(requireAuth(deps, trustedProxies))
    .get('/models', async ({ principal }) => ({
      object: 'list', data: (await deps.models.filter(principal, (await connections.listModels()).models, (model) => model.name)).map(({ entry }) => v1Model(entry)),
    }), { auth: 'active' })
    .post('/chat/completions', toModel('/v1/chat/completions'), { auth: 'active', body: ModelBody })
    .post('/completions', toModel('/v1/completions'), { auth: 'active', body: ModelBody })
    .post('/embeddings', toModel('/v1/embeddings'), { auth: 'active', body: ModelBody })
  return new Elysia().use(ollamaApi).use(openAiApi)
}

/** The model a /api/ps entry names (`model`, else `name`), or null. */
function nameOfRunning(entry: unknown): string | null {
  if (typeof entry !== 'object' || entry === null) return null
  const { model, name } = entry as { model?: unknown; name?: unknown }
  return typeof model === 'string' ? model : typeof name === 'string' ? name : null
}

/** A /v1/models entry as Ollama writes it: `created` is the model's modification time in seconds. */
const v1Model = (entry: OllamaModel) => ({ id: entry.name, object: 'model', created: Math.floor(Date.parse(entry.modifiedAt) / 1000) || 0, owned_by: 'library' })

/** How a body of this content type ends when it must stop early. */
function bodyKind(contentType: string | null): BodyKind {
  if (contentType?.includes('ndjson')) return 'ndjson'
  return contentType?.includes('text/event-stream') ? 'sse' : 'other'
}

/** A /api/tags entry in Ollama's spelling. */
export const tagsEntry = (entry: OllamaModel) => ({
  name: entry.name, model: entry.model, modified_at: entry.modifiedAt, size: entry.sizeBytes, digest: entry.digest,
  details: {
    parent_model: entry.details.parentModel ?? '', format: entry.details.format, family: entry.details.family,
    families: entry.details.families, parameter_size: entry.details.parameterSize, quantization_level: entry.details.quantizationLevel,
  },
})
