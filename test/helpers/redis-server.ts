/**
 * A throw-away redis-server on 127.0.0.1 for one test file: a free port, its config, dump and log
 * in a temp dir, no persistence unless a test asks for a SAVE. Fails loudly when the binary is
 * missing (apt-get install -y --no-install-recommends redis-server; .ci/run installs it).
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

const REDIS_SERVER = process.env.REDIS_SERVER ?? '/usr/bin/redis-server'

export type RedisMonitor = {
  /** What MONITOR printed so far. */
  text(): string
  /** Waits (bounded) until the output holds `fragment`. */
  until(fragment: string): Promise<void>
  stop(): void
}

export type TestRedis = {
  url: string
  port: number
  dir: string
  /** Runs redis-cli against this server and returns its output. */
  cli(...args: string[]): Promise<string>
  /** Kills the server (SIGKILL: nothing saved), as a crash would. */
  kill(): Promise<void>
  /** Starts it again on the same port. */
  restart(): Promise<void>
  /** Writes the dump file (SAVE) and returns its bytes. */
  dump(): Promise<Buffer>
  /** Starts MONITOR (resolves once Redis says OK): every command from then on, as Redis saw it. */
  monitor(): Promise<RedisMonitor>
  stop(): Promise<void>
}

/** Starts a redis-server and waits until it answers PING. */
export async function startTestRedis(): Promise<TestRedis> {
  if (!existsSync(REDIS_SERVER)) throw new Error(`${REDIS_SERVER} is missing: apt-get install -y --no-install-recommends redis-server`)
  const dir = mkdtempSync(join(tmpdir(), 'enclave-redis-'))
  const port = await freePort()
  const conf = join(dir, 'redis.conf')
  writeFileSync(conf, [`bind 127.0.0.1`, `port ${port}`, `dir ${dir}`, `dbfilename dump.rdb`, `save ""`, `appendonly no`, `logfile ${join(dir, 'redis.log')}`, `daemonize no`].join('\n') + '\n')
  let process_: ReturnType<typeof Bun.spawn> | null = null

  const cli = async (...args: string[]) => {
    const child = Bun.spawn(['redis-cli', '-h', '127.0.0.1', '-p', String(port), ...args], { stdout: 'pipe', stderr: 'pipe' })
    const out = await new Response(child.stdout).text()
    await child.exited
    return out.trim()
  }
  const start = async () => {
    process_ = Bun.spawn([REDIS_SERVER, conf], { stdout: 'ignore', stderr: 'pipe' })
    for (let attempt = 0; attempt < 100; attempt++) {
      if ((await cli('PING')) === 'PONG') return
      if (process_.exitCode !== null) break
      await Bun.sleep(50)
    }
    throw new Error(`redis-server did not start: ${readFileSync(join(dir, 'redis.log'), 'utf8').slice(-500)}`)
  }
  const kill = async () => {
    if (process_ === null) return
    process_.kill('SIGKILL')
    await process_.exited
    process_ = null
  }
  await start()
  return {
    url: `redis://127.0.0.1:${port}/0`, port, dir, cli, kill, restart: start,
    async dump() {
      await cli('SAVE')
      return readFileSync(join(dir, 'dump.rdb'))
    },
    async monitor() {
      const child = Bun.spawn(['redis-cli', '-h', '127.0.0.1', '-p', String(port), 'MONITOR'], { stdout: 'pipe', stderr: 'ignore' })
      let text = ''
      const decoder = new TextDecoder()
      const reader = child.stdout.getReader()
      void (async () => {
        for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) text += decoder.decode(chunk.value, { stream: true })
      })()
      const until = async (fragment: string) => {
        for (let attempt = 0; attempt < 500; attempt++) {
          if (text.includes(fragment)) return
          await Bun.sleep(10)
        }
        throw new Error(`MONITOR never showed ${fragment}`)
      }
      await until('OK')
      return { text: () => text, until, stop: () => child.kill() }
    },
    async stop() {
      await kill()
      rmSync(dir, { recursive: true, force: true })
    },
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number }
      server.close(() => resolve(port))
    })
  })
}
