/**
 * Open WebUI's web frontend and Conduit calls (test/fixtures/open-webui-endpoints.json) replayed
 * against the compiled binary with the Ollama stand-in: the same coverage as in process, at least
 * 95%; and the admin's prompt suggestions and default model are not readable in the data files.
 */
import { afterAll, expect, test } from 'bun:test'
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { bearer, signIn } from '../helpers/accounts.ts'
import { binaryAppStarter } from '../helpers/binary-app.ts'
import { replayInventory, reportCoverage, REPLAY_ENV } from '../helpers/open-webui-replay.ts'
import { call } from '../helpers/organisation.ts'
import { startFakeOllama } from '../fakes/ollama.ts'

const startApp = binaryAppStarter()
const ollama = await startFakeOllama()
afterAll(() => ollama.stop())
const SUGGESTION = 'MARKER-SUGGESTION-5d21'
const DEFAULT_MODEL = 'MARKER-MODEL-a93f'

test('at least 95% of the in-scope calls answer as Open WebUI does, against dist/enclave', async () => {
  const binary = await startApp({ OLLAMA_BASE_URL: ollama.url, ...REPLAY_ENV })
  expect(reportCoverage('dist/enclave', await replayInventory(binary.app, ollama.url))).toBeGreaterThanOrEqual(0.95)

  const ada = bearer((await signIn(binary.app, 'ada@example.com')).token)
  await call(binary.app, 'POST', '/api/v1/configs/suggestions', ada, { suggestions: [{ title: [SUGGESTION], content: SUGGESTION }] })
  await call(binary.app, 'POST', '/api/v1/configs/models', ada, { DEFAULT_MODELS: DEFAULT_MODEL })
  await binary.restart()
  const config = await call<{ default_models: string; default_prompt_suggestions: { content: string }[] }>(binary.app, 'GET', '/api/config', ada)
  expect([config.default_models, config.default_prompt_suggestions[0]?.content]).toEqual([DEFAULT_MODEL, SUGGESTION])
  const dataDir = join(binary.cwd, 'data')
  for (const name of readdirSync(dataDir).filter((file) => file.startsWith('enclave.db'))) {
    const bytes = readFileSync(join(dataDir, name))
    for (const marker of [SUGGESTION, DEFAULT_MODEL]) expect([name, marker, bytes.indexOf(Buffer.from(marker))]).toEqual([name, marker, -1])
  }
}, 120_000)
