/**
 * What a refused chat socket upgrade costs the server, for several builds in one run:
 * `bun bench/socket-refusal-compare.ts OLD NEW...` starts each compiled binary (its own data
 * directory, API keys on), then sends each, in rounds alternating the order of the builds, COUNT
 * upgrade requests to /api/ws offering a made-up `sk-…` key (each its own connection, as a flood
 * of guessed keys comes), and reads the server's CPU time (utime + stime, /proc/PID/stat) before
 * and after. Prints each build's median CPU per refused upgrade over the rounds, and checks that
 * every answer was the 401 it must be. ROUNDS (default 7) and COUNT (default 400) in the environment.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { exchange, upgrade } from '../test/helpers/raw-upgrade.ts'
import { median } from './measure.ts'
import { start } from './request-rate.ts'

const binaries = process.argv.slice(2)
if (binaries.length === 0) throw new Error('usage: bun bench/socket-refusal-compare.ts BINARY [BINARY...]')
const ROUNDS = Number(process.env.ROUNDS ?? 7)
const COUNT = Number(process.env.COUNT ?? 400)
const TICKS_PER_SECOND = 100

/** The process's CPU time so far, in ms (user + system, from /proc/PID/stat). */
function cpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ')
  return (Number(fields[11]) + Number(fields[12])) * 1000 / TICKS_PER_SECOND
}

const madeUpKey = () => `sk-${Buffer.from(crypto.getRandomValues(new Uint8Array(24))).toString('hex')}`

const dir = mkdtempSync(join(tmpdir(), 'enclave-socket-refusal-compare-'))
const children: ReturnType<typeof Bun.spawn>[] = []
try {
  const builds = []
  for (const [i, binary] of binaries.entries()) {
    const url = await start([binary, 'serve'], dir, { DATA_DIR: join(dir, `data-${i}`), GLOBAL_LOG_LEVEL: 'ERROR', ENABLE_API_KEYS: 'true' }, children, true)
    builds.push({ binary, port: Number(new URL(url).port), pid: children.at(-1)!.pid, perRefusalUs: [] as number[] })
  }
  const refuseAll = async (port: number, count: number) => {
    for (let i = 0; i < count; i += 1) {
      const { status } = await exchange(port, upgrade(`Sec-WebSocket-Protocol: enclave, ${madeUpKey()}\r\n`))
      if (status !== 401) throw new Error(`a made-up key was answered ${status}`)
    }
  }
  for (const build of builds) await refuseAll(build.port, 100) // note: warm-up, not counted
  for (let round = 0; round < ROUNDS; round++) {
    for (const build of round % 2 === 0 ? builds : [...builds].reverse()) {
      const before = cpuMs(build.pid)
      await refuseAll(build.port, COUNT)
      build.perRefusalUs.push((cpuMs(build.pid) - before) * 1000 / COUNT)
    }
  }
  for (const build of builds) {
    console.log(`${build.binary}: ${median(build.perRefusalUs).toFixed(1)} µs of server CPU per refused upgrade (median of ${ROUNDS} rounds of ${COUNT}; rounds ${build.perRefusalUs.map((us) => us.toFixed(0)).join(' ')})`)
  }
} finally {
  for (const child of children) child.kill()
  rmSync(dir, { recursive: true, force: true })
}
