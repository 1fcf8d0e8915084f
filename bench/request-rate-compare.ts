/**
 * The authenticated rate of several builds in one run: `bun bench/request-rate-compare.ts OLD NEW...`
 * starts each compiled binary (each on its own data directory, signed up), then measures /health
 * and an authenticated GET /api/v1/auths/ on each in short rounds, alternating the order of the builds
 * every round, and prints each build's median ratio of the two rates over the rounds. On a shared,
 * loaded machine a ratio taken within one round of one process is what compares; absolute rates do
 * not. ROUNDS (default 9) and SECONDS (per measurement, default 1) in the environment.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { median } from './measure.ts'
import { requestsPerSecond, signUp, start } from './request-rate.ts'

const binaries = process.argv.slice(2)
if (binaries.length === 0) throw new Error('usage: bun bench/request-rate-compare.ts BINARY [BINARY...]')
const ROUNDS = Number(process.env.ROUNDS ?? 9)
const SECONDS = Number(process.env.SECONDS ?? 1)

const dir = mkdtempSync(join(tmpdir(), 'enclave-request-rate-compare-'))
const children: ReturnType<typeof Bun.spawn>[] = []
try {
  const builds = []
  for (const [i, binary] of binaries.entries()) {
    const url = await start([binary, 'serve'], dir, { DATA_DIR: join(dir, `data-${i}`), GLOBAL_LOG_LEVEL: 'ERROR' }, children, true)
    builds.push({ binary, url, token: await signUp(url), health: [] as number[], authed: [] as number[], ratios: [] as number[] })
  }
  for (let round = 0; round < ROUNDS; round++) {
    for (const build of round % 2 === 0 ? builds : [...builds].reverse()) {
      const health = await requestsPerSecond(`${build.url}/health`, {}, SECONDS)
      const authed = await requestsPerSecond(`${build.url}/api/v1/auths/`, { authorization: `Bearer ${build.token}` }, SECONDS)
      build.health.push(health)
      build.authed.push(authed)
      build.ratios.push(authed / health)
    }
  }
  for (const build of builds) {
    console.log(`${build.binary}: authenticated / health ${median(build.ratios).toFixed(2)}x (median of ${ROUNDS} rounds: ${build.ratios.map((ratio) => ratio.toFixed(2)).join(' ')}); ` +
      `${Math.round(median(build.authed))} / ${Math.round(median(build.health))} req/s`)
  }
} finally {
  for (const child of children) child.kill('SIGTERM')
  await Promise.all(children.map((child) => child.exited))
  rmSync(dir, { recursive: true, force: true })
}
