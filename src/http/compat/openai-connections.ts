/**
 * Open WebUI's OpenAI connection settings as its admin page reads them: Enclave sends chats to local
 * Ollama only, never to an outside OpenAI-compatible API, so GET /openai/config says the OpenAI API
 * is off with no connection, and GET /openai/models (the models of such connections) is empty.
 * There is no update route: nothing here can point Enclave at a third party.
 */
import { Elysia } from 'elysia'
import type { AuthDeps } from '../../auth/auth-deps.ts'
import type { AddressList } from '../../config/network.ts'
import { requireAuth } from '../plugins/require-auth.ts'

export const openAiConnectionRoutes = (deps: AuthDeps, trustedProxies: AddressList) => new Elysia({ name: 'openai-connection-routes' })
  .use(requireAuth(deps, trustedProxies))
  .get('/openai/config', () => ({ ENABLE_OPENAI_API: false, OPENAI_API_BASE_URLS: [], OPENAI_API_KEYS: [], OPENAI_API_CONFIGS: {} }), { auth: 'admin' })
  .get('/openai/models', () => ({ data: [] }), { auth: 'active' })
