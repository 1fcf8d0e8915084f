/**
 * `.ci/run` keeps apt from starting packaged daemons with a policy-rc.d, and must not leave one
 * behind on a machine where it made it: it goes once apt is done, also when apt fails; one that was
 * there before stays as it was. Run with stand-ins for apt-get and npm on PATH, and POLICY_RC_D
 * pointing at a temp path (the script's default is /usr/sbin/policy-rc.d).
 */
import { afterAll, expect, test } from 'bun:test'
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

const root = join(import.meta.dir, '..')
const dirs: string[] = []
afterAll(() => dirs.forEach((dir) => rmSync(dir, { recursive: true, force: true })))

/** Runs .ci/run with apt-get exiting `aptCode` and npm failing at once (so nothing real is installed). */
async function runCi(aptCode: number, existingPolicy: string | null) {
  const dir = mkdtempSync(join(tmpdir(), 'enclave-ci-'))
  dirs.push(dir)
  const policy = join(dir, 'policy-rc.d')
  if (existingPolicy !== null) writeFileSync(policy, existingPolicy, { mode: 0o755 })
  const seen = join(dir, 'seen')
  const bin = join(dir, 'bin')
  Bun.spawnSync(['mkdir', bin])
  writeFileSync(join(bin, 'apt-get'), `#!/bin/sh\n[ -x "${policy}" ] && echo "policy present for $1" >> "${seen}"\nexit ${aptCode}\n`)
  writeFileSync(join(bin, 'npm'), '#!/bin/sh\necho "npm stand-in"\nexit 1\n')
  chmodSync(join(bin, 'apt-get'), 0o755)
  chmodSync(join(bin, 'npm'), 0o755)
  const child = Bun.spawn(['bash', join(root, '.ci', 'run')], {
    cwd: root, env: { PATH: `${bin}:/usr/bin:/bin`, HOME: dir, POLICY_RC_D: policy }, stdout: 'pipe', stderr: 'pipe',
  })
  const timer = setTimeout(() => child.kill('SIGKILL'), 30_000)
  const [stdout, code] = await Promise.all([new Response(child.stdout).text(), child.exited])
  clearTimeout(timer)
  return { code, stdout, policy, seen: existsSync(seen) ? readFileSync(seen, 'utf8') : '' }
}

test.each([['apt succeeds', 0], ['apt fails', 100]])('a policy-rc.d the script made is there while apt runs and gone after (%s)', async (_, aptCode) => {
  const run = await runCi(aptCode, null)
  expect(run.seen).toContain('policy present for update')
  expect(existsSync(run.policy)).toBe(false)
  expect(run.stdout).toContain('install failed') // the npm stand-in fails, so the run stops there
  expect(run.code).toBe(1)
})

test('a policy-rc.d that was there before stays, unchanged', async () => {
  const own = '#!/bin/sh\n# the machine\'s own\nexit 0\n'
  const run = await runCi(0, own)
  expect(readFileSync(run.policy, 'utf8')).toBe(own)
})
