/**
 * A throwaway PostgreSQL server for the suites that run on PostgreSQL: Debian's server binaries
 * (/usr/lib/postgresql/<version>/bin, the newest installed), a cluster made by initdb in its own temp
 * dir, listening on 127.0.0.1 on a free port only (its unix socket in the temp dir), fsync off. One
 * server per test file (start in beforeAll, stop in afterAll), a fresh database per test.
 *
 * Passwords are generated for each run. PostgreSQL refuses to run as root, so as root the server
 * runs as the `postgres` system user the package creates. Stopped by PID, never by name.
 */
import { SQL } from 'bun'
import { randomBytes } from 'node:crypto'
import { chmodSync, chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { join } from 'node:path'

const PG_ROOT = '/usr/lib/postgresql'

/** The bin directory of the newest PostgreSQL installed under `root`, or an error saying what to install. */
export function findPostgresBin(root = PG_ROOT): string {
  const versions = existsSync(root) ? readdirSync(root).filter((name) => existsSync(join(root, name, 'bin', 'postgres'))) : []
  const newest = versions.sort((a, b) => Number.parseFloat(b) - Number.parseFloat(a))[0]
  if (newest === undefined) {
    throw new Error(`PostgreSQL server binaries are missing (no ${root}/<version>/bin/postgres): install the Debian package postgresql (see .ci/run)`)
  }
  return join(root, newest, 'bin')
}

export type PostgresServer = Awaited<ReturnType<typeof startPostgres>>

/** initdb + start; call stop() and remove() when done (afterAll). */
export async function startPostgres() {
  const bin = findPostgresBin()
  const dir = mkdtempSync('/tmp/enclave-pg-')
  const data = join(dir, 'data')
  const owner = process.getuid?.() === 0 ? postgresUser() : null
  if (owner !== null) {
    // note: the server's user must reach the temp dir, which mkdtemp makes 0700 for root.
    chmodSync(dir, 0o755)
    chownSync(dir, owner.uid, owner.gid)
  }
  const superPassword = secret()
  const appPassword = secret()
  const pwfile = join(dir, 'pwfile')
  writeFileSync(pwfile, superPassword, { mode: 0o600 })
  if (owner !== null) chownSync(pwfile, owner.uid, owner.gid)
  const init = Bun.spawnSync([join(bin, 'initdb'), '-D', data, '-U', 'postgres', `--pwfile=${pwfile}`, '-E', 'UTF8', '--locale=C.UTF-8',
    '--auth-local=trust', '--auth-host=scram-sha-256'], { ...asOwner(owner), stdout: 'pipe', stderr: 'pipe' })
  rmSync(pwfile)
  if (init.exitCode !== 0) throw new Error(`initdb failed: ${init.stderr.toString().slice(-2000)}`)

  let port = await freePort()
  let child: ReturnType<typeof Bun.spawn> | null = null
  let stopping: Promise<void> | null = null
  const log = join(dir, 'postgres.log')
  const launch = async () => {
    for (let attempt = 0; ; attempt++) {
      child = Bun.spawn([join(bin, 'postgres'), '-D', data, '-p', String(port), '-k', dir, '-c', 'listen_addresses=127.0.0.1',
        '-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off', '-c', 'max_connections=200'], {
        ...asOwner(owner), stdin: 'ignore', stdout: 'ignore', stderr: Bun.file(log),
      })
      if (await waitReady(port, superPassword, child)) return
      child.kill('SIGKILL')
      await child.exited
      // note: another test may have taken the probed port in between; probe again, a few times.
      if (attempt >= 3) throw new Error(`postgres did not start: ${existsSync(log) ? readFileSync(log, 'utf8').slice(-2000) : '(no log)'}`)
      port = await freePort()
    }
  }
  await launch()

  const superUrl = (database = 'postgres') => `postgres://postgres:${superPassword}@127.0.0.1:${port}/${database}`
  const admin = new SQL({ url: superUrl(), max: 2 })
  await admin.unsafe(`CREATE ROLE enclave LOGIN PASSWORD '${appPassword}'`)
  let databases = 0

  return {
    dir,
    get port() { return port },
    /** The app role's password, to check that it shows up nowhere. */
    appPassword,
    /** A new empty database owned by the app role; returns its URL (with the password). */
    async createDatabase(): Promise<string> {
      const name = `test_${++databases}_${process.pid}`
      await admin.unsafe(`CREATE DATABASE ${name} OWNER enclave`)
      return `postgres://enclave:${appPassword}@127.0.0.1:${port}/${name}`
    },
    /** Runs SQL as the superuser on the given database (by URL, as createDatabase returns it). */
    async asSuperuser<T>(databaseUrl: string, fn: (sql: SQL) => Promise<T>): Promise<T> {
      const sql = new SQL({ url: superUrl(new URL(databaseUrl).pathname.slice(1)), max: 1 })
      try {
        return await fn(sql)
      } finally {
        await sql.close()
      }
    },
    /** Fast shutdown (SIGINT to the postmaster): open transactions roll back, clients lose their connections. */
    async stop() {
      if (stopping === null && child !== null) {
        const stopped = child
        stopped.kill('SIGINT')
        stopping = stopped.exited.then(() => {
          child = null
          stopping = null
        })
      }
      await stopping
    },
    /** Starts it again on the same port with the same data (after a stop under way has ended). */
    async restart() {
      await stopping
      if (child === null) await launch()
    },
    /** Stops the server and deletes its directory. */
    async remove() {
      await admin.close({ timeout: 0 }).catch(() => {})
      await this.stop()
      rmSync(dir, { recursive: true, force: true })
    },
  }
}

function postgresUser(): { uid: number; gid: number } {
  const line = readFileSync('/etc/passwd', 'utf8').split('\n').find((entry) => entry.startsWith('postgres:'))
  if (line === undefined) throw new Error('running as root, but there is no postgres user: install the Debian package postgresql (see .ci/run)')
  const [, , uid, gid] = line.split(':')
  return { uid: Number(uid), gid: Number(gid) }
}

const asOwner = (owner: { uid: number; gid: number } | null) => (owner === null ? {} : { uid: owner.uid, gid: owner.gid })

const secret = () => randomBytes(18).toString('base64url')

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number }
      server.close(() => resolve(port))
    })
  })
}

/** Waits until the server takes a superuser sign-in; false when the process exits first or 30 s pass. */
async function waitReady(port: number, password: string, child: ReturnType<typeof Bun.spawn>): Promise<boolean> {
  let exited = false
  void child.exited.then(() => { exited = true })
  for (let i = 0; i < 300 && !exited; i++) {
    const probe = new SQL({ url: `postgres://postgres:${password}@127.0.0.1:${port}/postgres`, max: 1, connectionTimeout: 2 })
    try {
      await probe.unsafe('SELECT 1')
      return true
    } catch {
      await Bun.sleep(100)
    } finally {
      await probe.close({ timeout: 0 }).catch(() => {})
    }
  }
  return false
}
