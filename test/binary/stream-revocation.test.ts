/**
 * The compiled binary ends an OpenAI-compatible stream at once when the API key it runs on is
 * deleted, and aborts its request at Ollama, as test/http/stream-revocation.test.ts shows for the
 * app in-process.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { startFakeOllama, type FakeOllama } from '../fakes/ollama.ts'
import { startBinary, tempDirsRemovedAfterAll, type RunningBinary } from '../helpers/binary.ts'

const tempDir = tempDirsRemovedAfterAll()
const AT_ONCE_MS = 300
const PASSWORD = 'binary stream password 9a4d'

let fake: FakeOllama
let server: RunningBinary

beforeAll(async () => {
  fake = await startFakeOllama({ behaviour: { chunkDelayMs: 20, chunkCount: 400 } })
  server = await startBinary({ cwd: tempDir(), env: { OLLAMA_BASE_URL: fake.url, ENABLE_API_KEYS: 'true' } })
})

afterAll(async () => {
  await server?.stop()
  await fake?.stop()
})

async function call(method: string, path: string, token: string | null, body?: unknown) {
  return fetch(`${server.url}${path}`, {
    method, headers: { 'content-type': 'application/json', ...(token === null ? {} : { authorization: `Bearer ${token}` }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  })
}

test('deleting the API key an OpenAI-compatible stream runs on ends the stream at once and aborts it at Ollama', async () => {
  const signup = await call('POST', '/api/v1/auths/signup', null, { name: 'Ada', email: 'ada@example.com', password: PASSWORD })
  expect(signup.status).toBe(200)
  const { token } = (await signup.json()) as { token: string }
  const created = await call('POST', '/api/v1/auths/api_key', token, { name: 'stream' })
  expect(created.status).toBe(200)
  const { api_key: apiKey } = (await created.json()) as { api_key: string }

  const res = await call('POST', '/api/chat/completions', apiKey, { model: 'qwen2.5:0.5b', stream: true, messages: [{ role: 'user', content: 'a long story' }] })
  expect(res.status).toBe(200)
  const reader = res.body!.getReader()
  const decoder = new TextDecoder()
  let text = ''
  while (!/"content":"[^"]/.test(text)) {
    const step = await reader.read()
    if (step.done) throw new Error(`the stream ended before any answer: ${text}`)
    text += decoder.decode(step.value, { stream: true })
  }
  const request = fake.requests.findLast((entry) => entry.path === '/api/chat')!
  const rest = (async () => {
    for (let step = await reader.read(); !step.done; step = await reader.read()) text += decoder.decode(step.value, { stream: true })
    return text
  })()

  const listed = (await (await call('GET', '/api/v1/auths/api_key', token)).json()) as { keys: { id: string }[] }
  expect((await call('DELETE', `/api/v1/auths/api_key/${listed.keys[0]!.id}`, token)).status).toBe(200)
  const deletedAt = performance.now()
  const ended = await Promise.race([rest, Bun.sleep(AT_ONCE_MS).then(() => null)])
  expect(ended).not.toBeNull()
  expect(performance.now() - deletedAt).toBeLessThan(AT_ONCE_MS)
  expect(await Promise.race([request.settled, Bun.sleep(AT_ONCE_MS).then(() => 'running')])).toBe('aborted')
  const last = ended!.trim().split('\n\n').at(-1)!
  expect(JSON.parse(last.slice('data: '.length))).toMatchObject({ error: { code: 'credential_revoked' } })
  expect(ended).not.toContain('[DONE]')
  expect(ended!.split('\n\n').length).toBeLessThan(400)

  // The deleted key opens nothing more, and the account's session still works.
  expect((await call('POST', '/api/chat/completions', apiKey, { model: 'qwen2.5:0.5b', messages: [{ role: 'user', content: 'hi' }] })).status).toBe(401)
  expect((await call('GET', '/api/v1/auths/', token)).status).toBe(200)
})
