/**
 * The real app, listening on 127.0.0.1 and a free port, configured for single sign-on against a
 * test provider, with its own client registered there (callback and back-channel URLs on its port).
 * WEBUI_URL is that address, picked before the app is configured, as single sign-on requires it.
 */
import type { TestOidcProvider } from './oidc-provider.ts'
import { join } from 'node:path'
import { createMemoryAuditLog } from '../../src/audit/audit-log.ts'
import { openGate, type SetupGate } from '../../src/auth/setup-token.ts'
import { loadConfig } from '../../src/config/load-config.ts'
import { openStore } from '../../src/db/open-store.ts'
import { createApp, type Deps } from '../../src/http/create-app.ts'
import { createLogger } from '../../src/log/logger.ts'
import { freePort } from './nginx.ts'
import { startTestApp } from './test-app.ts'
import { SUITE_DEFAULTS } from './suite-defaults.ts'

/** Like startTestApp, but the store is a real database file in `dataDir` (with a generated key file). */
function startFileBackedApp(env: Record<string, string>, dataDir: string, setupGate: SetupGate) {
  const logLines: string[] = []
  const audit = createMemoryAuditLog()
  const deps: Deps = {
    config: loadConfig({ env: { ...SUITE_DEFAULTS, ...env, DATA_DIR: dataDir }, cwd: process.cwd() }),
    store: openStore({ dataDir, masterKey: { kind: 'generated', path: join(dataDir, '.encryption_key') }, now: Date.now }),
    log: createLogger('DEBUG', (line) => void logLines.push(line)),
    sessionSecret: 'test-session-secret-generated-per-run-' + crypto.randomUUID(),
    audit, now: Date.now, setupGate,
  }
  return { app: createApp(deps), deps, logLines, audit }
}

export type SsoApp = Awaited<ReturnType<typeof startSsoApp>>

export type SsoAppOptions = {
  /** Overrides the provider's discovery URL. */
  providerUrl?: string
  /** Keeps the database in this directory instead of memory. */
  dataDir?: string
  setupGate?: SetupGate
  /** A public client: no secret, PKCE alone (token_endpoint_auth_method none). */
  publicClient?: boolean
}

/** Starts the app with `env` on top of the provider settings. */
export async function startSsoApp(op: TestOidcProvider, env: Record<string, string> = {}, options: SsoAppOptions = {}) {
  const { providerUrl = op.discoveryUrl, dataDir = null, setupGate = openGate, publicClient = false } = options
  const clientId = `enclave-${crypto.randomUUID()}`
  const clientSecret = `secret-${crypto.randomUUID()}`
  const port = freePort()
  const url = `http://127.0.0.1:${port}`
  const fullEnv = {
    OAUTH_CLIENT_ID: clientId, ...(publicClient ? {} : { OAUTH_CLIENT_SECRET: clientSecret }), OPENID_PROVIDER_URL: providerUrl,
    OAUTH_SCOPES: 'openid email profile groups roles', OAUTH_TIMEOUT: '5', WEBUI_URL: url, ...env,
  }
  const started = dataDir === null ? startTestApp(fullEnv, Date.now, setupGate) : startFileBackedApp(fullEnv, dataDir, setupGate)
  started.app.listen({ hostname: '127.0.0.1', port })
  op.registerClient({
    clientId, clientSecret: publicClient ? null : clientSecret,
    redirectUris: [`${url}/oauth/oidc/login/callback`, `${url}/oauth/oidc/callback`],
    postLogoutRedirectUris: [`${url}/`, `${url}/auth`],
    backchannelLogoutUri: `${url}/oauth/backchannel-logout`,
  })
  return {
    ...started, url, clientId, clientSecret,
    stop: async () => {
      await started.app.stop(true)
      if (dataDir !== null) started.deps.store.close()
    },
  }
}
