/**
 * The models each active user may use (Open WebUI's GET /api/models, filtered by
 * auth/model-access.ts), and the admin routes that
 * manage Ollama: the connection list, each connection's status, pulling and deleting models.
 * Only administrators see connection URLs and why a connection failed; users get model names.
 * A pull's progress is the HTTP answer, and also goes to every socket of the admin who asked
 * (`model:pull` frames), so each of their tabs can show it.
 */
import { Elysia, t } from 'elysia'
import { Integer, Numeric } from '../numeric-schemas.ts'
import type { AuthDeps } from '../../auth/auth-deps.ts'
import type { Principal } from '../../auth/principal.ts'
import { fullModelName, type Connection, type Connections, type ListedModel } from '../../chat/connections.ts'
import { requestPath } from '../request-path.ts'
import type { WorkspaceModel } from '../../db/workspace-models.ts'
import type { DirectModel } from '../../chat/direct-connections.ts'
import { presetImageOf } from './workspace-shapes.ts'
import type { SocketHub } from '../../chat/socket-hub.ts'
import type { ServerFrame } from '../../chat/frames.ts'
import type { UserId } from '../../db/ids.ts'
import { canonicalModelName } from '../../db/model-grants.ts'
import { OllamaError, type OllamaModel, type PullProgress } from '../../chat/ollama-client.ts'
import { MAX_OLLAMA_CONNECTIONS } from '../../config/ollama-variables.ts'
import type { AddressList } from '../../config/network.ts'
import { HttpError } from '../http-error.ts'
import { requireAuth } from '../plugins/require-auth.ts'

// note: Ollama's names: `llama3.2`, `llama3.2:1b`, `hf.co/org/repo:Q4_K_M`, `user/model@sha256:...`.
const ModelName = t.String({ minLength: 1, maxLength: 200, pattern: '^[A-Za-z0-9][A-Za-z0-9._:/@+-]*$' })
const ConnectionIndex = Integer({ minimum: 0, maximum: MAX_OLLAMA_CONNECTIONS - 1 })
const ConnectionsBody = t.Object({
  /** null forgets the saved list and goes back to OLLAMA_BASE_URLS / OLLAMA_BASE_URL. */
  urls: t.Nullable(t.Array(t.String({ maxLength: 2048 }), { maxItems: MAX_OLLAMA_CONNECTIONS })),
})
const PullBody = t.Object({ name: ModelName, connection: t.Optional(ConnectionIndex) })

const encoder = new TextEncoder()
const ndjsonLine = (value: object) => encoder.encode(JSON.stringify(value) + '\n')

/** A /api/tags entry in Ollama's own spelling, as Open WebUI passes it on under `ollama`. */
const describeTagsEntry = (entry: OllamaModel) => ({
  name: entry.name, model: entry.model, modified_at: entry.modifiedAt, size: entry.sizeBytes, digest: entry.digest,
  details: {
    parent_model: entry.details.parentModel ?? '', format: entry.details.format, family: entry.details.family,
    families: entry.details.families, parameter_size: entry.details.parameterSize, quantization_level: entry.details.quantizationLevel,
  },
})

/** One model as Open WebUI lists it; `urls` holds connection indexes, as in Open WebUI, never URLs. */
const describeModel = (model: ListedModel, createdSeconds: number) => ({
  id: model.name, name: model.name, object: 'model' as const, created: createdSeconds, owned_by: 'ollama' as const,
  ollama: { ...describeTagsEntry(model.entry), urls: model.connections },
})

/** A pull progress line in Ollama's spelling. */
const describeProgress = (progress: PullProgress) => ({
  status: progress.status,
  ...(progress.digest === null ? {} : { digest: progress.digest }),
  ...(progress.totalBytes === null ? {} : { total: progress.totalBytes }),
  ...(progress.completedBytes === null ? {} : { completed: progress.completedBytes }),
})

/** Maps a failed Ollama call to the answer; anything else is passed on unchanged. */
function toHttpError(error: unknown): unknown {
  if (!(error instanceof OllamaError)) return error
  switch (error.reason) {
    case 'model_not_found':
      return new HttpError(404, 'model_not_found', 'Ollama has no model of that name.', { cause: error })
    case 'unreachable':
    case 'timeout_first_byte':
    case 'timeout_idle':
    case 'aborted':
      return new HttpError(502, 'ollama_unreachable', 'Ollama did not answer in time.', { cause: error })
    case 'bad_response':
    case 'ollama_error':
      return new HttpError(502, 'ollama_failed', 'Ollama refused or sent an unexpected answer.', { cause: error })
  }
}

/** A workspace preset as Open WebUI lists it beside the base models: its own name, the stored record under `info`. */
const describePreset = (preset: WorkspaceModel, base: ListedModel | undefined, createdSeconds: number) => ({
  id: preset.id, name: preset.name, object: 'model' as const, created: createdSeconds, owned_by: 'ollama' as const, preset: true,
  info: {
    id: preset.id, user_id: preset.ownerId, base_model_id: preset.baseModelId, name: preset.name, params: preset.params,
    meta: { ...preset.meta, profile_image_url: presetImageOf(preset.meta) ?? '/static/favicon.png' },
    access_control: preset.access, is_active: preset.isActive, created_at: Math.floor(preset.createdAt / 1000), updated_at: Math.floor(preset.updatedAt / 1000),
  },
  ...(base === undefined ? {} : { ollama: { ...describeTagsEntry(base.entry), urls: base.connections } }),
})

/**
 * GET /api/models (and /api/v1/models) for active users, and Ollama management under /api/v1/ollama
 * for admins. `presetsFor` lists the workspace presets a user may use (resolve-model.ts decides).
 */
export type ListingSources = {
  /** The workspace presets the user may use (resolve-model.ts decides). */
  presetsFor: (principal: Principal) => Promise<WorkspaceModel[]>
  /** The models of the user's own endpoints (direct-connections.ts). */
  directFor: (principal: Principal) => Promise<DirectModel[]>
  /** Open WebUI's GET /api/v1/models/ (with the slash): the presets the caller may edit. */
  workspaceList: (principal: Principal) => unknown
}

/** A model of the user's own endpoint, as Open WebUI lists a direct connection's. */
const describeDirect = (model: DirectModel, createdSeconds: number) => ({
  id: model.id, name: model.id, object: 'model' as const, created: createdSeconds, owned_by: 'openai' as const, direct: true, connection_type: 'external',
  urlIdx: model.connection.index,
})

export const modelRoutes = (deps: AuthDeps, trustedProxies: AddressList, connections: Connections, hub: SocketHub, sources: ListingSources | null = null) => {
  const workspaceList = sources?.workspaceList ?? null
  const connectionAt = (index: number | undefined): Connection => {
    const found = connections.connectionAt(index ?? 0)
    if (found === null) throw new HttpError(404, 'connection_not_found', 'There is no Ollama connection with that index.')
    return found
  }
  const describeConnections = () => ({ ...connections.listUrls(), disabled: connections.listDisabledUrls() })
  /**
   * The merged list as Open WebUI answers it, only the models the caller may use (base models and
   * presets by auth/model-access.ts, through create-app's `presetsFor`), then the caller's own
   * direct models; admins also see which connections failed.
   */
  async function listModels(principal: Principal) {
    const isAdmin = principal.user.role === 'admin'
    const { models, statuses } = await connections.listModels()
    const createdSeconds = Math.floor(deps.now() / 1000)
    const baseByName = new Map(models.map((model) => [fullModelName(model.name), model]))
    // note: a preset whose base model no connection lists is left out, as a chat with it could not be answered.
    const presets = (await (sources?.presetsFor(principal) ?? Promise.resolve([]))).filter((preset) => baseByName.has(fullModelName(preset.baseModelId)))
    const ids = new Set([...baseByName.keys(), ...presets.map((preset) => preset.id)])
    // note: a direct model named like a base model or a preset is not listed: chats with that name go to the other.
    const direct = (await (sources?.directFor(principal) ?? Promise.resolve([])))
      .filter((model) => !ids.has(model.id) && !ids.has(fullModelName(model.id)) && (principal.via !== 'api_key' || principal.allowedModels == null || principal.allowedModels.includes(model.id)))
    const data = [
      ...(await deps.models.filter(principal, models, (model) => model.name)).map((model) => describeModel(model, createdSeconds)),
      ...presets.map((preset) => describePreset(preset, baseByName.get(fullModelName(preset.baseModelId)), createdSeconds)),
      ...direct.map((model) => describeDirect(model, createdSeconds)),
    ]
    if (!isAdmin) return { data }
    const errors = statuses.flatMap((status) => (status.ok || status.reason === 'disabled' ? [] : [{ connection: status.connection, url: status.url, reason: status.reason, message: status.message }]))
    return { data, errors }
  }

  return new Elysia()
    .use(requireAuth(deps, trustedProxies))
    .get('/api/models', ({ principal }) => listModels(principal), { auth: 'active' })
    // note: Elysia routes /api/v1/models/ here too; with the slash it is Open WebUI's workspace list (routes/workspace-models.ts).
    .get('/api/v1/models', ({ principal, request }) => (workspaceList !== null && requestPath(request).endsWith('/') ? workspaceList(principal) : listModels(principal)), { auth: 'active' })

    // note: Open WebUI's base models are the connections' own, before any workspace model wraps them.
    .get('/api/models/base', async () => {
      const createdSeconds = Math.floor(deps.now() / 1000)
      return { data: (await connections.listModels()).models.map((model) => describeModel(model, createdSeconds)) }
    }, { auth: 'admin' })

    .get('/api/v1/models/base', async () => {
      const createdSeconds = Math.floor(deps.now() / 1000)
      const { grants } = await deps.store.modelGrants.snapshot()
      return (await connections.listModels()).models.map((model) => ({
        ...describeModel(model, createdSeconds), base_model_id: null, meta: { description: null, profile_image_url: '/static/favicon.png' }, params: {},
        is_active: true, user_id: null, access_control: grants.get(canonicalModelName(model.name))?.access ?? {}, created_at: createdSeconds, updated_at: createdSeconds,
      }))
    }, { auth: 'admin' })

    .group('/api/v1/ollama', (ollama) => ollama
      .get('/connections', describeConnections, { auth: 'admin' })

      .post('/connections', async ({ body }) => {
        const result = await connections.replaceUrls(body.urls)
        if (!result.ok) throw new HttpError(400, 'invalid_connection_urls', `Expected ${result.expected}.`)
        return describeConnections()
      }, { auth: 'admin', body: ConnectionsBody })

      // note: a fresh listing too, so a server that answers its version but not its model list shows as broken, not green.
      .get('/status', async () => {
        connections.forgetModels()
        const [health, listing] = await Promise.all([connections.checkHealth(), connections.listModels()])
        const off = new Set(connections.listDisabledUrls())
        return {
          connections: health.map((entry) => {
            const listed = listing.statuses[entry.connection]
            const models = listed === undefined || listed.ok ? { ok: true as const, count: listed?.modelCount ?? 0 } : { ok: false as const, reason: listed.reason, message: listed.message }
            return { ...entry, enabled: !off.has(entry.url), models }
          }),
        }
      }, { auth: 'admin' })

      .post('/connections/enabled', async ({ body }) => {
        if (!await connections.setConnectionEnabled(body.url, body.enabled)) throw new HttpError(404, 'connection_not_found', 'There is no Ollama connection with that URL.')
        return { ...describeConnections(), disabled: connections.listDisabledUrls() }
      }, { auth: 'admin', body: t.Object({ url: t.String({ minLength: 1, maxLength: 2048 }), enabled: t.Boolean() }) })

      .get('/models/:name/details', async ({ params, query, request, principal }) => {
        if (!deps.models.mayManage(principal, params.name)) throw new HttpError(404, 'model_not_found', 'Ollama has no model of that name.')
        const targets = query.connection === undefined ? await connections.clientFor(params.name) : [connectionAt(query.connection)]
        const target = targets[0]
        if (target === undefined) throw new HttpError(404, 'model_not_found', 'Ollama has no model of that name.')
        const listed = (await connections.listModels()).models.find((model) => fullModelName(model.name) === fullModelName(params.name))
        const details = await target.client.showModel(params.name, { signal: request.signal }).catch((error: unknown) => {
          throw toHttpError(error)
        })
        return {
          name: params.name, connection: target.connection, size: listed?.entry.sizeBytes ?? null,
          modified_at: details.modifiedAt ?? listed?.entry.modifiedAt ?? null, family: details.family, parameter_size: details.parameterSize,
          parameter_count: details.parameterCount, quantization_level: details.quantizationLevel, format: details.format,
          context_length: details.contextLength, capabilities: details.capabilities,
        }
      }, { auth: 'admin', params: t.Object({ name: ModelName }), query: t.Object({ connection: t.Optional(Numeric({ minimum: 0, maximum: MAX_OLLAMA_CONNECTIONS - 1, multipleOf: 1 })) }) })

      .post('/pull', async ({ body, request, principal }) => {
        // note: an admin's API key limited to other models reaches no model here either (auth/model-access.ts).
        if (!deps.models.mayManage(principal, body.name)) throw new HttpError(404, 'model_not_found', 'Ollama has no model of that name.')
        const connection = body.connection ?? 0
        const progress = connectionAt(connection).client.pull({ name: body.name, signal: request.signal })
        const tellSockets = (line: ReturnType<typeof describeProgress> | { error: string }) => {
          const frame: ServerFrame = { type: 'model:pull', name: body.name, connection, status: 'error' in line ? 'error' : line.status, ...line }
          hub.publish(principal.user.id as UserId, frame)
        }
        // note: the first line is awaited here, so an unreachable Ollama or an unknown model is an HTTP status.
        let pending: IteratorResult<PullProgress> | null = await progress.next().catch((error: unknown) => {
          throw toHttpError(error)
        })
        const stream = new ReadableStream<Uint8Array>({
          async pull(controller) {
            try {
              const step = pending ?? await progress.next()
              pending = null
              if (step.done) {
                connections.forgetModels()
                controller.close()
              } else {
                const line = describeProgress(step.value)
                controller.enqueue(ndjsonLine(line))
                tellSockets(line)
              }
            } catch (error) {
              if (!(error instanceof OllamaError)) throw error
              // note: headers are sent by now, so the failure is a last line, as Ollama reports one; its
              // message names no URL and quotes Ollama at most briefly, which suits this admin-only route.
              controller.enqueue(ndjsonLine({ error: error.message, code: error.reason }))
              tellSockets({ error: error.message })
              controller.close()
            }
          },
          async cancel() {
            await progress.return(undefined)
          },
        })
        return new Response(stream, { headers: { 'content-type': 'application/x-ndjson' } })
      }, { auth: 'admin', body: PullBody })

      .delete('/models/:name', async ({ params, query, principal }) => {
        if (!deps.models.mayManage(principal, params.name)) throw new HttpError(404, 'model_not_found', 'Ollama has no model of that name.')
        const targets = query.connection === undefined ? await connections.clientFor(params.name) : [connectionAt(query.connection)]
        if (targets.length === 0) throw new HttpError(404, 'model_not_found', 'Ollama has no model of that name.')
        try {
          for (const { client } of targets) await client.deleteModel(params.name)
        } catch (error) {
          throw toHttpError(error)
        } finally {
          connections.forgetModels()
        }
        return { deleted: params.name, connections: targets.map(({ connection }) => connection) }
      }, { auth: 'admin', params: t.Object({ name: ModelName }), query: t.Object({ connection: t.Optional(Numeric({ minimum: 0, maximum: MAX_OLLAMA_CONNECTIONS - 1, multipleOf: 1 })) }) }))
}
