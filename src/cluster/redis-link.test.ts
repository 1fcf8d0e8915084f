import { afterAll, beforeAll, expect, test } from 'bun:test'
import { createLogger } from '../log/logger.ts'
import { startTestRedis, type TestRedis } from '../../test/helpers/redis-server.ts'
import { createRedisLink, describeRedisUrl, RedisUnavailableError } from './redis-link.ts'

let redis: TestRedis
beforeAll(async () => {
  redis = await startTestRedis()
})
afterAll(async () => {
  await redis.stop()
})

async function until(predicate: () => boolean, what: string) {
  for (let attempt = 0; attempt < 500; attempt++) {
    if (predicate()) return
    await Bun.sleep(10)
  }
  throw new Error(`timed out waiting for ${what}`)
}

test('Redis killed: one warning, commands refused at once; restarted: back, subscriptions again, one notice', async () => {
  const lines: string[] = []
  const link = createRedisLink({ url: redis.url, log: createLogger('INFO', (line) => void lines.push(line)), retryMs: 50 })
  await link.ready
  expect(link.state()).toBe('up')
  const heard: string[] = []
  await link.subscribe('t:chan', (message) => heard.push(message))

  await redis.kill()
  await until(() => link.state() === 'down', 'the loss')
  await expect(link.send('PING', [])).rejects.toBeInstanceOf(RedisUnavailableError)
  expect(await link.isAnswering()).toBe(false)
  await Bun.sleep(300) // several retries fail while it is down
  expect(lines.filter((line) => line.includes('unreachable'))).toHaveLength(1)

  await redis.restart()
  await until(() => link.state() === 'up', 'the recovery')
  expect(lines.filter((line) => line.includes('reachable again'))).toHaveLength(1)
  expect(await link.isAnswering()).toBe(true)
  await link.send('PUBLISH', ['t:chan', 'after'])
  await until(() => heard.includes('after'), 'a message after the restart')
  link.close()
})

test('Redis down at the start: the link says so and comes up when Redis does', async () => {
  const lines: string[] = []
  await redis.kill()
  const link = createRedisLink({ url: redis.url, log: createLogger('INFO', (line) => void lines.push(line)), retryMs: 50 })
  await link.ready
  expect(link.state()).toBe('down')
  await redis.restart()
  await until(() => link.state() === 'up', 'the first connection')
  link.close()
})

test.each([
  ['redis://:s3cret@cache.internal:6380/2', 'cache.internal:6380'],
  ['redis://user:s3cret@10.0.0.1:6379', '10.0.0.1:6379'],
  ['not a url', 'redis'],
])('a URL is named without its password: %s', (url, shown) => {
  expect(describeRedisUrl(url)).toBe(shown)
  expect(describeRedisUrl(url)).not.toContain('s3cret')
})

test('an unreachable Redis with a password in its URL is logged by host and port only', async () => {
  const lines: string[] = []
  const link = createRedisLink({ url: `redis://:S3CRET-redis-pw@127.0.0.1:${redis.port + 1}/0`, log: createLogger('INFO', (line) => void lines.push(line)), retryMs: 50 })
  await link.ready
  link.close()
  expect(lines.join('\n')).toContain(`Redis at 127.0.0.1:${redis.port + 1} is unreachable`)
  expect(lines.join('\n')).not.toContain('S3CRET')
})
