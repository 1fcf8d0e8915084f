/**
 * `npm test`: the whole suite. Typecheck, build the binary the black-box tests start, then every
 * bun test file. Ends with one line, `N passed, N failed`, counting the typecheck as one check.
 */
import { join } from 'node:path'

const root = join(import.meta.dir, '..')
const bun = process.execPath

function run(label: string, command: string[]): { ok: boolean; output: string } {
  process.stdout.write(`\n== ${label}: ${command.join(' ')}\n`)
  const result = Bun.spawnSync(command, { cwd: root, stdout: 'pipe', stderr: 'pipe', env: process.env })
  const output = result.stdout.toString() + result.stderr.toString()
  process.stdout.write(output)
  return { ok: result.exitCode === 0, output }
}

const build = run('build', [bun, 'scripts/build.ts'])
const typecheck = run('typecheck', [bun, 'run', 'typecheck'])
const tests = build.ok ? run('tests', [bun, 'test', ...process.argv.slice(2)]) : { ok: false, output: '' }

/** Reads bun test's summary line, e.g. " 42 pass". */
const count = (word: 'pass' | 'fail') => Number(new RegExp(`^\\s*(\\d+) ${word}$`, 'm').exec(tests.output)?.[1] ?? 0)
const passed = count('pass') + (typecheck.ok ? 1 : 0)
let failed = count('fail') + (typecheck.ok ? 0 : 1) + (build.ok ? 0 : 1)
// A test run that crashed before reporting counts as a failure, never as nothing.
if (build.ok && !tests.ok && count('fail') === 0) failed += 1
if (passed + failed === 0) failed = 1

process.stdout.write(`\n${passed} passed, ${failed} failed\n`)
process.exit(failed === 0 ? 0 : 1)
