import { expect, test } from 'bun:test'
import fc from 'fast-check'
import { isCrossSiteRequest, isForwardedRequest, isLoopbackHostHeader } from './request-origin.ts'

test.each([
  ['localhost', true], ['LOCALHOST:8080', true], ['127.0.0.1', true], ['127.0.0.1:3000', true], ['127.1.2.3:80', true], ['[::1]', true], ['[::1]:8080', true],
  [null, false], ['', false], ['::1', false], ['0.0.0.0:8080', false], ['127.0.0.256', false], ['127.0.0.1.attacker.example', false],
  ['localhost.attacker.example', false], ['attacker.example', false], ['localhost:8080:9', false], ['localhost:123456', false],
  ['192.168.1.5', false], ['[::ffff:127.0.0.1]', false], ['localhost\n', true], ['local host', false], ['x'.repeat(10_000), false],
])('isLoopbackHostHeader(%p) is %p', (host, expected) => {
  expect(isLoopbackHostHeader(host)).toBe(expected)
})

test('no text with a non-loopback name is taken for loopback (fast-check)', () => {
  fc.assert(fc.property(fc.domain(), (name) => {
    fc.pre(name !== 'localhost')
    expect(isLoopbackHostHeader(name)).toBe(false)
    expect(isLoopbackHostHeader(`${name}:8080`)).toBe(false)
  }))
})

test.each<[Record<string, string>, boolean]>([
  [{ origin: 'http://localhost:8080' }, false],
  [{ origin: 'HTTP://LOCALHOST:8080' }, false],
  [{}, false],
  [{ 'sec-fetch-site': 'same-origin' }, false],
  [{ 'sec-fetch-site': 'none' }, false],
  [{ origin: 'http://localhost:3000' }, true],
  [{ origin: 'https://localhost:8080' }, true],
  [{ origin: 'null' }, true],
  [{ origin: 'http://localhost:8080.attacker.example' }, true],
  [{ 'sec-fetch-site': 'cross-site' }, true],
  [{ 'sec-fetch-site': 'same-site' }, true],
  // note: an Origin decides over Sec-Fetch-Site when both are present.
  [{ origin: 'http://localhost:8080', 'sec-fetch-site': 'same-origin' }, false],
])('isCrossSiteRequest(%p) is %p', (headers, expected) => {
  expect(isCrossSiteRequest(new Headers(headers), 'http://localhost:8080')).toBe(expected)
})

test('forwarding headers mark a proxied request', () => {
  expect(isForwardedRequest(new Headers())).toBe(false)
  for (const name of ['forwarded', 'x-forwarded-for', 'x-forwarded-host', 'x-real-ip']) expect(isForwardedRequest(new Headers({ [name]: '203.0.113.1' }))).toBe(true)
})
