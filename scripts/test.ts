/**
 * `npm test`: the whole suite. Typecheck, build the binary the black-box tests start, then every
 * bun test file. Ends with one line, `N passed, N failed`, counting the typecheck as one check.
 */
import { join } from 'node:path'

const root = join(import.meta.dir, '..')
const bun = process.execPath
/** Each test's time limit unless one is given: the black-box suites start real servers and a compiled binary. */
const TEST_TIMEOUT_MS = 60_000

// note: every write is awaited: stdout may be a pipe (CI tees it), and output still buffered when
// the process ends would be lost, the closing total line with it.
const stdout = Bun.stdout.writer()
async function print(text: string): Promise<void> {
  stdout.write(text)
  await stdout.flush()
}

/** Runs a command, passing its output through as it comes, and keeps that output for counting. */
async function run(label: string, command: string[]): Promise<{ ok: boolean; output: string }> {
  await print(`\n== ${label}: ${command.join(' ')}\n`)
  const child = Bun.spawn(command, { cwd: root, stdout: 'pipe', stderr: 'pipe', env: process.env })
  let output = ''
  const pass = async (stream: ReadableStream<Uint8Array>) => {
    const decoder = new TextDecoder()
    const reader = stream.getReader()
    for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) {
      const text = decoder.decode(chunk.value, { stream: true })
      output += text
      await print(text)
    }
  }
  await Promise.all([pass(child.stdout), pass(child.stderr)])
  return { ok: (await child.exited) === 0, output }
}

const build = await run('build', [bun, 'scripts/build.ts'])
const typecheck = await run('typecheck', [bun, 'run', 'typecheck'])
// note: bun test reads no default timeout from bunfig.toml (a `[test] timeout` there is ignored: 5 s
// applied), and a suite that starts a binary can take longer than 5 s on a loaded machine.
const timeoutGiven = process.argv.slice(2).some((arg) => arg.startsWith('--timeout'))
const tests = build.ok ? await run('tests', [bun, 'test', ...(timeoutGiven ? [] : ['--timeout', String(TEST_TIMEOUT_MS)]), ...process.argv.slice(2)]) : { ok: false, output: '' }

/** Reads bun test's summary line, e.g. " 42 pass". */
const count = (word: 'pass' | 'fail') => Number(new RegExp(`^\\s*(\\d+) ${word}$`, 'm').exec(tests.output)?.[1] ?? 0)
const passed = count('pass') + (typecheck.ok ? 1 : 0)
let failed = count('fail') + (typecheck.ok ? 0 : 1) + (build.ok ? 0 : 1)
// A test run that crashed before reporting counts as a failure, never as nothing.
if (build.ok && !tests.ok && count('fail') === 0) failed += 1
if (passed + failed === 0) failed = 1

await print(`\n${passed} passed, ${failed} failed\n`)
process.exitCode = failed === 0 ? 0 : 1
