import { expect, test } from 'bun:test'
import { tmpdir } from 'node:os'
import { ConfigError } from './config-error.ts'
import { loadConfig } from './load-config.ts'

const cwd = tmpdir()
const clusterOf = (env: Record<string, string>) => loadConfig({ env, cwd }).cluster

test.each([
  ['nothing set: one instance, as before', {}, null],
  ['REDIS_URL: revocations and limits shared, sockets local', { REDIS_URL: 'redis://127.0.0.1:6379/0' }, { redisUrl: 'redis://127.0.0.1:6379/0', keyPrefix: 'open-webui', socketRedisUrl: null }],
  ['WEBSOCKET_MANAGER=redis uses REDIS_URL for sockets', { REDIS_URL: 'redis://r:6379', WEBSOCKET_MANAGER: 'redis' }, { redisUrl: 'redis://r:6379', keyPrefix: 'open-webui', socketRedisUrl: 'redis://r:6379' }],
  ['WEBSOCKET_REDIS_URL takes the socket traffic', { REDIS_URL: 'redis://r:6379', WEBSOCKET_MANAGER: 'redis', WEBSOCKET_REDIS_URL: 'rediss://ws:6380' }, { redisUrl: 'redis://r:6379', keyPrefix: 'open-webui', socketRedisUrl: 'rediss://ws:6380' }],
  ['WEBSOCKET_REDIS_URL alone serves both', { WEBSOCKET_MANAGER: 'REDIS', WEBSOCKET_REDIS_URL: 'redis://ws:6379' }, { redisUrl: 'redis://ws:6379', keyPrefix: 'open-webui', socketRedisUrl: 'redis://ws:6379' }],
  ['WEBSOCKET_REDIS_URL without WEBSOCKET_MANAGER is not used for sockets', { WEBSOCKET_REDIS_URL: 'redis://ws:6379' }, null],
  ['a key prefix of its own', { REDIS_URL: 'redis+unix:///run/redis.sock', REDIS_KEY_PREFIX: 'team-a' }, { redisUrl: 'redis+unix:///run/redis.sock', keyPrefix: 'team-a', socketRedisUrl: null }],
])('%s', (_, env, expected) => {
  expect(clusterOf(env)).toEqual(expected)
})

test.each([
  ['an http URL', { REDIS_URL: 'http://127.0.0.1:6379' }, 'REDIS_URL'],
  ['not a URL', { REDIS_URL: 'localhost:6379' }, 'REDIS_URL'],
  ['an unknown manager', { WEBSOCKET_MANAGER: 'kafka' }, 'WEBSOCKET_MANAGER'],
  ['sockets through Redis without one', { WEBSOCKET_MANAGER: 'redis' }, 'WEBSOCKET_MANAGER'],
])('refused: %s', (_, env, variable) => {
  expect(() => clusterOf(env)).toThrow(ConfigError)
  try {
    clusterOf(env)
  } catch (error) {
    expect(String((error as Error).message)).toContain(variable)
  }
})

test('a refused Redis URL does not show its password', () => {
  try {
    clusterOf({ REDIS_URL: 'http://:S3CR3T-pass@cache:6379' })
    throw new Error('accepted')
  } catch (error) {
    expect((error as Error).message).not.toContain('S3CR3T')
  }
})
