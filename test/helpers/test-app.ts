import { createMemoryAuditLog } from '../../src/audit/audit-log.ts'
import { openGate, type SetupGate } from '../../src/auth/setup-token.ts'
import { loadConfig } from '../../src/config/load-config.ts'
import { generateKey } from '../../src/crypto/random.ts'
import { openMemoryStore } from '../../src/db/open-store.ts'
import { createApp, type Deps } from '../../src/http/create-app.ts'
import { createLogger } from '../../src/log/logger.ts'
import { SUITE_DEFAULTS } from './suite-defaults.ts'

/** Builds the real app over a fresh in-memory store (real migrations, real crypto); the log is captured. */
export function startTestApp(env: Record<string, string> = {}, now: () => number = Date.now, setupGate: SetupGate = openGate) {
  const logLines: string[] = []
  const audit = createMemoryAuditLog(now)
  const deps: Deps = {
    config: loadConfig({ env: { ...SUITE_DEFAULTS, ...env }, cwd: process.cwd() }),
    store: openMemoryStore(generateKey(), now),
    log: createLogger('DEBUG', (line) => void logLines.push(line)),
    sessionSecret: 'test-session-secret-generated-per-run-' + crypto.randomUUID(),
    audit,
    now,
    setupGate,
  }
  return { app: createApp(deps), deps, logLines, audit }
}

/** Builds a request to the app; a plain object body is sent as JSON. */
export function req(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Request {
  const isRaw = typeof body === 'string' || body instanceof Uint8Array
  const init: RequestInit = { method, headers: { ...(body === undefined || isRaw ? {} : { 'content-type': 'application/json' }), ...headers } }
  if (body !== undefined) init.body = isRaw ? (body as BodyInit) : JSON.stringify(body)
  return new Request(`http://localhost${path}`, init)
}
