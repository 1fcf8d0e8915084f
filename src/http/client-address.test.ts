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
