/**
 * What the server's log says about Ollama and the environment, read from the binary's output: each
 * connection at start (answering with its model count, or not), a chat answer Ollama cut off or
 * garbled, and variables that look like settings but are not read. No message text or secret in it.
 */
import { afterAll, describe, expect, test } from 'bun:test'
import { startFakeOllama } from '../fakes/ollama.ts'
import { runBinary, startBinary, tempDirsRemovedAfterAll, type RunningBinary } from '../helpers/binary.ts'
import { chatOverSocket, signUpRemote } from '../helpers/remote-session.ts'

const tempDir = tempDirsRemovedAfterAll()
const fake = await startFakeOllama()
afterAll(() => fake.stop())

/** A URL nothing listens on. */
async function deadUrl(): Promise<string> {
  const probe = Bun.serve({ port: 0, fetch: () => new Response() })
  const url = `http://127.0.0.1:${probe.port}`
  await probe.stop(true)
  return url
}

/** Waits until the output matches (the Ollama report comes after "listening"), or fails after 4 s. */
async function waitForOutput(server: RunningBinary, pattern: RegExp): Promise<string> {
  const deadline = Date.now() + 4_000
  while (!pattern.test(server.output())) {
    if (Date.now() > deadline) throw new Error(`no ${pattern} in:\n${server.output()}`)
    await Bun.sleep(20)
  }
  return server.output()
}

describe('Ollama in the log', () => {
  test('each connection at start: the one answering with its model count, the other not', async () => {
    const dead = await deadUrl()
    const server = await startBinary({ cwd: tempDir(), env: { OLLAMA_BASE_URLS: `${fake.url};${dead}` } })
    try {
      await waitForOutput(server, /did not list its models/)
      await waitForOutput(server, /answers with/)
      expect(server.output()).toMatch(new RegExp(`INFO Ollama answers with 2 models \\{"connection":0,"url":"${fake.url}"\\}`))
      expect(server.output()).toMatch(new RegExp(`WARNING Ollama did not list its models: Ollama is not reachable. \\{"connection":1,"url":"${dead}","reason":"unreachable"\\}`))
      // the report does not hold up the server
      expect(server.output().indexOf('listening on')).toBeLessThan(server.output().indexOf('Ollama answers'))
    } finally {
      expect(await server.stop()).toBe(0)
    }
  })

  test('a failing connection is logged once, not at every listing', async () => {
    const server = await startBinary({ cwd: tempDir(), env: { OLLAMA_BASE_URL: await deadUrl() } })
    try {
      await waitForOutput(server, /did not list its models/)
      const token = await signUpRemote(server.url, 'ada@example.com')
      for (let i = 0; i < 3; i++) await fetch(`${server.url}/api/models`, { headers: { authorization: `Bearer ${token}` } })
      expect(server.output().match(/did not list its models/g)).toHaveLength(1)
    } finally {
      await server.stop()
    }
  })

  test.each([
    ['a stream cut off mid-answer', { kind: 'close', afterChunks: 1 } as const, /WARNING Ollama request failed: The connection to Ollama was lost in the middle of an answer\. \{"connection":0,"url":"[^"]+","path":"\/api\/chat","reason":"unreachable"/],
    ['a garbled line', { kind: 'raw_line', afterChunks: 1, line: '{not json' } as const, /WARNING Ollama request failed: Ollama sent a line that is not JSON \(line 2\)\. \{"connection":0,"url":"[^"]+","path":"\/api\/chat","reason":"bad_response"/],
  ])('%s is a warning, without the message text', async (_, fault, line) => {
    const local = await startFakeOllama({ behaviour: { fault } })
    const server = await startBinary({ cwd: tempDir(), env: { OLLAMA_BASE_URL: local.url } })
    try {
      const token = await signUpRemote(server.url, 'ada@example.com')
      const chat = await chatOverSocket(`${server.url.replace('http', 'ws')}/api/ws`, token, 'a secret question about tulips')
      expect(chat.end.type).toBe('chat:error')
      const output = await waitForOutput(server, /Ollama request failed/)
      expect(output).toMatch(line)
      expect(output).not.toContain('tulips')
      expect(output).not.toContain(token)
    } finally {
      await server.stop()
      await local.stop()
    }
  })
})

describe('variables that look like settings', () => {
  test('a typo gets a "did you mean"; Open WebUI-only ones get one line; values never show', async () => {
    const server = await startBinary({
      cwd: tempDir(),
      env: { OLLAMA_BASE_URL: fake.url, OLAMA_BASE_URL: 'http://value-not-shown:1', ENABLE_RAG_WEB_SEARCH: 'true', RAG_EMBEDDING_MODEL: 'x', OLLAMA_MODELS: '/srv/models-not-shown' },
    })
    try {
      const output = server.output()
      expect(output).toContain('WARNING OLAMA_BASE_URL is set but is not a setting Enclave reads: did you mean OLLAMA_BASE_URL?')
      expect(output.match(/INFO Not read by Enclave/g)).toHaveLength(1)
      expect(output).toContain('Not read by Enclave (Open WebUI settings it does not implement, or typos): ENABLE_RAG_WEB_SEARCH, OLLAMA_MODELS.')
      expect(output).not.toContain('value-not-shown')
      expect(output).not.toContain('models-not-shown')
      expect(output).not.toMatch(/\bPATH\b|\bHOME\b/)
    } finally {
      await server.stop()
    }
  })

  test('enclave config points them out too, on stderr', async () => {
    const run = await runBinary(['config'], { cwd: tempDir(), env: { GLOBAL_LOG_LEVLE: 'DEBUG' } })
    expect(run.code).toBe(0)
    expect(run.stderr).toBe('GLOBAL_LOG_LEVLE is set but is not a setting Enclave reads: did you mean GLOBAL_LOG_LEVEL?\n')
    expect(run.stdout).not.toContain('GLOBAL_LOG_LEVLE')
  })
})
