/**
 * Streaming over the chat socket, /api/ws, against the Ollama stand-in (test/fakes/ollama.ts) at
 * zero delay: what Enclave adds over reading the stand-in's NDJSON directly (first token and whole
 * answer), throughput of one long stream, inter-chunk delay with 500 concurrent streams, memory per
 * idle socket and bytes on the wire per answer.
 *
 * note: the clients (WebSocket and fetch) run in this same process as Enclave and the stand-in,
 * on the same 2 cores, so every streaming figure includes the client's own cost (frame parsing,
 * JSON.parse per chunk) and the stand-in's. Only the idle-socket memory is measured with the
 * clients in a child process (bench/socket-idle-client.ts), so the figure is the server's alone.
 */
import { createMemoryAuditLog } from '../src/audit/audit-log.ts'
import { createAuthDeps } from '../src/auth/auth-deps.ts'
import { issueSession } from '../src/auth/issue-session.ts'
import { openGate } from '../src/auth/setup-token.ts'
import { loadConfig } from '../src/config/load-config.ts'
import { openMemoryStore } from '../src/db/open-store.ts'
import { createApp } from '../src/http/create-app.ts'
import { silentLogger } from '../src/log/logger.ts'
import { startFakeOllama } from '../test/fakes/ollama.ts'
import { median, nowMs } from './measure.ts'
import { formatNumber, formatRatio, type BenchRow } from './report.ts'

const MODEL = 'qwen2.5:0.5b'
const LATENCY_CHUNKS = 1_000
const LATENCY_REPETITIONS = 30
const LATENCY_WARMUPS = 3
const THROUGHPUT_CHUNKS = 20_000
const THROUGHPUT_RUNS = 3
const CONCURRENT_STREAMS = 500
const CONCURRENT_CHUNKS = 100
const IDLE_SOCKETS = 1_000
const BYTES_CHUNKS = 4_000
/** Sockets (each its own user) the latency runs rotate over, to stay under 20 frames a second each. */
const LATENCY_SOCKETS = 6

export type SocketStreamingFigures = {
  ttft: { socketP50: number; socketP99: number; directP50: number; directP99: number }
  total: { socketP50: number; socketP99: number; directP50: number; directP99: number }
  throughput: { chunksPerSecond: number; directChunksPerSecond: number }
  concurrent: {
    socketGapP99: number; directGapP99: number; socketGapMax: number; directGapMax: number
    socketFirstP99: number; directFirstP99: number; socketSeconds: number; directSeconds: number
  }
  idle: { rssBytesPerSocket: number; heapBytesPerSocket: number }
  bytes: { socketBytes: number; upstreamBytes: number; frames: number }
}

type Frame = { type: string; messageId?: string; content?: string }
type StreamTiming = { firstMs: number; totalMs: number; arrivals: number[]; bytes: number; frames: number; chunks: number }

/** Runs all five measurements against one app and one stand-in. */
export async function measureSocketStreaming(): Promise<SocketStreamingFigures> {
  const fake = await startFakeOllama({ behaviour: { chunkDelayMs: 0, chunkCount: LATENCY_CHUNKS } })
  // note: titles off: each turn starts a new chat, and a title request would be one more answer from the stand-in.
  const config = loadConfig({ env: { OLLAMA_BASE_URL: fake.url, ENABLE_TITLE_GENERATION: 'false' }, cwd: process.cwd() })
  const store = openMemoryStore()
  const sessionSecret = crypto.randomUUID()
  const audit = createMemoryAuditLog()
  const app = createApp({ config, store, log: silentLogger, sessionSecret, audit, now: Date.now, setupGate: openGate })
  // Users and sessions straight in the store (no argon2id per user), signed with the app's secret.
  const auth = createAuthDeps({ store, auth: config.auth, sessionSecret, audit, now: Date.now, setupGate: openGate })
  const tokenForNewUser = (n: number) => {
    const created = store.users.createUser({ email: `bench${n}@example.com`, name: `Bench ${n}`, role: 'user' })
    if (!created.ok) throw new Error(`bench user ${n}: ${created.reason}`)
    return issueSession(auth, created.user, { ip: '127.0.0.1', userAgent: 'bench' }).token
  }
  app.listen({ hostname: '127.0.0.1', port: 0 })
  const wsUrl = `ws://127.0.0.1:${app.server!.port}/api/ws`
  let userCount = 0
  const open: WebSocket[] = []
  const connect = async (token = tokenForNewUser(userCount++)) => {
    const client = await openClient(wsUrl, token)
    open.push(client.ws)
    return client
  }

  try {
    // 1. first token and whole answer, interleaved with direct reads of the stand-in.
    const latencyClients = await Promise.all(Array.from({ length: LATENCY_SOCKETS }, () => connect()))
    const socketRuns: StreamTiming[] = []
    const directRuns: StreamTiming[] = []
    for (let i = 0; i < LATENCY_WARMUPS + LATENCY_REPETITIONS; i++) {
      const socketRun = await latencyClients[i % LATENCY_SOCKETS]!.chat(`latency question ${i}`)
      const directRun = await readDirect(fake.url, lastChatBody(fake))
      if (i >= LATENCY_WARMUPS) {
        socketRuns.push(socketRun)
        directRuns.push(directRun)
      }
      if (socketRun.chunks !== LATENCY_CHUNKS || directRun.chunks !== LATENCY_CHUNKS) throw new Error('latency run lost chunks')
    }
    const ttft = {
      socketP50: percentile(socketRuns.map((r) => r.firstMs), 50), socketP99: percentile(socketRuns.map((r) => r.firstMs), 99),
      directP50: percentile(directRuns.map((r) => r.firstMs), 50), directP99: percentile(directRuns.map((r) => r.firstMs), 99),
    }
    const total = {
      socketP50: percentile(socketRuns.map((r) => r.totalMs), 50), socketP99: percentile(socketRuns.map((r) => r.totalMs), 99),
      directP50: percentile(directRuns.map((r) => r.totalMs), 50), directP99: percentile(directRuns.map((r) => r.totalMs), 99),
    }

    // 2. one long stream: chunks a second from send to chat:done.
    fake.setBehaviour({ chunkCount: THROUGHPUT_CHUNKS })
    const rates: number[] = []
    const directRates: number[] = []
    for (let i = 0; i < THROUGHPUT_RUNS; i++) {
      const run = await latencyClients[i % LATENCY_SOCKETS]!.chat(`throughput question ${i}`)
      if (run.chunks !== THROUGHPUT_CHUNKS) throw new Error('throughput run lost chunks')
      rates.push(run.chunks / (run.totalMs / 1000))
      const direct = await readDirect(fake.url, lastChatBody(fake))
      directRates.push(direct.chunks / (direct.totalMs / 1000))
    }
    const throughput = { chunksPerSecond: median(rates), directChunksPerSecond: median(directRates) }

    // 5. bytes on the socket for one answer against the bytes the stand-in wrote for it.
    fake.setBehaviour({ chunkCount: BYTES_CHUNKS })
    const bytesRun = await latencyClients[0]!.chat('bytes question')
    const upstream = await readDirect(fake.url, lastChatBody(fake))
    const bytes = { socketBytes: bytesRun.bytes, upstreamBytes: upstream.bytes, frames: bytesRun.frames }

    // 3. 500 streams at once, each socket its own user, against 500 direct reads at once.
    fake.setBehaviour({ chunkCount: CONCURRENT_CHUNKS })
    const crowd: Client[] = []
    for (let start = 0; start < CONCURRENT_STREAMS; start += 50) crowd.push(...(await Promise.all(Array.from({ length: 50 }, () => connect()))))
    let started = nowMs()
    const socketStreams = await Promise.all(crowd.map((client, i) => client.chat(`concurrent question ${i}`)))
    const socketSeconds = (nowMs() - started) / 1000
    const body = lastChatBody(fake)
    started = nowMs()
    const directStreams = await Promise.all(crowd.map(() => readDirect(fake.url, body)))
    const directSeconds = (nowMs() - started) / 1000
    if (socketStreams.some((run) => run.chunks !== CONCURRENT_CHUNKS)) throw new Error('concurrent run lost chunks')
    const socketGaps = socketStreams.flatMap(gapsOf)
    const directGaps = directStreams.flatMap(gapsOf)
    const concurrent = {
      socketGapP99: percentile(socketGaps, 99), directGapP99: percentile(directGaps, 99),
      socketGapMax: Math.max(...socketGaps), directGapMax: Math.max(...directGaps),
      socketFirstP99: percentile(socketStreams.map((r) => r.firstMs), 99), directFirstP99: percentile(directStreams.map((r) => r.firstMs), 99),
      socketSeconds, directSeconds,
    }
    for (const ws of open.splice(0)) ws.close()
    await Bun.sleep(200)

    // 4. memory per idle authenticated socket, the clients in a child process.
    const idle = await measureIdleSockets(wsUrl, tokenForNewUser(userCount++))
    return { ttft, total, throughput, concurrent, idle, bytes }
  } finally {
    for (const ws of open) ws.close()
    await app.stop(true)
    await fake.stop()
  }
}

type Client = { ws: WebSocket; chat(content: string): Promise<StreamTiming> }

/** Opens an authenticated socket; `chat` sends one `chat:send` and times the answer to `chat:done`. */
function openClient(url: string, token: string): Promise<Client> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, ['enclave', token])
    let onFrame: ((raw: string) => void) | null = null
    ws.onmessage = (event) => onFrame?.(event.data as string)
    ws.onerror = () => reject(new Error('socket failed to open'))
    ws.onopen = () => resolve({
      ws,
      chat: (content) => new Promise((done, fail) => {
        const start = nowMs()
        const arrivals: number[] = []
        let bytes = 0
        let frames = 0
        let firstMs = Number.NaN
        onFrame = (raw) => {
          const at = nowMs()
          const length = Buffer.byteLength(raw)
          bytes += length + wsHeaderBytes(length)
          frames++
          const frame = JSON.parse(raw) as Frame
          if (frame.type === 'chat:delta') {
            if (arrivals.length === 0) firstMs = at - start
            arrivals.push(at)
          } else if (frame.type === 'chat:done') {
            onFrame = null
            done({ firstMs, totalMs: at - start, arrivals, bytes, frames, chunks: arrivals.length })
          } else if (frame.type !== 'chat:started') {
            onFrame = null
            fail(new Error(`socket answered ${raw.slice(0, 200)}`))
          }
        }
        ws.send(JSON.stringify({ type: 'chat:send', model: MODEL, content }))
      }),
    })
  })
}

/** A server-to-client frame's header: unmasked, 2 bytes up to 125, 4 up to 65,535, else 10. */
function wsHeaderBytes(payload: number): number {
  return payload < 126 ? 2 : payload < 65_536 ? 4 : 10
}

/** The body of the last /api/chat request Enclave sent the stand-in, to replay directly. */
function lastChatBody(fake: Awaited<ReturnType<typeof startFakeOllama>>): string {
  const request = fake.requests.findLast((entry) => entry.path === '/api/chat')
  if (request === undefined) throw new Error('Enclave sent the stand-in no /api/chat')
  return JSON.stringify(request.body)
}

/** POSTs /api/chat to the stand-in and reads the NDJSON as a client would: split lines, parse each. */
async function readDirect(baseUrl: string, body: string): Promise<StreamTiming> {
  const start = nowMs()
  const response = await fetch(`${baseUrl}/api/chat`, { method: 'POST', headers: { 'content-type': 'application/json' }, body })
  const decoder = new TextDecoder()
  const arrivals: number[] = []
  let firstMs = Number.NaN
  let pending = ''
  let bytes = 0
  let frames = 0
  let totalMs = Number.NaN
  const reader = response.body!.getReader()
  for (let read = await reader.read(); !read.done; read = await reader.read()) {
    const piece = read.value
    bytes += piece.byteLength
    pending += decoder.decode(piece, { stream: true })
    let newline = pending.indexOf('\n')
    while (newline !== -1) {
      const line = pending.slice(0, newline)
      pending = pending.slice(newline + 1)
      newline = pending.indexOf('\n')
      const at = nowMs()
      frames++
      const chunk = JSON.parse(line) as { done: boolean; message: { content: string } }
      if (chunk.done) totalMs = at - start
      else if (chunk.message.content !== '') {
        if (arrivals.length === 0) firstMs = at - start
        arrivals.push(at)
      }
    }
  }
  return { firstMs, totalMs, arrivals, bytes, frames, chunks: arrivals.length }
}

function gapsOf({ arrivals }: StreamTiming): number[] {
  return arrivals.slice(1).map((at, i) => at - arrivals[i]!)
}

/** The nearest-rank percentile. */
function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? Number.NaN
}

async function memoryNow(): Promise<{ rss: number; heapUsed: number }> {
  for (let i = 0; i < 3; i++) {
    Bun.gc(true)
    await Bun.sleep(50)
  }
  const { rss, heapUsed } = process.memoryUsage()
  return { rss, heapUsed }
}

/** Server memory before and after a child process opens IDLE_SOCKETS sockets, per socket. */
async function measureIdleSockets(wsUrl: string, token: string): Promise<SocketStreamingFigures['idle']> {
  const before = await memoryNow()
  const child = Bun.spawn([process.execPath, `${import.meta.dir}/socket-idle-client.ts`, wsUrl, token, String(IDLE_SOCKETS)], { stdin: 'pipe', stdout: 'pipe', stderr: 'inherit' })
  try {
    const reader = child.stdout.getReader()
    let said = ''
    while (!said.includes('\n')) {
      const { value, done } = await reader.read()
      if (done) throw new Error(`idle client ended early: ${said}`)
      said += new TextDecoder().decode(value)
    }
    if (!said.startsWith(`open ${IDLE_SOCKETS}`)) throw new Error(`idle client said ${said}`)
    await Bun.sleep(300) // note: lets the server run every `open` handler
    const after = await memoryNow()
    return { rssBytesPerSocket: (after.rss - before.rss) / IDLE_SOCKETS, heapBytesPerSocket: (after.heapUsed - before.heapUsed) / IDLE_SOCKETS }
  } finally {
    child.stdin.end()
    await Promise.race([child.exited, Bun.sleep(2_000)])
    if (child.exitCode === null) child.kill()
  }
}

/** Rows for the five measurements, each against its target. */
export function socketStreamingRows({ ttft, total, throughput, concurrent, idle, bytes }: SocketStreamingFigures): BenchRow[] {
  const ms = (value: number) => `${formatNumber(value, 2)} ms`
  const addedTtftP50 = ttft.socketP50 - ttft.directP50
  const addedTtftP99 = ttft.socketP99 - ttft.directP99
  const addedTotalP50 = total.socketP50 - total.directP50
  const addedTotalP99 = total.socketP99 - total.directP99
  const addedGap = concurrent.socketGapP99 - concurrent.directGapP99
  const ratio = bytes.socketBytes / bytes.upstreamBytes
  const idleKb = Math.max(idle.rssBytesPerSocket, idle.heapBytesPerSocket) / 1024
  const timing = (name: string, added: number, socket: number, direct: number, limit: number, detail: string): BenchRow => ({
    name,
    figures: [`socket ${ms(socket)}`, `stand-in direct ${ms(direct)}`, detail],
    measured: added,
    measuredText: `${ms(added)} added`,
    target: { kind: 'atMost', limit, label: `≤${limit} ms added` },
  })
  const of = `${LATENCY_REPETITIONS} runs × ${formatNumber(LATENCY_CHUNKS)} chunks`
  return [
    timing('ws first token added, p50', addedTtftP50, ttft.socketP50, ttft.directP50, 1, of),
    timing('ws first token added, p99', addedTtftP99, ttft.socketP99, ttft.directP99, 5, of),
    timing('ws whole answer added, p50', addedTotalP50, total.socketP50, total.directP50, 1, of),
    timing('ws whole answer added, p99', addedTotalP99, total.socketP99, total.directP99, 5, of),
    {
      name: 'ws chunks per second, one stream',
      figures: [`${formatNumber(THROUGHPUT_CHUNKS)} chunks, median of ${THROUGHPUT_RUNS}`, `stand-in direct ${formatNumber(throughput.directChunksPerSecond)}/s`],
      measured: throughput.chunksPerSecond,
      measuredText: `${formatNumber(throughput.chunksPerSecond)}/s`,
      target: { kind: 'atLeast', limit: 50_000, label: '≥50,000/s' },
    },
    {
      name: `ws inter-chunk delay added, ${CONCURRENT_STREAMS} streams, p99`,
      figures: [
        `socket p99 ${ms(concurrent.socketGapP99)}, max ${ms(concurrent.socketGapMax)}, first token p99 ${ms(concurrent.socketFirstP99)}, all in ${formatNumber(concurrent.socketSeconds, 2)} s`,
        `direct p99 ${ms(concurrent.directGapP99)}, max ${ms(concurrent.directGapMax)}, first token p99 ${ms(concurrent.directFirstP99)}, all in ${formatNumber(concurrent.directSeconds, 2)} s`,
        `${formatNumber(CONCURRENT_CHUNKS)} chunks each`],
      measured: addedGap,
      measuredText: `${ms(addedGap)} added`,
      target: { kind: 'atMost', limit: 10, label: '≤10 ms added' },
    },
    {
      name: 'memory per idle socket',
      figures: [`rss ${formatNumber(idle.rssBytesPerSocket / 1024, 1)} KB`, `heap ${formatNumber(idle.heapBytesPerSocket / 1024, 1)} KB`, `${formatNumber(IDLE_SOCKETS)} sockets, server only`],
      measured: idleKb,
      measuredText: `${formatNumber(idleKb, 1)} KB (larger of rss, heap)`,
      target: { kind: 'atMost', limit: 20, label: '≤20 KB' },
    },
    {
      name: 'ws bytes per answer vs stand-in',
      figures: [`socket ${formatNumber(bytes.socketBytes)} B in ${formatNumber(bytes.frames)} frames`, `stand-in ${formatNumber(bytes.upstreamBytes)} B`, `${formatNumber(BYTES_CHUNKS)} chunks`],
      measured: ratio,
      measuredText: formatRatio(ratio),
      target: { kind: 'atMost', limit: 1.5, label: '≤1.5x' },
    },
  ]
}
