/**
 * Streaming over the chat socket, /api/ws, against the Ollama stand-in (test/fakes/ollama.ts): what
 * Enclave adds over reading the stand-in's NDJSON directly (first token and whole answer, at zero
 * delay), throughput of one long stream, inter-chunk delay with 500 concurrent streams, memory
 * per idle socket and bytes on the wire per answer.
 *
 * Three processes, as in a deployment: Enclave here, the stand-in in bench/stand-in-process.ts (as
 * Ollama), the clients in bench/socket-bench-client.ts (as browsers), all on the same 2 cores. The
 * clients read the stand-in directly in the same process they read the socket from, alternating.
 * `npm run bench` runs this file as a process of its own (`bun bench/socket-streaming.ts` prints the
 * figures as JSON), so Enclave's process holds nothing the other benchmarks left behind.
 */
import { createMemoryAuditLog } from '../src/audit/audit-log.ts'
import { createAuthDeps } from '../src/auth/auth-deps.ts'
import { issueSession } from '../src/auth/issue-session.ts'
import { openGate } from '../src/auth/setup-token.ts'
import { loadConfig } from '../src/config/load-config.ts'
import { openMemoryStore } from '../src/db/open-store.ts'
import { createApp } from '../src/http/create-app.ts'
import { silentLogger } from '../src/log/logger.ts'
import type { FakeBehaviour } from '../test/fakes/ollama.ts'
import { runBenchApart } from './run-apart.ts'
import { median } from './measure.ts'
import { formatNumber, formatRatio, type BenchRow } from './report.ts'
import type { ClientJob, ClientJobSpec, ClientResult, StreamTiming } from './socket-bench-client.ts'

const MODEL = 'qwen2.5:0.5b'
const LATENCY_CHUNKS = 1_000
// note: 300 pairs keep the p50s steady on a noisy 2-core VM (100 moved the added figure by ±0.3 ms run to run).
const LATENCY_REPETITIONS = 300
/**
 * Turns before the measured ones. For its first few hundred turns a fresh process is still
 * compiling the turn's code (JIT threads take CPU from all three processes, and the code runs in
 * slower tiers), so the steady state is measured after them; the first COLD_TURNS are reported beside it.
 */
const LATENCY_WARMUPS = 400
const COLD_TURNS = 100
const THROUGHPUT_CHUNKS = 20_000
const THROUGHPUT_RUNS = 3
const CONCURRENT_STREAMS = 500
const CONCURRENT_CHUNKS = 100
const IDLE_SOCKETS = 1_000
const BYTES_CHUNKS = 4_000
/** Sockets (each its own user) the latency runs rotate over. */
const LATENCY_SOCKETS = 6

/**
 * One latency figure over the measured turns: p50 and p99 through the socket and direct, the p50 of
 * each pair's difference (a socket turn and the direct read right after it), and the added p50 over
 * the first COLD_TURNS turns after start.
 */
export type LatencyTiming = { socketP50: number; socketP99: number; directP50: number; directP99: number; pairedP50: number; coldAddedP50: number }

export type SocketStreamingFigures = {
  ttft: LatencyTiming
  total: LatencyTiming & { storedP50: number }
  burst: { frames: number; chunks: number }
  throughput: { chunksPerSecond: number; directChunksPerSecond: number }
  concurrent: {
    socketGapP99: number; directGapP99: number; socketGapMax: number; directGapMax: number
    socketFirstP99: number; directFirstP99: number; socketSeconds: number; directSeconds: number
  }
  idle: { rssBytesPerSocket: number; heapBytesPerSocket: number }
  bytes: { socketBytes: number; upstreamBytes: number; frames: number }
}

if (import.meta.main) {
  console.log(JSON.stringify(await measureSocketStreaming()))
  process.exit(0)
}

/** Runs this file in a fresh process and returns its figures. */
export function measureSocketStreamingApart(): Promise<SocketStreamingFigures> {
  return runBenchApart<SocketStreamingFigures>(import.meta.path, 'socket streaming')
}

/** Runs all five measurements against one app and one stand-in. */
export async function measureSocketStreaming(): Promise<SocketStreamingFigures> {
  const standIn = await startStandInProcess({ chunkDelayMs: 0, chunkCount: LATENCY_CHUNKS })
  // note: titles off: each turn starts a new chat, and a title request would be one more answer from the stand-in.
  // The frame rate limit is raised: on a fast machine the turns come faster than 20 a second per socket.
  // note: the idle-socket row holds IDLE_SOCKETS sockets of one user, past WEBSOCKET_MAX_SOCKETS_PER_USER's default (50): it measures a socket's memory, not the limit.
  const config = loadConfig({ env: { OLLAMA_BASE_URL: standIn.url, ENABLE_TITLE_GENERATION: 'false', WEBSOCKET_RATE_LIMIT: '10000/1s', BYPASS_MODEL_ACCESS_CONTROL: 'true', WEBSOCKET_MAX_SOCKETS_PER_USER: String(IDLE_SOCKETS) }, cwd: process.cwd() })
  const store = openMemoryStore()
  const sessionSecret = crypto.randomUUID()
  const audit = createMemoryAuditLog()
  const app = createApp({ config, store, log: silentLogger, sessionSecret, audit, now: Date.now, setupGate: openGate })
  // Users and sessions straight in the store (no argon2id per user), signed with the app's secret.
  const auth = createAuthDeps({ store, auth: config.auth, sessionSecret, audit, now: Date.now, setupGate: openGate })
  let userCount = 0
  const tokensForNewUsers = async (count: number) => Promise.all(Array.from({ length: count }, async () => {
    const n = userCount++
    const created = await store.users.createUser({ email: `bench${n}@example.com`, name: `Bench ${n}`, role: 'user' })
    if (!created.ok) throw new Error(`bench user ${n}: ${created.reason}`)
    return (await issueSession(auth, created.user, { ip: '127.0.0.1', userAgent: 'bench' })).token
  }))
  app.listen({ hostname: '127.0.0.1', port: 0 })
  const wsUrl = `ws://127.0.0.1:${app.server!.port}/api/ws`
  const runClients = (job: ClientJobSpec) => runClientProcess({ ...job, wsUrl, ollamaUrl: standIn.url, model: MODEL })

  try {
    // 1. first token and whole answer at zero delay, each socket run followed by a direct read.
    const latencyTokens = await tokensForNewUsers(LATENCY_SOCKETS)
    const latency = await runClients({ kind: 'sequential', runs: LATENCY_WARMUPS + LATENCY_REPETITIONS, label: 'latency', tokens: latencyTokens })
    const socketRuns = latency.socket.slice(LATENCY_WARMUPS)
    if ([...latency.socket, ...latency.direct].some((run) => run.chunks !== LATENCY_CHUNKS)) throw new Error('latency run lost chunks')
    const ttft = latencyTiming(latency, (run) => run.firstMs)
    // note: the whole answer is there when its last token is; chat:done (the answer stored) is reported beside it.
    const total = { ...latencyTiming(latency, (run) => run.lastMs), storedP50: percentile(socketRuns.map((r) => r.endMs), 50) }
    const burst = { frames: median(socketRuns.map((r) => r.pieceLengths.length)), chunks: LATENCY_CHUNKS }

    // 2. one long stream: chunks a second from send to chat:done.
    await standIn.setBehaviour({ chunkCount: THROUGHPUT_CHUNKS })
    const long = await runClients({ kind: 'sequential', runs: THROUGHPUT_RUNS, label: 'throughput', tokens: latencyTokens })
    if (long.socket.some((run) => run.chunks !== THROUGHPUT_CHUNKS)) throw new Error('throughput run lost chunks')
    const rate = (run: StreamTiming) => run.chunks / (run.lastMs / 1000)
    const throughput = { chunksPerSecond: median(long.socket.map(rate)), directChunksPerSecond: median(long.direct.map(rate)) }

    // 5. bytes on the socket for one answer against the bytes the stand-in wrote for it; paced, so
    // every chunk travels in a frame of its own (the most framing an answer can cost).
    await standIn.setBehaviour({ chunkCount: BYTES_CHUNKS, chunkDelayMs: 1 })
    const bytesRun = await runClients({ kind: 'sequential', runs: 1, label: 'bytes', tokens: latencyTokens.slice(0, 1) })
    const bytes = { socketBytes: bytesRun.socket[0]!.bytes, upstreamBytes: bytesRun.direct[0]!.bytes, frames: bytesRun.socket[0]!.frames }

    // 3. 500 streams at once at zero delay, each socket its own user, against 500 direct reads at once.
    await standIn.setBehaviour({ chunkCount: CONCURRENT_CHUNKS, chunkDelayMs: 0 })
    const crowd = await runClients({ kind: 'concurrent', label: 'concurrent', tokens: await tokensForNewUsers(CONCURRENT_STREAMS) })
    if (crowd.socket.some((run) => run.chunks !== CONCURRENT_CHUNKS)) throw new Error('concurrent run lost chunks')
    const socketGaps = crowd.socket.flatMap(gapsOf)
    const directGaps = crowd.direct.flatMap(gapsOf)
    const concurrent = {
      socketGapP99: percentile(socketGaps, 99), directGapP99: percentile(directGaps, 99),
      socketGapMax: Math.max(...socketGaps), directGapMax: Math.max(...directGaps),
      socketFirstP99: percentile(crowd.socket.map((r) => r.firstMs), 99), directFirstP99: percentile(crowd.direct.map((r) => r.firstMs), 99),
      socketSeconds: crowd.socketSeconds, directSeconds: crowd.directSeconds,
    }
    await Bun.sleep(200)

    // 4. memory per idle authenticated socket, the clients in a child process.
    const idle = await measureIdleSockets(wsUrl, (await tokensForNewUsers(1))[0]!)
    return { ttft, total, burst, throughput, concurrent, idle, bytes }
  } finally {
    await app.stop(true)
    standIn.stop()
  }
}

/** The figures of one latency measure (`pick`) over the measured turns, and its cold added p50. */
function latencyTiming({ socket, direct }: ClientResult, pick: (run: StreamTiming) => number): LatencyTiming {
  const [socketRuns, directRuns] = [socket.slice(LATENCY_WARMUPS).map(pick), direct.slice(LATENCY_WARMUPS).map(pick)]
  const [coldSocket, coldDirect] = [socket.slice(0, COLD_TURNS).map(pick), direct.slice(0, COLD_TURNS).map(pick)]
  return {
    socketP50: percentile(socketRuns, 50), socketP99: percentile(socketRuns, 99),
    directP50: percentile(directRuns, 50), directP99: percentile(directRuns, 99),
    pairedP50: percentile(socketRuns.map((ms, i) => ms - directRuns[i]!), 50),
    coldAddedP50: percentile(coldSocket, 50) - percentile(coldDirect, 50),
  }
}

/** Starts bench/stand-in-process.ts; `setBehaviour` resolves once the stand-in has taken the change. */
export async function startStandInProcess(behaviour: Partial<FakeBehaviour>) {
  let acknowledge: (() => void) | null = null
  const child = Bun.spawn([process.execPath, `${import.meta.dir}/stand-in-process.ts`, JSON.stringify(behaviour)], {
    stdout: 'pipe', stderr: 'inherit', ipc: () => acknowledge?.(),
  })
  const url = (await readFirstLine(child.stdout)).trim()
  if (!url.startsWith('http://127.0.0.1:')) throw new Error(`the stand-in process said ${url}`)
  return {
    url,
    setBehaviour: (change: Partial<FakeBehaviour>) => new Promise<void>((resolve) => {
      acknowledge = resolve
      child.send(change)
    }),
    stop: () => child.kill(),
  }
}

/** Runs one job in bench/socket-bench-client.ts and returns what it printed. */
async function runClientProcess(job: ClientJob): Promise<ClientResult> {
  const child = Bun.spawn([process.execPath, `${import.meta.dir}/socket-bench-client.ts`], { stdin: new Blob([JSON.stringify(job)]), stdout: 'pipe', stderr: 'inherit' })
  const [said, exitCode] = await Promise.all([new Response(child.stdout).text(), child.exited])
  if (exitCode !== 0) throw new Error(`the ${job.label} clients failed (exit ${exitCode})`)
  return JSON.parse(said) as ClientResult
}

async function readFirstLine(stream: ReadableStream<Uint8Array>): Promise<string> {
  const reader = stream.getReader()
  let said = ''
  while (!said.includes('\n')) {
    const { value, done } = await reader.read()
    if (done) throw new Error(`a helper process ended early: ${said}`)
    said += new TextDecoder().decode(value)
  }
  reader.releaseLock()
  return said.slice(0, said.indexOf('\n'))
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
    const said = await readFirstLine(child.stdout)
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
export function socketStreamingRows({ ttft, total, burst, throughput, concurrent, idle, bytes }: SocketStreamingFigures): BenchRow[] {
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
  const of = `${LATENCY_REPETITIONS} runs after ${LATENCY_WARMUPS} warm-up runs × ${formatNumber(LATENCY_CHUNKS)} chunks at zero delay, ${formatNumber(burst.frames)} delta frames (median)`
  const aside = ({ pairedP50, coldAddedP50 }: LatencyTiming) => `paired p50 ${ms(pairedP50)}; first ${COLD_TURNS} runs after start ${ms(coldAddedP50)} added`
  return [
    timing('ws first token added, p50', addedTtftP50, ttft.socketP50, ttft.directP50, 1, `${aside(ttft)}; ${of}`),
    timing('ws first token added, p99', addedTtftP99, ttft.socketP99, ttft.directP99, 5, of),
    timing('ws whole answer added, p50', addedTotalP50, total.socketP50, total.directP50, 1, `to the last token; chat:done (stored) at ${ms(total.storedP50)}; ${aside(total)}; ${of}`),
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
        `${formatNumber(CONCURRENT_CHUNKS)} chunks each at zero delay, per chunk`],
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
      figures: [`socket ${formatNumber(bytes.socketBytes)} B in ${formatNumber(bytes.frames)} frames`, `stand-in ${formatNumber(bytes.upstreamBytes)} B`, `${formatNumber(BYTES_CHUNKS)} chunks, one every 1 ms`],
      measured: ratio,
      measuredText: formatRatio(ratio),
      target: { kind: 'atMost', limit: 1.5, label: '≤1.5x' },
    },
  ]
}
