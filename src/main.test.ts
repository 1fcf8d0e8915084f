import { expect, test } from 'bun:test'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { makeTempDir, startBinary, tempDirsRemovedAfterAll } from '../test/helpers/binary.ts'

const tempDir = tempDirsRemovedAfterAll()
const MAIN = join(import.meta.dir, 'main.ts')
const PRELOAD = join(import.meta.dir, '..', 'test', 'helpers', 'loaded-modules.ts')
const wrapper = [process.execPath, '--preload', PRELOAD]

/** Code only some commands or settings need: the other commands, and the SSO and LDAP libraries. */
const OPTIONAL = [
  /\/src\/cli\/(import-open-webui|import-libre-webui|backup|keys|rotate-master-key|rotate-data-keys|install-service|healthcheck|print-config|lifecycle)\.ts$/,
  /\/node_modules\/(openid-client|oauth4webapi|jose|ldapts)\//,
]
const optionalIn = (modules: string[]) => modules.filter((path) => OPTIONAL.some((pattern) => pattern.test(path)))

function readLoaded(file: string): string[] {
  return readFileSync(file, 'utf8').split('\n')
}

test('serve without SSO or LDAP evaluates no other command and no SSO or LDAP library', async () => {
  const dir = tempDir()
  const file = join(makeTempDir(), 'modules')
  const server = await startBinary({ cwd: dir, binary: MAIN, wrapper, env: { DATA_DIR: dir, LOADED_MODULES_FILE: file } })
  expect((await fetch(`${server.url}/health`)).status).toBe(200)
  expect(await server.stop()).toBe(0)
  const loaded = readLoaded(file)
  expect(loaded.some((path) => path.endsWith('/src/cli/serve.ts'))).toBe(true)
  expect(optionalIn(loaded)).toEqual([])
})

test('serve with an OIDC provider configured loads openid-client at the first sign-in, not at start', async () => {
  const dir = tempDir()
  const file = join(makeTempDir(), 'modules')
  const env = { DATA_DIR: dir, LOADED_MODULES_FILE: file, OAUTH_CLIENT_ID: 'enclave', OAUTH_CLIENT_SECRET: crypto.randomUUID(), OPENID_PROVIDER_URL: 'http://127.0.0.1:9/.well-known/openid-configuration', WEBUI_URL: 'http://localhost:8080' }
  const server = await startBinary({ cwd: dir, binary: MAIN, wrapper, env })
  expect(await server.stop()).toBe(0)
  expect(optionalIn(readLoaded(file))).toEqual([])
})

test('a lifecycle command loads its own module and none of the server or the other commands', () => {
  const dir = tempDir()
  const file = join(makeTempDir(), 'modules')
  Bun.spawnSync([...wrapper, MAIN, 'keys', 'status'], { cwd: dir, env: { PATH: process.env.PATH ?? '/usr/bin:/bin', DATA_DIR: dir, LOADED_MODULES_FILE: file }, stdout: 'ignore', stderr: 'ignore' })
  const loaded = readLoaded(file)
  expect(optionalIn(loaded).map((path) => path.replace(/^.*\/src\//, 'src/')).sort()).toEqual(['src/cli/keys.ts', 'src/cli/lifecycle.ts'])
  expect(loaded.some((path) => /\/src\/(cli\/serve|http\/create-app)\.ts$/.test(path))).toBe(false)
})
