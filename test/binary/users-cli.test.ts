/**
 * `enclave users list` and `enclave users reset-password EMAIL` against the compiled binary: the
 * way back from a lost admin password for someone with the data directory and the key. The
 * password comes from stdin, never argv; a running server, a wrong key and an unknown email are refused.
 */
import { describe, expect, test } from 'bun:test'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { PASSWORD } from '../helpers/accounts.ts'
import { requireBinary, runBinary, startBinary, tempDirsRemovedAfterAll } from '../helpers/binary.ts'

const tempDir = tempDirsRemovedAfterAll()
const NEW_PASSWORD = 'a new password, typed once'

/** Runs the binary with `input` on stdin. */
async function runWithStdin(args: string[], cwd: string, input: string, env: Record<string, string> = {}) {
  const child = Bun.spawn([requireBinary(), ...args], {
    cwd, env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/tmp', ...env }, stdin: new TextEncoder().encode(input), stdout: 'pipe', stderr: 'pipe',
  })
  const timer = setTimeout(() => child.kill('SIGKILL'), 20_000)
  const [stdout, stderr, code] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited])
  clearTimeout(timer)
  return { code, stdout, stderr, output: stdout + stderr }
}

const post = (url: string, path: string, body: unknown) =>
  fetch(url + path, { method: 'POST', headers: { 'content-type': 'application/json', origin: url }, body: JSON.stringify(body) })

/** A data directory with an admin and a user made through the running binary; the server is stopped after. */
async function dataDirWithAccounts(): Promise<string> {
  const cwd = tempDir()
  const server = await startBinary({ cwd })
  try {
    expect((await post(server.url, '/api/v1/auths/signup', { name: 'Ada Admin', email: 'ada@example.com', password: PASSWORD })).status).toBe(200)
    expect((await post(server.url, '/api/v1/auths/signup', { name: 'Bob', email: 'bob@example.com', password: PASSWORD })).status).toBe(200)
  } finally {
    await server.stop()
  }
  return cwd
}

describe('enclave users', () => {
  test('list shows every account with its role, and no key or hash', async () => {
    const cwd = await dataDirWithAccounts()
    const run = await runBinary(['users', 'list'], { cwd })
    expect(run.code).toBe(0)
    expect(run.stdout).toMatch(/^EMAIL\s+ROLE\s+NAME\s+CREATED\s+LAST SEEN$/m)
    expect(run.stdout).toMatch(/ada@example\.com\s+admin\s+Ada Admin/)
    expect(run.stdout).toMatch(/bob@example\.com\s+(pending|user)\s+Bob/)
    expect(run.stdout).toContain('2 accounts')
    const key = readFileSync(join(cwd, 'data', '.encryption_key'), 'utf8').trim()
    expect(run.output).not.toContain(key)
    expect(run.output).not.toContain('$argon2')
  })

  test('reset-password reads stdin, ends the sessions, is audited, and the new password signs in', async () => {
    const cwd = await dataDirWithAccounts()
    const run = await runWithStdin(['users', 'reset-password', 'ADA@example.com'], cwd, `${NEW_PASSWORD}\n`)
    expect(run.code).toBe(0)
    expect(run.stdout).toContain('New password set for ada@example.com (admin)')
    expect(run.output).not.toContain(NEW_PASSWORD)
    const audit = readFileSync(join(cwd, 'data', 'audit.log'), 'utf8')
    expect(audit).toContain('"event":"user_password_set_by_admin"')
    expect(audit).toContain('"method":"cli"')
    expect(audit).not.toContain(NEW_PASSWORD)

    const server = await startBinary({ cwd })
    try {
      expect((await post(server.url, '/api/v1/auths/signin', { email: 'ada@example.com', password: PASSWORD })).status).toBe(400)
      expect((await post(server.url, '/api/v1/auths/signin', { email: 'ada@example.com', password: NEW_PASSWORD })).status).toBe(200)
    } finally {
      await server.stop()
    }
  })

  test.each([
    ['an unknown email', ['users', 'reset-password', 'nobody@example.com'], `${NEW_PASSWORD}\n`, {}, 'no account with the email'],
    ['an empty stdin', ['users', 'reset-password', 'ada@example.com'], '', {}, 'no password given'],
    ['a short password', ['users', 'reset-password', 'ada@example.com'], 'short\n', {}, 'at least 8 characters'],
    ['a wrong key', ['users', 'reset-password', 'ada@example.com'], `${NEW_PASSWORD}\n`, { ENCRYPTION_KEY: 'cd'.repeat(32) }, 'key'],
    ['a wrong key (list)', ['users', 'list'], '', { ENCRYPTION_KEY: 'cd'.repeat(32) }, 'key'],
  ])('refuses %s with exit 1 and changes nothing', async (_, args, input, env, message) => {
    const cwd = await dataDirWithAccounts()
    const run = await runWithStdin(args, cwd, input, env)
    expect(run.code).toBe(1)
    expect(run.stderr.toLowerCase()).toContain(message)
    expect(run.output).not.toContain(NEW_PASSWORD)
    expect(run.output).not.toContain('cd'.repeat(32))
    const server = await startBinary({ cwd })
    try {
      expect((await post(server.url, '/api/v1/auths/signin', { email: 'ada@example.com', password: PASSWORD })).status).toBe(200)
    } finally {
      await server.stop()
    }
  })

  test('a running server holds the data directory: both commands are refused', async () => {
    const cwd = await dataDirWithAccounts()
    const server = await startBinary({ cwd })
    try {
      for (const args of [['users', 'list'], ['users', 'reset-password', 'ada@example.com']]) {
        const run = await runWithStdin(args, cwd, `${NEW_PASSWORD}\n`)
        expect(run.code).toBe(1)
        expect(run.stderr).toContain('enclave serve')
      }
      expect((await post(server.url, '/api/v1/auths/signin', { email: 'ada@example.com', password: PASSWORD })).status).toBe(200)
    } finally {
      await server.stop()
    }
  })

  test.each([
    [['users'], 'users needs a subcommand'],
    [['users', 'reset-password'], 'reset-password needs EMAIL'],
    [['users', 'reset-password', 'ada@example.com', NEW_PASSWORD], 'never from the command line'],
    [['users', 'delete', 'x'], 'unknown users subcommand'],
  ])('usage error %p exits 2, and a password in argv is refused', async (args, problem) => {
    const run = await runBinary(args, { cwd: tempDir() })
    expect(run.code).toBe(2)
    expect(run.stderr).toContain(problem)
    expect(run.output).not.toContain(NEW_PASSWORD)
  })
})
