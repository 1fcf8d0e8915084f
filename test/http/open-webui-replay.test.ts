/**
 * Open WebUI's web frontend and Conduit calls (test/fixtures/open-webui-endpoints.json), replayed in
 * process against the app with the Ollama stand-in (test/helpers/open-webui-replay.ts). Prints the
 * coverage and the misses; asserts at least 95%, the measure the compatibility work is held to.
 */
import { afterAll, describe, expect, test } from 'bun:test'
import { endpoints, inScope, replayInventory, reportCoverage, REPLAY_ENV } from '../helpers/open-webui-replay.ts'
import { startTestApp } from '../helpers/test-app.ts'
import { startFakeOllama } from '../fakes/ollama.ts'

const ollama = await startFakeOllama()
afterAll(() => ollama.stop())

describe('Open WebUI web frontend and Conduit calls, replayed', () => {
  test('every row names its clients; every in-scope row a path, every other row a reason', () => {
    for (const endpoint of endpoints) expect(endpoint.clients.length).toBeGreaterThan(0)
    for (const endpoint of inScope) expect(endpoint.path.startsWith('/')).toBe(true)
    for (const endpoint of endpoints.filter((row) => !row.in_scope)) expect(endpoint.reason ?? '').not.toBe('')
  })

  test('at least 95% of the in-scope calls answer as Open WebUI does', async () => {
    const { app } = startTestApp({ OLLAMA_BASE_URL: ollama.url, ...REPLAY_ENV })
    expect(reportCoverage('in process', await replayInventory(app, ollama.url))).toBeGreaterThanOrEqual(0.95)
  }, 60_000)
})
