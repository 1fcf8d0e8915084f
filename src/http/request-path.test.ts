import { expect, test } from 'bun:test'
import { requestPath } from './request-path.ts'

// note: Bun gives a bare path as the URL when the Host header can't be part of one.
const withUrl = (url: string) => ({ url }) as Request

test.each([
  ['http://localhost:8080/api/models', '/api/models'],
  ['http://localhost/api/models?x=/y', '/api/models'],
  ['http://ai/api/v1/chats/', '/api/v1/chats/'],
  ['https://example.com/api/models#/api/v1/users', '/api/models'],
  ['http://[::1]:8080/api/v1/auths/', '/api/v1/auths/'],
  ['http://a%2fb/api/v1/chats', '/api/v1/chats'],
  ['http://localhost', '/'],
  ['http://localhost?x=/api', '/'],
  ['/api/v1/chats', '/api/v1/chats'],
  ['/ollama/api/tags?x=1', '/ollama/api/tags'],
  ['/', '/'],
  ['', '/'],
  ['http://localhost/api/models%2F..%2Fv1', '/api/models%2F..%2Fv1'],
])('%s → %s', (url, path) => {
  expect(requestPath(withUrl(url))).toBe(path)
})
