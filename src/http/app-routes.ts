/**
 * The app's route plugins, in the order the app uses them (prepare-app.ts's build, one step each):
 * the routes only the app answers. A start loads this module after the port opened (app-build.ts),
 * so the route files, their TypeBox schemas and the compat layers are read and evaluated while the
 * fast routes (the page, /health, /api/version, a signed-in /api/v1/auths/, socket upgrades) already
 * answer; tests and benches building the app at once (createApp) import it as it is.
 * Threat: none added; the same plugins with the same parts, used in the same order as before.
 */
import type { AnyElysia } from 'elysia'
import { findClaimableAdmin } from '../auth/account-claim.ts'
import type { Config } from '../config/load-config.ts'
import type { UserId } from '../db/ids.ts'
import type { RouteParts } from './prepare-app.ts'
import { createSignOutRedirect } from '../auth/oidc-sign-out.ts'
import { ollamaAdminRoutes } from './compat/ollama-admin.ts'
import { ollamaProxyRoutes } from './compat/ollama-proxy.ts'
import { ollamaVerifyRoutes } from './compat/ollama-verify.ts'
import { openAiRoutes } from './compat/openai.ts'
import { openAiConnectionRoutes } from './compat/openai-connections.ts'
import { openAiEmbeddingRoutes } from './compat/openai-embeddings.ts'
import { taskCompletionRoutes } from './compat/task-completions.ts'
import { taskRoutes } from './compat/task-routes.ts'
import { accountClaimRoutes } from './routes/account-claim.ts'
import { adminChatAccessRoutes } from './routes/admin-chat-access.ts'
import { adminConfigRoutes } from './routes/admin-config.ts'
import { adminKeyRoutes } from './routes/admin-keys.ts'
import { appConfigRoutes } from './routes/app-config.ts'
import { authRoutes } from './routes/auths.ts'
import { chatExportRoutes } from './routes/chat-export.ts'
import { chatFolderRoutes } from './routes/chat-folders.ts'
import { chatShareRoutes } from './routes/chat-shares.ts'
import { chatTagRoutes } from './routes/chat-tags.ts'
import { chatRoutes } from './routes/chats.ts'
import { fileRoutes } from './routes/files.ts'
import { folderRoutes } from './routes/folders.ts'
import { groupRoutes } from './routes/groups.ts'
import { interfaceConfigRoutes, interfaceDefaultsFor } from './routes/interface-config.ts'
import { knowledgeRoutes } from './routes/knowledge.ts'
import { retrievalRoutes } from './routes/retrieval.ts'
import { ldapAuthRoutes } from './routes/ldap-auth.ts'
import { modelAccessRoutes } from './routes/model-access.ts'
import { passkeyRoutes } from './routes/passkeys.ts'
import { secondFactorRoutes } from './routes/second-factors.ts'
import { secondStepSigninRoutes } from './routes/second-step-signin.ts'
import { modelRoutes } from './routes/models.ts'
import { oauthRoutes } from './routes/oauth.ts'
import { presenceRoutes } from './routes/presence.ts'
import { serverInfoRoutes } from './routes/server-info.ts'
import { singleUserRoutes } from './routes/single-user.ts'
import { taskStatusRoutes } from './routes/task-status.ts'
import { userSettingsRoutes } from './routes/user-settings.ts'
import { userRoutes } from './routes/users.ts'
import { promptRoutes } from './routes/prompts.ts'
import { workspaceModelRoutes } from './routes/workspace-models.ts'

/** One function per route plugin, each made when its step comes; the order is the app's. */
export function routePlugins(parts: RouteParts): (() => AnyElysia)[] {
  const { deps, auth, ldap, providers, logoutTokens, lifecycle, connections, hub, direct, models, access, rag, tasks, socket, sessionUser, presetsFor, processUpload, completionStore } = parts
  const workspaceModels = workspaceModelRoutes({ auth, trustedProxies: deps.config.trustedProxies, access, permissions: auth.permissions, connections })
  return [
    () => appConfigRoutes(deps.config, auth, ldap, {
      hasNoUsers: async () => await deps.store.users.countUsers() === 0,
      findClaimableEmail: async () => (await findClaimableAdmin(auth))?.email ?? null,
      isSetupTokenRequired: async () => deps.setupGate.tokenFile !== null && (await deps.store.users.countUsers() === 0 || await findClaimableAdmin(auth) !== null),
    }, withFileLimits(interfaceDefaultsFor(auth), deps.config)),
    () => authRoutes(auth, deps.config.trustedProxies, createSignOutRedirect(auth, deps.config.oauth, providers), sessionUser),
    () => singleUserRoutes(auth, deps.config.trustedProxies),
    () => accountClaimRoutes(auth, deps.config.trustedProxies),
    () => oauthRoutes({ auth, oauth: deps.config.oauth, providers, logoutTokens, trustedProxies: deps.config.trustedProxies, publicUrl: deps.config.publicUrl, log: deps.log }),
    () => ldapAuthRoutes(auth, ldap, deps.log, deps.config.trustedProxies),
    () => userSettingsRoutes(auth, deps.config.trustedProxies),
    () => adminConfigRoutes(auth, deps.config.trustedProxies),
    () => userRoutes(auth, deps.config.trustedProxies),
    () => serverInfoRoutes(auth, deps.config.trustedProxies),
    () => modelRoutes(auth, deps.config.trustedProxies, connections, hub, { presetsFor, directFor: (principal) => direct.listModels(principal.user.id as UserId), workspaceList: workspaceModels.listEditable }),
    () => chatExportRoutes(auth, deps.config, deps.log),
    () => chatRoutes(auth, deps.config.trustedProxies, hub),
    () => chatFolderRoutes(auth, deps.config.trustedProxies),
    () => chatTagRoutes(auth, deps.config.trustedProxies),
    () => chatShareRoutes(auth, deps.config),
    () => folderRoutes(auth, deps.config.trustedProxies),
    () => fileRoutes(auth, deps.config.trustedProxies, deps.config.files, deps.log, (owner, fileId) => processUpload(owner, fileId)),
    () => adminKeyRoutes(auth, deps.config, lifecycle),
    () => socket,
    () => openAiRoutes(auth, deps.config.trustedProxies, connections, models, completionStore, direct, deps.config.files.maxInlineImageBytes, rag),
    () => taskRoutes(auth, deps.config.trustedProxies, tasks),
    () => openAiEmbeddingRoutes(auth, deps.config.trustedProxies, connections),
    () => ollamaProxyRoutes(auth, deps.config.trustedProxies, connections, deps.config.ollama.timeouts),
    () => ollamaAdminRoutes(auth, deps.config.trustedProxies, connections),
    // note: the smaller routes Open WebUI's page and Conduit call around chats (groups, presence, task state, settings).
    () => groupRoutes(auth, deps.config.trustedProxies),
    () => modelAccessRoutes(auth, deps.config.trustedProxies, connections, workspaceModels.updatePresetAccess),
    () => adminChatAccessRoutes(auth, deps.config.trustedProxies),
    () => presenceRoutes(auth, deps.config.trustedProxies, hub),
    () => interfaceConfigRoutes(auth, deps.config.trustedProxies, deps.config.directConnections !== null),
    () => workspaceModels.routes,
    () => promptRoutes({ auth, trustedProxies: deps.config.trustedProxies, access, permissions: auth.permissions }),
    () => taskStatusRoutes(auth, deps.config.trustedProxies, tasks),
    () => taskCompletionRoutes(auth, deps.config.trustedProxies, connections, deps.config.chat, models),
    () => openAiConnectionRoutes(auth, deps.config.trustedProxies),
    () => ollamaVerifyRoutes(auth, deps.config.trustedProxies, deps.config.ollama.timeouts),
    () => secondStepSigninRoutes(auth, deps.config.trustedProxies),
    () => secondFactorRoutes(auth, deps.config.trustedProxies),
    () => passkeyRoutes(auth, deps.config.trustedProxies, deps.config.publicUrl),
    // note: knowledge bases and the retrieval that feeds them (src/knowledge/).
    () => knowledgeRoutes(auth, deps.config.trustedProxies, rag),
    () => retrievalRoutes(auth, deps.config.trustedProxies, rag),
  ]
}

/** Adds Open WebUI's `file` limits (MB and count, as its page checks them before an upload) to what a signed-in caller's /api/config gets. */
function withFileLimits(forSignedIn: (request: Request) => Promise<object>, config: Config): (request: Request) => Promise<object> {
  const file = { max_size: config.values.RAG_FILE_MAX_SIZE, max_count: config.values.RAG_FILE_MAX_COUNT }
  return async (request) => {
    const extra = await forSignedIn(request)
    // note: an active caller's answer only (it carries default_models); a pending account's has the overlay alone.
    return 'default_models' in extra ? { ...extra, file } : extra
  }
}
