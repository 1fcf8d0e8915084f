/**
 * Records which of the compiled server's bytecode a start uses, for Bun's profile-guided layout:
 * the binary runs with BUN_BYTECODE_ORDER_OUT and writes, at exit, the hashes of the functions it
 * loaded; compiling again with `--bytecode-order` puts those functions together at the front of the
 * embedded bundle, so a start reads fewer of the binary's pages.
 * Two starts are recorded, each `serve` answering /health, then idling through the warm-ups after
 * the listen, then SIGTERM: a first start on a new data directory (keys, migrations, and the first
 * account's sign-up), and the start every later one is, on the directory the first made, which is
 * also asked for the page and, signed in, GET /api/v1/auths/: the first requests a start answers
 * (and `bench/footprint.ts` times). The later start's order comes first.
 * Threat: none. The server runs with a clean environment on 127.0.0.1 in a throwaway directory
 * (its key, database, the throwaway account and the order file are deleted by the caller), and its
 * Ollama URL is a closed port, so a build never reaches a database, Redis or model server configured
 * on the machine. The order file holds hashes of functions, no source and no data.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

/** How long a recorded start idles after its first /health: the turn warm-up starts 50 ms after the listen and takes a few hundred ms. */
const SETTLE_MS = 2_000
const START_TIMEOUT_MS = 30_000

/** A loopback port that was free a moment ago. */
function freePort(): number {
  const probe = Bun.listen({ hostname: '127.0.0.1', port: 0, socket: { data() {} } })
  const port = probe.port
  probe.stop(true)
  return port
}

/** Starts `binary serve` in `dataDir`, waits for /health, asks `visit`, lets it idle `settleMs`, stops it; true when it answered, `visit` succeeded and it exited 0. */
async function runServe(binary: string, dataDir: string, settleMs: number, extraEnv: Record<string, string>, visit: (url: string) => Promise<boolean>): Promise<boolean> {
  const port = freePort()
  const child = Bun.spawn([binary, 'serve'], {
    cwd: join(dataDir, '..'),
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', DATA_DIR: dataDir, HOST: '127.0.0.1', PORT: String(port), OLLAMA_BASE_URL: 'http://127.0.0.1:1', GLOBAL_LOG_LEVEL: 'ERROR', ...extraEnv },
    stdin: 'ignore', stdout: 'ignore', stderr: 'ignore',
  })
  const begin = Date.now()
  let answered = false
  while (!answered && child.exitCode === null && Date.now() - begin < START_TIMEOUT_MS) {
    answered = await fetch(`http://127.0.0.1:${port}/health`).then(async (res) => (await res.arrayBuffer(), res.ok), () => false)
    if (!answered) await Bun.sleep(10)
  }
  const visited = answered && await visit(`http://127.0.0.1:${port}`).catch(() => false)
  if (visited) await Bun.sleep(settleMs)
  child.kill('SIGTERM')
  return (await child.exited) === 0 && visited
}

/**
 * Records the bytecode order of two starts of `binary` (compiled with --bytecode); returns the order
 * files' paths, most common start first, and a function that deletes them, or null when the server
 * did not start and stop cleanly.
 */
export async function recordBytecodeOrder(binary: string): Promise<{ paths: string[]; remove: () => void } | null> {
  const dir = mkdtempSync(join(tmpdir(), 'enclave-bytecode-order-'))
  const remove = () => rmSync(dir, { recursive: true, force: true })
  const dataDir = join(dir, 'data')
  const [later, first] = [join(dir, 'later-start.order'), join(dir, 'first-start.order')]
  try {
    let token = ''
    const signUp = async (url: string) => {
      const answer = await fetch(`${url}/api/v1/auths/signup`, {
        method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'Order', email: 'order@example.com', password: crypto.randomUUID() }),
      })
      token = answer.ok ? ((await answer.json()) as { token: string }).token : ''
      return token !== ''
    }
    // note: the page and the signed-in answer: without them their code (the page's gzip, authenticate, the user's
    // fields opened) sat in the bundle's cold part, 11 and 60 functions read from it at their first answer.
    const askFirstRequests = async (url: string) => {
      const page = await fetch(`${url}/`)
      await page.arrayBuffer()
      const self = await fetch(`${url}/api/v1/auths/`, { headers: { authorization: `Bearer ${token}` } })
      await self.arrayBuffer()
      return page.ok && self.ok
    }
    const recorded = await runServe(binary, dataDir, SETTLE_MS, { BUN_BYTECODE_ORDER_OUT: first }, signUp)
      && await runServe(binary, dataDir, SETTLE_MS, { BUN_BYTECODE_ORDER_OUT: later }, askFirstRequests)
      && await Bun.file(first).exists() && await Bun.file(later).exists()
    if (!recorded) {
      remove()
      return null
    }
    return { paths: [later, first], remove }
  } catch (error) {
    remove()
    throw error
  }
}
