/**
 * The several-instances harness without the shared store: three compiled instances behind the
 * shipped nginx config (deploy/nginx-several-instances.conf) on one Redis, each on its own SQLite
 * copy of one seeded data directory (same accounts, same API key), sharing the master key and the
 * session secret through *_FILE secrets. It checks what does not need PostgreSQL: round robin with
 * no stickiness, the WebSocket upgrade through nginx, an answer seen live by tabs on every instance,
 * a killed instance's clients going on through nginx to the others, a Redis restart under load, and a
 * Redis dump holding none of what was said. several-instances.test.ts runs the same on PostgreSQL.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { startFakeOllama, type FakeOllama } from '../fakes/ollama.ts'
import { bearer } from '../helpers/accounts.ts'
import { makeClusterSecrets, seedSqliteDataDir, startCluster, type ClusterSecrets, type TestCluster } from '../helpers/cluster.ts'
import { FAKE_MODEL, postJson, signInRemote, signUpRemote } from '../helpers/remote-session.ts'
import { connect, ofType, type TestSocket } from '../helpers/ws.ts'

const MARKER = 'PLAINTEXT-MARKER-several-7c1e'

let fake: FakeOllama
let secrets: ClusterSecrets
let cluster: TestCluster
let apiKey = ''
const sockets: TestSocket[] = []

async function until(predicate: () => Promise<boolean> | boolean, what: string, attempts = 500) {
  for (let attempt = 0; attempt < attempts; attempt++) {
    if (await predicate()) return
    await Bun.sleep(20)
  }
  throw new Error(`timed out waiting for ${what}`)
}

async function socketThrough(url: string): Promise<TestSocket> {
  const socket = await connect(url, { protocols: ['enclave', apiKey] })
  sockets.push(socket)
  return socket
}

const auditLines = (dataDir: string) => readFileSync(join(dataDir, 'audit.log'), 'utf8').split('\n').filter(Boolean)

beforeAll(async () => {
  fake = await startFakeOllama({ behaviour: { chunkDelayMs: 10, chunkCount: 150 } })
  secrets = makeClusterSecrets()
  const env = { OLLAMA_BASE_URL: fake.url, ENABLE_API_KEYS: 'true', SIGNIN_RATE_LIMIT_PER_IP: '10/3m', CHAT_MAX_CONCURRENT_ANSWERS: '2' }
  const seed = await seedSqliteDataDir(secrets, env, async (url) => {
    const token = await signUpRemote(url, 'ada@example.com')
    const res = await postJson(url, '/api/v1/auths/api_key', { name: 'several' }, bearer(token))
    expect(res.status).toBe(200)
    apiKey = ((await res.json()) as { api_key: string }).api_key
  })
  cluster = await startCluster({ store: 'sqlite', instances: 3, env, secrets, seedDataDir: seed })
  // note: the subscriptions are made in the background; PUBSUB NUMSUB shows all three listening.
  await until(async () => (await cluster.redis.cli('PUBSUB', 'NUMSUB', 'enclave-cluster:cluster:frames')).endsWith('\n3'), 'three subscribers')
}, 120_000)

afterAll(async () => {
  for (const socket of sockets) socket.ws.close()
  await cluster?.stop()
  await fake?.stop()
}, 60_000)

test('the secrets are files only their owner reads, and the instances read them (no generated key in any DATA_DIR)', () => {
  for (const file of [secrets.masterKeyFile, secrets.sessionSecretFile]) expect(statSync(file).mode & 0o777).toBe(0o600)
  for (const instance of cluster.instances) {
    expect(instance.output()).not.toContain('.encryption_key')
    expect(() => statSync(join(instance.dataDir, '.webui_secret_key'))).toThrow()
  }
}, 60_000)

test('nginx spreads requests over every instance, with no stickiness', async () => {
  const before = cluster.instances.map((instance) => auditLines(instance.dataDir).length)
  for (let i = 0; i < 6; i++) await signInRemote(cluster.url, 'ada@example.com')
  const grown = cluster.instances.map((instance, i) => auditLines(instance.dataDir).length - before[i]!)
  expect(grown.every((lines) => lines > 0)).toBe(true)
}, 60_000)

test('the WebSocket upgrades through nginx; a tab on each instance sees an answer live, wherever it runs', async () => {
  const tabs = [await socketThrough(cluster.wsUrl), await socketThrough(cluster.wsUrl), await socketThrough(cluster.wsUrl)]
  tabs[0]!.send({ type: 'chat:send', model: FAKE_MODEL, content: `${MARKER} tell me a story` })
  const started = await tabs[0]!.nextFrame(ofType('chat:started'), 10_000)
  for (const tab of tabs) {
    expect((await tab.nextFrame(ofType('chat:delta', started.messageId), 10_000)).chatId).toBe(started.chatId)
    expect((await tab.nextFrame(ofType('chat:done', started.messageId), 20_000)).cancelled).toBe(false)
  }
}, 60_000)

test('the sign-in limit holds across instances: of 20 attempts from one address spread over three, exactly 10 reach the password check', async () => {
  // note: the instances trust X-Forwarded-For from 127.0.0.1 (as from nginx), so the attempts come from one documentation address.
  const from = { 'x-forwarded-for': '198.51.100.23' }
  const statuses = await Promise.all(Array.from({ length: 20 }, (_, i) =>
    postJson(cluster.instances[i % 3]!.url, '/api/v1/auths/signin', { email: 'ada@example.com', password: 'wrong password 123' }, from).then((res) => res.status)))
  expect(statuses.filter((status) => status === 400)).toHaveLength(10)
  expect(statuses.filter((status) => status === 429)).toHaveLength(10)
}, 60_000)

test('the per-user answer cap holds across instances: of six answers asked at once on three, exactly two start', async () => {
  const tabs = await Promise.all(cluster.instances.map((instance) => socketThrough(instance.url.replace('http', 'ws') + '/api/ws')))
  for (let i = 0; i < 6; i++) tabs[i % 3]!.send({ type: 'chat:send', model: FAKE_MODEL, content: `at once ${i}` })
  const all = () => tabs.flatMap((tab) => tab.frames)
  const refusals = () => all().filter((frame) => frame.type === 'error' && frame.code === 'too_many_answers').length
  const startedIds = () => new Set(all().filter((frame) => frame.type === 'chat:started').map((frame) => frame.messageId))
  await until(() => refusals() + startedIds().size >= 6, 'six verdicts')
  expect(startedIds().size).toBe(2)
  expect(refusals()).toBe(4)
  for (const messageId of startedIds()) {
    tabs[0]!.send({ type: 'chat:cancel', messageId })
    await tabs[0]!.nextFrame(ofType('chat:done', messageId), 10_000)
  }
}, 60_000)

test('kill -9 of an instance: its socket closes, the client reconnects through nginx to another and chats on', async () => {
  const tab = await socketThrough(cluster.instances[1]!.url.replace('http', 'ws') + '/api/ws')
  await cluster.killInstance(1)
  const closed = await tab.closed
  expect(closed.code).not.toBe(1000)
  for (let i = 0; i < 3; i++) {
    const again = await socketThrough(cluster.wsUrl)
    again.send({ type: 'chat:send', model: FAKE_MODEL, content: 'still there?' })
    const started = await again.nextFrame(ofType('chat:started'), 10_000)
    expect((await again.nextFrame(ofType('chat:done', started.messageId), 20_000)).cancelled).toBe(false)
  }
  for (let i = 0; i < 6; i++) expect((await fetch(`${cluster.url}/health`)).status).toBe(200)
  await cluster.restartInstance(1)
  await until(async () => (await fetch(`${cluster.instances[1]!.url}/health/ready`)).status === 200, 'the instance back')
}, 60_000)

test('Redis restarted under load: each instance answers /health/ready 503 meanwhile and serves on alone; after it, tabs on other instances see answers live again', async () => {
  await cluster.restartRedis(async () => {
    for (const instance of cluster.instances) {
      await until(async () => (await fetch(`${instance.url}/health/ready`)).status === 503, 'readiness lost')
      const ready = (await (await fetch(`${instance.url}/health/ready`)).json()) as { reason?: string }
      expect(ready.reason).toBe('redis_unavailable')
    }
    const alone = await socketThrough(cluster.wsUrl)
    alone.send({ type: 'chat:send', model: FAKE_MODEL, content: 'while Redis is down' })
    const started = await alone.nextFrame(ofType('chat:started'), 10_000)
    expect((await alone.nextFrame(ofType('chat:done', started.messageId), 20_000)).cancelled).toBe(false)
  })
  for (const instance of cluster.instances) await until(async () => (await fetch(`${instance.url}/health/ready`)).status === 200, 'readiness again')
  await until(async () => (await cluster.redis.cli('PUBSUB', 'NUMSUB', 'enclave-cluster:cluster:frames')).endsWith('\n3'), 'three subscribers again')
  const [here, there] = [await socketThrough(cluster.instances[0]!.url.replace('http', 'ws') + '/api/ws'), await socketThrough(cluster.instances[2]!.url.replace('http', 'ws') + '/api/ws')]
  here.send({ type: 'chat:send', model: FAKE_MODEL, content: `${MARKER} after the restart` })
  const started = await there.nextFrame(ofType('chat:started'), 10_000)
  expect((await there.nextFrame(ofType('chat:done', started.messageId), 20_000)).cancelled).toBe(false)
  for (const instance of cluster.instances) {
    expect(instance.output().match(/Redis at 127\.0\.0\.1:\d+ is unreachable/g)).toHaveLength(1)
    expect(instance.output()).toContain('is reachable again')
  }
}, 60_000)

test('a Redis SAVE dump after the traffic holds no plaintext marker, no email, no key', async () => {
  const dump = await cluster.redis.dump()
  for (const marker of [MARKER, 'ada@example.com', 'tell me a story', apiKey, readFileSync(secrets.sessionSecretFile, 'utf8').trim()]) {
    expect(dump.includes(Buffer.from(marker))).toBe(false)
  }
}, 60_000)
