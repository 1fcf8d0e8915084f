/**
 * The app's parts, made before the port opens: everything the app needs, the fast routes Bun's router
 * serves (the page, /health, /api/version, a signed-in /api/v1/auths/, socket upgrades), and the app's
 * build in steps, whose route plugins come from app-routes.ts (loaded after the listen in a start,
 * app-build.ts; imported as it is by createApp, create-app.ts).
 * Threat: none added; the parts and the build are the ones createApp always made.
 */
import { Elysia } from 'elysia'
import type { AuditLog } from '../audit/audit-log.ts'
import { createAuthDeps, type AuthDeps } from '../auth/auth-deps.ts'
import type { WorkspaceModelFinder } from '../auth/model-access.ts'
import { createLogoutTokenVerifier } from '../auth/oidc-logout-token.ts'
import { createOidcProviders, type OidcProviders } from '../auth/oidc-providers.ts'
import { createRuntimeLdap } from '../auth/runtime-ldap.ts'
import type { SetupGate } from '../auth/setup-token.ts'
import { AnswerTasks } from '../chat/answer-tasks.ts'
import { createConnections, type Connections } from '../chat/connections.ts'
import { createDirectConnections } from '../chat/direct-connections.ts'
import type { TurnActivity } from '../chat/turn-activity.ts'
import { createModelResolver } from '../chat/resolve-model.ts'
import { readUserPreferences } from '../db/user-preferences.ts'
import { compileSendCheck } from '../chat/frames.ts'
import { SocketHub } from '../chat/socket-hub.ts'
import type { Cluster } from '../cluster/cluster.ts'
import { createRedisClaims } from '../cluster/redis-claims.ts'
import { redisRateLimiters } from '../cluster/redis-rate-limiter.ts'
import { connectRevocationRelay } from '../cluster/revocation-relay.ts'
import { connectSharedWritesRelay } from '../cluster/shared-writes-relay.ts'
import { connectSocketFanOut } from '../cluster/socket-fan-out.ts'
import { createWorkspaceAccess } from '../auth/workspace-access.ts'
import type { UserId } from '../db/ids.ts'
import type { Principal } from '../auth/principal.ts'
import type { Config } from '../config/load-config.ts'
import type { Store } from '../db/open-store.ts'
import type { Logger } from '../log/logger.ts'
import { staticAssets, uiPage } from './assets.ts'
import { createChatCompletionStore } from './compat/chat-completion-store.ts'
import { fixedAnswerRoutes } from './fixed-answers.ts'
import type { ServedSettings } from './listen.ts'
import { pageRoutes } from './page-answer.ts'
import { socketUpgradeRoutes } from './socket-upgrade.ts'
import { sessionUserAnswers, sessionUserRoutes, type SessionUserAnswers } from './session-user.ts'
import type * as AppRoutesModule from './app-routes.ts'
import { httpErrors } from './http-error.ts'
import { withGrantUpgrade } from './model-grant-upgrade.ts'
import { bodyLimit, carriesCredential } from './plugins/body-limit.ts'
import { bodyNesting } from './plugins/body-nesting.ts'
import { freshSettings, type KeepsSettings } from './plugins/fresh-settings.ts'
import { cors } from './plugins/cors.ts'
import { hostCheck } from './plugins/host-check.ts'
import { jsonBodies } from './plugins/json-bodies.ts'
import { originCheck } from './plugins/origin-check.ts'
import { securityHeaders } from './plugins/security-headers.ts'
import { singleUserGuard } from './plugins/single-user-guard.ts'
import { createLifecycle, type Lifecycle } from '../lifecycle/lifecycle.ts'
import { createRag } from '../knowledge/create-rag.ts'
import { fileSourceOf } from '../knowledge/file-source.ts'
import { processUploadedFile, type FileSource } from '../knowledge/rag-deps.ts'
import { UPLOAD_OVERHEAD_BYTES } from './routes/file-upload.ts'
import { healthBodyOf, healthRoutes, readinessOf, VERSION_BODY } from './routes/health.ts'
import { DEFAULT_SOCKET_LIMITS, socketRoutes } from './routes/socket.ts'

/** Everything the HTTP layer needs, built once by cli/serve.ts (tests build their own). */
export type Deps = {
  config: Config
  store: Store
  log: Logger
  /** Signs sessions; never logged. */
  sessionSecret: string
  audit: AuditLog
  now: () => number
  setupGate: SetupGate
  /** The single sign-on providers; built from config.oauth when not given. */
  oidcProviders?: OidcProviders
  /** Background key rotation and retention; built here when not given (serve builds and stops its own). */
  lifecycle?: Lifecycle
  /** The Ollama connections; built here when not given (serve builds its own, to list models once it listens). */
  connections?: Connections
  /** Workspace models, for the model access decision (auth/model-access.ts); the store's when not given. */
  workspaceModels?: WorkspaceModelFinder
  /** Where uploaded files are read for indexing; none when not given. */
  files?: FileSource | null
  /** The other instances, through Redis (cluster/cluster.ts); none: this instance alone, as without REDIS_URL. */
  cluster?: Cluster | null
  /** Counts users' chat turns in progress, for the turn warm-up to stand aside (serve builds it); absent: not counted. */
  turnActivity?: TurnActivity
}

/** The route plugins' module (app-routes.ts), as the build takes it. */
export type AppRoutes = Pick<typeof AppRoutesModule, 'routePlugins'>

/** What the route plugins (app-routes.ts) are made of: prepareApp's parts. */
export type RouteParts = {
  deps: Deps
  auth: AuthDeps
  ldap: ReturnType<typeof createRuntimeLdap>
  providers: OidcProviders
  logoutTokens: ReturnType<typeof createLogoutTokenVerifier>
  lifecycle: Lifecycle
  connections: Connections
  hub: SocketHub
  direct: ReturnType<typeof createDirectConnections>
  models: ReturnType<typeof createModelResolver>
  access: ReturnType<typeof createWorkspaceAccess>
  rag: ReturnType<typeof createRag>
  tasks: AnswerTasks
  socket: ReturnType<typeof socketRoutes>
  sessionUser: SessionUserAnswers
  presetsFor: (principal: Principal) => ReturnType<Store['workspaceModels']['listModels']>
  processUpload: (owner: UserId, fileId: string) => void
  completionStore: ReturnType<typeof createChatCompletionStore>
}

/**
 * The app in two parts: `served`, the server's settings with the fast routes Bun's router serves (the
 * page, /health, /api/version, the signed-in /api/v1/auths/, socket upgrades), ready at once; and
 * `build`, the Elysia app built one route plugin per step, so cli/serve.ts can open the port first and
 * let requests in between steps. What the fast routes leave to the app (`fetch`) waits for
 * `built(app)`, then gets the app's own answer.
 */
export function prepareApp(deps: Deps): PreparedApp {
  const cluster = deps.cluster ?? null
  const auth = createAuthDeps({
    store: deps.store, auth: deps.config.auth, sessionSecret: deps.sessionSecret, audit: deps.audit, now: deps.now, setupGate: deps.setupGate,
    workspaceModels: deps.workspaceModels ?? deps.store.workspaceModels,
    // note: with Redis, sign-in limits hold across instances (cluster/redis-rate-limiter.ts).
    ...(cluster === null ? {} : { rateLimiters: redisRateLimiters({ link: cluster.bus.link, keys: deps.store.clusterKeys, keyPrefix: cluster.bus.keyPrefix, now: deps.now }) }),
  })
  const providers = deps.oidcProviders ?? createOidcProviders(deps.config.oauth)
  // note: with Redis, a logout token used on one instance is refused on every other (cluster/redis-claims.ts).
  const usedLogoutTokens = cluster === null ? undefined : createRedisClaims({ link: cluster.bus.link, keys: deps.store.clusterKeys, keyPrefix: cluster.bus.keyPrefix, now: deps.now })
  const logoutTokens = createLogoutTokenVerifier(providers, deps.now, deps.config.oauth.timeoutSeconds, usedLogoutTokens)
  const lifecycle = deps.lifecycle ?? createLifecycle(deps)
  // note: the first listing after an upgrade to model grants makes the models that existed public (model-grant-upgrade.ts).
  const connections = withGrantUpgrade(deps.connections ?? createConnections({ ...deps.config.ollama, settings: deps.store.settings, now: deps.now, log: deps.log }), deps.store.modelGrants, deps.log)
  // note: one hub of open sockets per server: chat streams, titles and pull progress reach a user through it.
  const hub = new SocketHub()
  // note: with Redis, a user's frames reach their sockets on every instance, and account changes every instance's sockets and caches.
  const fanOut = cluster?.socketBus == null ? null : connectSocketFanOut(cluster.socketBus, hub, deps.now)
  if (cluster !== null) connectRevocationRelay(cluster.bus, deps.store.accountChanges).catch(relayFailed(deps.log, 'revocation'))
  // note: and chat and data key writes, so chats are held on PostgreSQL while every other instance's writes are heard (cluster/shared-writes-relay.ts).
  if (cluster !== null) connectSharedWritesRelay(cluster.bus, deps.store.sharedWrites, { ...deps.store, keptReadsStale: deps.store.sharedWrites.keptReadsStale }, deps.log).catch(relayFailed(deps.log, 'write notices'))
  // note: answers asked for through /api/chat/completions with a chat_id, stoppable through /api/tasks.
  const tasks = new AnswerTasks()
  const rag = createRag({ config: deps.config, store: deps.store, hub, permissions: auth.permissions, files: deps.files ?? fileSourceOf(deps.store.files, deps.config.files.maxFileBytes), now: deps.now })
  // note: as Open WebUI, an uploaded document is read, chunked and embedded in the background; its status shows the progress.
  const processUpload = (owner: UserId, fileId: string) => {
    processUploadedFile(rag, owner, fileId).catch((error: unknown) => deps.log.error('Processing an uploaded file failed', { error: error instanceof Error ? error.name : 'unknown' }))
  }
  const completionStore = createChatCompletionStore({
    chats: deps.store.chats, changes: deps.store.accountChanges, hub, tasks, checkpointIntervalMs: DEFAULT_SOCKET_LIMITS.checkpointIntervalMs,
    background: { chatTags: deps.store.chatTags, connections, log: deps.log, titles: deps.config.chat.titles },
    maxBackgroundPerUser: deps.config.chat.maxConcurrentAnswersPerUser,
  })
  // note: LDAP settings an admin may change at runtime, over LDAP_* (see runtime-ldap.ts).
  const ldap = createRuntimeLdap(deps.config.ldap, deps.store.settings)
  // note: users' own OpenAI-compatible endpoints (ENABLE_DIRECT_CONNECTIONS), reached only through chat/outbound-address.ts.
  const direct = createDirectConnections({
    policy: deps.config.directConnections, now: deps.now, timeouts: deps.config.ollama.timeouts,
    readSettings: async (id) => (await readUserPreferences(deps.store.users, id))?.settings ?? null,
  })
  deps.store.accountChanges.onRecordChanged((userId) => {
    direct.recordChanged(userId).catch((error: unknown) => deps.log.error('Reading direct connection settings failed', { error: error instanceof Error ? error.name : 'unknown' }))
  })
  // note: workspace presets and prompts: who may read and change them (access), who may create them
  // (auth.permissions), and the one point a requested model name becomes what is sent, decided by
  // auth.models.mayUse for every chat path and the listing; a user's own direct model is exempt from
  // base-model grants when no Ollama lists a model of that name (resolve-model.ts).
  const access = createWorkspaceAccess({ groups: deps.store.groups, findUser: (id) => deps.store.users.findUserById(id), policy: { bypassAdmin: deps.config.auth.access.bypassAdmin } })
  const models = createModelResolver({
    workspaceModels: deps.store.workspaceModels,
    mayUse: auth.models.mayUse,
    ownsDirectModel: (userId, id) => (connections.listedClientFor(id)?.length ?? 0) === 0 && direct.ownsModel(userId as UserId, id),
  })
  const presetsFor = async (principal: Principal) => {
    const mayRead = await access.deciderFor(principal.user, 'read')
    // note: each preset then goes through the resolver too, so the listing refuses what a chat would (its base model).
    const presets = await deps.store.workspaceModels.listModels((grant) => grant.isActive && mayRead(grant))
    const resolved = await Promise.all(presets.map((preset) => models.resolve(principal, preset.id)))
    return presets.filter((_, i) => resolved[i] !== null)
  }
  // note: standardHostname off: Elysia's default finds the path from the 11th character on, so a
  // short Host header (`Host: ai`) would shift it and route /api/... as /... . Off, it starts after
  // `http://`, which every request URL here begins with: Enclave serves HTTP, TLS ends at a proxy.
  // note: Bun refuses a socket frame over the limit (close 1009) before it is read into memory.
  const readiness = readinessOf(deps.store, cluster)
  // note: /health and /api/version are answered by Bun's router when served, with the app's headers (fixed-answers.ts).
  const fastRouteSettings = { securityHeaders: deps.config.securityHeaders, trustedProxies: deps.config.trustedProxies, allowedHosts: deps.config.allowedHosts, cors: deps.config.cors, singleUser: deps.config.auth.singleUser }
  // note: until the app is built (cli/serve.ts builds it after the listen), what the fast routes leave to it waits for it.
  let app: App | null = null
  let asked = false
  const whenAsked = Promise.withResolvers<void>()
  const whenBuilt = Promise.withResolvers<App>()
  // note: a build that fails is reported by whoever ran it (cli/serve.ts stops the server); the requests waiting get a 500.
  whenBuilt.promise.catch(() => {})
  const toApp = (request: Request) => {
    if (app !== null) return app.fetch(request)
    asked = true
    whenAsked.resolve()
    return whenBuilt.promise.then((built) => built.fetch(request))
  }
  // note: the page is answered by Bun's router too, with the static-assets route's own answer (page-answer.ts).
  const page = uiPage()
  const pageFast = pageRoutes(fastRouteSettings, page, toApp)
  const fixedAnswers = fixedAnswerRoutes(fastRouteSettings, { '/health': healthBodyOf(readiness), '/api/version': () => VERSION_BODY }, toApp)
  // note: GET /api/v1/auths/ for a remembered credential is answered by Bun's router too, with the route's own body (session-user.ts).
  const keepers = [auth.runtime, connections]
  const sessionUser = sessionUserAnswers(auth)
  const sessionUserFast = sessionUserRoutes(fastRouteSettings, { auth, keepers, answer: sessionUser }, toApp)
  const socket = socketRoutes({ auth, connections, config: deps.config, log: deps.log, hub, models, direct, rag, fanOut, answerSlots: cluster?.answerSlots ?? null, ...(deps.turnActivity === undefined ? {} : { activity: deps.turnActivity }) }, { ...DEFAULT_SOCKET_LIMITS, ...deps.config.socket })
  // note: the chat socket's upgrade is taken by Bun's router too, its state the socket's only data (socket-upgrade.ts).
  const socketUpgradeFast = socketUpgradeRoutes(fastRouteSettings, { keepers, entry: socket.socketEntry }, toApp)
  const routes = { ...pageFast, ...fixedAnswers, ...sessionUserFast, ...socketUpgradeFast }
  // note: what the server takes from the app's settings, given to the port before the app is built (http/listen.ts).
  const served = { serve: { routes }, websocket: { maxPayloadLength: deps.config.socket.maxFrameBytes } }
  // note: what the route plugins are made of (app-routes.ts, loaded after the listen in a start).
  const parts: RouteParts = { deps, auth, ldap, providers, logoutTokens, lifecycle, connections, hub, direct, models, access, rag, tasks, socket, sessionUser, presetsFor, processUpload, completionStore }
  function* build(routes: AppRoutes): Generator<void, App, void> {
    const built = yield* appWithGlobalPlugins(deps, { auth, keepers, readiness, served })
    // note: each route plugin is built and used on the app in a step of its own, in app-routes.ts's order (what
    // `.use([...])` of a list does, plugin by plugin); 248 routes take ~20 ms to register (~40 µs each).
    for (const plugin of routes.routePlugins(parts)) {
      yield
      built.use(plugin())
    }
    yield
    built.use(staticAssets(page))
    return built
  }
  // note: readied before the route files load and the app is built (app-build.ts): a socket opened at the listen sends its
  // first frame mid-build, and its turn otherwise compiled the frame check (~1.3 ms in the binary) and stored its question
  // cold (0.6-1.1 ms more than a later turn: the chat's row, the id block and the question's row; chats-ready.ts).
  function* readyTurn(): Generator<void, void, void> {
    compileSendCheck()
    yield
    deps.store.chats.readyChatStart()
  }
  return {
    served,
    fetch: toApp,
    asked: () => asked,
    whenAsked: whenAsked.promise,
    readyTurn,
    build,
    built(built) {
      app = built
      whenBuilt.resolve(built)
    },
    failed: (error) => whenBuilt.reject(error),
  }
}

/**
 * The app with its global plugins (hooks every route registered after them gets) and /health's app
 * route, one plugin per step: the same chain of `.use` calls, with a step between them.
 * note: in steps, as the route plugins are: made in one go they took ~2 ms after the listen (the
 * largest step of the build), and a request that came in meanwhile waited for all of it.
 */
function* appWithGlobalPlugins(deps: Deps, parts: { auth: AuthDeps; keepers: KeepsSettings[]; readiness: ReturnType<typeof readinessOf>; served: ServedSettings }) {
  const { auth, keepers, readiness, served } = parts
  // note: systemRouter off: Elysia no longer hands Bun's router a wrapper of its own for each of the
  // ~500 route paths at the listen (each composed again at its first request); every request the fast
  // routes (prepareApp) do not answer goes through the app's one handler and router, as app.handle does in the
  // tests. The listen and a route's first request cost less (3-10 ms of a start's CPU, same run).
  const app = new Elysia({ systemRouter: false, handler: { standardHostname: false }, ...served })
  yield
  const withErrors = app.use(httpErrors(deps.log))
  yield
  const withSettings = withErrors.use(freshSettings(keepers))
  yield
  const withHeaders = withSettings.use(securityHeaders(deps.config.securityHeaders, deps.config.trustedProxies))
  yield
  const withHostCheck = withHeaders.use(hostCheck(deps.config.allowedHosts))
  yield
  const withCors = withHostCheck.use(cors(deps.config.cors))
  yield
  const withOriginCheck = withCors.use(originCheck({ publicUrl: deps.config.publicUrl, cors: deps.config.cors, trustedProxies: deps.config.trustedProxies }))
  yield
  const withGuard = withOriginCheck.use(singleUserGuard(deps.config.auth.singleUser))
  yield
  const withBodyLimit = withGuard.use(bodyLimit(deps.config.maxRequestBodyBytes, carriesCredential(auth), uploadBodyLimits(deps.config)))
  yield
  const withBodies = withBodyLimit.use(jsonBodies())
  yield
  const withNesting = withBodies.use(bodyNesting())
  yield
  return withNesting.use(healthRoutes(deps.config.securityHeaders.everyResponse, readiness))
}

/** The app after its global plugins, as built; its routes are used on it step by step, so its type does not list them. */
export type App = ReturnType<typeof appWithGlobalPlugins> extends Generator<void, infer Built, void> ? Built : never

/** What prepareApp gives serve: the fast routes, the app's build in steps, and where the built app is handed over (or its failure). */
export type PreparedApp = {
  /** The server's settings from the app's (its fast routes, its socket settings): the port can open with them before the app is built. */
  served: ServedSettings
  /** What the fast routes leave: the app's answer, once the app is built (until then, it waits for it). */
  fetch(request: Request): Response | Promise<Response>
  /** Whether a request has waited for the app: its build should then end without letting other requests in. */
  asked(): boolean
  /** Settles when a request first waits for the app. */
  whenAsked: Promise<void>
  /** Readies a chat turn's first run (the `chat:send` check, a chat's start), a step at a time; nothing is written. */
  readyTurn(): Generator<void, void, void>
  /** The app's build, a step at a time, with the route plugins of `routes` (app-routes.ts). */
  build(routes: AppRoutes): Generator<void, App, void>
  built(app: App): void
  failed(error: unknown): void
}

/** The routes whose bodies are streamed, with their own limits: uploads take a file of RAG_FILE_MAX_SIZE and its framing. */
export function uploadBodyLimits(config: Config): ReadonlyMap<string, number> {
  const limit = Math.max(config.maxRequestBodyBytes, config.files.maxFileBytes + UPLOAD_OVERHEAD_BYTES)
  return new Map([['/api/v1/files/', limit], ['/api/v1/files', limit]])
}

/** Logs a relay that could not start (its subscription failed): the process goes on serving its own sockets, as with Redis down. */
function relayFailed(log: Logger, relay: string): (error: unknown) => void {
  return (error) => log.error('A cluster relay could not start', { relay, error: error instanceof Error ? error.name : 'unknown' })
}
