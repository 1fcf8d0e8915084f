/**
 * Footprint of the compiled binary (dist/enclave, built by `npm run build`): its size; cold start
 * (wall time, and the process's CPU time by then) to the first 200 of /health, of / (the page) and of a signed-in GET /api/v1/auths/ (a session
 * made beforehand), and as context of /api/config (a route only the app answers, built after the listen), each path in starts of its own (median of several starts of a fresh process on
 * an existing data directory), and to the first /health of first starts that also create the keys
 * and the database; resident
 * memory once idle (IDLE_MS after the first /health, past the warm-ups after the listen), split
 * into the binary's own pages (file-backed: code, data, the embedded bundle) and anonymous memory
 * (heap, allocator, JIT code) from /proc/PID/smaps_rollup, and per idle authenticated WebSocket session: 100 sessions held by a child
 * process, opened after one session was opened and closed (the runtime's one-time cost of its first
 * socket, 2 MB in a bare Bun server, is not a cost per session), measured before any collection
 * the test could force, as users meet it; the bare server's figure is taken the same way. Without
 * CORS configured, as here, the upgrades take Bun's router (src/http/socket-upgrade.ts); with it,
 * the app's route (more per socket: docs/performance.md, "Idle sockets").
 * Each start is a new process from the file on disk, so the figures include loading the binary.
 * Both start figures and the idle one are set against a bare compiled Bun program that answers
 * "hello" (bench/bare-server.ts, compiled here), measured in the same run with its starts
 * interleaved with Enclave's. ENCLAVE_BINARY points at another build (to compare before and after);
 * `bun bench/footprint.ts` prints these rows alone.
 */
import { copyFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { median, nowMs } from './measure.ts'
import { formatNumber, formatSummary, formatTable, type BenchRow } from './report.ts'

const BINARY = process.env.ENCLAVE_BINARY ?? join(import.meta.dir, '..', 'dist', 'enclave')
const STARTS = 11
const SESSIONS = 100
/** How long a started server idles before its resident memory is read: the socket and chat-turn warm-ups start 50 ms after the listen and end within a few hundred ms. */
const IDLE_MS = 3_000
const PASSWORD = 'correct horse battery staple'

export type FootprintFigures = {
  binaryBytes: number
  /** The slowest of the three first-200 medians below (each path in starts of its own). */
  coldStartMs: number
  coldStartRangeMs: [number, number]
  /** Median and range to the first 200 of each path: /health (Bun's router), / (the page) and an authenticated GET /api/v1/auths/. */
  coldStarts: { path: ColdPath; ms: number; rangeMs: [number, number]; cpuMs: number }[]
  /** The same for APP_PATH, a route of the app's own (context). */
  appRouteStart: { path: ColdPath; ms: number; rangeMs: [number, number]; cpuMs: number }
  firstStartMs: number
  idleRssBytes: number
  /** The anonymous part of idleRssBytes (the rest is the binary's own file-backed pages and the C libraries'). */
  idleAnonymousBytes: number
  /** RSS with the sessions open, and just before they were opened (after the first one came and went). */
  sessionsRssBytes: number
  beforeSessionsRssBytes: number
  /** The bare compiled Bun program's figures, from the same run. */
  bare: { startMs: number; startRangeMs: [number, number]; startCpuMs: number; idleRssBytes: number; idleAnonymousBytes: number; perSessionBytes: number }
}

/** A loopback port that was free a moment ago. */
function freePort(): number {
  const probe = Bun.listen({ hostname: '127.0.0.1', port: 0, socket: { data() {} } })
  const port = probe.port
  probe.stop(true)
  return port
}

/** `ms`: wall time to the first 200; `cpuMs`: the process's CPU time by then, all its threads. */
type Started = { child: ReturnType<typeof Bun.spawn>; url: string; ms: number; cpuMs: number }

/**
 * The CPU time the process's threads have run, from /proc/PID/task/TID/schedstat (nanoseconds).
 * note: beside the wall time, as the CPU a start spends moves far less with the machine's load
 * (the same two builds: wall medians 79-128 ms, CPU medians 49-55 ms, in runs at load average 8-10).
 */
function cpuMsOf(pid: number): number {
  let ns = 0
  for (const task of readdirSync(`/proc/${pid}/task`)) {
    try {
      ns += Number(readFileSync(`/proc/${pid}/task/${task}/schedstat`, 'utf8').split(' ')[0])
    } catch {
      // note: a thread that ended between the listing and the read
    }
  }
  return ns / 1e6
}

/** What a cold start is timed to: the health probe, the page, and a signed-in request (a session made beforehand). */
const COLD_PATHS = ['/health', '/', '/api/v1/auths/'] as const
/**
 * Timed beside them as context, not in the row's figure: a request only the app answers (the page's
 * anonymous /api/config). Since the port opens before the app's routes are registered (cli/serve.ts),
 * the three paths above are answered by Bun's router while the app is built, and this one waits for it.
 */
const APP_PATH = '/api/config'
type ColdPath = typeof COLD_PATHS[number] | typeof APP_PATH

/** Spawns the binary and polls `path` until it answers 200; returns how long that took. */
function startAndTime(binary: string, dataDir: string, path = '/health', headers: Record<string, string> = {}): Promise<Started> {
  return spawnAndTime((port) => [binary, 'serve', '--port', String(port)], dataDir, path, headers)
}

/** Spawns the command and polls `path` until it answers 200; returns how long that took. */
async function spawnAndTime(command: (port: number) => string[], dataDir: string, path = '/health', headers: Record<string, string> = {}): Promise<Started> {
  const port = freePort()
  const url = `http://127.0.0.1:${port}`
  const begin = nowMs()
  const child = Bun.spawn(command(port), {
    // note: a three-variable environment: a shell's (35 names) made the start check each name for a misspelt setting,
    // 5 ms before the listen until that check passed over the names it cannot be near (docs/performance.md).
    // note: SESSIONS sockets of one user, past WEBSOCKET_MAX_SOCKETS_PER_USER's default (50): the row measures a session's memory, not the limit.
    cwd: dataDir, env: { PATH: process.env.PATH ?? '/usr/bin:/bin', DATA_DIR: dataDir, GLOBAL_LOG_LEVEL: 'ERROR', WEBSOCKET_MAX_SOCKETS_PER_USER: String(SESSIONS) }, stdout: 'ignore', stderr: 'ignore', stdin: 'ignore',
  })
  for (;;) {
    const status = await fetch(`${url}${path}`, { headers }).then(async (res) => (await res.arrayBuffer(), res.status), () => 0)
    if (status === 200) {
      const ms = nowMs() - begin
      return { child, url, ms, cpuMs: cpuMsOf(child.pid) }
    }
    if (status !== 0) throw new Error(`${command(port)[0]} answered ${path} with ${status}`)
    if (child.exitCode !== null || nowMs() - begin > 15_000) throw new Error(`${command(port)[0]} did not answer ${path} (exit ${child.exitCode})`)
    // note: a poll every 1.1-1.2 ms (the sleep and a refused fetch): a first 200 is seen ~0.6 ms (at most ~1.2 ms) after the
    // server could give it, the bare program's alike. Without the sleep the client's spinning took a core of two from the
    // server it timed (wall p50 31-36 against 23-24 ms under other load, same code; docs/performance.md), so it stays.
    await Bun.sleep(1)
  }
}

/** Compiles bench/bare-server.ts into `dir` the way Enclave is compiled (bytecode); returns its path. */
function compileBareServer(dir: string): string {
  const outfile = join(dir, 'bare-server')
  const compile = Bun.spawnSync([process.execPath, 'build', '--compile', '--minify-syntax', '--bytecode', join(import.meta.dir, 'bare-server.ts'), '--outfile', outfile], { stdout: 'ignore', stderr: 'inherit' })
  if (compile.exitCode !== 0) throw new Error('compiling bench/bare-server.ts failed')
  return outfile
}

type Resident = { rssBytes: number; anonymousBytes: number }

/** The process's resident memory once it has idled IDLE_MS, from /proc/PID/smaps_rollup. */
async function idleResident(pid: number): Promise<Resident> {
  await Bun.sleep(IDLE_MS)
  const rollup = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8')
  const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB$`, 'm').exec(rollup)?.[1])
  return { rssBytes: kb('Rss') * 1024, anonymousBytes: kb('Anonymous') * 1024 }
}

const range = (values: readonly number[]): [number, number] => [Math.min(...values), Math.max(...values)]

async function stop(child: ReturnType<typeof Bun.spawn>): Promise<void> {
  child.kill('SIGTERM')
  await child.exited
}

/** The process's resident set size, from /proc. */
function rssBytes(pid: number): number {
  const kb = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]
  return Number(kb) * 1024
}

export async function measureFootprint(): Promise<FootprintFigures> {
  if (!existsSync(BINARY)) throw new Error(`${BINARY} is missing: run \`npm run build\` first`)
  const dirs: string[] = []
  const newDir = () => {
    const dir = mkdtempSync(join(tmpdir(), 'enclave-footprint-'))
    dirs.push(dir)
    return dir
  }
  try {
    // note: a fresh copy, as the bare server is freshly compiled: the RSS of a binary's code pages depends on the
    // file's state in the page cache (the kernel maps a faulting page's cached neighbours with it); the same build
    // read 33.1 MB of code pages from a file written an hour before and 35.7 MB from a fresh copy, same run.
    const binary = join(newDir(), 'enclave')
    copyFileSync(BINARY, binary)
    const firstStarts: number[] = []
    for (let i = 0; i < 5; i++) {
      const started = await startAndTime(binary, newDir())
      firstStarts.push(started.ms)
      await stop(started.child)
    }
    const dataDir = newDir()
    const made = await startAndTime(binary, dataDir) // creates keys and database once, and the account whose session the third path uses
    const token = await signUp(made.url).finally(() => stop(made.child))
    const headersOf = (path: ColdPath): Record<string, string> => path === '/api/v1/auths/' ? { authorization: `Bearer ${token}` } : {}
    const bareServer = compileBareServer(newDir())
    const startBare = () => spawnAndTime((port) => [bareServer, String(port)], dataDir)
    await stop((await startBare()).child) // note: the first start of a new file reads it from disk
    // note: interleaved, so a burst of load from elsewhere on the machine falls on both alike.
    const timedPaths: ColdPath[] = [...COLD_PATHS, APP_PATH]
    const coldStarts = new Map<ColdPath, number[]>(timedPaths.map((path) => [path, []]))
    const coldCpu = new Map<ColdPath, number[]>(timedPaths.map((path) => [path, []]))
    const bareStarts: number[] = []
    const bareCpu: number[] = []
    for (let i = 0; i < STARTS; i++) {
      for (const path of timedPaths) {
        const started = await startAndTime(binary, dataDir, path, headersOf(path))
        coldStarts.get(path)!.push(started.ms)
        coldCpu.get(path)!.push(started.cpuMs)
        await stop(started.child)
      }
      const bare = await startBare()
      bareStarts.push(bare.ms)
      bareCpu.push(bare.cpuMs)
      await stop(bare.child)
    }
    const bareIdle = await startBare()
    const bareResident = await idleResident(bareIdle.child.pid)
    const bareSessions = await measureSessions(bareIdle.url, bareIdle.child.pid, 'none').finally(() => stop(bareIdle.child))
    const bare = { startMs: median(bareStarts), startRangeMs: range(bareStarts), startCpuMs: median(bareCpu), idleRssBytes: bareResident.rssBytes, idleAnonymousBytes: bareResident.anonymousBytes, perSessionBytes: (bareSessions.after - bareSessions.before) / SESSIONS }

    const server = await startAndTime(binary, dataDir)
    try {
      const idle = await idleResident(server.child.pid)
      const sessions = await measureSessions(server.url, server.child.pid, token)
      const timed = (path: ColdPath) => ({ path, ms: median(coldStarts.get(path)!), rangeMs: range(coldStarts.get(path)!), cpuMs: median(coldCpu.get(path)!) })
      const perPath = COLD_PATHS.map(timed)
      const slowest = perPath.reduce((a, b) => (b.ms > a.ms ? b : a))
      return {
        binaryBytes: statSync(BINARY).size, coldStartMs: slowest.ms, coldStartRangeMs: slowest.rangeMs, coldStarts: perPath, appRouteStart: timed(APP_PATH), firstStartMs: median(firstStarts),
        idleRssBytes: idle.rssBytes, idleAnonymousBytes: idle.anonymousBytes, sessionsRssBytes: sessions.after, beforeSessionsRssBytes: sessions.before, bare,
      }
    } finally {
      await stop(server.child)
    }
  } finally {
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true })
  }
}

/** Signs the first account up (an admin) and returns its session token. */
async function signUp(url: string): Promise<string> {
  const signup = await fetch(`${url}/api/v1/auths/signup`, {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'Bench', email: 'bench@example.com', password: PASSWORD }),
  })
  return ((await signup.json()) as { token: string }).token
}

/** Holds `count` idle sockets to /api/ws from a child process until the returned function is called. */
async function holdSockets(url: string, token: string, count: number): Promise<() => Promise<void>> {
  const holder = Bun.spawn([process.execPath, join(import.meta.dir, 'socket-idle-client.ts'), `${url.replace('http', 'ws')}/api/ws`, token, String(count)], {
    stdin: 'pipe', stdout: 'pipe', stderr: 'inherit',
  })
  const release = async () => {
    holder.stdin.end()
    await Promise.race([holder.exited, Bun.sleep(2_000)])
  }
  const said = await readLine(holder.stdout)
  if (!said.startsWith(`open ${count}`)) {
    await release()
    throw new Error(`idle client said ${said}`)
  }
  return release
}

/** The server's RSS before and with SESSIONS idle sockets, after one socket was opened and closed. */
async function measureSessions(url: string, pid: number, token: string): Promise<{ before: number; after: number }> {
  await (await holdSockets(url, token, 1))()
  await Bun.sleep(1_000)
  const before = rssBytes(pid)
  const release = await holdSockets(url, token, SESSIONS)
  try {
    await Bun.sleep(1_000)
    return { before, after: rssBytes(pid) }
  } finally {
    await release()
  }
}

async function readLine(stream: ReadableStream<Uint8Array>): Promise<string> {
  const reader = stream.getReader()
  let said = ''
  while (!said.includes('\n')) {
    const { value, done } = await reader.read()
    if (done) break
    said += new TextDecoder().decode(value)
  }
  reader.releaseLock()
  return said
}

const mb = (bytes: number) => `${formatNumber(bytes / 1024 / 1024, 1)} MB`
const msRange = ([low, high]: [number, number]) => `range ${formatNumber(low, 0)}-${formatNumber(high, 0)} ms`

/** One line of context: the binary's size (no target; Open WebUI's image is several GB). */
export function formatBinarySize(figures: FootprintFigures): string {
  return `binary dist/enclave: ${mb(figures.binaryBytes)}, nearly all of it the Bun runtime (Open WebUI's image: several GB)`
}

export function footprintRows(figures: FootprintFigures): BenchRow[] {
  const perSocketKb = (figures.sessionsRssBytes - figures.beforeSessionsRssBytes) / SESSIONS / 1024
  const fromIdleKb = (figures.sessionsRssBytes - figures.idleRssBytes) / SESSIONS / 1024
  return [
    {
      name: 'binary: cold start to the first 200',
      figures: [
        `the slowest p50 of ${STARTS} starts per path on an existing data directory, polled every ~1.1 ms as the bare program: ${figures.coldStarts.map(({ path, ms, rangeMs }) => `${path === '/api/v1/auths/' ? 'signed-in /api/v1/auths/' : path} ${formatNumber(ms, 0)} ms (${msRange(rangeMs)})`).join(', ')}`,
        `process CPU to the first 200, p50: ${figures.coldStarts.map(({ path, cpuMs }) => `${path === '/api/v1/auths/' ? 'signed-in' : path} ${formatNumber(cpuMs, 0)} ms`).join(', ')}`,
        `context, a route only the app answers (${figures.appRouteStart.path}, the app built after the listen): ${formatNumber(figures.appRouteStart.ms, 0)} ms, CPU ${formatNumber(figures.appRouteStart.cpuMs, 0)} ms`,
        `bare compiled Bun ${formatNumber(figures.bare.startMs, 0)} ms (${msRange(figures.bare.startRangeMs)}), CPU ${formatNumber(figures.bare.startCpuMs, 0)} ms`,
        `first start (keys, database) ${formatNumber(figures.firstStartMs, 0)} ms`,
      ],
      measured: figures.coldStartMs, measuredText: `${formatNumber(figures.coldStartMs, 0)} ms`,
      target: { kind: 'atMost', limit: 25, label: '≤25 ms' },
    },
    {
      name: 'binary: idle RSS after start',
      figures: [
        `compiled binary, no SSO or LDAP, ${IDLE_MS / 1000} s after the first 200`,
        `${mb(figures.idleRssBytes - figures.idleAnonymousBytes)} file-backed (the binary's code and bundle) + ${mb(figures.idleAnonymousBytes)} anonymous`,
        `bare Bun serving hello ${mb(figures.bare.idleRssBytes)} (${mb(figures.bare.idleRssBytes - figures.bare.idleAnonymousBytes)} + ${mb(figures.bare.idleAnonymousBytes)})`,
      ],
      measured: figures.idleRssBytes / 1024 / 1024, measuredText: mb(figures.idleRssBytes),
      target: { kind: 'atMost', limit: 40, label: '≤40 MB' },
    },
    {
      name: 'RSS per idle authenticated WebSocket session',
      figures: [
        `${SESSIONS} sessions after a first one came and went, no forced collection, upgraded by Bun's router (no CORS configured)`,
        `bare Bun ${formatNumber(figures.bare.perSessionBytes / 1024, 1)} KB the same way`,
        `from idle, first socket included ${formatNumber(fromIdleKb, 1)} KB`,
        `with the sessions ${mb(figures.sessionsRssBytes)}`,
      ],
      measured: perSocketKb, measuredText: `${formatNumber(perSocketKb, 1)} KB`,
      target: { kind: 'atMost', limit: 20, label: '≤20 KB' },
    },
  ]
}

if (import.meta.main) {
  const figures = await measureFootprint()
  console.log(formatTable(footprintRows(figures)))
  console.log(formatBinarySize(figures))
  console.log(formatSummary(footprintRows(figures)))
}
