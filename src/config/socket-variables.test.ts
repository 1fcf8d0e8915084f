import { describe, expect, test } from 'bun:test'
import { ConfigError } from './config-error.ts'
import { loadConfig } from './load-config.ts'

const cwd = '/srv/enclave'

describe('the chat socket settings', () => {
  test('defaults: ping every 25 s, 20 s to answer, 64 KiB frames, 20 frames a second, 50 sockets a user', () => {
    expect(loadConfig({ env: {}, cwd }).socket).toEqual({
      pingIntervalMs: 25_000, pingTimeoutMs: 20_000, maxFrameBytes: 64 * 1024, frameRate: { limit: 20, windowMs: 1_000 }, maxSocketsPerUser: 50,
    })
  })

  test('set values arrive typed, with units in the field names', () => {
    const env = { WEBSOCKET_SERVER_PING_INTERVAL: '10', WEBSOCKET_SERVER_PING_TIMEOUT: '5', WEBSOCKET_MAX_FRAME_SIZE: '1mb', WEBSOCKET_RATE_LIMIT: '50/10s', WEBSOCKET_MAX_SOCKETS_PER_USER: '3' }
    expect(loadConfig({ env, cwd }).socket).toEqual({
      pingIntervalMs: 10_000, pingTimeoutMs: 5_000, maxFrameBytes: 1024 ** 2, frameRate: { limit: 50, windowMs: 10_000 }, maxSocketsPerUser: 3,
    })
  })

  test.each([
    ['WEBSOCKET_SERVER_PING_INTERVAL', '0', 'an integer from 1 to 3600'],
    ['WEBSOCKET_SERVER_PING_INTERVAL', '2.5', 'an integer from 1 to 3600'],
    ['WEBSOCKET_SERVER_PING_TIMEOUT', 'soon', 'an integer from 1 to 3600'],
    ['WEBSOCKET_MAX_FRAME_SIZE', '100', 'a size from 1kb to 1gb'],
    ['WEBSOCKET_MAX_FRAME_SIZE', '64kib', 'a size from 1kb to 1gb'],
    ['WEBSOCKET_RATE_LIMIT', '20', 'a rate such as 15/3m'],
    ['WEBSOCKET_RATE_LIMIT', '0/1s', 'a rate such as 15/3m'],
    ['WEBSOCKET_MAX_SOCKETS_PER_USER', '0', 'an integer from 1 to 100000'],
    ['WEBSOCKET_MAX_SOCKETS_PER_USER', '-5', 'an integer from 1 to 100000'],
    ['WEBSOCKET_MAX_SOCKETS_PER_USER', '100001', 'an integer from 1 to 100000'],
    ['WEBSOCKET_MAX_SOCKETS_PER_USER', '9'.repeat(400), 'an integer from 1 to 100000'],
    ['WEBSOCKET_MAX_SOCKETS_PER_USER', '1e3', 'an integer from 1 to 100000'],
    ['WEBSOCKET_MAX_SOCKETS_PER_USER', 'unlimited', 'an integer from 1 to 100000'],
    ['WEBSOCKET_MAX_SOCKETS_PER_USER', '2.5', 'an integer from 1 to 100000'],
  ])('%s=%p is refused', (name, raw, expected) => {
    let error: unknown = null
    try {
      loadConfig({ env: { [name]: raw }, cwd })
    } catch (thrown) {
      error = thrown
    }
    expect(error).toBeInstanceOf(ConfigError)
    expect((error as ConfigError).problems).toEqual([{ variable: name, value: raw, expected: expect.stringContaining(expected) }])
  })
})
