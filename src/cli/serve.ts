/**
 * `enclave serve`: opens the store (PostgreSQL when DATABASE_URL is set, else SQLite in DATA_DIR),
 * starts the HTTP server, and stops gracefully on SIGTERM or SIGINT: stop accepting, let requests in
 * flight finish (bounded), checkpoint the WAL (SQLite) or end the pool (PostgreSQL), close.
 */
import { join } from 'node:path'
import type { Server } from 'bun'
import { createAuditLog } from '../audit/audit-log.ts'
import { findClaimableAdmin } from '../auth/account-claim.ts'
import { createAuthDeps } from '../auth/auth-deps.ts'
import { bootstrapAdmin, isSignupClosedByAdminBootstrap } from '../auth/bootstrap-admin.ts'
import { createOidcProviders } from '../auth/oidc-providers.ts'
import { isLoopbackHost, openGate, openSetupGate, readSetupToken } from '../auth/setup-token.ts'
import { prepareSingleUser } from '../auth/single-user.ts'
import { ConfigError } from '../config/config-error.ts'
import { createConnections } from '../chat/connections.ts'
import { TurnActivity } from '../chat/turn-activity.ts'
import { warmChatTurn } from '../chat/turn-warm-up.ts'
import type { Config } from '../config/load-config.ts'
import { describeUnknownVariables } from '../config/unknown-variables.ts'
import { describeMasterKeySource } from '../crypto/master-key.ts'
import { createSessionSecretFile, readSessionSecretFile } from '../crypto/session-secret.ts'
import { readPreviousMasterKey, retirePreviousKeyFile, type PreviousMasterKey } from '../crypto/previous-master-key.ts'
import { checkDataDirAccess } from '../db/data-dir-access.ts'
import { lockDataDir } from '../db/data-dir-lock.ts'
import { openConfiguredStore } from '../db/open-configured-store.ts'
import { DATABASE_FILE, type Store } from '../db/open-store.ts'
import { startEmptyWal, startWal } from '../db/wal-start.ts'
import { openCluster, type Cluster } from '../cluster/cluster.ts'
import { prepareApp, uploadBodyLimits } from '../http/prepare-app.ts'
import { serverBodyCeiling } from '../http/plugins/body-limit.ts'
import { withGrantUpgrade } from '../http/model-grant-upgrade.ts'
import { buildAfterListen } from '../http/app-build.ts'
import { listenAhead } from '../http/listen.ts'
import { warmUp, warmUpSocket } from '../http/warm-up.ts'
import { createLifecycle } from '../lifecycle/lifecycle.ts'
import type { Logger } from '../log/logger.ts'
import { COMMIT, VERSION } from '../version.ts'
import { listenFailure } from './listen-error.ts'
import { describePostgresFailure, PostgresStartError, showUrl } from './postgres-failure.ts'

export type RunningServer = { url: string; stop: (reason: string) => Promise<void> }

/**
 * How long after the listen the chat turn's code is warmed: past a start's first requests (a health
 * probe answers within a few ms of the listen), and before a client that kept its token (a page
 * reloaded after a restart) can reconnect and ask: at 250 ms such a client often asked first, and
 * its turn ran cold, interleaved with the warm-up.
 */
const TURN_WARM_UP_DELAY_MS = 50

export async function serve(config: Config, log: Logger): Promise<RunningServer> {
  // Files this process creates (database, WAL, keys) are for its own user only.
  process.umask(0o077)
  // note: first, so a misspelt name is pointed out even when the start is then refused for it.
  reportUnknownVariables(config, log)
  if (config.auth.singleUser && !isLoopbackHost(config.host)) {
    throw new ConfigError([{ ...singleUserSetting(config), expected: `HOST to be a loopback address (127.0.0.1, ::1 or localhost), not ${config.host}: single-user mode has no sign-in, so whoever reaches the server would be its admin` }])
  }
  // note: before the lock, which writes in DATA_DIR: a directory this user may not use is named, with the fix.
  checkDataDirAccess(config.dataDir, DATABASE_FILE)
  // One process writes a data directory at a time; the lock goes at exit if a later step throws.
  const dataDirLock = lockDataDir(config.dataDir, 'enclave serve', { createDirectory: true })
  const persistedSecret = config.sessionSecret === null ? readSessionSecretFile(config.dataDir) : null
  // note: reads the *_FILE client secrets first, so a loose or missing file refuses the start before anything is written.
  const oidcProviders = createOidcProviders(config.oauth)
  const previousMasterKey = readPreviousMasterKey(config.values, config.masterKey, process.cwd())
  // note: PostgreSQL when DATABASE_URL is set (DATA_DIR then holds the lock, the session secret, the audit log and the file blobs), else SQLite in DATA_DIR.
  const store = await openConfiguredStore(config, { now: Date.now, previousMasterKey }).catch((error: unknown) => {
    const problem = config.postgres === null ? null : describePostgresFailure(error, showUrl(config.postgres.url))
    throw problem === null ? error : new PostgresStartError(problem)
  })
  const sessionSecret = config.sessionSecret ?? persistedSecret ?? createSessionSecretFile(config.dataDir)
  if (config.auth.singleUser) await startSingleUser(config, store, dataDirLock, log)
  for (const warning of [...store.info.warnings, ...riskySettingWarnings(config)]) log.warn(warning)
  const audit = createAuditLog({ path: join(config.dataDir, 'audit.log'), maxBytes: config.values.AUDIT_LOG_FILE_ROTATION_SIZE, now: Date.now })

  // note: the sign-in dependencies it needs (rate limiters, the principal cache and settings listeners, ~0.3 ms of a
  // start) are made only when WEBUI_ADMIN_EMAIL asks for an admin; bootstrapAdmin answers 'not_configured' without them.
  const adminBootstrap = config.auth.bootstrapAdmin === null ? 'not_configured' : await bootstrapAdmin(createAuthDeps({ store, auth: config.auth, sessionSecret, audit, now: Date.now, setupGate: openGate, workspaceModels: store.workspaceModels }))
  // note: a passwordless admin waiting for its first password is claimed through the same gate as the first account.
  const claimable = await findClaimableAdmin({ store, auth: config.auth })
  const setupGate = openSetupGate({ dataDir: config.dataDir, host: config.host, hasUsers: await store.users.countUsers() > 0 && claimable === null })
  if (adminBootstrap === 'created') log.info('Created the admin account from WEBUI_ADMIN_EMAIL; sign-up is closed from now on.')
  // As Open WebUI: an admin made from the environment invites the others, so sign-up closes, for good.
  const effective = await isSignupClosedByAdminBootstrap({ store }) ? Object.freeze({ ...config, auth: Object.freeze({ ...config.auth, enableSignup: false }) }) : config
  const lifecycle = createLifecycle({ config: effective, store, log, audit, now: Date.now })
  const connections = withGrantUpgrade(createConnections({ ...config.ollama, settings: store.settings, now: Date.now, log }), store.modelGrants, log)
  // note: the saved lists are read before the server starts, so a broken one stops the start.
  await connections.fresh()
  const cluster = config.cluster === null ? null : openCluster({ config: config.cluster, keys: store.clusterKeys, log })
  if (cluster !== null) await cluster.bus.link.ready
  const turnActivity = new TurnActivity()
  // note: the WAL's first frame, before the port opens and without its header's fsync (db/wal-start.ts): a returning
  // client's socket now opens mid-build, so its first question's commit came before startWal after the build and
  // waited for the two fsyncs (header and directory, 0.5-0.7 ms idle, up to 89 ms on a busy disk). ~0.1 ms here.
  const walStartedEarly = store.db !== null && startEmptyWal(store.db, `${store.info.databasePath}-wal`)
  const prepared = prepareApp({ config: effective, store, log, sessionSecret, audit, now: Date.now, setupGate, oidcProviders, lifecycle, connections, cluster, turnActivity })
  let server: Server<unknown>
  try {
    // note: Elysia turns Bun's reusePort on, which let a second server share the port and half the requests.
    // note: the port opens before the app is built: the fast routes (the page, /health, /api/version, a signed-in
    // /api/v1/auths/, socket upgrades) answer at once, and what they leave waits for the app (http/app-build.ts).
    server = listenAhead(prepared.served, { hostname: config.host, port: config.port, maxRequestBodySize: serverBodyCeiling(Math.max(...uploadBodyLimits(config).values())), reusePort: false }, prepared.fetch)
  } catch (error) {
    await store.close()
    dataDirLock.release()
    throw listenFailure(error, config.host, config.port)
  }
  // note: the app's routes are registered in slices after the listen (~20 ms for 248 routes): before it, every
  // first answer waited for them. The binary starts with the JIT's tier-up thresholds scaled up
  // (scripts/compile-binary.ts), so code that runs only during a start is not optimised on the way; from the
  // app's build on, what runs is the service's.
  const built = buildAfterListen(prepared, server, turnActivity).then((app) => {
    Bun.unsafe.setJITPolicy(1)
    return app
  })
  built.catch((error: unknown) => {
    log.error('Building the app failed', { error: error instanceof Error ? error.message : 'unknown' })
    void stop('the app could not be built').finally(() => process.exit(1))
  })
  // note: then the warm-up composes the app's request handler's first routes, the ones a page load asks for
  // first (/api/config), ahead of them; a request the app gets meanwhile composes what it needs as it would have.
  // note: a WAL not started before the listen (not empty, after a crash) gets its first frame here (db/wal-start.ts), whose fsync a
  // returning user's first turn waited for (its question's commit 0.7-89 ms against ~0.05 ms after it); after the build, so the
  // first page and health answers do not wait for the disk.
  const walStarted = walStartedEarly ? Promise.resolve() : built.then(() => startWal(store.sql)).catch(() => {
    // note: a WAL that could not be started leaves the fsync to the first write, as before.
  })
  const warmed = built.then(async (app) => {
    await walStarted
    await warmUp(app)
  }).catch((error: unknown) => log.warn('Warming the app failed', { error: error instanceof Error ? error.name : 'unknown' }))
  const url = `http://${server.hostname?.includes(':') ? `[${server.hostname}]` : server.hostname}:${server.port}`

  log.info(`Enclave ${VERSION} (commit ${COMMIT}) listening on ${url}`)
  log.info(`${config.postgres === null ? `Data in ${config.dataDir}` : `Data in PostgreSQL at ${store.info.databasePath}, files in ${config.dataDir}`}; master key from ${describeMasterKeySource(config.masterKey)}, fingerprint ${store.info.keyFingerprint}`)
  if (claimable !== null) {
    const how = setupGate.tokenFile === null ? 'on this machine' : `with the setup token in ${setupGate.tokenFile}`
    log.warn(`The admin account ${claimable.email} has no password: open the sign-in page and set one there, ${how}.`)
  } else if (setupGate.tokenFile !== null) {
    log.warn(`No account exists and the server listens beyond loopback: the first sign-up needs the setup token in ${setupGate.tokenFile}.`)
  }
  // note: the token goes to an interactive console only, never into a log file or journal.
  if (setupGate.tokenFile !== null && process.stdout.isTTY) {
    process.stdout.write(`\n  Setup token for the ${claimable === null ? 'first (admin) account' : `password of ${claimable.email}`}: ${readSetupToken(setupGate)}\n\n`)
  }
  if (store.info.generatedKeyFile !== null) {
    const everyInstance = config.postgres === null ? '' : ' Every other instance on this database needs this same key: copy the file to each (or give them ENCRYPTION_KEY_FILE), or they are refused.'
    log.warn(`A new master key was generated at ${store.info.generatedKeyFile}. Back it up now, apart from the database: without it the data cannot be read by anyone.${everyInstance}`)
    process.stderr.write(firstStartKeyNotice(store.info.generatedKeyFile, config.postgres !== null))
  }
  reportMasterKeyRotation(config, store, previousMasterKey, log)
  if (cluster !== null) log.info(describeCluster(config, cluster))
  // note: a moment after the listen, in the background: a chat turn's code is warm long before anyone has signed in
  // and asked, and the first requests (a health probe, the page) do not wait behind it (tens of ms on a busy machine).
  // note: both stand aside for users' turns (turn-activity.ts): a turn that came first runs alone, and compiles its code itself.
  const warmTurn = () => warmChatTurn({ prepareOn: store.sql, standAside: () => turnActivity.standAside(), usersHaveAsked: () => turnActivity.begun > 0 })
  const warmSocket = () => (turnActivity.begun > 0 ? undefined : built.then(warmUpSocket))
  // note: then a young-generation collection of what the start and the warm-ups left, while the server is
  // idle: Elysia's listen asked for one (Bun.gc(false)) before the first answer; without it the first
  // collection after the start fell in the first requests a client sent (one in each of 5 starts, ~1 ms).
  const collectStartGarbage = () => void Bun.gc(false)
  setTimeout(() => void warmed.then(warmSocket).then(warmTurn, warmTurn).then(collectStartGarbage, collectStartGarbage), TURN_WARM_UP_DELAY_MS).unref()
  // note: in the background, so the listen is not delayed; each connection's answer (or failure) is logged by the listing.
  // Then the listed models' context windows, so the first turn with a model sends no /api/show beside its chat (connections.ts).
  connections.listModels().then(() => connections.learnContextWindows(), (error: unknown) => log.error('Listing the Ollama models failed', { error: error instanceof Error ? error.name : 'unknown' }))
  lifecycle.start()

  let stopping: Promise<void> | null = null
  const stop = (reason: string) => {
    stopping ??= (async () => {
      log.info('Stopping', { reason })
      const drained = server.stop(false)
      const timedOut = await Promise.race([drained.then(() => false), Bun.sleep(config.shutdownTimeoutMs).then(() => true)])
      if (timedOut) {
        log.warn('Requests still in flight at the shutdown timeout were cut off', { timeoutSeconds: config.shutdownTimeoutMs / 1000 })
        await server.stop(true)
      }
      await lifecycle.stop()
      cluster?.close()
      audit.close()
      await store.close()
      dataDirLock.release()
      log.info('Stopped; database checkpointed and closed')
    })()
    return stopping
  }
  return { url, stop }
}

/** One line on what this instance shares through Redis (no URL: it may hold a password). */
function describeCluster(config: Config, cluster: Cluster): string {
  const { redis, websocketRedis } = cluster.states()
  const sockets = websocketRedis === null ? 'each instance serves its own sockets (WEBSOCKET_MANAGER=local)' : `socket frames reach every instance (Redis ${websocketRedis})`
  return `Several instances through Redis at ${cluster.bus.link.where} (${redis}), keys under ${config.cluster!.keyPrefix}: revocations reach every instance; ${sockets}.`
}

/** Prepares single-user mode's one account, or refuses a data directory with several (closing what is open). */
async function startSingleUser(config: Config, store: Store, dataDirLock: { release(): void }, log: Logger): Promise<void> {
  const prepared = await prepareSingleUser(store)
  if (!prepared.ok) {
    await store.close()
    dataDirLock.release()
    throw new ConfigError([{ ...singleUserSetting(config), expected: `a data directory with at most one account, as Open WebUI requires (${config.dataDir} has ${prepared.accounts}): whose would the browser be? Start without it, or import into an empty DATA_DIR` }])
  }
  log.warn(`Single-user mode: no sign-in; the browser on this machine is ${prepared.user.email}, an admin${prepared.created ? ' (created now, without a password)' : ''}.`)
}

/** The setting single-user mode was asked for by, for messages. */
function singleUserSetting(config: Config): { variable: string; value: string } {
  return config.values.SINGLE_USER_MODE ? { variable: 'SINGLE_USER_MODE', value: 'true' } : { variable: 'WEBUI_AUTH', value: 'false' }
}

/** The one-time notice of the first start with a generated key: shown once, as the key is generated once. */
function firstStartKeyNotice(keyFile: string, sharedDatabase: boolean): string {
  return [
    '', '  ┌─ BACK UP THE MASTER KEY ──────────────────────────────────────────',
    `  │ A new master key was generated: ${keyFile}`,
    '  │ Copy this file somewhere safe now, apart from the database backups.',
    '  │ Without it nobody, including you, can read this data again.',
    ...(sharedDatabase ? [
      '  │ Every other instance on this PostgreSQL database needs the same key:',
      '  │ copy the file to each one\'s DATA_DIR (or set ENCRYPTION_KEY_FILE),',
      '  │ or it is refused at start with a key mismatch.',
    ] : []),
    '  │ (This notice is shown once, on the start that created the key.)',
    '  └────────────────────────────────────────────────────────────────────', '', '',
  ].join('\n')
}

/** Logs a master key rotation this start finished, and moves a generated key's `.previous` file aside. */
function reportMasterKeyRotation(config: Config, store: Store, previous: PreviousMasterKey | null, log: Logger): void {
  if (store.info.finishedRotationFrom !== undefined) {
    log.info(`Finished the master key rotation from ${store.info.finishedRotationFrom} to ${store.info.keyFingerprint}; every session signed before it has ended.`)
  }
  if (previous !== null && config.masterKey.kind === 'generated') {
    const retired = retirePreviousKeyFile(config.masterKey.path, store.info.finishedRotationFrom ?? 'previous')
    if (retired !== null) log.info(`The previous master key was moved to ${retired}: keep it while you keep backups taken before the rotation, then delete it.`)
  } else if (store.info.finishedRotationFrom !== undefined) {
    log.warn(`The rotation is complete: remove ${previous?.origin ?? 'ENCRYPTION_KEY_PREVIOUS'} from the configuration (keep the old key only for restoring older backups).`)
  }
}

/** Warns of each variable that looks misspelt, and lists in one line the others Enclave does not read. */
function reportUnknownVariables(config: Config, log: Logger): void {
  const { warnings, notice } = describeUnknownVariables(config.unknownVariables)
  for (const warning of warnings) log.warn(warning)
  if (notice !== null) log.info(notice)
}

/** Settings that are allowed but weaken a default, each with a sentence saying how. */
function riskySettingWarnings(config: Config): string[] {
  const warnings: string[] = []
  if (config.cors.allowsAnyOrigin) warnings.push('CORS_ALLOW_ORIGIN=* lets any website call this server\'s API from a browser (without cookies); list the origins you trust instead.')
  if (config.auth.sessionTtlMs === null) warnings.push('JWT_EXPIRES_IN=-1: sessions never expire; sign-out and revocation still end them.')
  if (config.ldap !== null && !config.ldap.tls.validateCert) warnings.push('LDAP_VALIDATE_CERT=false: the directory server\'s certificate is not checked, so anyone on the network path can read LDAP passwords; set LDAP_CA_CERT_FILE instead.')
  if (config.ldap?.transport === 'plain') warnings.push('LDAP_USE_TLS=false without LDAP_USE_STARTTLS: LDAP passwords cross the network unencrypted.')
  if (config.trustedProxies.any) warnings.push('FORWARDED_ALLOW_IPS=*: any client may claim an IP address and HTTPS through X-Forwarded-* headers.')
  return warnings
}
