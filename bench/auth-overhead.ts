/**
 * Authentication cost: an authenticated GET /api/v1/auths/ against an unauthenticated GET /health
 * as the baseline, through the real app (in-process, so network noise stays out of the µs figure)
 * and over a real socket for requests per second. Also the argon2id hashing time per password.
 */
import { createMemoryAuditLog } from '../src/audit/audit-log.ts'
import { hashPassword } from '../src/auth/passwords.ts'
import { openGate } from '../src/auth/setup-token.ts'
import { loadConfig } from '../src/config/load-config.ts'
import { openMemoryStore } from '../src/db/open-store.ts'
import { createApp } from '../src/http/create-app.ts'
import { silentLogger } from '../src/log/logger.ts'
import { median, nowMs } from './measure.ts'
import { formatNumber, type BenchRow } from './report.ts'

const IN_PROCESS_REQUESTS = 5_000
const SOCKET_SECONDS = 2
const SOCKET_CONCURRENCY = 16

export type AuthFigures = { healthUs: number; authedUs: number; healthRps: number; authedRps: number; argon2Ms: number }

/** Measures both routes in alternation, then argon2id hashing. */
export async function measureAuthOverhead(): Promise<AuthFigures> {
  const app = createApp({
    config: loadConfig({ env: {}, cwd: process.cwd() }), store: openMemoryStore(), log: silentLogger,
    sessionSecret: crypto.randomUUID(), audit: createMemoryAuditLog(), now: Date.now, setupGate: openGate,
  })
  const signup = await app.handle(new Request('http://localhost/api/v1/auths/signup', {
    method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'Bench', email: 'bench@example.com', password: 'bench password, long enough' }),
  }))
  const { token } = (await signup.json()) as { token: string }
  const health = () => new Request('http://localhost/health')
  const authed = () => new Request('http://localhost/api/v1/auths/', { headers: { authorization: `Bearer ${token}` } })

  const perRequestUs = async (make: () => Request) => {
    const start = nowMs()
    for (let i = 0; i < IN_PROCESS_REQUESTS; i++) await (await app.handle(make())).arrayBuffer()
    return ((nowMs() - start) * 1000) / IN_PROCESS_REQUESTS
  }
  const healthRuns: number[] = []
  const authedRuns: number[] = []
  await perRequestUs(health)
  await perRequestUs(authed)
  for (let round = 0; round < 5; round++) {
    healthRuns.push(await perRequestUs(health))
    authedRuns.push(await perRequestUs(authed))
  }

  app.listen({ hostname: '127.0.0.1', port: 0 })
  const base = `http://127.0.0.1:${app.server!.port}`
  const healthRps = await requestsPerSecond(`${base}/health`, {})
  const authedRps = await requestsPerSecond(`${base}/api/v1/auths/`, { authorization: `Bearer ${token}` })
  await app.stop()

  const hashes: number[] = []
  for (let i = 0; i < 7; i++) {
    const start = nowMs()
    await hashPassword(`bench password ${i}`)
    hashes.push(nowMs() - start)
  }
  return { healthUs: median(healthRuns), authedUs: median(authedRuns), healthRps, authedRps, argon2Ms: median(hashes) }
}

async function requestsPerSecond(url: string, headers: Record<string, string>): Promise<number> {
  let done = 0
  const deadline = nowMs() + SOCKET_SECONDS * 1000
  const worker = async () => {
    while (nowMs() < deadline) {
      const res = await fetch(url, { headers })
      if (!res.ok) throw new Error(`${url} answered ${res.status}`)
      await res.arrayBuffer()
      done++
    }
  }
  const start = nowMs()
  await Promise.all(Array.from({ length: SOCKET_CONCURRENCY }, worker))
  return done / ((nowMs() - start) / 1000)
}

/** Returns the auth overhead against ≤30 µs and the argon2id time against the 30-100 ms aim. */
export function authOverheadRows({ healthUs, authedUs, healthRps, authedRps, argon2Ms }: AuthFigures): BenchRow[] {
  const overhead = authedUs - healthUs
  return [
    {
      name: 'auth overhead per request',
      figures: [`GET /api/v1/auths/ ${formatNumber(authedUs, 1)} µs`, `GET /health ${formatNumber(healthUs, 1)} µs`,
        `socket: ${formatNumber(authedRps)} vs ${formatNumber(healthRps)} req/s`],
      measured: overhead,
      measuredText: `${formatNumber(overhead, 1)} µs`,
      target: { kind: 'atMost', limit: 30, label: '≤30 µs' },
    },
    {
      name: 'argon2id hash (19 MiB, t=2)',
      figures: [`${formatNumber(argon2Ms, 1)} ms median of 7`],
      measured: argon2Ms,
      measuredText: `${formatNumber(argon2Ms, 1)} ms`,
      target: { kind: 'atMost', limit: 100, label: '30-100 ms' },
    },
  ]
}
