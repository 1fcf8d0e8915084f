import { expect, test } from 'bun:test'
import { isLifecycleCommand, parseLifecycleArgs } from './parse-lifecycle-args.ts'

test.each([
  [['keys', 'status'], { command: 'keys status', positionals: [], options: {}, flags: {} }],
  [['keys', 'verify', '--data-dir', '/d'], { command: 'keys verify', positionals: [], options: { '--data-dir': '/d' }, flags: { DATA_DIR: '/d' } }],
  [['keys', 'rotate', '--new-key-file=/k'], { command: 'keys rotate', positionals: [], options: { '--new-key-file': '/k' }, flags: {} }],
  [['keys', 'rotate-data', '--user', 'u', '--batch-size', '5'], { command: 'keys rotate-data', positionals: [], options: { '--user': 'u', '--batch-size': '5' }, flags: {} }],
  [['backup', 'out.backup', '--force'], { command: 'backup', positionals: ['out.backup'], options: { '--force': true }, flags: {} }],
  [['restore', 'b', '--data-dir', 'd', '--passphrase-file', 'p'], { command: 'restore', positionals: ['b'], options: { '--data-dir': 'd', '--passphrase-file': 'p' }, flags: { DATA_DIR: 'd' } }],
  [['migrate-db', '--to', 'postgresql://u:p@db/enclave'], { command: 'migrate-db', positionals: [], options: { '--to': 'postgresql://u:p@db/enclave' }, flags: {} }],
  [['migrate-db', '--to=back.db', '--data-dir', 'd'], { command: 'migrate-db', positionals: [], options: { '--to': 'back.db', '--data-dir': 'd' }, flags: { DATA_DIR: 'd' } }],
  [['import', 'open-webui', 'webui.db', '--port', '9'], { command: 'import open-webui', positionals: ['webui.db'], options: { '--port': '9' }, flags: { PORT: '9' } }],
  [['import', 'libre-webui', '--from', 'libre/data', '--encryption-key-file=k'], { command: 'import libre-webui', positionals: [], options: { '--from': 'libre/data', '--encryption-key-file': 'k' }, flags: {} }],
])('%p parses', (argv, expected) => {
  expect(parseLifecycleArgs(argv)).toEqual({ ok: true, ...expected } as never)
})

test.each([
  [['keys'], 'keys needs a subcommand'],
  [['keys', 'rotate'], 'needs --new-key-file'],
  [['keys', 'rotate', '--new-key-file', '--force'], '--new-key-file needs a value'],
  [['keys', 'rotate', '--new-key-file='], '--new-key-file needs a value'],
  [['keys', 'status', '--force'], 'unknown option "--force"'],
  [['backup'], 'backup needs FILE'],
  [['backup', 'a', 'b'], 'unexpected argument "b"'],
  [['restore', 'a'], 'restore needs --data-dir'],
  [['migrate-db'], 'migrate-db needs --to'],
  [['migrate-db', '--to'], '--to needs a value'],
  [['migrate-db', '--to', ''], '--to needs a value'],
  [['migrate-db', '--to', 'a', '--force'], 'unknown option "--force"'],
  [['migrate-db', 'postgresql://enclave:SECRET-PW@db/enclave'], 'unexpected argument "postgresql://enclave:***@db/enclave"'],
  [['import'], 'import needs a subcommand'],
  [['import', 'libre-webui'], 'import libre-webui needs --from'],
  [['import', 'libre-webui', '--from'], '--from needs a value'],
  [['import', 'libre-webui', '--from', 'd', 'extra'], 'unexpected argument "extra"'],
  [['import', 'libre-webui', '--from', 'd', '--key', 'k'], 'unknown option "--key"'],
  [['import', 'x'.repeat(1024 * 1024)], 'unknown import subcommand'],
])('%p is refused', (argv, problem) => {
  const parsed = parseLifecycleArgs(argv)
  expect(parsed.ok).toBe(false)
  if (!parsed.ok) {
    expect(parsed.problem).toContain(problem)
    expect(parsed.problem.length).toBeLessThan(200)
  }
})

test('only these commands are routed here', () => {
  expect(['keys', 'backup', 'restore', 'migrate-db', 'import'].every((command) => isLifecycleCommand([command]))).toBe(true)
  expect(['serve', 'config', '--help', ''].some((command) => isLifecycleCommand([command]))).toBe(false)
  expect(isLifecycleCommand([])).toBe(false)
})

test('a URL given where it does not belong is echoed without its password', () => {
  const parsed = parseLifecycleArgs(['backup', 'out', 'postgres://enclave:SECRET-PW@db:5432/enclave'])
  expect(parsed.ok).toBe(false)
  if (!parsed.ok) expect(parsed.problem).not.toContain('SECRET-PW')
})
