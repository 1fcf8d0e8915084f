/**
 * Two instances in one process, each with its own store on one shared database file and its own
 * Redis connection, as two machines behind a balancer would be (the shared database will be
 * PostgreSQL there): a user's tabs on both see an answer live wherever it runs, a cancel from the
 * other instance stops it where it runs, a resume there falls back to the checkpoint, and a
 * sign-out on one closes the user's sockets and stops their answers on the other.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createMemoryAuditLog } from '../../src/audit/audit-log.ts'
import { openGate } from '../../src/auth/setup-token.ts'
import { openCluster, type Cluster } from '../../src/cluster/cluster.ts'
import { loadConfig } from '../../src/config/load-config.ts'
import { openStore, type Store } from '../../src/db/open-store.ts'
import { createApp } from '../../src/http/create-app.ts'
import { createLogger } from '../../src/log/logger.ts'
import { startFakeOllama, type FakeOllama } from '../fakes/ollama.ts'
import { bearer, signIn, signUp, statusOf } from '../helpers/accounts.ts'
import { startTestRedis, type TestRedis } from '../helpers/redis-server.ts'
import { SUITE_DEFAULTS } from '../helpers/suite-defaults.ts'
import { connect, ofType, type TestSocket } from '../helpers/ws.ts'

const MODEL = 'qwen2.5:0.5b'
/** Within a second, as the issue asks; the periodic recheck is 5 s. */
const WITHIN_A_SECOND_MS = 1_000

type Instance = { app: ReturnType<typeof createApp>; store: Store; cluster: Cluster; url: string; logLines: string[] }

let redis: TestRedis
let fake: FakeOllama
let dir: string
const instances: Instance[] = []
const sockets: TestSocket[] = []
const sessionSecret = 'cluster-test-secret-' + crypto.randomUUID()
/** The first account on the shared database, so its admin. */
let adminToken = ''

async function startInstance(extraEnv: Record<string, string> = {}, dataDir = dir): Promise<Instance> {
  const logLines: string[] = []
  const log = createLogger('DEBUG', (line) => void logLines.push(line))
  const config = loadConfig({ env: { ...SUITE_DEFAULTS, OLLAMA_BASE_URL: fake.url, ENABLE_TITLE_GENERATION: 'false', DEFAULT_USER_ROLE: 'user', REDIS_URL: redis.url, WEBSOCKET_MANAGER: 'redis', REDIS_KEY_PREFIX: 'enclave-test', ...extraEnv }, cwd: dataDir })
  const store = openStore({ dataDir, masterKey: { kind: 'generated', path: join(dataDir, 'master.key') }, now: Date.now })
  const cluster = openCluster({ config: config.cluster!, keys: store.clusterKeys, log, retryMs: 50 })
  await cluster.bus.link.ready
  const app = createApp({ config, store, log, sessionSecret, audit: createMemoryAuditLog(Date.now), now: Date.now, setupGate: openGate, cluster })
  app.listen({ hostname: '127.0.0.1', port: 0 })
  const instance = { app, store, cluster, url: `ws://127.0.0.1:${app.server!.port}/api/ws`, logLines }
  instances.push(instance)
  return instance
}

async function socketOn(instance: Instance, token: string): Promise<TestSocket> {
  const socket = await connect(instance.url, { token })
  sockets.push(socket)
  return socket
}

beforeAll(async () => {
  redis = await startTestRedis()
  fake = await startFakeOllama({ behaviour: { chunkDelayMs: 20, chunkCount: 400 } })
  dir = mkdtempSync(join(tmpdir(), 'enclave-cluster-'))
  await startInstance()
  await startInstance()
  // note: the subscriptions are made in the background; a PUBSUB NUMSUB shows both instances listening.
  for (let attempt = 0; attempt < 200; attempt++) {
    if ((await redis.cli('PUBSUB', 'NUMSUB', 'enclave-test:cluster:frames', 'enclave-test:cluster:access')).split('\n').filter((line) => line === '2').length === 2) break
    await Bun.sleep(10)
  }
})

afterAll(async () => {
  for (const socket of sockets) socket.ws.close()
  for (const instance of instances) {
    await instance.app.stop(true)
    instance.cluster.close()
    instance.store.close()
  }
  await fake.stop()
  await redis.stop()
  rmSync(dir, { recursive: true, force: true })
})

const chatRequests = () => fake.requests.filter((request) => request.path === '/api/chat')

test('a tab on the other instance sees the answer live, cancels it where it runs, and a resume there falls back to the checkpoint', async () => {
  const [first, second] = instances as [Instance, Instance]
  const ada = await signUp(first.app, 'ada@example.com')
  adminToken = ada.token
  const here = await socketOn(first, ada.token)
  const there = await socketOn(second, ada.token)
  const before = chatRequests().length

  here.send({ type: 'chat:send', model: MODEL, content: 'PLAINTEXT-QUESTION tell me a long story' })
  const started = await there.nextFrame(ofType('chat:started'))
  const delta = await there.nextFrame(ofType('chat:delta', started.messageId))
  expect(delta.chatId).toBe(started.chatId)

  there.send({ type: 'chat:resume', messageId: started.messageId, index: 0 })
  expect((await there.nextFrame(ofType('error'))).code).toBe('stream_not_found')

  there.send({ type: 'chat:cancel', messageId: started.messageId })
  const done = await there.nextFrame(ofType('chat:done', started.messageId))
  expect(done.cancelled).toBe(true)
  expect(await chatRequests()[before]!.settled).not.toBe('completed')
  expect((await here.nextFrame(ofType('chat:done', started.messageId))).cancelled).toBe(true)
  const stored = await second.store.chats.listMessagesInChat(ada.id as never, started.chatId as never)
  expect(stored.some((message) => message.role === 'assistant')).toBe(true)
})

test('a sign-out on one instance closes the user\'s sockets and stops their answer on the other within a second', async () => {
  const [first, second] = instances as [Instance, Instance]
  await signUp(first.app, 'bob@example.com')
  const bob = await signIn(second.app, 'bob@example.com')
  const there = await socketOn(second, bob.token)
  const before = chatRequests().length
  there.send({ type: 'chat:send', model: MODEL, content: 'a long story please' })
  const started = await there.nextFrame(ofType('chat:started'))
  await there.nextFrame(ofType('chat:delta', started.messageId))

  expect(await statusOf(first.app, 'POST', '/api/v1/auths/signout', bearer(bob.token))).toBe(200)
  const closed = await Promise.race([there.closed, Bun.sleep(WITHIN_A_SECOND_MS).then(() => null)])
  expect(closed?.code).toBe(4401)
  const outcome = await Promise.race([chatRequests()[before]!.settled, Bun.sleep(WITHIN_A_SECOND_MS).then(() => 'running')])
  expect(outcome).not.toBe('running')
  expect(outcome).not.toBe('completed')
})

test.each([
  ['sign-out everywhere', (victim: { id: string; token: string }) => ['POST', '/api/v1/auths/signout/all', victim.token, undefined] as const],
  ['made pending by an admin', (victim: { id: string; token: string }) => ['POST', `/api/v1/users/${victim.id}/update`, adminToken, { role: 'pending' }] as const],
  ['deleted by an admin', (victim: { id: string; token: string }) => ['DELETE', `/api/v1/users/${victim.id}`, adminToken, undefined] as const],
])('%s on one instance closes the user\'s socket on the other within a second', async (name, revocation) => {
  const [first, second] = instances as [Instance, Instance]
  const victim = await signUp(first.app, `victim-${name.replaceAll(' ', '-')}@example.com`)
  const there = await socketOn(second, victim.token)
  const [method, path, token, body] = revocation(victim)
  expect(await statusOf(first.app, method, path, bearer(token), body)).toBe(200)
  const closed = await Promise.race([there.closed, Bun.sleep(WITHIN_A_SECOND_MS).then(() => null)])
  expect(closed?.code).toBe(4401)
})

test('Redis holds nothing readable after the traffic, and its channels name no user', async () => {
  const dump = await redis.dump()
  for (const marker of ['PLAINTEXT-QUESTION', 'ada@example.com', 'bob@example.com']) expect(dump.includes(Buffer.from(marker))).toBe(false)
  const channels = await redis.cli('PUBSUB', 'CHANNELS', '*')
  expect(channels.split('\n').sort()).toEqual(['enclave-test:cluster:access', 'enclave-test:cluster:cancel', 'enclave-test:cluster:frames', 'enclave-test:cluster:writes'])
})

test('a new name set on one instance is what the other serves next, not its cached copy', async () => {
  const [first, second] = instances as [Instance, Instance]
  const cy = await signUp(first.app, 'cy@example.com')
  const nameOn = async (instance: Instance) => {
    const res = await instance.app.handle(new Request('http://localhost/api/v1/auths/', { headers: bearer(cy.token) }))
    return ((await res.json()) as { name: string }).name
  }
  expect(await nameOn(second)).toBe('Ada')
  const update = await first.app.handle(new Request('http://localhost/api/v1/auths/update/profile', { method: 'POST', headers: { ...bearer(cy.token), 'content-type': 'application/json' }, body: JSON.stringify({ name: 'Cy Renamed', profile_image_url: '' }) }))
  expect(update.status).toBe(200)
  let seen = ''
  for (let attempt = 0; attempt < 100 && seen !== 'Cy Renamed'; attempt++) {
    seen = await nameOn(second)
    if (seen !== 'Cy Renamed') await Bun.sleep(10)
  }
  expect(seen).toBe('Cy Renamed')
})

test('20 concurrent sign-ins over two instances share one per-address limit: exactly 5 get through to the password check', async () => {
  const env = { SIGNIN_RATE_LIMIT_PER_IP: '5/3m', REDIS_KEY_PREFIX: 'enclave-limits' }
  const pair = [await startInstance(env), await startInstance(env)]
  const attempt = (i: number) => pair[i % 2]!.app.handle(new Request('http://localhost/api/v1/auths/signin', {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email: 'nobody@example.com', password: 'wrong password 123' }),
  }))
  const statuses = (await Promise.all(Array.from({ length: 20 }, (_, i) => attempt(i)))).map((res) => res.status)
  expect(statuses.filter((status) => status === 400)).toHaveLength(5)
  expect(statuses.filter((status) => status === 429)).toHaveLength(15)
  expect(await redis.cli('--scan', '--pattern', 'enclave-limits:*')).not.toContain('nobody')
})

test('20 concurrent first sign-ups over two instances on one database make exactly one admin', async () => {
  const fresh = mkdtempSync(join(tmpdir(), 'enclave-cluster-first-'))
  try {
    const env = { REDIS_KEY_PREFIX: 'enclave-first', ENABLE_SIGNUP: 'true' }
    const pair = [await startInstance(env, fresh), await startInstance(env, fresh)]
    const signUpOn = (i: number) => pair[i % 2]!.app.handle(new Request('http://localhost/api/v1/auths/signup', {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: `User ${i}`, email: `first${i}@example.com`, password: 'correct horse battery' }),
    }))
    const answers = await Promise.all(Array.from({ length: 20 }, (_, i) => signUpOn(i)))
    const roles = await Promise.all(answers.map(async (res) => ((await res.json()) as { role?: string }).role))
    expect(answers.every((res) => res.status === 200)).toBe(true)
    expect(roles.filter((role) => role === 'admin')).toHaveLength(1)
  } finally {
    for (const instance of instances.splice(-2)) {
      await instance.app.stop(true)
      instance.cluster.close()
      instance.store.close()
    }
    rmSync(fresh, { recursive: true, force: true })
  }
})

test('an answer running on one instance counts against the per-user cap on the other', async () => {
  const env = { CHAT_MAX_CONCURRENT_ANSWERS: '1', REDIS_KEY_PREFIX: 'enclave-cap' }
  const [first, second] = [await startInstance(env), await startInstance(env)]
  for (let attempt = 0; attempt < 200; attempt++) {
    if ((await redis.cli('PUBSUB', 'NUMSUB', 'enclave-cap:cluster:frames')).endsWith('\n2')) break
    await Bun.sleep(10)
  }
  await signUp(first.app, 'dee@example.com')
  const dee = await signIn(first.app, 'dee@example.com')
  const here = await socketOn(first, dee.token)
  const there = await socketOn(second, dee.token)
  here.send({ type: 'chat:send', model: MODEL, content: 'a long story please' })
  const started = await there.nextFrame(ofType('chat:started'))
  await there.nextFrame(ofType('chat:delta', started.messageId))
  there.send({ type: 'chat:send', model: MODEL, content: 'and another at once' })
  expect((await there.nextFrame(ofType('error'))).code).toBe('too_many_answers')
  there.send({ type: 'chat:cancel', messageId: started.messageId })
  await there.nextFrame(ofType('chat:done', started.messageId))
  there.send({ type: 'chat:send', model: MODEL, content: 'now one more' })
  const next = await there.nextFrame(ofType('chat:started'))
  there.send({ type: 'chat:cancel', messageId: next.messageId })
  await there.nextFrame(ofType('chat:done', next.messageId))
})

test('eight answers asked at the same moment over two instances: exactly the cap of two start (counted atomically in Redis)', async () => {
  const env = { CHAT_MAX_CONCURRENT_ANSWERS: '2', REDIS_KEY_PREFIX: 'enclave-cap-race' }
  const [first, second] = [await startInstance(env), await startInstance(env)]
  for (let attempt = 0; attempt < 200; attempt++) {
    if ((await redis.cli('PUBSUB', 'NUMSUB', 'enclave-cap-race:cluster:frames')).endsWith('\n2')) break
    await Bun.sleep(10)
  }
  await signUp(first.app, 'gus@example.com')
  const gus = await signIn(first.app, 'gus@example.com')
  const here = await socketOn(first, gus.token)
  const there = await socketOn(second, gus.token)
  for (let i = 0; i < 4; i++) {
    here.send({ type: 'chat:send', model: MODEL, content: `race here ${i}` })
    there.send({ type: 'chat:send', model: MODEL, content: `race there ${i}` })
  }
  const refusals = () => [...here.frames, ...there.frames].filter((frame) => frame.type === 'error' && frame.code === 'too_many_answers').length
  const startedIds = () => new Set([...here.frames, ...there.frames].filter((frame) => frame.type === 'chat:started').map((frame) => frame.messageId))
  for (let attempt = 0; attempt < 500 && refusals() + startedIds().size < 8; attempt++) await Bun.sleep(10)
  expect(startedIds().size).toBe(2)
  expect(refusals()).toBe(6)
  for (const messageId of startedIds()) {
    here.send({ type: 'chat:cancel', messageId })
    await here.nextFrame(ofType('chat:done', messageId), 5_000)
  }
})
