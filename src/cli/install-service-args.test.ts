import { expect, test } from 'bun:test'
import { parseInstallServiceArgs } from './install-service-args.ts'

const BINARY = '/usr/local/bin/enclave'

test('defaults: the running binary, user enclave, /var/lib/enclave, /etc/enclave, loopback:8080', () => {
  expect(parseInstallServiceArgs([], BINARY)).toEqual({
    ok: true,
    options: { print: false, binary: BINARY, user: 'enclave', dataDir: '/var/lib/enclave', configDir: '/etc/enclave', unitDir: '/etc/systemd/system', host: '127.0.0.1', port: 8080 },
  })
})

test('every flag, in both spellings', () => {
  const parsed = parseInstallServiceArgs(['--print', '--binary=/opt/enclave/enclave', '--user', 'chat', '--data-dir', '/srv/chat',
    '--config-dir=/etc/chat', '--unit-dir', '/tmp/units', '--host', '0.0.0.0', '--port=9000'], BINARY)
  expect(parsed).toEqual({
    ok: true,
    options: { print: true, binary: '/opt/enclave/enclave', user: 'chat', dataDir: '/srv/chat', configDir: '/etc/chat', unitDir: '/tmp/units', host: '0.0.0.0', port: 9000 },
  })
})

test('run from source (bun itself), the binary must be named', () => {
  const parsed = parseInstallServiceArgs([], '/usr/bin/bun')
  expect(parsed.ok).toBe(false)
  if (!parsed.ok) expect(parsed.problem).toContain('--binary')
  expect(parseInstallServiceArgs(['--binary', BINARY], '/usr/bin/bun').ok).toBe(true)
})

test.each([
  [['--bogus'], 'unknown option "--bogus"'],
  [['serve'], 'unknown option "serve"'],
  [['--user'], '--user needs a value'],
  [['--user', '--print'], '--user needs a value'],
  [['--data-dir', 'data'], '--data-dir must be an absolute path'],
  [['--data-dir', '/'], '--data-dir must be an absolute path'],
  [['--data-dir', '/var/lib/../etc'], '--data-dir must be an absolute path'],
  [['--data-dir', '/var/lib/en clave'], '--data-dir must be an absolute path'],
  [['--data-dir', '/var/lib/enclave\nExecStartPre=/bin/sh'], '--data-dir must be an absolute path'],
  [['--data-dir', '/var/lib/%h'], '--data-dir must be an absolute path'],
  [['--binary', '/usr/bin/enclave;id'], '--binary must be an absolute path'],
  [['--unit-dir', `/${'x'.repeat(300)}`], '--unit-dir must be an absolute path'],
  [['--config-dir', '/etc/"enclave"'], '--config-dir must be an absolute path'],
  [['--user', 'root'], '--user must be a plain system user name'],
  [['--user', 'Enclave'], '--user must be a plain system user name'],
  [['--user', 'en clave'], '--user must be a plain system user name'],
  [['--user', 'a'.repeat(40)], '--user must be a plain system user name'],
  [['--host', '127.0.0.1 PORT=1'], '--host must be an IP address or host name'],
  [['--port', '0'], '--port must be an integer from 1 to 65535'],
  [['--port', '65536'], '--port must be an integer from 1 to 65535'],
  [['--port', '80x'], '--port must be an integer from 1 to 65535'],
])('%p is refused', (argv, problem) => {
  const parsed = parseInstallServiceArgs(argv, BINARY)
  expect(parsed.ok).toBe(false)
  if (!parsed.ok) {
    expect(parsed.problem).toContain(problem)
    expect(parsed.problem.length).toBeLessThan(300)
  }
})
