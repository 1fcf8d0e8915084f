/**
 * What the command line says when something is wrong: `enclave healthcheck` tells why the server
 * did not answer, and a usage error ends with its one line (after the usage, not above it), with
 * a suggestion for a mistyped command or flag.
 */
import { afterAll, describe, expect, test } from 'bun:test'
import { runBinary, tempDirsRemovedAfterAll } from '../helpers/binary.ts'

const tempDir = tempDirsRemovedAfterAll()

/** The last non-empty line a command printed to stderr. */
const lastLine = (text: string) => text.trimEnd().split('\n').at(-1)

describe('healthcheck says why it failed', () => {
  const servers: { stop: (closeActive?: boolean) => unknown }[] = []
  afterAll(() => servers.forEach((server) => server.stop(true)))

  test('nothing listens: connection refused, with the URL', async () => {
    const probe = Bun.serve({ port: 0, fetch: () => new Response() })
    const port = String(probe.port)
    await probe.stop(true)
    const run = await runBinary(['healthcheck', '--port', port], { cwd: tempDir() })
    expect(run.code).toBe(1)
    expect(run.stderr).toBe(`enclave healthcheck: http://127.0.0.1:${port}/health: connection refused: is the server running, on this HOST and PORT?\n`)
  })

  test.each([
    ['an HTTP error status', () => new Response('down', { status: 503 }), 'answered HTTP 503'],
    ['another server\'s answer', () => Response.json({ ok: 1 }), 'answered, but not as Enclave does'],
    ['a redirect', () => new Response(null, { status: 302, headers: { location: 'http://127.0.0.1:1/' } }), 'answered HTTP 302'],
  ])('%s', async (_, answer, message) => {
    const server = Bun.serve({ port: 0, fetch: answer })
    servers.push(server)
    const run = await runBinary(['healthcheck', '--port', String(server.port)], { cwd: tempDir() })
    expect(run.code).toBe(1)
    expect(run.stderr).toContain(`http://127.0.0.1:${server.port}/health`)
    expect(run.stderr).toContain(message)
  })

  test('no answer in time', async () => {
    const server = Bun.serve({ port: 0, fetch: () => Bun.sleep(10_000).then(() => new Response()) })
    servers.push(server)
    const run = await runBinary(['healthcheck', '--port', String(server.port)], { cwd: tempDir() })
    expect(run.code).toBe(1)
    expect(run.stderr).toContain('no answer within 3 s')
  }, 15_000)
})

describe('a usage error ends with its one line', () => {
  test.each([
    [['serv'], 'enclave: unknown command "serv"; did you mean serve?'],
    [['helthcheck'], 'enclave: unknown command "helthcheck"; did you mean healthcheck?'],
    [['serve', '--prot', '9000'], 'enclave: unknown option "--prot"; did you mean --port?'],
    [['--data_dir', 'x'], 'enclave: unknown option "--data_dir"; did you mean --data-dir?'],
    [['backup', 'b.bak', '--forse'], 'enclave: unknown option "--forse"; did you mean --force?'],
    [['keys', 'stauts'], 'enclave: unknown keys subcommand "stauts"; did you mean status?'],
    [['bogus'], 'enclave: unknown command "bogus"'],
    [['serve', '--port'], 'enclave: --port needs a value'],
  ])('%p', async (args, message) => {
    const run = await runBinary(args, { cwd: tempDir() })
    expect(run.code).toBe(2)
    expect(run.stderr).toContain('Usage: enclave')
    expect(lastLine(run.stderr)).toBe(message)
  })

  test('a huge mistyped argument is cut short, not echoed whole', async () => {
    const run = await runBinary([`--${'x'.repeat(100_000)}`], { cwd: tempDir() })
    expect(run.code).toBe(2)
    expect(lastLine(run.stderr)!.length).toBeLessThan(200)
  })
})
