/** Like startTestApp, over a file-backed store in a temp DATA_DIR whose master key the test knows. */
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createMemoryAuditLog } from '../../src/audit/audit-log.ts'
import { openGate } from '../../src/auth/setup-token.ts'
import { loadConfig } from '../../src/config/load-config.ts'
import { generateKey } from '../../src/crypto/random.ts'
import { openStore } from '../../src/db/open-store.ts'
import { createApp, type Deps } from '../../src/http/create-app.ts'
import { createLifecycle } from '../../src/lifecycle/lifecycle.ts'
import { createLogger } from '../../src/log/logger.ts'
import { SUITE_DEFAULTS } from './suite-defaults.ts'

export type KeyedApp = ReturnType<typeof startKeyedApp>

/** Writes a fresh master key file (0600) into dir and returns its path and hex. */
export function writeKeyFile(dir: string, name: string): { path: string; hex: string } {
  const hex = Buffer.from(generateKey()).toString('hex')
  const path = join(dir, name)
  writeFileSync(path, `${hex}\n`)
  chmodSync(path, 0o600)
  return { path, hex }
}

/** Starts the app on DATA_DIR `root/data` under ENCRYPTION_KEY_FILE `keyFile`; call again on the same root to "restart". */
export function startKeyedApp(root: string, keyFile: string, env: Record<string, string> = {}, rotationBatchSize?: number) {
  const config = loadConfig({ env: { ...SUITE_DEFAULTS, DATA_DIR: join(root, 'data'), ENCRYPTION_KEY_FILE: keyFile, ...env }, cwd: root })
  const store = openStore({ dataDir: config.dataDir, masterKey: config.masterKey, now: Date.now })
  const logLines: string[] = []
  const audit = createMemoryAuditLog()
  const log = createLogger('DEBUG', (line) => void logLines.push(line))
  const lifecycle = createLifecycle({ config, store, log, audit, now: Date.now, ...(rotationBatchSize === undefined ? {} : { rotationBatchSize }) })
  const deps: Deps = { config, store, log, sessionSecret: `test-secret-${root}`, audit, now: Date.now, setupGate: openGate, lifecycle }
  return {
    app: createApp(deps), deps, store, audit, lifecycle, logLines,
    async close() {
      await lifecycle.stop()
      store.close()
    },
  }
}

export function makeRoot(): { root: string; remove: () => void } {
  const root = mkdtempSync(join(tmpdir(), 'enclave-keyed-'))
  return { root, remove: () => rmSync(root, { recursive: true, force: true }) }
}
