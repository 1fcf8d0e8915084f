/**
 * Opening a chat over HTTP: GET /api/v1/chats/:id of a 1,000-message chat (1 KB per message, each
 * answer with its model), timed at the client over a real socket, the whole request and its body
 * read, as Open WebUI's page opens a chat. Run alone with `bun bench/chat-http-read.ts`.
 */
import { createMemoryAuditLog } from '../src/audit/audit-log.ts'
import { openGate } from '../src/auth/setup-token.ts'
import { loadConfig } from '../src/config/load-config.ts'
import type { UserId } from '../src/db/ids.ts'
import { openMemoryStore } from '../src/db/open-store.ts'
import { createApp } from '../src/http/create-app.ts'
import { silentLogger } from '../src/log/logger.ts'
import { median, nowMs } from './measure.ts'
import { formatNumber, formatTable, type BenchRow } from './report.ts'
import { sampleText } from './sample-text.ts'

const MESSAGES = 1_000
const TEXT_BYTES = 1024
const RUNS = { warmups: 10, repetitions: 60 }

export type ChatHttpReadFigures = { p50Ms: number; bodyBytes: number }

export async function measureChatHttpRead(): Promise<ChatHttpReadFigures> {
  const store = openMemoryStore()
  const app = createApp({
    config: loadConfig({ env: {}, cwd: process.cwd() }), store, log: silentLogger,
    sessionSecret: crypto.randomUUID(), audit: createMemoryAuditLog(), now: Date.now, setupGate: openGate,
  })
  const signup = await app.handle(new Request('http://localhost/api/v1/auths/signup', {
    method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'Bench', email: 'bench@example.com', password: 'bench password, long enough' }),
  }))
  const { token, id } = (await signup.json()) as { token: string; id: string }
  const chat = await store.chats.createChat(id as UserId, 'one thousand messages', Array.from({ length: MESSAGES }, (_, i) => (
    i % 2 === 0 ? { role: 'user' as const, content: sampleText(TEXT_BYTES, 200_000 + i) } : { role: 'assistant' as const, content: sampleText(TEXT_BYTES, 200_000 + i), model: 'llama3.2' })))
  app.listen({ hostname: '127.0.0.1', port: 0 })
  try {
    const url = `http://127.0.0.1:${app.server!.port}/api/v1/chats/${chat.id}`
    const headers = { authorization: `Bearer ${token}` }
    let bodyBytes = 0
    const times: number[] = []
    for (let i = 0; i < RUNS.warmups + RUNS.repetitions; i++) {
      const start = nowMs()
      const res = await fetch(url, { headers })
      const body = await res.arrayBuffer()
      if (i >= RUNS.warmups) times.push(nowMs() - start)
      if (res.status !== 200) throw new Error(`GET ${url} answered ${res.status}`)
      bodyBytes = body.byteLength
    }
    return { p50Ms: median(times), bodyBytes }
  } finally {
    await app.stop()
    store.close()
  }
}

/** Returns the request's p50 against ≤6 ms. */
export function chatHttpReadRows({ p50Ms, bodyBytes }: ChatHttpReadFigures): BenchRow[] {
  return [{
    name: `public API: GET ${formatNumber(MESSAGES)}-message chat over HTTP`,
    figures: [`${formatNumber(p50Ms, 2)} ms p50`, `${formatNumber(bodyBytes / 1e6, 1)} MB body`],
    measured: p50Ms, measuredText: `${formatNumber(p50Ms, 2)} ms`, target: { kind: 'atMost', limit: 6, label: '≤6 ms' },
  }]
}

if (import.meta.main) console.log(formatTable(chatHttpReadRows(await measureChatHttpRead())))
