import { expect, test } from 'bun:test'
import { addressList, type AddressList } from '../config/network.ts'
import { arrivedOverHttps, resolveClientAddress } from './client-address.ts'

/** A server whose peer is `address`, counting how often it is asked. */
function peer(address: string) {
  const server = { asked: 0, requestIP: () => ((server.asked += 1), { address }) }
  return server
}

const proxies = addressList('10.0.0.1') as AddressList

test('arrivedOverHttps answers as resolveClientAddress does, for every peer, scheme and X-Forwarded-Proto', () => {
  for (const address of ['10.0.0.1', '203.0.113.9']) {
    for (const url of ['http://example.com/health', 'https://example.com/health']) {
      for (const proto of [null, 'https', 'http', 'HTTPS, http', '']) {
        const request = () => new Request(url, { headers: proto === null ? {} : { 'x-forwarded-proto': proto } })
        expect(arrivedOverHttps(request(), peer(address), proxies)).toBe(resolveClientAddress(request(), peer(address), proxies).isHttps)
      }
    }
  }
})

test('without X-Forwarded-Proto the peer is not looked up', () => {
  const server = peer('10.0.0.1')
  expect(arrivedOverHttps(new Request('http://example.com/health'), server, proxies)).toBe(false)
  expect(arrivedOverHttps(new Request('https://example.com/health'), server, proxies)).toBe(true)
  expect(server.asked).toBe(0)
  expect(arrivedOverHttps(new Request('http://example.com/', { headers: { 'x-forwarded-proto': 'https' } }), server, proxies)).toBe(true)
  expect(server.asked).toBe(1)
})

test('a server that says it listens on HTTP or HTTPS gets the answer its requests\' own scheme gives', () => {
  for (const protocol of ['http', 'https'] as const) {
    for (const proto of [null, 'https', 'http']) {
      const request = () => new Request(`${protocol}://example.com/health`, { headers: proto === null ? {} : { 'x-forwarded-proto': proto } })
      for (const address of ['10.0.0.1', '203.0.113.9']) {
        expect(arrivedOverHttps(request(), { ...peer(address), protocol }, proxies)).toBe(resolveClientAddress(request(), peer(address), proxies).isHttps)
      }
    }
  }
})

test('Bun.serve on plain HTTP: its protocol is http and its requests\' URLs start with http:', async () => {
  const seen: [string, string | null, boolean][] = []
  const server = Bun.serve({
    hostname: '127.0.0.1', port: 0,
    fetch(request, self) {
      seen.push([request.url.slice(0, 5), self.protocol, arrivedOverHttps(request, self, addressList('127.0.0.1') as AddressList)])
      return new Response('ok')
    },
  })
  try {
    await fetch(server.url)
    await fetch(server.url, { headers: { 'x-forwarded-proto': 'https' } })
  } finally {
    await server.stop(true)
  }
  expect(seen).toEqual([['http:', 'http', false], ['http:', 'http', true]])
})
