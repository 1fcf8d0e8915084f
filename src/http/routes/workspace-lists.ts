/**
 * Open WebUI's workspace lists as its pages and Conduit read them, answered empty: Enclave keeps no
 * model presets and no prompt library (models come from Ollama as they are). GET /api/v1/models/list
 * and /tags, GET /api/v1/prompts/ and /list, and a model's picture (Conduit shows one beside
 * every model): the same neutral icon for every model, as Open WebUI serves its favicon for a model
 * without a picture. Nothing here reads or stores user data.
 */
import { Elysia, t } from 'elysia'
import type { AuthDeps } from '../../auth/auth-deps.ts'
import type { AddressList } from '../../config/network.ts'
import { requireAuth } from '../plugins/require-auth.ts'

/** A plain rounded square with a spark: the picture of every model. */
const MODEL_PICTURE = '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 64 64"><rect width="64" height="64" rx="14" fill="#e4e4e7"/>'
  + '<path d="M32 14l5 13 13 5-13 5-5 13-5-13-13-5 13-5z" fill="#71717a"/></svg>'
const emptyPage = { items: [], total: 0 }

export const workspaceListRoutes = (deps: AuthDeps, trustedProxies: AddressList) => new Elysia({ name: 'workspace-list-routes' })
  .use(requireAuth(deps, trustedProxies))
  .get('/api/v1/models/list', () => emptyPage, { auth: 'active' })
  .get('/api/v1/models/tags', () => [], { auth: 'active' })
  .get('/api/v1/models/model/profile/image', () => new Response(MODEL_PICTURE, { headers: { 'content-type': 'image/svg+xml', 'cache-control': 'public, max-age=86400' } }),
    { auth: 'active', query: t.Object({ id: t.Optional(t.String({ maxLength: 500 })) }, { additionalProperties: true }) })
  .get('/api/v1/prompts/', () => [], { auth: 'active' })
  .get('/api/v1/prompts/list', () => emptyPage, { auth: 'active' })
