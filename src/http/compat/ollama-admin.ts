/**
 * Open WebUI's Ollama settings routes, which its admin panel calls: the connection list as
 * `{ ENABLE_OLLAMA_API, OLLAMA_BASE_URLS, OLLAMA_API_CONFIGS }` (/ollama/config, and the older
 * /ollama/urls), one connection's models (/ollama/api/tags/{idx}), deleting a model from one
 * connection (/ollama/api/delete/{idx}), and GET /ollama/, which says Ollama is running. One
 * connection's models are, as every listing, only those the caller may use (auth/model-access.ts).
 *
 * The list is the connection list Enclave already keeps (chat/connections.ts, sealed in the
 * settings). Of the per-connection settings only `enable` is kept (a connection turned off stays in
 * the list, unasked; keyed by index as Open WebUI's panel sends it, or by URL as older ones did).
 * Enclave has no per-connection keys, prefixes or model filters and Ollama can't be switched off, so
 * an update asking for any of them is refused rather than half-applied.
 *
 * Threat: the URLs make the server send requests; only administrators read or change them.
 */
import { Elysia, t } from 'elysia'
import { Numeric } from '../numeric-schemas.ts'
import type { AuthDeps } from '../../auth/auth-deps.ts'
import type { Connections } from '../../chat/connections.ts'
import { OllamaError } from '../../chat/ollama-client.ts'
import type { AddressList } from '../../config/network.ts'
import { MAX_OLLAMA_CONNECTIONS } from '../../config/ollama-variables.ts'
import { HttpError } from '../http-error.ts'
import { requireAuth } from '../plugins/require-auth.ts'
import { tagsEntry } from './ollama-proxy.ts'

const Urls = t.Array(t.String({ maxLength: 2048 }), { maxItems: MAX_OLLAMA_CONNECTIONS })
/** One connection's settings as Open WebUI's panel sends them; only the defaults are accepted. */
const ApiConfig = t.Object({
  enable: t.Optional(t.Boolean()),
  key: t.Optional(t.String({ maxLength: 4096 })),
  prefix_id: t.Optional(t.Nullable(t.String({ maxLength: 200 }))),
  tags: t.Optional(t.Array(t.Unknown(), { maxItems: 64 })),
  model_ids: t.Optional(t.Array(t.String({ maxLength: 200 }), { maxItems: 1024 })),
  connection_type: t.Optional(t.String({ maxLength: 40 })),
}, { additionalProperties: true })
const ConfigBody = t.Object({
  ENABLE_OLLAMA_API: t.Optional(t.Nullable(t.Boolean())),
  OLLAMA_BASE_URLS: Urls,
  OLLAMA_API_CONFIGS: t.Optional(t.Record(t.String({ maxLength: 2048 }), ApiConfig)),
})
const IndexParams = t.Object({ index: Numeric({ minimum: 0, maximum: MAX_OLLAMA_CONNECTIONS - 1, multipleOf: 1 }) })
const NameBody = t.Object({ name: t.Optional(t.String({ maxLength: 200 })), model: t.Optional(t.String({ maxLength: 200 })) }, { additionalProperties: true })

type ApiConfigs = Record<string, (typeof ApiConfig)['static']>

/** Tells why a per-connection setting can't be honoured, or null when every one is a default. */
function unsupportedSetting(configs: ApiConfigs): string | null {
  for (const config of Object.values(configs)) {
    if ((config.key ?? '') !== '') return 'Per-connection API keys are not supported; put credentials in the URL instead.'
    if ((config.prefix_id ?? '') !== '' || (config.tags?.length ?? 0) > 0 || (config.model_ids?.length ?? 0) > 0) {
      return 'Model prefixes, tags and filters per connection are not supported.'
    }
  }
  return null
}

const notFound = () => new HttpError(404, 'connection_not_found', 'There is no Ollama connection with that index.')

/** Open WebUI's /ollama settings routes for administrators, and the unauthenticated GET /ollama/. */
export const ollamaAdminRoutes = (deps: AuthDeps, trustedProxies: AddressList, connections: Connections) => {
  const describeConfig = () => {
    const { urls } = connections.listUrls()
    const off = new Set(connections.listDisabledUrls())
    return { ENABLE_OLLAMA_API: true, OLLAMA_BASE_URLS: urls, OLLAMA_API_CONFIGS: Object.fromEntries(urls.flatMap((url, index) => (off.has(url) ? [[String(index), { enable: false }]] : []))) }
  }
  /** Applies `enable` from the configs to the saved list: a key is an index in `sent`, or a URL. */
  const applyEnabled = async (configs: ApiConfigs, sent: readonly string[]) => {
    const { urls } = connections.listUrls()
    const trimmed = (url: string) => url.replace(/\/+$/, '')
    const offByIndex = new Set(Object.entries(configs).filter(([, config]) => config.enable === false).map(([key]) => (/^\d+$/.test(key) ? sent[Number(key)] : key)).filter((url): url is string => url !== undefined).map(trimmed))
    // note: one after another: each change is made over the list the one before left.
    for (const url of urls) await connections.setConnectionEnabled(url, !offByIndex.has(trimmed(url)))
  }
  const replaceUrls = async (urls: string[]) => {
    const result = await connections.replaceUrls(urls)
    if (!result.ok) throw new HttpError(400, 'invalid_connection_urls', `Expected ${result.expected}.`)
  }
  const connectionAt = (index: number) => {
    const found = connections.connectionAt(index)
    if (found === null) throw notFound()
    return found
  }
  const ollamaFailure = (error: unknown) => {
    if (error instanceof OllamaError && error.reason === 'model_not_found') return new HttpError(404, 'model_not_found', 'Ollama has no model of that name.', { cause: error })
    if (error instanceof OllamaError) return new HttpError(502, 'ollama_failed', 'Ollama did not answer as expected.', { cause: error })
    return error
  }

  return new Elysia({ prefix: '/ollama' })
    .use(requireAuth(deps, trustedProxies))
    .get('/', () => new Response('Ollama is running', { headers: { 'content-type': 'text/plain; charset=utf-8' } }))
    .head('/', () => new Response(null, { headers: { 'content-type': 'text/plain; charset=utf-8' } }))
    .get('/config', describeConfig, { auth: 'admin' })
    .post('/config/update', async ({ body }) => {
      if (body.ENABLE_OLLAMA_API === false) throw new HttpError(400, 'ollama_required', 'Enclave cannot run with the Ollama API switched off.')
      const problem = unsupportedSetting(body.OLLAMA_API_CONFIGS ?? {})
      if (problem !== null) throw new HttpError(400, 'unsupported_connection_setting', problem)
      await replaceUrls(body.OLLAMA_BASE_URLS)
      await applyEnabled(body.OLLAMA_API_CONFIGS ?? {}, body.OLLAMA_BASE_URLS)
      return describeConfig()
    }, { auth: 'admin', body: ConfigBody })
    .get('/urls', () => ({ OLLAMA_BASE_URLS: connections.listUrls().urls }), { auth: 'admin' })
    .post('/urls/update', async ({ body }) => {
      await replaceUrls(body.urls)
      return { OLLAMA_BASE_URLS: connections.listUrls().urls }
    }, { auth: 'admin', body: t.Object({ urls: Urls }) })
    // note: as /ollama/api/tags, only the models the caller may use (Open WebUI's get_ollama_tags filters
    // users' lists, with or without the index; here admins and API keys limited to models are filtered too).
    .get('/api/tags/:index', async ({ params, request, principal }) => {
      const models = await connectionAt(params.index).client.listModels({ signal: request.signal }).catch((error: unknown) => {
        throw ollamaFailure(error)
      })
      return { models: (await deps.models.filter(principal, models, (model) => model.name)).map(tagsEntry) }
    }, { auth: 'active', params: IndexParams })
    .delete('/api/delete/:index', async ({ params, body, request }) => {
      const name = body.model ?? body.name ?? ''
      if (name === '') throw new HttpError(400, 'model_required', 'model is required')
      try {
        await connectionAt(params.index).client.deleteModel(name, { signal: request.signal })
      } catch (error) {
        throw ollamaFailure(error)
      } finally {
        connections.forgetModels()
      }
      return true // note: Open WebUI answers `true`, and its frontend parses the body as JSON
    }, { auth: 'admin', params: IndexParams, body: NameBody })
}
