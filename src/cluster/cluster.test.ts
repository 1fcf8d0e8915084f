import { afterAll, beforeAll, expect, test } from 'bun:test'
import { deriveClusterKeys } from '../crypto/cluster-seal.ts'
import { createLogger } from '../log/logger.ts'
import { startTestRedis, type TestRedis } from '../../test/helpers/redis-server.ts'
import { openCluster } from './cluster.ts'

const keys = deriveClusterKeys(crypto.getRandomValues(new Uint8Array(32)))
let main: TestRedis
let sockets: TestRedis

beforeAll(async () => {
  ;[main, sockets] = await Promise.all([startTestRedis(), startTestRedis()])
})
afterAll(async () => {
  await Promise.all([main.stop(), sockets.stop()])
})

test('WEBSOCKET_REDIS_URL carries the socket frames; REDIS_URL the account changes', async () => {
  const config = { redisUrl: main.url, keyPrefix: 'split', socketRedisUrl: sockets.url }
  const [a, b] = [openCluster({ config, keys, log: createLogger('CRITICAL') }), openCluster({ config, keys, log: createLogger('CRITICAL') })]
  try {
    await Promise.all([a.bus.link.ready, a.socketBus!.link.ready, b.bus.link.ready, b.socketBus!.link.ready])
    expect(a.states()).toEqual({ redis: 'up', websocketRedis: 'up' })
    expect(await a.isAnswering()).toBe(true)
    const heard: unknown[] = []
    await b.socketBus!.subscribe('frames', (body) => heard.push(body))
    await b.bus.subscribe('access', (body) => heard.push(body))
    expect(await main.cli('PUBSUB', 'CHANNELS', '*')).toBe('split:cluster:access')
    expect(await sockets.cli('PUBSUB', 'CHANNELS', '*')).toBe('split:cluster:frames')
    await a.socketBus!.publish('frames', 'f')
    await a.bus.publish('access', 'a')
    for (let attempt = 0; attempt < 200 && heard.length < 2; attempt++) await Bun.sleep(10)
    expect(heard.sort()).toEqual(['a', 'f'])

    await sockets.kill()
    for (let attempt = 0; attempt < 200 && a.states().websocketRedis !== 'down'; attempt++) await Bun.sleep(10)
    expect(a.states()).toEqual({ redis: 'up', websocketRedis: 'down' })
    expect(await a.isAnswering()).toBe(false)
  } finally {
    a.close()
    b.close()
  }
})

test('without WEBSOCKET_MANAGER=redis there is no socket bus', () => {
  const cluster = openCluster({ config: { redisUrl: main.url, keyPrefix: 'p', socketRedisUrl: null }, keys, log: createLogger('CRITICAL') })
  expect(cluster.socketBus).toBeNull()
  expect(cluster.states().websocketRedis).toBeNull()
  cluster.close()
})
