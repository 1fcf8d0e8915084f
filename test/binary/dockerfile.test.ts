/**
 * The Docker image, without a Docker engine: the Dockerfile's invariants (multi-stage, only the
 * binary in the final stage, non-root USER, HEALTHCHECK with `enclave healthcheck`, EXPOSE = PORT,
 * VOLUME = DATA_DIR, no secrets in ENV or ARG), docker-compose.yml's, and the final stage's
 * command line run with its environment, as its user, against a binary built by the build stage's
 * own command.
 */
import { describe, expect, test } from 'bun:test'
import { chmodSync, chownSync, existsSync, mkdirSync, readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { argsOf, execForm, parseAssignments, parseDockerfile } from '../helpers/dockerfile.ts'
import { runBinary, startBinary, tempDirsRemovedAfterAll } from '../helpers/binary.ts'
import { postJson } from '../helpers/remote-session.ts'

const root = join(import.meta.dir, '..', '..')
const tempDir = tempDirsRemovedAfterAll()
const stages = parseDockerfile(readFileSync(join(root, 'Dockerfile'), 'utf8'))
const [build, final] = [stages[0]!, stages.at(-1)!]
const env = Object.assign({}, ...argsOf(final, 'ENV').map(parseAssignments)) as Record<string, string>
const buildRun = argsOf(build, 'RUN').at(-1)!
const builtBinary = /bun scripts\/build\.ts (\S+)$/.exec(buildRun)?.[1]
const copied = argsOf(final, 'COPY')
const useradd = argsOf(final, 'RUN').join(' ')
const user = argsOf(final, 'USER').at(-1)!
const uid = Number(/useradd [^&]*--uid (\d+)[^&]* (\S+)\s*(?:&&|$)/.exec(useradd)?.[1])

describe('Dockerfile', () => {
  test('two stages: Bun builds, the final stage gets only the compiled binary', () => {
    expect(stages).toHaveLength(2)
    expect(build.from).toStartWith('oven/bun:')
    expect(build.name).toBe('build')
    expect(final.from).not.toContain('bun')
    expect(builtBinary).toBeDefined()
    expect(copied).toEqual([`--from=build ${builtBinary} /usr/local/bin/enclave`])
    expect(execForm(argsOf(final, 'ENTRYPOINT')[0]!)).toEqual(['enclave'])
  })

  test('runs as a dedicated non-root user', () => {
    expect(user).not.toMatch(/^(root|0)(:|$)/)
    expect(useradd).toContain(`--system --uid ${uid} --user-group`)
    expect(useradd).toMatch(new RegExp(` ${user}\\s*&&`))
    expect(uid).toBeGreaterThan(0)
  })

  test('listens on every interface, EXPOSEs PORT and declares DATA_DIR a volume', () => {
    expect(env.HOST).toBe('0.0.0.0')
    expect(argsOf(final, 'EXPOSE')).toEqual([env.PORT!])
    expect(argsOf(final, 'VOLUME')).toEqual([env.DATA_DIR!])
    expect(useradd).toContain(`chown ${user}:${user} ${env.DATA_DIR} && chmod 0700 ${env.DATA_DIR}`)
  })

  test('keeps freed memory a second before returning it, so back-to-back sign-ins reuse the hash memory (docs/performance.md)', () => {
    expect(Number(env.MIMALLOC_PURGE_DELAY)).toBe(1000)
  })

  test('looks for Ollama on the host, not in the container itself (127.0.0.1 there is the container)', () => {
    expect(env.OLLAMA_BASE_URL).toBe('http://host.docker.internal:11434')
    const readme = readFileSync(join(root, 'README.md'), 'utf8')
    expect(readme).toContain('--add-host=host.docker.internal:host-gateway')
  })

  test('HEALTHCHECK runs `enclave healthcheck` in exec form', () => {
    const [healthcheck] = argsOf(final, 'HEALTHCHECK')
    expect(execForm(/CMD (.*)$/.exec(healthcheck!)![1]!)).toEqual(['enclave', 'healthcheck'])
  })

  test('no secret in ENV or ARG, and none in the build context', () => {
    const names = stages.flatMap((stage) => [...argsOf(stage, 'ENV'), ...argsOf(stage, 'ARG')].flatMap((args) => Object.keys(parseAssignments(args))))
    expect(names.length).toBeGreaterThan(0)
    for (const name of names) expect(name).not.toMatch(/KEY|SECRET|PASSWORD|TOKEN|CREDENTIAL/i)
    const ignored = readFileSync(join(root, '.dockerignore'), 'utf8').split('\n')
    for (const entry of ['.env', 'data', 'dist', 'node_modules', '.git']) expect(ignored).toContain(entry)
  })
})

describe('docker-compose.yml', () => {
  const compose = Bun.YAML.parse(readFileSync(join(root, 'docker-compose.yml'), 'utf8')) as {
    services: Record<string, { image?: string; environment?: Record<string, string>; volumes?: string[]; ports?: string[]; depends_on?: string[] }>
    volumes: Record<string, unknown>
  }

  test('an Ollama service, reached by name, and a named volume on DATA_DIR', () => {
    const { enclave, ollama } = compose.services
    expect(ollama?.image).toStartWith('ollama/ollama')
    expect(enclave?.environment?.OLLAMA_BASE_URL).toBe('http://ollama:11434')
    expect(enclave?.depends_on).toContain('ollama')
    expect(enclave?.volumes).toContain(`enclave-data:${env.DATA_DIR}`)
    expect(Object.keys(compose.volumes)).toContain('enclave-data')
    expect(enclave?.ports).toEqual([`127.0.0.1:${env.PORT}:${env.PORT}`])
    expect(JSON.stringify(enclave?.environment)).not.toMatch(/KEY|SECRET|PASSWORD/i)
  })

  test('Ollama\'s image is pinned to a version; the GPU and key-secret sections are there, commented out', () => {
    expect(compose.services.ollama?.image).toMatch(/^ollama\/ollama:\d+\.\d+\.\d+$/)
    const text = readFileSync(join(root, 'docker-compose.yml'), 'utf8')
    expect(text).toContain('#           capabilities: [gpu]')
    expect(text).toContain('# ENCRYPTION_KEY_FILE: /run/secrets/enclave_key')
    expect(text).toContain('#     file: ./enclave_key.txt')
    expect(text).toContain('ollama pull')
  })
})

describe('the final stage, run', () => {
  test('the build stage\'s command builds the binary; the image\'s command line serves and passes its HEALTHCHECK', async () => {
    const dir = tempDir()
    chmodSync(dir, 0o711)
    const binary = join(dir, 'enclave')
    const commitArg = parseAssignments(argsOf(build, 'ARG').find((args) => args.startsWith('ENCLAVE_COMMIT'))!).ENCLAVE_COMMIT!
    expect(buildRun).toBe(`ENCLAVE_COMMIT=$ENCLAVE_COMMIT bun scripts/build.ts ${builtBinary}`)
    const built = Bun.spawnSync([process.execPath, 'scripts/build.ts', binary], { cwd: root, env: { ...process.env, ENCLAVE_COMMIT: commitArg }, stdout: 'ignore', stderr: 'pipe' })
    expect(built.exitCode).toBe(0)
    expect((await runBinary(['--version'], { cwd: dir, binary })).stdout).toContain('(commit unknown)')

    // The volume, owned by the image's user; the process runs as that uid, as USER says.
    const dataDir = join(dir, 'data')
    mkdirSync(dataDir, { mode: 0o700 })
    chownSync(dataDir, uid, uid)
    const cmd = execForm(argsOf(final, 'CMD')[0]!)!
    expect(cmd).toEqual(['serve'])
    const runEnv = { ...env, DATA_DIR: dataDir }
    // note: startBinary adds `serve --port 0` (a fixed 8080 would collide here); the rest is the image's.
    const server = await startBinary({ cwd: dataDir, binary, env: runEnv, wrapper: ['setpriv', `--reuid=${uid}`, `--regid=${uid}`, '--clear-groups'] })
    try {
      expect(server.url).toStartWith('http://0.0.0.0:')
      const port = new URL(server.url).port
      const local = `http://127.0.0.1:${port}`
      expect(await (await fetch(`${local}/health`)).json()).toEqual({ status: true })
      const healthcheck = await runBinary(['healthcheck'], { cwd: dataDir, binary, env: { ...runEnv, PORT: port } })
      expect(healthcheck.code).toBe(0)
      // Listening beyond loopback with no account yet: the first sign-up needs the setup token.
      expect(existsSync(join(dataDir, '.setup_token'))).toBe(true)
      const signup = await postJson(local, '/api/v1/auths/signup', { name: 'Ada', email: 'ada@example.com', password: 'correct horse battery' })
      expect(signup.status).toBe(403)
    } finally {
      expect(await server.stop()).toBe(0)
    }
    expect(statSync(join(dataDir, 'enclave.db')).uid).toBe(uid)
  }, 120_000)
})

