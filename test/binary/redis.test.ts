/**
 * The compiled binary with REDIS_URL and WEBSOCKET_MANAGER=redis: it says what it shares (host and
 * port, no password), serves a chat end to end, publishes the answer's frames sealed for the other
 * instances (a second instance is played here by a bus under the same master key), reports Redis in
 * /health and /health/ready, and carries on alone while Redis is down, with one warning, until it
 * is back.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { createClusterBus } from '../../src/cluster/cluster-bus.ts'
import { createRedisLink, type RedisLink } from '../../src/cluster/redis-link.ts'
import { deriveClusterKeys } from '../../src/crypto/cluster-seal.ts'
import { createLogger } from '../../src/log/logger.ts'
import { startFakeOllama, type FakeOllama } from '../fakes/ollama.ts'
import { startBinary, tempDirsRemovedAfterAll, type RunningBinary } from '../helpers/binary.ts'
import { startTestRedis, type TestRedis } from '../helpers/redis-server.ts'
import { connect, ofType } from '../helpers/ws.ts'

const tempDir = tempDirsRemovedAfterAll()
const PASSWORD = 'binary redis password 7a2f'
const MASTER_KEY = Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString('hex')

let redis: TestRedis
let fake: FakeOllama
let server: RunningBinary
let observer: RedisLink

beforeAll(async () => {
  redis = await startTestRedis()
  fake = await startFakeOllama()
  server = await startBinary({
    cwd: tempDir(),
    env: { OLLAMA_BASE_URL: fake.url, ENABLE_TITLE_GENERATION: 'false', ENCRYPTION_KEY: MASTER_KEY, REDIS_URL: redis.url, WEBSOCKET_MANAGER: 'redis', REDIS_KEY_PREFIX: 'bin' },
  })
  observer = createRedisLink({ url: redis.url, log: createLogger('CRITICAL'), retryMs: 50 })
  await observer.ready
})

afterAll(async () => {
  observer?.close()
  await server?.stop()
  await fake?.stop()
  await redis?.stop()
})

const getJson = async (path: string) => {
  const res = await fetch(`${server.url}${path}`)
  return { status: res.status, body: (await res.json()) as Record<string, unknown> }
}

async function until(predicate: () => Promise<boolean> | boolean, what: string) {
  for (let attempt = 0; attempt < 500; attempt++) {
    if (await predicate()) return
    await Bun.sleep(20)
  }
  throw new Error(`timed out waiting for ${what}`)
}

test('the start-up log names Redis by host and port only', async () => {
  const output = await server.outputWith('Several instances through Redis')
  expect(output).toContain(`Several instances through Redis at 127.0.0.1:${redis.port} (up), keys under bin`)
  expect(output).not.toContain('redis://')
})

test('a chat end to end, its frames published sealed for the other instances', async () => {
  const heard: { userId: string; text: string }[] = []
  const bus = createClusterBus({ link: observer, keys: deriveClusterKeys(Buffer.from(MASTER_KEY, 'hex')), keyPrefix: 'bin', log: createLogger('CRITICAL') })
  await bus.subscribe('frames', (body) => void heard.push(body as { userId: string; text: string }))
  const monitor = await redis.monitor()

  const signup = await fetch(`${server.url}/api/v1/auths/signup`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'Ada', email: 'ada@example.com', password: PASSWORD }) })
  expect(signup.status).toBe(200)
  const { token, id } = (await signup.json()) as { token: string; id: string }
  const socket = await connect(`${server.url.replace('http', 'ws')}/api/ws`, { token })
  socket.send({ type: 'chat:send', model: 'qwen2.5:0.5b', content: 'PLAINTEXT-ASK say hello' })
  const turn = await socket.nextFrame(ofType('chat:started'), 5_000)
  const done = await socket.nextFrame(ofType('chat:done', turn.messageId), 5_000)
  expect(done.cancelled).toBe(false)
  await until(() => heard.some((frame) => frame.text.includes('"chat:done"')), 'the done frame through Redis')
  await monitor.until('"PUBLISH" "bin:cluster:frames"')
  monitor.stop()
  const wire = monitor.text()
  socket.ws.close()

  expect(heard.every((frame) => frame.userId === id)).toBe(true)
  expect(heard.some((frame) => frame.text.includes('"chat:delta"'))).toBe(true)
  expect(wire).toContain('"PUBLISH" "bin:cluster:frames"')
  for (const marker of ['PLAINTEXT-ASK', 'ada@example.com', id, 'chat:delta']) expect(wire).not.toContain(marker)
})

test('/health reports Redis; /health/ready answers 503 while it is down, the server still serves, and all is back after', async () => {
  expect(await getJson('/health')).toEqual({ status: 200, body: { status: true, redis: 'up', websocketRedis: 'up' } })
  expect(await getJson('/health/ready')).toEqual({ status: 200, body: { status: true } })

  await redis.kill()
  await until(async () => (await getJson('/health')).body.redis === 'down', 'the loss')
  expect(await getJson('/health/ready')).toEqual({ status: 503, body: { status: false, reason: 'redis_unavailable' } })
  const signin = await fetch(`${server.url}/api/v1/auths/signin`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email: 'ada@example.com', password: PASSWORD }) })
  expect(signin.status).toBe(200)
  const { token } = (await signin.json()) as { token: string }
  const socket = await connect(`${server.url.replace('http', 'ws')}/api/ws`, { token })
  socket.send({ type: 'chat:send', model: 'qwen2.5:0.5b', content: 'still here?' })
  const turn = await socket.nextFrame(ofType('chat:started'), 5_000)
  expect((await socket.nextFrame(ofType('chat:done', turn.messageId), 5_000)).cancelled).toBe(false)
  socket.ws.close()

  await redis.restart()
  await until(async () => (await getJson('/health/ready')).status === 200, 'readiness again')
  await server.outputWith('reachable again')
  expect(server.output().match(/Redis at 127\.0\.0\.1:\d+ is unreachable/g)).toHaveLength(1)
})
