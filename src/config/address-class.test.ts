import { expect, test } from 'bun:test'
import { classifyAddress, refusedOllamaHost } from './address-class.ts'
import { ConfigError } from './config-error.ts'
import { loadConfig } from './load-config.ts'

test.each([
  ['127.0.0.1', 'internal'], ['10.0.0.1', 'internal'], ['172.20.0.1', 'internal'], ['192.168.0.1', 'internal'], ['100.64.1.1', 'internal'],
  ['::1', 'internal'], ['fd00::1', 'internal'], ['169.254.0.1', 'link_local'], ['fe80::1', 'link_local'], ['169.254.169.254', 'metadata'],
  ['::ffff:169.254.169.254', 'metadata'], ['::ffff:a9fe:a9fe', 'metadata'], ['0.0.0.0', 'unspecified'], ['::', 'unspecified'], ['224.0.0.251', 'multicast'],
  ['8.8.8.8', 'public'], ['2606:4700::1111', 'public'], ['not-an-address', null],
])('%s is %s', (address, kind) => {
  expect(classifyAddress(address)).toBe(kind as never)
})

test('Ollama may be on loopback or a private network, never on link-local or metadata addresses', () => {
  for (const url of ['http://127.0.0.1:11434', 'http://10.0.0.5:11434', 'http://ollama:11434', 'http://[::1]:11434', 'https://ollama.example.com']) expect(refusedOllamaHost(url)).toBeNull()
  for (const url of ['http://169.254.169.254', 'http://2852039166', 'http://[fe80::1]:11434', 'http://[::ffff:169.254.0.9]', 'http://metadata.google.internal', 'http://168.63.129.16']) expect(refusedOllamaHost(url)).not.toBeNull()
})

test('a refused Ollama URL stops the start with a message naming the variable and why', () => {
  for (const env of [{ OLLAMA_BASE_URL: 'http://169.254.169.254' }, { OLLAMA_BASE_URLS: 'http://127.0.0.1:11434;http://[fe80::1]:11434' }]) {
    let error: unknown = null
    try {
      loadConfig({ env, cwd: '/nonexistent' })
    } catch (caught) {
      error = caught
    }
    expect(error).toBeInstanceOf(ConfigError)
    expect(String((error as Error).message)).toMatch(/OLLAMA_BASE_URLS?=.*(link-local|metadata)/)
  }
})
