/**
 * The in-process server the socket benches talk to: the app on a bench store, listening on
 * 127.0.0.1 at a free port, its models served by the given Ollama (a stand-in), title generation
 * off, the socket's rate limit out of the way and model access open, with a session for the bench
 * user. The session secret is made here and never leaves the process.
 */
import { createMemoryAuditLog } from '../src/audit/audit-log.ts'
import { createAuthDeps } from '../src/auth/auth-deps.ts'
import { issueSession } from '../src/auth/issue-session.ts'
import { openGate } from '../src/auth/setup-token.ts'
import { loadConfig } from '../src/config/load-config.ts'
import { createApp } from '../src/http/create-app.ts'
import { silentLogger } from '../src/log/logger.ts'
import { openBenchStore, type BenchStore } from './bench-store.ts'

export type SocketBenchServer = {
  bench: BenchStore
  app: ReturnType<typeof createApp>
  /** The bench user's session token, for `Authorization: Bearer` and the socket's subprotocol. */
  token: string
  /** ws://127.0.0.1:PORT/api/ws */
  socketUrl: string
}

export async function startSocketBenchServer(ollamaUrl: string): Promise<SocketBenchServer> {
  const bench = await openBenchStore()
  const config = loadConfig({ env: { OLLAMA_BASE_URL: ollamaUrl, ENABLE_TITLE_GENERATION: 'false', WEBSOCKET_RATE_LIMIT: '10000/1s', BYPASS_MODEL_ACCESS_CONTROL: 'true' }, cwd: process.cwd() })
  const sessionSecret = crypto.randomUUID()
  const audit = createMemoryAuditLog()
  const app = createApp({ config, store: bench.store, log: silentLogger, sessionSecret, audit, now: Date.now, setupGate: openGate })
  const auth = createAuthDeps({ store: bench.store, auth: config.auth, sessionSecret, audit, now: Date.now, setupGate: openGate })
  const token = (await issueSession(auth, (await bench.store.users.findUserById(bench.owner))!, { ip: '127.0.0.1', userAgent: 'bench' })).token
  app.listen({ hostname: '127.0.0.1', port: 0 })
  return { bench, app, token, socketUrl: `ws://127.0.0.1:${app.server!.port}/api/ws` }
}
