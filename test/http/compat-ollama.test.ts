import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { Ollama } from 'ollama'
import { startFakeOllama, type FakeOllama } from '../fakes/ollama.ts'
import { bearer, signUp } from '../helpers/accounts.ts'
import { startTestApp } from '../helpers/test-app.ts'

const MODEL = 'llama3.2:1b'

let ollama: FakeOllama
let url: string
let adminToken: string
let userToken: string
let stopServer: () => Promise<unknown>

beforeAll(async () => {
  ollama = await startFakeOllama({ version: '0.12.6' })
  const { app } = startTestApp({ OLLAMA_BASE_URL: ollama.url, OLLAMA_TIMEOUT: '2', OLLAMA_IDLE_TIMEOUT: '2', DEFAULT_USER_ROLE: 'user' })
  adminToken = (await signUp(app, 'admin@example.com')).token
  userToken = (await signUp(app, 'user@example.com')).token
  app.listen({ hostname: '127.0.0.1', port: 0 })
  stopServer = () => app.stop(true)
  url = `http://127.0.0.1:${app.server!.port}`
})
afterAll(async () => {
  await stopServer()
  await ollama.stop()
})

const clientFor = (token: string | null) => new Ollama({ host: `${url}/ollama`, headers: token === null ? {} : bearer(token) })
const statusOfCall = (call: Promise<unknown>) => call.then(() => 200, (error: { status_code?: number }) => error.status_code)
const lastRequest = (path: string) => ollama.requests.findLast((request) => request.path === path)!

describe('the official Ollama client through /ollama', () => {
  test('list() is the models of every connection', async () => {
    const { models } = await clientFor(userToken).list()
    expect(models.map((model) => model.name)).toEqual(['qwen2.5:0.5b', MODEL])
    expect(models[1]!.details.parameter_size).toBe('1.2B')
  })

  test('chat, not streamed and streamed; the client\'s credential never reaches Ollama', async () => {
    const client = clientFor(userToken)
    const answer = await client.chat({ model: MODEL, messages: [{ role: 'user', content: 'hello there world' }] })
    expect(answer.message.content).toBe('hello there world')
    expect(answer.done).toBe(true)

    const stream = await client.chat({ model: MODEL, messages: [{ role: 'user', content: 'one two three' }], stream: true })
    const pieces: string[] = []
    for await (const part of stream) pieces.push(part.message.content)
    expect(pieces.join('')).toBe('one two three')
    expect(pieces.length).toBeGreaterThan(3)
    const sent = lastRequest('/api/chat')
    expect(sent.headers.authorization).toBeUndefined()
    expect(sent.headers.cookie).toBeUndefined()
    expect(JSON.stringify(sent.headers)).not.toContain(userToken)
  })

  test('generate, show and version', async () => {
    const client = clientFor(userToken)
    expect((await client.generate({ model: MODEL, prompt: 'say this back' })).response).toBe('say this back')
    expect((await client.show({ model: MODEL })).details.family).toBe('llama')
    expect(await client.version()).toEqual({ version: '0.12.6' })
  })

  test('the stream passes through while Ollama is still sending, and aborting it aborts Ollama\'s', async () => {
    ollama.setBehaviour({ chunkDelayMs: 50 })
    try {
      const client = clientFor(userToken)
      const stream = await client.generate({ model: MODEL, prompt: 'a b c d e f g h i j k l', stream: true })
      const upstream = lastRequest('/api/generate')
      for await (const part of stream) {
        expect(part.response).toBe('a')
        stream.abort() // note: the client's way to stop; leaving the loop alone leaves its request open
        break
      }
      expect(await Promise.race([upstream.settled, Bun.sleep(2_000).then(() => 'still running')])).toBe('aborted')
    } finally {
      ollama.setBehaviour({ chunkDelayMs: 0 })
    }
  })

  test('an Ollama that goes silent mid-stream is dropped after OLLAMA_IDLE_TIMEOUT: the stream ends with Ollama\'s error line', async () => {
    ollama.setBehaviour({ fault: { kind: 'stall', afterChunks: 2 } })
    try {
      const response = await fetch(`${url}/ollama/api/chat`, {
        method: 'POST', headers: { ...bearer(userToken), 'content-type': 'application/json' },
        body: JSON.stringify({ model: MODEL, messages: [{ role: 'user', content: 'one two three four' }] }),
      })
      const upstream = lastRequest('/api/chat')
      expect(response.status).toBe(200)
      const lines = (await response.text()).trim().split('\n').map((line) => JSON.parse(line) as { error?: string; message?: { content: string } })
      expect(lines.slice(0, 2).map((line) => line.message?.content)).toEqual(['one', ' two'])
      expect(lines.at(-1)!.error).toContain('Ollama sent nothing for 2 s')
      expect(await Promise.race([upstream.settled, Bun.sleep(2_000).then(() => 'still running')])).toBe('aborted')
    } finally {
      ollama.setBehaviour({ fault: null })
    }
  })

  test('the official client sees the silent stream end as an error, not a hang', async () => {
    ollama.setBehaviour({ fault: { kind: 'stall', afterChunks: 1 } })
    try {
      const stream = await clientFor(userToken).chat({ model: MODEL, messages: [{ role: 'user', content: 'one two three' }], stream: true })
      const failure = await (async () => {
        for await (const _ of stream) { /* the first piece, then silence */ }
      })().then(() => null, (error: Error) => error.message)
      expect(failure).toContain('Ollama sent nothing')
    } finally {
      ollama.setBehaviour({ fault: null })
    }
  })

  test('an unknown model is 404 in Ollama\'s shape', async () => {
    const error = await clientFor(userToken).show({ model: 'nope:1b' }).then(() => null, (caught: { status_code: number; error: string }) => caught)
    expect(error?.status_code).toBe(404)
    expect(error?.error).toContain('not found')
  })

  test.each<[string, (client: Ollama) => Promise<unknown>]>([
    ['pull', (client) => client.pull({ model: 'tinyllama' })],
    ['delete', (client) => client.delete({ model: MODEL })],
    ['copy', (client) => client.copy({ source: MODEL, destination: 'mine' })],
    ['create', (client) => client.create({ model: 'mine', from: MODEL })],
    ['push', (client) => client.push({ model: MODEL })],
  ])('a normal user\'s %s is 403 and never reaches Ollama', async (_, call) => {
    const before = ollama.requests.length
    expect(await statusOfCall(call(clientFor(userToken)))).toBe(403)
    expect(ollama.requests.length).toBe(before)
    expect(ollama.models()).toContain(MODEL)
  })

  test('an admin may pull and delete', async () => {
    const client = clientFor(adminToken)
    expect((await client.pull({ model: 'tinyllama' })).status).toBe('success')
    expect(ollama.models()).toContain('tinyllama:latest')
    expect((await client.list()).models.map((model) => model.name)).toContain('tinyllama:latest')
    await client.delete({ model: 'tinyllama:latest' })
    expect(ollama.models()).not.toContain('tinyllama:latest')
  })

  test.each<[string, string | null]>([
    ['no credential', null],
    ['a wrong token', 'not-a-token'],
  ])('%s is 401', async (_, token) => {
    const client = clientFor(token)
    expect(await statusOfCall(client.list())).toBe(401)
    expect(await statusOfCall(client.chat({ model: MODEL, messages: [{ role: 'user', content: 'hi' }] }))).toBe(401)
  })

  test.each([
    ['GET', '/ollama/api/unknown'],
    ['POST', '/ollama/api/blobs/sha256:abc'],
  ])('%s %s is 404', async (method, path) => {
    const res = await fetch(url + path, { method, headers: bearer(adminToken) })
    expect(res.status).toBe(404)
    expect((await res.json()).code).toBe('not_found')
  })
})
