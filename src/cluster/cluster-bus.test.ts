import { afterAll, beforeAll, expect, test } from 'bun:test'
import { deriveClusterKeys } from '../crypto/cluster-seal.ts'
import { createLogger, type Logger } from '../log/logger.ts'
import { startTestRedis, type TestRedis } from '../../test/helpers/redis-server.ts'
import { createClusterBus, type ClusterBus } from './cluster-bus.ts'
import { createRedisLink, type RedisLink } from './redis-link.ts'

const MARKER = 'PLAINTEXT-MARKER-ada@example.com-Q7'
// note: long enough that random base64 on the wire never spells it by chance ('u1' did, one run in twenty).
const USER_ID = 'user-4f2a9c71e8b3'
const masterKey = crypto.getRandomValues(new Uint8Array(32))
let redis: TestRedis
const links: RedisLink[] = []

beforeAll(async () => {
  redis = await startTestRedis()
})
afterAll(async () => {
  for (const link of links) link.close()
  await redis.stop()
})

function quietLog(): { log: Logger; lines: string[] } {
  const lines: string[] = []
  return { log: createLogger('INFO', (line) => void lines.push(line)), lines }
}

async function newBus(key = masterKey, prefix = 'test'): Promise<ClusterBus> {
  const link = createRedisLink({ url: redis.url, log: quietLog().log, retryMs: 50 })
  links.push(link)
  await link.ready
  return createClusterBus({ link, keys: deriveClusterKeys(key), keyPrefix: prefix, log: quietLog().log })
}

/** Waits until `predicate` holds, polling; bounded. */
async function until(predicate: () => boolean, what: string) {
  for (let attempt = 0; attempt < 200; attempt++) {
    if (predicate()) return
    await Bun.sleep(10)
  }
  throw new Error(`timed out waiting for ${what}`)
}

test('a message reaches both other instances, sealed on the wire, and not its sender', async () => {
  const [sender, first, second] = [await newBus(), await newBus(), await newBus()]
  const heard: Record<string, unknown[]> = { sender: [], first: [], second: [] }
  await sender.subscribe('frames', (body) => heard.sender!.push(body))
  await first.subscribe('frames', (body) => heard.first!.push(body))
  await second.subscribe('frames', (body) => heard.second!.push(body))

  const monitor = await redis.monitor()
  expect(await sender.publish('frames', { userId: USER_ID, text: MARKER })).toBe(true)
  await until(() => heard.first!.length === 1 && heard.second!.length === 1, 'both subscribers')
  await monitor.until('"PUBLISH"')
  monitor.stop()
  const wire = monitor.text()

  expect(heard.first).toEqual([{ userId: USER_ID, text: MARKER }])
  expect(heard.second).toEqual([{ userId: USER_ID, text: MARKER }])
  expect(heard.sender).toEqual([])
  expect(wire).toContain('"PUBLISH" "test:cluster:frames"')
  expect(wire).not.toContain(MARKER)
  expect(wire).not.toContain(USER_ID)
})

test('an instance under another master key, or another channel, opens nothing', async () => {
  const { log, lines } = quietLog()
  const link = createRedisLink({ url: redis.url, log, retryMs: 50 })
  links.push(link)
  await link.ready
  const stranger = createClusterBus({ link, keys: deriveClusterKeys(crypto.getRandomValues(new Uint8Array(32))), keyPrefix: 'test', log })
  const sender = await newBus()
  const heard: unknown[] = []
  await stranger.subscribe('access', (body) => heard.push(body))
  await sender.publish('access', { kind: 'access', userId: MARKER })
  await until(() => lines.some((line) => line.includes('did not open')), 'the refusal')
  expect(heard).toEqual([])
  expect(lines.join('\n')).not.toContain(MARKER)
})

test('a SAVE dump after traffic holds no plaintext marker', async () => {
  const sender = await newBus()
  await sender.publish('frames', { userId: MARKER, text: MARKER })
  const dump = await redis.dump()
  expect(dump.includes(Buffer.from(MARKER))).toBe(false)
})
