/**
 * Requests per second over loopback against the compiled binary (dist/enclave, `npm run build`):
 * GET /health and an authenticated GET /api/v1/auths/, each against a bare compiled Bun.serve
 * answering "ok" (the floor the runtime sets on this machine), measured in interleaved rounds in
 * one run: a warm-up round each, then rounds of the three in turn, the order reversed every other
 * round. /health's row is the bare server's CPU per request over Enclave's (from /proc, over all
 * rounds), with the rates and the median of the rounds' rate ratios beside; the authenticated row is
 * the median of the rounds' rate ratios (the two measured side by side). The load comes from this process (raw
 * HTTP/1.1 on keep-alive connections, a fixed number of requests in flight, for a fixed time, the
 * same for all three); every request goes to 127.0.0.1.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { median, nowMs } from './measure.ts'
import { formatNumber, formatRatio, type BenchRow } from './report.ts'

const BINARY = process.env.ENCLAVE_BINARY ?? join(import.meta.dir, '..', 'dist', 'enclave')
// note: the same code's /health rate ratio moved 0.46-0.92x between runs (three rounds, medians taken apart, no warm-up: Enclave's
// first round ran cold), and 0.62-0.93 between rounds of one run, with the machine shared. Each server's CPU per request moved
// less, and together (bare 7.8-8.5 µs, Enclave 10.0-10.5 µs, ratio 0.78-0.81x over seven runs): with the server saturated, its rate is 1 / CPU per request (idle machine:
// bare 128,431 req/s at 7.8 µs), so the CPU ratio is the same comparison without the load's noise, and no easier.
const ROUNDS = 5
const SECONDS_PER_ROUND = 2
const WARM_UP_SECONDS = 1
const CONCURRENCY = 32
const PASSWORD = 'bench password, long enough'
const BARE_SERVER = `Bun.serve({ hostname: '127.0.0.1', port: Number(process.env.PORT), fetch: () => new Response('ok') })\n`

export type RequestRateFigures = {
  /** Medians of the rounds' rates. */
  bareRps: number; healthRps: number; authedRps: number
  /** Medians of the rounds' ratios: /health over bare, the authenticated route over /health. */
  healthRatio: number; authedRatio: number
  /** Server CPU per request (µs, utime+stime from /proc), over all rounds: the bare server, and Enclave on /health. */
  bareCpuUs: number; healthCpuUs: number
}

/** CPU milliseconds of a process so far (utime+stime, fields 14 and 15 of proc(5), clock ticks of 10 ms). */
function cpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  return (Number(fields[11]) + Number(fields[12])) * 10
}

/** Requests per second at `url` in one round, with the CPU microseconds per request of the server `pid`. */
async function round(url: string, headers: Record<string, string>, pid: number): Promise<{ rps: number; cpuUs: number; requests: number; cpuMs: number }> {
  const before = cpuMs(pid)
  const started = nowMs()
  const rps = await requestsPerSecond(url, headers)
  const requests = rps * ((nowMs() - started) / 1000)
  const spent = cpuMs(pid) - before
  return { rps, cpuUs: (spent * 1000) / requests, requests, cpuMs: spent }
}

/** Starts both servers, then measures bare, /health and the authenticated route in turn, ROUNDS times. */
export async function measureRequestRate(): Promise<RequestRateFigures> {
  if (!existsSync(BINARY)) throw new Error(`${BINARY} is missing: run \`npm run build\` first`)
  const dir = mkdtempSync(join(tmpdir(), 'enclave-request-rate-'))
  const children: ReturnType<typeof Bun.spawn>[] = []
  try {
    writeFileSync(join(dir, 'bare.ts'), BARE_SERVER)
    const built = Bun.spawnSync([process.execPath, 'build', '--compile', join(dir, 'bare.ts'), '--outfile', join(dir, 'bare')], { stdout: 'ignore', stderr: 'pipe' })
    if (built.exitCode !== 0) throw new Error(`building the bare server failed: ${built.stderr.toString()}`)
    const dataDir = join(dir, 'data')
    const bare = await start([join(dir, 'bare')], dir, {}, children)
    const barePid = children.at(-1)!.pid
    const enclave = await start([BINARY, 'serve'], dir, { DATA_DIR: dataDir, GLOBAL_LOG_LEVEL: 'ERROR' }, children, true)
    const enclavePid = children.at(-1)!.pid
    const token = await signUp(enclave)
    const targets = {
      bare: { url: `${bare}/`, headers: {}, pid: barePid },
      health: { url: `${enclave}/health`, headers: {}, pid: enclavePid },
      authed: { url: `${enclave}/api/v1/auths/`, headers: { authorization: `Bearer ${token}` }, pid: enclavePid },
    }
    const order = ['bare', 'health', 'authed'] as const
    for (const name of order) await requestsPerSecond(targets[name].url, targets[name].headers, WARM_UP_SECONDS)
    const runs = { bare: [] as Awaited<ReturnType<typeof round>>[], health: [] as Awaited<ReturnType<typeof round>>[], authed: [] as Awaited<ReturnType<typeof round>>[] }
    for (let index = 0; index < ROUNDS; index++) {
      for (const name of index % 2 === 0 ? order : [...order].reverse()) runs[name].push(await round(targets[name].url, targets[name].headers, targets[name].pid))
    }
    const rates = (name: keyof typeof runs) => runs[name].map((each) => each.rps)
    const cpuPerRequest = (name: keyof typeof runs) => (runs[name].reduce((sum, each) => sum + each.cpuMs, 0) * 1000) / runs[name].reduce((sum, each) => sum + each.requests, 0)
    return {
      bareRps: median(rates('bare')), healthRps: median(rates('health')), authedRps: median(rates('authed')),
      healthRatio: median(rates('health').map((rps, index) => rps / rates('bare')[index]!)),
      authedRatio: median(rates('authed').map((rps, index) => rps / rates('health')[index]!)),
      bareCpuUs: cpuPerRequest('bare'), healthCpuUs: cpuPerRequest('health'),
    }
  } finally {
    for (const child of children) child.kill('SIGTERM')
    await Promise.all(children.map((child) => child.exited))
    rmSync(dir, { recursive: true, force: true })
  }
}

/** A loopback port that was free a moment ago. */
function freePort(): number {
  const probe = Bun.listen({ hostname: '127.0.0.1', port: 0, socket: { data() {} } })
  const port = probe.port
  probe.stop(true)
  return port
}

/** Spawns a server on a free loopback port and waits until it answers; returns its base URL. */
export async function start(command: string[], cwd: string, env: Record<string, string>, children: ReturnType<typeof Bun.spawn>[], portFlag = false): Promise<string> {
  const port = freePort()
  const child = Bun.spawn(portFlag ? [...command, '--port', String(port)] : command, {
    cwd, env: { PATH: process.env.PATH ?? '/usr/bin:/bin', PORT: String(port), ...env }, stdout: 'ignore', stderr: 'ignore', stdin: 'ignore',
  })
  children.push(child)
  const url = `http://127.0.0.1:${port}`
  const begin = nowMs()
  for (;;) {
    if (await fetch(`${url}/health`).then(() => true, () => false)) return url
    if (child.exitCode !== null || nowMs() - begin > 15_000) throw new Error(`${command[0]} did not answer (exit ${child.exitCode})`)
    await Bun.sleep(5)
  }
}

export async function signUp(base: string): Promise<string> {
  const res = await fetch(`${base}/api/v1/auths/signup`, {
    method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'Bench', email: 'bench@example.com', password: PASSWORD }),
  })
  if (!res.ok) throw new Error(`sign-up answered ${res.status}`)
  return ((await res.json()) as { token: string }).token
}

/**
 * Keeps CONCURRENCY keep-alive connections busy for SECONDS_PER_ROUND, one request in flight on
 * each; returns completed requests per second. Raw HTTP/1.1 over Bun.connect: fetch costs the
 * client more than a bare server spends answering, so it would measure itself.
 */
export async function requestsPerSecond(url: string, headers: Record<string, string>, seconds = SECONDS_PER_ROUND): Promise<number> {
  const { hostname, port, pathname } = new URL(url)
  const head = Object.entries(headers).map(([name, value]) => `${name}: ${value}\r\n`).join('')
  const request = `GET ${pathname} HTTP/1.1\r\nhost: ${hostname}:${port}\r\n${head}\r\n`
  let done = 0
  const begin = nowMs()
  const deadline = begin + seconds * 1000
  const connection = () => new Promise<void>((resolve, reject) => {
    let buffered = ''
    void Bun.connect({
      hostname, port: Number(port),
      socket: {
        open: (socket) => void socket.write(request),
        data(socket, chunk) {
          buffered += chunk.toString('latin1')
          for (;;) {
            const headEnd = buffered.indexOf('\r\n\r\n')
            if (headEnd === -1) return
            const status = buffered.slice(9, 12)
            if (status !== '200') return reject(new Error(`${url} answered ${status}`))
            const length = Number(/\r\ncontent-length: *(\d+)/i.exec(buffered.slice(0, headEnd))?.[1] ?? Number.NaN)
            if (Number.isNaN(length)) return reject(new Error(`${url} answered without a Content-Length`))
            if (buffered.length < headEnd + 4 + length) return
            buffered = buffered.slice(headEnd + 4 + length)
            done++
            if (nowMs() >= deadline) {
              socket.end()
              return resolve()
            }
            socket.write(request)
          }
        },
        error: (_socket, error) => reject(error),
        close: () => resolve(),
      },
    }).catch(reject)
  })
  await Promise.all(Array.from({ length: CONCURRENCY }, connection))
  return done / ((nowMs() - begin) / 1000)
}

/** /health against 0.8x the bare server; the authenticated route against 0.5x /health. */
export function requestRateRows({ bareRps, healthRps, authedRps, healthRatio, authedRatio, bareCpuUs, healthCpuUs }: RequestRateFigures): BenchRow[] {
  const cpuRatio = bareCpuUs / healthCpuUs
  return [
    {
      name: 'public API: GET /health vs bare Bun.serve (server CPU per request)',
      figures: [
        `${formatNumber(healthCpuUs, 2)} vs ${formatNumber(bareCpuUs, 2)} µs a request (${ROUNDS} alternated rounds)`,
        `rates ${formatNumber(healthRps)} vs ${formatNumber(bareRps)} req/s (medians), ${formatRatio(healthRatio)} (median of the rounds' ratios)`,
      ],
      measured: cpuRatio,
      measuredText: formatRatio(cpuRatio),
      target: { kind: 'atLeast', limit: 0.8, label: '≥0.80x' },
    },
    {
      name: 'public API: authenticated GET /api/v1/auths/ vs /health',
      figures: [`${formatNumber(authedRps)} vs ${formatNumber(healthRps)} req/s (medians of ${ROUNDS}; ratio: median of the rounds' ratios)`],
      measured: authedRatio,
      measuredText: formatRatio(authedRatio),
      target: { kind: 'atLeast', limit: 0.5, label: '≥0.50x' },
    },
  ]
}

if (import.meta.main) {
  const { formatTable } = await import('./report.ts')
  console.log(formatTable(requestRateRows(await measureRequestRate())))
}
