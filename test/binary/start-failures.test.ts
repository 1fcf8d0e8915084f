/**
 * Starts that can't work are refused with one sentence naming the problem and the fix, exit code 1
 * and no stack: a data directory or database the server's user may not write, a HOST with a port,
 * a privileged port, and an emptied or missing database beside the files of an earlier run. The
 * server runs as `nobody` where permissions matter, since root passes every permission check.
 */
import { describe, expect, test } from 'bun:test'
import { chmodSync, chownSync, existsSync, mkdirSync, readdirSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs'
import { Database } from 'bun:sqlite'
import { join } from 'node:path'
import { binaryForAnyUser, runBinary, startBinary, tempDirsRemovedAfterAll } from '../helpers/binary.ts'

const tempDir = tempDirsRemovedAfterAll()
const NOBODY = 65534
const asNobody = ['setpriv', '--reuid=nobody', '--regid=nogroup', '--clear-groups']
const binary = binaryForAnyUser(tempDir)

/** A working directory nobody can enter, with a data directory nobody owns, after one start as nobody. */
async function dataDirOfNobody(): Promise<{ cwd: string; dataDir: string }> {
  const cwd = tempDir()
  chmodSync(cwd, 0o711)
  const dataDir = join(cwd, 'data')
  mkdirSync(dataDir, { mode: 0o700 })
  chownSync(dataDir, NOBODY, NOBODY)
  const server = await startBinary({ cwd, binary, wrapper: asNobody })
  expect(await server.stop()).toBe(0)
  return { cwd, dataDir }
}

/** The one way these tests run the binary as nobody: setpriv execs it. */
async function runAsNobody(cwd: string, args: string[], env: Record<string, string> = {}) {
  const child = Bun.spawn([...asNobody, binary, ...args], { cwd, env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env }, stdout: 'pipe', stderr: 'pipe', stdin: 'ignore' })
  const timer = setTimeout(() => child.kill('SIGKILL'), 20_000)
  const [stdout, stderr, code] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited])
  clearTimeout(timer)
  return { code, stdout, stderr, output: stdout + stderr }
}

/** A refused start: exit 1, one `cannot start` line, no stack trace, never "listening". */
function expectRefused(run: { code: number; stderr: string; output: string }) {
  expect(run.code).toBe(1)
  expect(run.stderr).toContain('enclave: cannot start: ')
  expect(run.output).not.toContain('listening')
  expect(run.output).not.toMatch(/^\s+at /m)
  expect(run.output).not.toMatch(/EACCES|ENOTFOUND|getaddrinfo|scandir/)
}

describe('a data directory or database the server may not write', () => {
  test('a database root owns (after `sudo enclave restore`): named with owner, mode and chown', async () => {
    const { cwd, dataDir } = await dataDirOfNobody()
    chownSync(join(dataDir, 'enclave.db'), 0, 0)
    const run = await runAsNobody(cwd, ['serve', '--port', '0'])
    expectRefused(run)
    expect(run.stderr).toContain(`The file ${join(dataDir, 'enclave.db')} is owned by root (uid 0) with mode 0600`)
    expect(run.stderr).toContain(`chown -R nobody ${dataDir}`)
  })

  test('a database of mode 0400 the server\'s user owns: chmod', async () => {
    const { cwd, dataDir } = await dataDirOfNobody()
    chmodSync(join(dataDir, 'enclave.db'), 0o400)
    const run = await runAsNobody(cwd, ['serve', '--port', '0'])
    expectRefused(run)
    expect(run.stderr).toContain('is owned by nobody (uid 65534) with mode 0400')
    expect(run.stderr).toContain(`chmod u+rw ${join(dataDir, 'enclave.db')}`)
  })

  test.each(['enclave.db-wal', 'enclave.db-shm'])('a root-owned %s beside the database', async (name) => {
    const { cwd, dataDir } = await dataDirOfNobody()
    writeFileSync(join(dataDir, name), '', { mode: 0o600 })
    const run = await runAsNobody(cwd, ['serve', '--port', '0'])
    expectRefused(run)
    expect(run.stderr).toContain(`The file ${join(dataDir, name)} is owned by root (uid 0) with mode 0600`)
  })

  test('a data directory root owns', async () => {
    const { cwd, dataDir } = await dataDirOfNobody()
    chownSync(dataDir, 0, 0)
    const run = await runAsNobody(cwd, ['serve', '--port', '0'])
    expectRefused(run)
    expect(run.stderr).toContain(`DATA_DIR ${dataDir} is owned by root (uid 0) with mode 0700, so Enclave's user nobody (uid 65534) may not read and write in it`)
    expect(run.stderr).toContain(`chown -R nobody ${dataDir}`)
  })

  test('a data directory that can\'t be created', async () => {
    const cwd = tempDir()
    chmodSync(cwd, 0o755)
    const run = await runAsNobody(cwd, ['serve', '--port', '0'])
    expectRefused(run)
    expect(run.stderr).toContain(`DATA_DIR ${join(cwd, 'data')} does not exist, and Enclave's user nobody (uid 65534) may not create it in ${cwd} (owned by root (uid 0) with mode 0755)`)
    expect(existsSync(join(cwd, 'data'))).toBe(false)
  })

  test('the database, data directory and files are left as they were', async () => {
    const { cwd, dataDir } = await dataDirOfNobody()
    chownSync(join(dataDir, 'enclave.db'), 0, 0)
    const before = readdirSync(dataDir).map((name) => [name, statSync(join(dataDir, name)).mtimeMs, statSync(join(dataDir, name)).size])
    expectRefused(await runAsNobody(cwd, ['serve', '--port', '0']))
    expect(readdirSync(dataDir).map((name) => [name, statSync(join(dataDir, name)).mtimeMs, statSync(join(dataDir, name)).size])).toEqual(before)
  })
})

describe('where to listen', () => {
  test.each([
    ['0.0.0.0:8080', 'HOST="0.0.0.0:8080": expected an address without a port; put the port in PORT'],
    ['http://0.0.0.0', 'HOST="http://0.0.0.0": expected an address without a scheme (no http://)'],
  ])('HOST=%p is refused by serve and by config', async (host, message) => {
    const cwd = tempDir()
    for (const args of [['serve'], ['config']]) {
      const run = await runBinary(args, { cwd, env: { HOST: host } })
      expectRefused(run)
      expect(run.stderr).toContain(message)
    }
    expect(existsSync(join(cwd, 'data'))).toBe(false)
  })

  test('--host with a port is refused naming the flag', async () => {
    const run = await runBinary(['serve', '--host', 'localhost:9000'], { cwd: tempDir() })
    expectRefused(run)
    expect(run.stderr).toContain('--host (HOST)="localhost:9000": expected an address without a port; put the port in PORT')
  })

  test('a privileged port as an unprivileged user names the two ways out', async () => {
    const { cwd } = await dataDirOfNobody()
    const run = await runAsNobody(cwd, ['serve', '--port', '80'])
    expectRefused(run)
    expect(run.stderr).toContain('port 80 needs privileges: use a port ≥1024 behind a proxy, or grant CAP_NET_BIND_SERVICE')
    expect(run.stderr).toContain('setcap')
    expect(run.stderr).toContain('AmbientCapabilities')
  })

  test.each([
    ['192.0.2.1', 'HOST=192.0.2.1 is not an address of this machine'],
    ['nohost.invalid', 'HOST=nohost.invalid does not resolve to an address'],
  ])('HOST=%p, not an address of this machine', async (host, message) => {
    const run = await runBinary(['serve', '--port', '0'], { cwd: tempDir(), env: { HOST: host } })
    expectRefused(run)
    expect(run.stderr).toContain(message)
    expect(run.output).not.toContain('ENOENT')
  })
})

describe('an emptied or missing database beside the files of an earlier run', () => {
  async function initialisedDir(): Promise<{ cwd: string; dataDir: string }> {
    const cwd = tempDir()
    const server = await startBinary({ cwd })
    expect(await server.stop()).toBe(0)
    return { cwd, dataDir: join(cwd, 'data') }
  }

  test('a 0-byte enclave.db beside its key is refused, and left at 0 bytes', async () => {
    const { cwd, dataDir } = await initialisedDir()
    truncateSync(join(dataDir, 'enclave.db'), 0)
    const run = await runBinary(['serve', '--port', '0'], { cwd })
    expectRefused(run)
    expect(run.stderr).toContain(`${join(dataDir, 'enclave.db')} is empty or holds no Enclave database`)
    expect(run.stderr).toContain('restore the database from a backup')
    expect(run.stderr).toContain('To start afresh on purpose, move enclave.db, .webui_secret_key, .encryption_key out of')
    expect(statSync(join(dataDir, 'enclave.db')).size).toBe(0)
  })

  test('a database with no Enclave tables beside a generated key', async () => {
    const cwd = tempDir()
    const dataDir = join(cwd, 'data')
    mkdirSync(dataDir, { mode: 0o700 })
    writeFileSync(join(dataDir, '.encryption_key'), `${'ab'.repeat(32)}\n`, { mode: 0o600 })
    const other = new Database(join(dataDir, 'enclave.db'))
    other.run('CREATE TABLE notes (text TEXT)')
    other.close()
    const run = await runBinary(['serve', '--port', '0'], { cwd })
    expectRefused(run)
    expect(run.stderr).toContain('is empty or holds no Enclave database')
  })

  test('a deleted database whose session secret is still there', async () => {
    const { cwd, dataDir } = await initialisedDir()
    rmSync(join(dataDir, 'enclave.db'))
    const run = await runBinary(['serve', '--port', '0'], { cwd })
    expectRefused(run)
    expect(run.stderr).toContain(`${join(dataDir, 'enclave.db')} is missing, but ${dataDir} holds .webui_secret_key from an earlier run`)
    expect(existsSync(join(dataDir, 'enclave.db'))).toBe(false)
  })

  test('a prepared key file with no database is a first start', async () => {
    const cwd = tempDir()
    const dataDir = join(cwd, 'data')
    mkdirSync(dataDir, { mode: 0o700 })
    writeFileSync(join(dataDir, '.encryption_key'), `${'cd'.repeat(32)}\n`, { mode: 0o600 })
    const server = await startBinary({ cwd })
    expect(await server.stop()).toBe(0)
    expect(statSync(join(dataDir, 'enclave.db')).size).toBeGreaterThan(0)
  })

  test('an empty database file and nothing else is a first start', async () => {
    const cwd = tempDir()
    mkdirSync(join(cwd, 'data'), { mode: 0o700 })
    writeFileSync(join(cwd, 'data', 'enclave.db'), '')
    const server = await startBinary({ cwd })
    expect(await server.stop()).toBe(0)
  })
})
