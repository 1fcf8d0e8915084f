/**
 * For suites that point real npm clients at the compiled binary: one Ollama stand-in, one binary
 * over it in a fresh temp directory, and the first account (an admin) signed up, for the whole file.
 * Call at the top level of a test file (it registers beforeAll and afterAll hooks).
 */
import { afterAll, beforeAll } from 'bun:test'
import { startFakeOllama, type FakeOllama } from '../fakes/ollama.ts'
import { signUp } from './accounts.ts'
import { binaryAppStarter } from './binary-app.ts'

/** The running binary's base URL and the admin's session token, filled in before the tests run. */
export type BinaryWithAdmin = { url: string; token: string; fake: FakeOllama | null }

export function binaryWithAdmin(): BinaryWithAdmin {
  const startApp = binaryAppStarter()
  const running: BinaryWithAdmin = { url: '', token: '', fake: null }
  beforeAll(async () => {
    running.fake = await startFakeOllama()
    const started = await startApp({ OLLAMA_BASE_URL: running.fake.url })
    running.url = started.server().url
    running.token = (await signUp(started.app, 'ada@example.com')).token
  })
  afterAll(() => running.fake?.stop())
  return running
}
