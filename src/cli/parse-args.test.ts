import { expect, test } from 'bun:test'
import { parseArgs } from './parse-args.ts'

test.each([
  [[], { ok: true, command: 'serve', flags: {} }],
  [['serve'], { ok: true, command: 'serve', flags: {} }],
  [['--port', '9000'], { ok: true, command: 'serve', flags: { PORT: '9000' } }],
  [['serve', '--port=9000', '--host', '0.0.0.0', '--data-dir', '/var/lib/enclave'],
    { ok: true, command: 'serve', flags: { PORT: '9000', HOST: '0.0.0.0', DATA_DIR: '/var/lib/enclave' } }],
  [['config', '--data-dir=./x=y'], { ok: true, command: 'config', flags: { DATA_DIR: './x=y' } }],
  [['healthcheck', '--port', '8081'], { ok: true, command: 'healthcheck', flags: { PORT: '8081' } }],
  [['--version'], { ok: true, command: 'version', flags: {} }],
  [['-v'], { ok: true, command: 'version', flags: {} }],
  [['--help'], { ok: true, command: 'help', flags: {} }],
  [['help'], { ok: true, command: 'help', flags: {} }],
])('%p parses', (argv, expected) => {
  expect(parseArgs(argv)).toEqual(expected as ReturnType<typeof parseArgs>)
})

test.each([
  [['bogus'], 'unknown command "bogus"'],
  [['serve', 'extra'], 'unknown option "extra"'],
  [['--bogus'], 'unknown option "--bogus"'],
  [['serve', '--port'], '--port needs a value'],
  [['serve', '--port', '--host', 'x'], '--port needs a value'],
  [['version', '--port', '1'], 'unknown option "--port"'],
  [['--version', 'x'], 'unexpected argument after --version'],
  [['serve', '--PORT', '1'], 'unknown option "--PORT"'],
  [['serve', '--port\u0000', '1'], 'unknown option'],
])('%p is refused', (argv, problem) => {
  const parsed = parseArgs(argv)
  expect(parsed.ok).toBe(false)
  if (!parsed.ok) expect(parsed.problem).toContain(problem)
})

test('a 1 MB argument is refused without echoing it whole', () => {
  const parsed = parseArgs(['x'.repeat(1024 * 1024)])
  expect(parsed.ok).toBe(false)
  if (!parsed.ok) expect(parsed.problem.length).toBeLessThan(200)
})
