/**
 * Several compiled instances behind nginx, as docker-compose.scale.yml runs them, on loopback for one
 * test file: one PostgreSQL (postgres.ts) and one Redis (redis-server.ts), N `dist/enclave serve` on
 * free 127.0.0.1 ports, and nginx round robin in front (deploy/nginx-several-instances.conf, its
 * upstream pointed at those ports), WebSocket upgrade on, no stickiness.
 *
 * The instances share what docs/several-instances.md says they must: the master key and the session
 * secret, each in a file made for this run (0600) and passed as ENCRYPTION_KEY_FILE and
 * WEBUI_SECRET_KEY_FILE; DATABASE_URL, REDIS_URL, REDIS_KEY_PREFIX; and the uploaded files'
 * directory (DATA_DIR/files is a link to one shared directory); and the image's allocator settings
 * (MIMALLOC_* in the Dockerfile's ENV). Each has its own DATA_DIR (its lock,
 * its audit log). `store: 'sqlite'` leaves DATABASE_URL out: each instance then keeps its own SQLite
 * database (a copy of `seedDataDir` when given), which is enough to check everything but the shared
 * store (nginx, sockets through Redis, restarts).
 *
 * Every process is stopped by its PID in `stop()` (call it in afterAll), never by name.
 */
import { chmodSync, cpSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { makeTempDir, startBinary, type RunningBinary } from './binary.ts'
import { argsOf, parseAssignments, parseDockerfile } from './dockerfile.ts'
import { freePort, nginxConf, startNginx } from './nginx.ts'
import { startPostgres, type PostgresServer } from './postgres.ts'
import { startTestRedis, type TestRedis } from './redis-server.ts'

const DEPLOY_NGINX = join(import.meta.dir, '..', '..', 'deploy', 'nginx-several-instances.conf')

/** The allocator settings (MIMALLOC_*) the image's ENV gives every instance (see the Dockerfile), so the instances here run as deployed. */
const IMAGE_ALLOCATOR_ENV: Record<string, string> = (() => {
  const final = parseDockerfile(readFileSync(join(import.meta.dir, '..', '..', 'Dockerfile'), 'utf8')).at(-1)!
  const env: Record<string, string> = Object.assign({}, ...argsOf(final, 'ENV').map(parseAssignments))
  return Object.fromEntries(Object.entries(env).filter(([name]) => name.startsWith('MIMALLOC_')))
})()

/** The secrets every instance shares, each in its own 0600 file, generated for one run. */
export type ClusterSecrets = { dir: string; masterKeyFile: string; sessionSecretFile: string; env: Record<string, string> }

/** Makes a fresh master key and session secret in 0600 files under a new 0700 directory. */
export function makeClusterSecrets(): ClusterSecrets {
  const dir = makeTempDir('enclave-secrets-')
  chmodSync(dir, 0o700)
  const masterKeyFile = join(dir, 'master.key')
  const sessionSecretFile = join(dir, 'session.secret')
  writeFileSync(masterKeyFile, `${Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString('hex')}\n`, { mode: 0o600 })
  writeFileSync(sessionSecretFile, `${Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString('base64url')}\n`, { mode: 0o600 })
  return { dir, masterKeyFile, sessionSecretFile, env: { ENCRYPTION_KEY_FILE: masterKeyFile, WEBUI_SECRET_KEY_FILE: sessionSecretFile } }
}

/**
 * The shipped nginx config with its upstream pointed at `ports` on loopback and listening on
 * `listenPort`: everything else (upgrade, headers, timeouts, retries) as shipped.
 */
export function deployNginxBody(ports: readonly number[], listenPort: number): string {
  const shipped = readFileSync(DEPLOY_NGINX, 'utf8')
  const servers = [...shipped.matchAll(/^ {4}server enclave-\d+:8080 (.*);$/gm)]
  if (servers.length === 0 || !shipped.includes('    listen 80;')) throw new Error(`${DEPLOY_NGINX} has no upstream servers or no listen 80`)
  const options = servers[0]![1]!
  const upstream = ports.map((port) => `    server 127.0.0.1:${port} ${options};`).join('\n')
  return shipped
    .replace(/(?:^ {4}server enclave-\d+:8080 .*;\n)+/m, `${upstream}\n`)
    .replace('    listen 80;', `    listen 127.0.0.1:${listenPort};`)
}

export type ClusterInstance = {
  port: number
  /** http://127.0.0.1:port, straight to this instance. */
  url: string
  dataDir: string
  /** The running process, or null while it is killed or stopped. */
  process: RunningBinary | null
  /** Everything it printed, over all its runs. */
  output: () => string
}

export type TestCluster = Awaited<ReturnType<typeof startCluster>>

export type ClusterOptions = {
  /** 'postgres': one shared database (the real setup); 'sqlite': each instance its own (see the header). */
  store: 'postgres' | 'sqlite'
  instances?: number
  /** Extra settings for every instance (OLLAMA_BASE_URL, limits...). */
  env?: Record<string, string>
  /** Made for the run when absent; removed by `stop()` either way. */
  secrets?: ClusterSecrets
  /** With store 'sqlite': a data directory copied into each instance's before its first start, then removed. */
  seedDataDir?: string
}

/** Starts the databases, the instances (one after the other, so migrations run once) and nginx. */
export async function startCluster(options: ClusterOptions) {
  const root = makeTempDir('enclave-cluster-')
  const secrets = options.secrets ?? makeClusterSecrets()
  const redis: TestRedis = await startTestRedis()
  let postgres: PostgresServer | null = null
  let databaseUrl: string | null = null
  const instances: ClusterInstance[] = []
  let nginx: Awaited<ReturnType<typeof startNginx>> | null = null
  const sharedFiles = join(root, 'shared-files')
  mkdirSync(sharedFiles, { mode: 0o700 })

  const stop = async () => {
    await nginx?.stop()
    nginx = null
    for (const instance of instances) {
      await instance.process?.stop('SIGKILL')
      instance.process = null
    }
    await redis.stop()
    await postgres?.remove()
    postgres = null
    rmSync(root, { recursive: true, force: true })
    rmSync(secrets.dir, { recursive: true, force: true })
  }

  try {
    if (options.store === 'postgres') {
      postgres = await startPostgres()
      databaseUrl = await postgres.createDatabase()
    }
    const envOf = (instance: ClusterInstance): Record<string, string> => ({
      ENABLE_TITLE_GENERATION: 'false', SHUTDOWN_TIMEOUT_SECONDS: '2',
      ...IMAGE_ALLOCATOR_ENV,
      ...options.env,
      ...secrets.env,
      DATA_DIR: instance.dataDir,
      REDIS_URL: redis.url, WEBSOCKET_MANAGER: 'redis', REDIS_KEY_PREFIX: 'enclave-cluster',
      FORWARDED_ALLOW_IPS: '127.0.0.1',
      ...(databaseUrl === null ? {} : { DATABASE_URL: databaseUrl }),
    })
    const launch = async (instance: ClusterInstance) => {
      const running = await startBinary({ cwd: root, port: instance.port, env: envOf(instance) })
      const earlier = instance.output
      instance.process = running
      const before = earlier()
      instance.output = () => before + running.output()
    }

    for (let i = 0; i < (options.instances ?? 3); i++) {
      const dataDir = join(root, `instance-${i + 1}`)
      if (options.seedDataDir !== undefined && options.store === 'sqlite') cpSync(options.seedDataDir, dataDir, { recursive: true })
      mkdirSync(dataDir, { recursive: true, mode: 0o700 })
      rmSync(join(dataDir, 'files'), { recursive: true, force: true })
      rmSync(join(dataDir, 'enclave.lock'), { force: true })
      symlinkSync(sharedFiles, join(dataDir, 'files'))
      const port = freePort()
      const instance: ClusterInstance = { port, url: `http://127.0.0.1:${port}`, dataDir, process: null, output: () => '' }
      instances.push(instance)
      await launch(instance)
    }

    // note: each instance has its copy now; the seed (seedSqliteDataDir's) is not needed any more.
    if (options.seedDataDir !== undefined) rmSync(options.seedDataDir, { recursive: true, force: true })
    const nginxDir = join(root, 'nginx')
    mkdirSync(nginxDir)
    const nginxPort = freePort()
    const url = `http://127.0.0.1:${nginxPort}`
    nginx = await startNginx(nginxDir, nginxConf(nginxDir, deployNginxBody(instances.map((each) => each.port), nginxPort)), async () => (await fetch(`${url}/health`)).ok)

    const instanceAt = (index: number) => {
      const instance = instances[index]
      if (instance === undefined) throw new Error(`no instance ${index}`)
      return instance
    }
    return {
      /** nginx: what clients use. */
      url,
      wsUrl: `${url.replace('http', 'ws')}/api/ws`,
      instances,
      redis,
      /** The shared PostgreSQL server, or null with store 'sqlite'. */
      get postgres() { return postgres },
      databaseUrl,
      secrets,
      sharedFilesDir: sharedFiles,
      nginxErrorLog: () => nginx?.errorLog() ?? Promise.resolve(''),
      /** kill -9: the instance ends at once, its sockets and answers with it. */
      async killInstance(index: number) {
        const instance = instanceAt(index)
        await instance.process?.stop('SIGKILL')
        instance.process = null
      },
      /** Stops the instance (SIGTERM, as an orchestrator does). */
      async stopInstance(index: number) {
        const instance = instanceAt(index)
        await instance.process?.stop('SIGTERM')
        instance.process = null
      },
      /** Starts a killed or stopped instance again, on its port and data directory. */
      async restartInstance(index: number) {
        const instance = instanceAt(index)
        if (instance.process !== null) await instance.process.stop('SIGTERM')
        await launch(instance)
      },
      /** Kills Redis (nothing saved, as a crash), runs `during` while it is down, then starts it again on its port. */
      async restartRedis(during: () => Promise<void> = async () => {}) {
        await redis.kill()
        try {
          await during()
        } finally {
          await redis.restart()
        }
      },
      /** Stops PostgreSQL (fast shutdown), runs `during` while it is down, then starts it again on its port and data. */
      async restartPostgres(during: () => Promise<void> = async () => {}) {
        if (postgres === null) throw new Error('this cluster runs on SQLite')
        await postgres.stop()
        try {
          await during()
        } finally {
          await postgres.restart()
        }
      },
      stop,
    }
  } catch (error) {
    await stop()
    throw error
  }
}

/**
 * For store 'sqlite': a data directory made by one instance started alone on `secrets`, after
 * `prepare(url)` ran against it (sign-ups, API keys...). Copied into each instance, it gives them the
 * same accounts, ids and keys, so a credential made here is good on every instance. startCluster
 * removes it once copied.
 */
export async function seedSqliteDataDir(secrets: ClusterSecrets, env: Record<string, string>, prepare: (url: string) => Promise<void>): Promise<string> {
  const dataDir = makeTempDir('enclave-cluster-seed-')
  const server = await startBinary({ cwd: dataDir, env: { ...env, ...secrets.env, DATA_DIR: dataDir } })
  try {
    await prepare(server.url)
  } finally {
    await server.stop()
  }
  return dataDir
}
