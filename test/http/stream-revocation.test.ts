/**
 * Revocation reaches the streaming HTTP answers at once, as it reaches sockets
 * (test/ws/socket-revocation.test.ts): an OpenAI-compatible stream or an Ollama proxy stream on a
 * credential that is signed out, deleted or whose account is made pending is aborted at Ollama
 * within AT_ONCE_MS and the client's stream ends (OpenAI: an error event the official client
 * raises, no [DONE]; Ollama: an `{"error": ...}` line). Another user's revocation leaves it running.
 * Each answer listens to the account changes only while it runs: the listener count is back where
 * it was after an answer completes, fails, is revoked or its client goes away.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import OpenAI from 'openai'
import { startFakeOllama, type FakeOllama, type FakeRequest } from '../fakes/ollama.ts'
import { bearer, signUp, statusOf, type SessionBody } from '../helpers/accounts.ts'
import { req, startTestApp } from '../helpers/test-app.ts'

const MODEL = 'qwen2.5:0.5b'
/** Far below anything periodic; the margin is for a loaded machine. */
const AT_ONCE_MS = 300
/** A slow answer: 400 chunks 20 ms apart, so it runs for 8 s unless stopped. */
const SLOW = { chunkDelayMs: 20, chunkCount: 400 }

let fake: FakeOllama
let started: ReturnType<typeof startTestApp>
let base: string
let admin: SessionBody
let accounts = 0
/** Listeners of the account changes with no answer running (the socket routes keep one). */
let idleListeners: number

beforeAll(async () => {
  fake = await startFakeOllama({ behaviour: SLOW })
  started = startTestApp({ OLLAMA_BASE_URL: fake.url, DEFAULT_USER_ROLE: 'user', ENABLE_API_KEYS: 'true', OLLAMA_IDLE_TIMEOUT: '5' })
  admin = await signUp(started.app, 'admin@example.com')
  started.app.listen({ hostname: '127.0.0.1', port: 0 })
  base = `http://127.0.0.1:${started.app.server!.port}`
  idleListeners = listeners()
})

afterAll(async () => {
  await started.app.stop(true)
  await fake.stop()
})

const listeners = () => started.deps.store.accountChanges.countListeners()

type Account = SessionBody & { apiKey: string }

/** A new account with one session and one API key; an admin when asked (API keys need a permitted role). */
async function newAccount(role: 'user' | 'admin' = 'admin'): Promise<Account> {
  accounts += 1
  const account = await signUp(started.app, `streamer${accounts}@example.com`)
  if (role === 'admin') await expectStatus('POST', `/api/v1/users/${account.id}/update`, admin.token, 200, { role })
  const res = await started.app.handle(req('POST', '/api/v1/auths/api_key', { name: 'stream' }, bearer(account.token)))
  return { ...account, apiKey: ((await res.json()) as { api_key: string }).api_key }
}

async function expectStatus(method: string, path: string, token: string, status: number, body?: unknown) {
  expect(await statusOf(started.app, method, path, bearer(token), body)).toBe(status)
}

type Shape = 'openai' | 'ollama' | 'ollama-v1'
const askedFor: Record<Shape, { path: string; upstream: string; body: object }> = {
  'openai': { path: '/api/chat/completions', upstream: '/api/chat', body: { model: MODEL, stream: true, messages: [{ role: 'user', content: 'a long story' }] } },
  'ollama': { path: '/ollama/api/chat', upstream: '/api/chat', body: { model: MODEL, stream: true, messages: [{ role: 'user', content: 'a long story' }] } },
  'ollama-v1': { path: '/ollama/v1/chat/completions', upstream: '/v1/chat/completions', body: { model: MODEL, stream: true, messages: [{ role: 'user', content: 'a long story' }] } },
}

/** A running stream: what the client reads until it ends, Ollama's request for it, and the client's abort. */
type Running = { ended: Promise<string>; request: FakeRequest; client: AbortController }

/** Starts a stream and waits until answer text has arrived, so it is mid-stream. */
async function startStream(shape: Shape, credential: string): Promise<Running> {
  const before = fake.requests.length
  const client = new AbortController()
  const { path, upstream, body } = askedFor[shape]
  const res = await fetch(base + path, { method: 'POST', headers: json(credential), body: JSON.stringify(body), signal: client.signal })
  expect(res.status).toBe(200)
  let text = ''
  let sawContent!: () => void
  const contentSeen = new Promise<void>((resolve) => (sawContent = resolve))
  const ended = (async () => {
    const decoder = new TextDecoder()
    const reader = res.body!.getReader()
    try {
      for (let step = await reader.read(); !step.done; step = await reader.read()) {
        text += decoder.decode(step.value, { stream: true })
        if (/"content":"[^"]/.test(text)) sawContent()
      }
    } catch {
      // note: the client's own abort ends the read too
    }
    return text
  })()
  await Promise.race([contentSeen, ended])
  const request = fake.requests.slice(before).find((entry) => entry.path === upstream)
  if (request === undefined) throw new Error('the stream never reached the fake Ollama')
  return { ended, request, client }
}

const json = (token: string) => ({ ...bearer(token), 'content-type': 'application/json' })

/** Waits (up to 2 s) until Ollama has a request for `path` after the first `before`. */
async function upstreamRequest(before: number, path = '/api/chat'): Promise<FakeRequest> {
  for (let waited = 0; waited < 2_000; waited += 5) {
    const found = fake.requests.slice(before).find((entry) => entry.path === path)
    if (found !== undefined) return found
    await Bun.sleep(5)
  }
  throw new Error(`no ${path} request reached the fake Ollama`)
}

const within = <T>(promise: Promise<T>, ms: number) => Promise.race([promise, Bun.sleep(ms).then(() => 'running' as const)])

/** Waits up to 1 s for the listener count to settle back. */
async function listenersSettle(): Promise<number> {
  for (let waited = 0; waited < 1_000 && listeners() !== idleListeners; waited += 10) await Bun.sleep(10)
  return listeners()
}

type Credential = 'session' | 'apiKey'
const credentialOf = (account: Account, kind: Credential) => (kind === 'session' ? account.token : account.apiKey)

async function deleteEveryKey(account: Account) {
  const res = await started.app.handle(req('GET', '/api/v1/auths/api_key', undefined, bearer(account.token)))
  const { keys } = (await res.json()) as { keys: { id: string }[] }
  for (const key of keys) await expectStatus('DELETE', `/api/v1/auths/api_key/${key.id}`, account.token, 200)
}

const revocations: Record<string, { credentials: Credential[]; revoke: (account: Account) => Promise<void> }> = {
  'signed out': { credentials: ['session'], revoke: (account) => expectStatus('POST', '/api/v1/auths/signout', account.token, 200) },
  'its API key deleted': { credentials: ['apiKey'], revoke: deleteEveryKey },
  'made pending': { credentials: ['session', 'apiKey'], revoke: (account) => expectStatus('POST', `/api/v1/users/${account.id}/update`, admin.token, 200, { role: 'pending' }) },
  'deleted': { credentials: ['session', 'apiKey'], revoke: (account) => expectStatus('DELETE', `/api/v1/users/${account.id}`, admin.token, 200) },
}

const rows = (['openai', 'ollama', 'ollama-v1'] as const).flatMap((shape) => Object.entries(revocations).flatMap(([how, { credentials, revoke }]) =>
  credentials.map((credential) => [`${shape} stream on ${credential === 'session' ? 'a session' : 'an API key'}, the account ${how}`, shape, credential, revoke] as const)))

describe('a revoked credential', () => {
  test.each(rows)('%s: Ollama\'s request is aborted and the client\'s stream ends at once', async (_, shape, kind, revoke) => {
    const account = await newAccount()
    const stream = await startStream(shape, credentialOf(account, kind))
    expect(listeners()).toBe(idleListeners + 1)

    await revoke(account)
    const revokedAt = performance.now()
    expect(await within(stream.request.settled, AT_ONCE_MS)).toBe('aborted')
    const text = await within(stream.ended, AT_ONCE_MS)
    expect(performance.now() - revokedAt).toBeLessThan(AT_ONCE_MS)
    expect(text).not.toBe('running')
    const last = String(text).trim().split('\n').filter((line) => line !== '').at(-1)!
    if (shape !== 'ollama') {
      expect(text).not.toContain('[DONE]')
      expect(JSON.parse(last.slice('data: '.length))).toEqual({ error: { message: expect.any(String), type: 'invalid_request_error', code: 'credential_revoked' } })
    } else {
      expect(JSON.parse(last)).toEqual({ error: expect.stringContaining('revoked') })
    }
    expect(String(text).split('\n').filter((line) => line.includes('"content"')).length).toBeLessThan(SLOW.chunkCount)
    expect(listeners()).toBe(idleListeners)
  })

  test('the official OpenAI client raises the revocation as an APIError with its code', async () => {
    const account = await newAccount()
    const openai = new OpenAI({ baseURL: `${base}/api`, apiKey: account.apiKey, maxRetries: 0 })
    const stream = await openai.chat.completions.create({ ...askedFor.openai.body, stream: true } as OpenAI.Chat.Completions.ChatCompletionCreateParamsStreaming)
    const request = fake.requests.findLast((entry) => entry.path === '/api/chat')!
    const failure = (async () => {
      let chunks = 0
      for await (const _ of stream) if (++chunks === 3) void deleteEveryKey(account)
      return null
    })().catch((error: unknown) => error)
    const error = await within(failure, 2_000)
    expect(error).toBeInstanceOf(OpenAI.APIError)
    expect((error as InstanceType<typeof OpenAI.APIError>).code).toBe('credential_revoked')
    expect(await within(request.settled, AT_ONCE_MS)).toBe('aborted')
  })

  test('a whole (not streamed) completion is answered 401 and aborted at Ollama', async () => {
    const account = await newAccount()
    const before = fake.requests.length
    const answer = fetch(`${base}/api/chat/completions`, {
      method: 'POST', headers: json(account.apiKey), body: JSON.stringify({ ...askedFor.openai.body, stream: false }),
    })
    const request = await upstreamRequest(before)
    await Bun.sleep(50)
    await deleteEveryKey(account)
    const res = await within(answer, AT_ONCE_MS)
    expect(res).not.toBe('running')
    expect((res as Response).status).toBe(401)
    expect(await (res as Response).json()).toMatchObject({ error: { code: 'credential_revoked' } })
    expect(await within(request.settled, AT_ONCE_MS)).toBe('aborted')
    expect(listeners()).toBe(idleListeners)
  })

  test('a revocation before Ollama\'s first byte answers 401 at once', async () => {
    const account = await newAccount()
    fake.setBehaviour({ fault: { kind: 'hang_before_first_byte' } })
    try {
      const before = fake.requests.length
      const answer = fetch(`${base}/ollama/api/chat`, { method: 'POST', headers: json(account.token), body: JSON.stringify(askedFor.ollama.body) })
      const request = await upstreamRequest(before)
      await expectStatus('POST', '/api/v1/auths/signout', account.token, 200)
      const res = await within(answer, AT_ONCE_MS)
      expect((res as Response).status).toBe(401)
      expect(await (res as Response).json()).toEqual({ error: expect.stringContaining('revoked') })
      expect(await within(request.settled, AT_ONCE_MS)).toBe('aborted')
    } finally {
      fake.setBehaviour({ fault: null })
    }
    expect(listeners()).toBe(idleListeners)
  })

  test('an admin\'s pull stops when the admin is made a user; a user\'s chat stream goes on', async () => {
    const puller = await newAccount('admin')
    const chatter = await newAccount('admin')
    fake.setBehaviour({ chunkDelayMs: 200 })
    const before = fake.requests.length
    const pull = fetch(`${base}/ollama/api/pull`, { method: 'POST', headers: json(puller.token), body: JSON.stringify({ model: 'tinyllama:1b' }) })
    let chat: Running
    try {
      chat = await startStream('ollama', chatter.token)
    } finally {
      fake.setBehaviour(SLOW)
    }
    const pulled = (await pull).body!.getReader()
    await pulled.read()
    const pullRequest = await upstreamRequest(before, '/api/pull')

    await expectStatus('POST', `/api/v1/users/${puller.id}/update`, admin.token, 200, { role: 'user' })
    await expectStatus('POST', `/api/v1/users/${chatter.id}/update`, admin.token, 200, { role: 'user' })
    expect(await within(pullRequest.settled, AT_ONCE_MS)).toBe('aborted')
    expect(await within(chat.request.settled, 100)).toBe('running')
    chat.client.abort()
    expect(await listenersSettle()).toBe(idleListeners)
  })
})

test('another user\'s revocations leave this user\'s streams running', async () => {
  const bystander = await newAccount()
  const openai = await startStream('openai', bystander.apiKey)
  const ollama = await startStream('ollama', bystander.token)
  const intruder = await newAccount()

  await deleteEveryKey(intruder)
  await expectStatus('POST', '/api/v1/auths/signout/all', intruder.token, 200)
  await expectStatus('POST', `/api/v1/users/${intruder.id}/update`, admin.token, 200, { role: 'pending' })
  await expectStatus('DELETE', `/api/v1/users/${intruder.id}`, admin.token, 200)

  expect(await within(openai.request.settled, 100)).toBe('running')
  expect(await within(ollama.request.settled, 1)).toBe('running')
  expect(listeners()).toBe(idleListeners + 2)
  openai.client.abort()
  ollama.client.abort()
  expect(await within(openai.request.settled, 1_000)).toBe('aborted')
  expect(await within(ollama.request.settled, 1_000)).toBe('aborted')
  expect(await listenersSettle()).toBe(idleListeners)
})

describe('the listener lives only as long as the answer', () => {
  test.each<[string, Shape, Credential]>([
    ['an OpenAI stream on a session', 'openai', 'session'],
    ['an OpenAI stream on an API key', 'openai', 'apiKey'],
    ['an Ollama chat stream on a session', 'ollama', 'session'],
  ])('%s: gone after the client disconnects', async (_, shape, kind) => {
    const account = await newAccount()
    const stream = await startStream(shape, credentialOf(account, kind))
    expect(listeners()).toBe(idleListeners + 1)
    stream.client.abort()
    expect(await within(stream.request.settled, 1_000)).toBe('aborted')
    expect(await listenersSettle()).toBe(idleListeners)
  })

  test.each<[string, Shape]>([['an OpenAI stream', 'openai'], ['an Ollama chat stream', 'ollama']])('%s: gone after it completes', async (_, shape) => {
    const account = await newAccount()
    fake.setBehaviour({ chunkDelayMs: 5, chunkCount: 5 })
    try {
      const stream = await startStream(shape, account.token)
      const text = await stream.ended
      expect(text).toContain(shape === 'openai' ? '[DONE]' : '"done":true')
      expect(await stream.request.settled).toBe('completed')
    } finally {
      fake.setBehaviour(SLOW)
    }
    expect(await listenersSettle()).toBe(idleListeners)
  })

  test.each<[string, string, object, number]>([
    ['an OpenAI completion of an unknown model', '/api/chat/completions', { model: 'nope:1b', messages: [{ role: 'user', content: 'hi' }], stream: true }, 404],
    ['an Ollama chat of an unknown model', '/ollama/api/chat', { model: 'nope:1b', messages: [] }, 404],
    ['an Ollama version call', '/ollama/api/version', {}, 200],
  ])('%s: gone after the answer', async (_, path, body, status) => {
    const method = path.endsWith('/version') ? 'GET' : 'POST'
    const res = await fetch(base + path, { method, headers: json(admin.token), ...(method === 'POST' ? { body: JSON.stringify(body) } : {}) })
    expect(res.status).toBe(status)
    await res.arrayBuffer()
    expect(await listenersSettle()).toBe(idleListeners)
  })

  test('a whole completion: gone after the answer', async () => {
    fake.setBehaviour({ chunkDelayMs: 0, chunkCount: 3 })
    try {
      const res = await fetch(`${base}/api/chat/completions`, { method: 'POST', headers: json(admin.token), body: JSON.stringify({ ...askedFor.openai.body, stream: false }) })
      expect(res.status).toBe(200)
    } finally {
      fake.setBehaviour(SLOW)
    }
    expect(listeners()).toBe(idleListeners)
  })
})
