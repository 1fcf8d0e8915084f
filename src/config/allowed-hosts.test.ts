import { describe, expect, test } from 'bun:test'
import { ConfigError } from './config-error.ts'
import { hostList, hostPolicyFrom, isHostAllowed } from './allowed-hosts.ts'
import { loadConfig } from './load-config.ts'

describe('the default policy, from HOST and WEBUI_URL', () => {
  test.each<[string, string | null, string, boolean]>([
    ['127.0.0.1', null, '127.0.0.1:8080', true],
    ['127.0.0.1', null, 'localhost:3000', true],
    ['127.0.0.1', null, 'LOCALHOST', true],
    ['127.0.0.1', null, '[::1]:8080', true],
    ['127.0.0.1', null, 'localhost.:8080', true],
    ['127.0.0.1', null, 'evil.example', false],
    ['127.0.0.1', null, 'evil.example:8080', false],
    ['127.0.0.1', null, 'localhost.evil.example', false],
    ['127.0.0.1', null, '127.0.0.1.nip.io', false],
    ['127.0.0.1', null, '', false],
    ['127.0.0.1', null, 'a b', false],
    ['127.0.0.1', null, 'localhost:99999999', false],
    ['127.0.0.1', null, 'user@localhost', false],
    ['127.0.0.1', 'https://chat.example.com', 'chat.example.com', true],
    ['127.0.0.1', 'https://chat.example.com', 'chat.example.com:443', true],
    ['127.0.0.1', 'https://chat.example.com', 'www.chat.example.com', false],
    ['192.168.1.5', null, '192.168.1.5:8080', true],
    ['192.168.1.5', null, 'llm', false],
    ['::1', null, '[::1]:8080', true],
    ['0.0.0.0', null, 'anything.example', true],
    ['0.0.0.0', 'https://chat.example.com', 'chat.example.com', true],
    ['0.0.0.0', 'https://chat.example.com', '127.0.0.1:8080', true],
    ['0.0.0.0', 'https://chat.example.com', '192.168.1.5:8080', false],
    ['0.0.0.0', 'https://chat.example.com', '0.0.0.0:8080', false],
    ['::', null, 'anything.example', true],
  ])('HOST=%s WEBUI_URL=%s: Host %p allowed: %p', (host, publicUrl, header, allowed) => {
    expect(isHostAllowed(hostPolicyFrom(null, host, publicUrl), header)).toBe(allowed)
  })
})

describe('ALLOWED_HOSTS', () => {
  test.each<[string, string, boolean]>([
    ['llm,chat.example.com', 'llm:80', true],
    ['llm,chat.example.com', 'Chat.Example.com', true],
    ['llm', 'localhost', true],
    ['llm', 'evil.example', false],
    ['*.lan', 'ai.lan', true],
    ['*.lan', 'deep.ai.lan:8080', true],
    ['*.lan', 'lan', false],
    ['*.lan', 'evil.lan.example', false],
    ['*', 'evil.example', true],
    ['[fd00::5]', '[fd00::5]:8080', true],
    ['fd00::5', '[fd00::5]', true],
  ])('%s: Host %p allowed: %p', (listed, header, allowed) => {
    const parsed = hostList(listed)
    if (typeof parsed === 'object' && 'expected' in parsed) throw new Error(parsed.expected)
    expect(isHostAllowed(hostPolicyFrom(parsed, '0.0.0.0', null), header)).toBe(allowed)
  })

  test.each([['*,llm'], ['http://llm'], ['llm:8080'], ['llm/x'], [' , '], ['a b'], ['*.']])('%p refuses the start, naming the variable', (value) => {
    let error: unknown
    try {
      loadConfig({ env: { ALLOWED_HOSTS: value }, cwd: process.cwd() })
    } catch (caught) {
      error = caught
    }
    expect(error).toBeInstanceOf(ConfigError)
    expect((error as ConfigError).problems.map((problem) => problem.variable)).toEqual(['ALLOWED_HOSTS'])
  })

  test('WEBUI_URL\'s host is allowed beside the list', () => {
    const config = loadConfig({ env: { ALLOWED_HOSTS: 'llm', WEBUI_URL: 'https://chat.example.com' }, cwd: process.cwd() })
    expect(isHostAllowed(config.allowedHosts, 'chat.example.com')).toBe(true)
    expect(isHostAllowed(config.allowedHosts, 'llm')).toBe(true)
    expect(isHostAllowed(config.allowedHosts, 'other.example.com')).toBe(false)
  })
})
