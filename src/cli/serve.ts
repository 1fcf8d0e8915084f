/**
 * `enclave serve`: opens the store, starts the HTTP server, and stops gracefully on SIGTERM or
 * SIGINT: stop accepting, let requests in flight finish (bounded), checkpoint the WAL, close.
 */
import type { Config } from '../config/load-config.ts'
import { describeMasterKeySource } from '../crypto/master-key.ts'
import { createSessionSecretFile, readSessionSecretFile } from '../crypto/session-secret.ts'
import { openStore } from '../db/open-store.ts'
import { createApp } from '../http/create-app.ts'
import type { Logger } from '../log/logger.ts'
import { VERSION } from '../version.ts'

export type RunningServer = { url: string; stop: (reason: string) => Promise<void> }

export async function serve(config: Config, log: Logger): Promise<RunningServer> {
  // Files this process creates (database, WAL, keys) are for its own user only.
  process.umask(0o077)
  const persistedSecret = config.sessionSecret === null ? readSessionSecretFile(config.dataDir) : null
  const store = openStore({ dataDir: config.dataDir, masterKey: config.masterKey, now: Date.now })
  const sessionSecret = config.sessionSecret ?? persistedSecret ?? createSessionSecretFile(config.dataDir)
  for (const warning of store.info.warnings) log.warn(warning)

  const app = createApp({ config, store, log, sessionSecret })
  try {
    app.listen({ hostname: config.host, port: config.port, maxRequestBodySize: config.maxRequestBodyBytes })
  } catch (error) {
    store.close()
    throw error
  }
  const server = app.server!
  const url = `http://${server.hostname?.includes(':') ? `[${server.hostname}]` : server.hostname}:${server.port}`

  log.info(`Enclave ${VERSION} listening on ${url}`)
  log.info(`Data in ${config.dataDir}; master key from ${describeMasterKeySource(config.masterKey)}, fingerprint ${store.info.keyFingerprint}`)
  if (store.info.generatedKeyFile !== null) {
    log.warn(`A new master key was generated at ${store.info.generatedKeyFile}. Back it up now, apart from the database: without it the data cannot be read by anyone.`)
  }

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
      store.close()
      log.info('Stopped; database checkpointed and closed')
    })()
    return stopping
  }
  return { url, stop }
}
