import { describe, expect, test } from 'bun:test'
import { uiFiles } from '../../build/ui-assets.gen.ts'
import { ConfigError } from '../../src/config/config-error.ts'
import { DEFAULT_CONTENT_SECURITY_POLICY } from '../../src/config/header-values.ts'
import { loadConfig } from '../../src/config/load-config.ts'
import { req, startTestApp } from '../helpers/test-app.ts'

const hashedAsset = uiFiles.find((file) => file.urlPath.startsWith('/assets/') && file.urlPath.endsWith('.js'))!.urlPath

const defaults: Record<string, string> = {
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'strict-origin-when-cross-origin',
  'content-security-policy': DEFAULT_CONTENT_SECURITY_POLICY,
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
}
const offByDefault = ['permissions-policy', 'x-download-options', 'x-permitted-cross-domain-policies', 'content-security-policy-report-only']

/** Starts the real app with one route that throws, to see the headers on a 500. */
/**
 * Sends one GET that a trusted proxy (loopback, the default) marks as HTTPS, over a real socket,
 * and returns the response headers. Enclave serves plain HTTP; HTTPS always arrives through a proxy.
 */
async function headersOverHttps(env: Record<string, string>, path: string): Promise<Headers> {
  const { app } = startTestApp(env)
  app.listen({ hostname: '127.0.0.1', port: 0 })
  try {
    const res = await fetch(`http://127.0.0.1:${app.server!.port}${path}`, { headers: { 'x-forwarded-proto': 'https' } })
    await res.arrayBuffer()
    return res.headers
  } finally {
    await app.stop()
  }
}

function appWithBrokenRoute(env: Record<string, string> = {}) {
  const { app } = startTestApp({ MAX_REQUEST_BODY_SIZE: '1kb', ...env })
  return app.get('/api/boom', () => { throw new Error('boom') })
}

const responses: [string, () => Request, number][] = [
  ['health', () => req('GET', '/health'), 200],
  ['API answer', () => req('GET', '/api/version'), 200],
  ['UI page', () => req('GET', '/'), 200],
  ['UI route', () => req('GET', '/c/some-chat'), 200],
  ['hashed asset', () => req('GET', hashedAsset), 200],
  ['API 404', () => req('GET', '/api/missing'), 404],
  ['asset 404', () => req('GET', '/assets/missing-0000.js'), 404],
  ['413', () => req('POST', '/api/version', 'x'.repeat(2048), { 'content-type': 'text/plain', 'content-length': '2048' }), 413],
  ['500 from a handler', () => req('GET', '/api/boom'), 500],
]

describe('defaults: safe headers on every response', () => {
  const app = appWithBrokenRoute()

  test.each(responses)('%s', async (_, request, status) => {
    const res = await app.handle(request())
    expect(res.status).toBe(status)
    for (const [name, value] of Object.entries(defaults)) expect(res.headers.get(name)).toBe(value)
    for (const name of offByDefault) expect(res.headers.has(name)).toBe(false)
    expect(res.headers.has('strict-transport-security')).toBe(false) // plain HTTP
  })

  test('the default CSP allows no inline or eval\'d script', () => {
    expect(DEFAULT_CONTENT_SECURITY_POLICY).toContain("script-src 'self'")
    expect(DEFAULT_CONTENT_SECURITY_POLICY).not.toContain('unsafe-inline')
    expect(DEFAULT_CONTENT_SECURITY_POLICY).not.toContain('unsafe-eval')
  })

  test.each([['/api/version'], ['/api/missing'], ['/api/boom']])('%s is not cached (no-store)', async (path) => {
    expect((await app.handle(req('GET', path))).headers.get('cache-control')).toBe('no-store')
  })

  test('UI files keep their own caching', async () => {
    expect((await app.handle(req('GET', '/'))).headers.get('cache-control')).toBe('no-cache')
    expect((await app.handle(req('GET', hashedAsset))).headers.get('cache-control')).toBe('public, max-age=31536000, immutable')
    expect((await app.handle(req('GET', '/health'))).headers.has('cache-control')).toBe(false)
  })

  test('HSTS goes on a request that arrived over HTTPS', async () => {
    const headers = await headersOverHttps({}, '/health')
    expect(headers.get('strict-transport-security')).toBe('max-age=31536000; includeSubDomains')
  })

  test('X-Forwarded-Proto without a socket (no trusted peer) gives no HSTS', async () => {
    const res = await app.handle(req('GET', '/health', undefined, { 'x-forwarded-proto': 'https' }))
    expect(res.headers.has('strict-transport-security')).toBe(false)
  })
})

describe('each variable: a good value sets its header, an empty one removes it', () => {
  test.each<[string, string, string, string]>([
    ['XFRAME_OPTIONS', 'sameorigin', 'x-frame-options', 'SAMEORIGIN'],
    ['REFERRER_POLICY', 'no-referrer', 'referrer-policy', 'no-referrer'],
    ['XCONTENT_TYPE', 'nosniff', 'x-content-type-options', 'nosniff'],
    ['PERMISSIONS_POLICY', 'camera=(),microphone=(self)', 'permissions-policy', 'camera=(), microphone=(self)'],
    ['XDOWNLOAD_OPTIONS', 'noopen', 'x-download-options', 'noopen'],
    ['XPERMITTED_CROSS_DOMAIN_POLICIES', 'none', 'x-permitted-cross-domain-policies', 'none'],
    ['CONTENT_SECURITY_POLICY', "default-src 'self'; img-src *", 'content-security-policy', "default-src 'self'; img-src *"],
    ['CONTENT_SECURITY_POLICY_REPORT_ONLY', "default-src 'none'; report-uri /csp", 'content-security-policy-report-only', "default-src 'none'; report-uri /csp"],
    ['CROSS_ORIGIN_OPENER_POLICY', 'same-origin-allow-popups', 'cross-origin-opener-policy', 'same-origin-allow-popups'],
    ['CROSS_ORIGIN_RESOURCE_POLICY', 'same-site', 'cross-origin-resource-policy', 'same-site'],
  ])('%s=%p', async (variable, value, header, expected) => {
    const set = appWithBrokenRoute({ [variable]: value })
    for (const request of [req('GET', '/'), req('GET', '/api/missing'), req('GET', '/api/boom')]) {
      expect((await set.handle(request)).headers.get(header)).toBe(expected)
    }
    const off = appWithBrokenRoute({ [variable]: '' })
    for (const request of [req('GET', '/'), req('GET', '/api/missing'), req('GET', '/api/boom')]) {
      expect((await off.handle(request)).headers.has(header)).toBe(false)
    }
  })

  test('CACHE_CONTROL applies to API responses only', async () => {
    const app = appWithBrokenRoute({ CACHE_CONTROL: 'private, max-age=60' })
    expect((await app.handle(req('GET', '/api/version'))).headers.get('cache-control')).toBe('private, max-age=60')
    expect((await app.handle(req('GET', '/api/boom'))).headers.get('cache-control')).toBe('private, max-age=60')
    expect((await app.handle(req('GET', '/'))).headers.get('cache-control')).toBe('no-cache')
    expect((await app.handle(req('GET', hashedAsset))).headers.get('cache-control')).toBe('public, max-age=31536000, immutable')
  })

  test('CACHE_CONTROL empty sends none on API responses', async () => {
    const app = appWithBrokenRoute({ CACHE_CONTROL: '' })
    expect((await app.handle(req('GET', '/api/version'))).headers.has('cache-control')).toBe(false)
  })

  test('HSTS takes the configured value over HTTPS, and empty sends none even over HTTPS', async () => {
    const custom = { HSTS: 'max-age=63072000;includeSubDomains;preload' }
    expect((await headersOverHttps(custom, '/api/version')).get('strict-transport-security')).toBe('max-age=63072000; includeSubDomains; preload')
    expect((await appWithBrokenRoute(custom).handle(req('GET', '/api/version'))).headers.has('strict-transport-security')).toBe(false)
    expect((await headersOverHttps({ HSTS: '' }, '/api/version')).has('strict-transport-security')).toBe(false)
  })

  test('turning every header off leaves none of them', async () => {
    const names = ['HSTS', 'XFRAME_OPTIONS', 'REFERRER_POLICY', 'CACHE_CONTROL', 'XCONTENT_TYPE', 'CONTENT_SECURITY_POLICY', 'CROSS_ORIGIN_OPENER_POLICY', 'CROSS_ORIGIN_RESOURCE_POLICY']
    const headers = await headersOverHttps(Object.fromEntries(names.map((name) => [name, ''])), '/api/version')
    expect(headers.get('content-type')).toContain('application/json')
    for (const name of [...Object.keys(defaults), ...offByDefault, 'strict-transport-security', 'cache-control']) expect(headers.has(name)).toBe(false)
  })
})

describe('a bad value refuses the start, naming the variable', () => {
  test.each<[string, string]>([
    ['HSTS', 'max-age=forever'],
    ['HSTS', 'includeSubDomains'],
    ['XFRAME_OPTIONS', 'ALLOW-FROM https://evil.example'],
    ['PERMISSIONS_POLICY', 'camera'],
    ['REFERRER_POLICY', 'always'],
    ['CACHE_CONTROL', 'forever'],
    ['XCONTENT_TYPE', 'sniff'],
    ['XDOWNLOAD_OPTIONS', 'open'],
    ['XPERMITTED_CROSS_DOMAIN_POLICIES', 'some'],
    ['CONTENT_SECURITY_POLICY', "'self'"],
    ['CONTENT_SECURITY_POLICY', "default-src 'self'\r\nSet-Cookie: session=stolen"],
    ['CONTENT_SECURITY_POLICY_REPORT_ONLY', "default-src 'self'\nX-Injected: 1"],
    ['XFRAME_OPTIONS', 'DENY\r\nX-Injected: 1'],
    ['CROSS_ORIGIN_OPENER_POLICY', 'cross-origin'],
    ['CROSS_ORIGIN_RESOURCE_POLICY', 'unsafe-none'],
  ])('%s=%p', (variable, value) => {
    let error: unknown
    try {
      loadConfig({ env: { [variable]: value }, cwd: process.cwd() })
    } catch (thrown) {
      error = thrown
    }
    expect(error).toBeInstanceOf(ConfigError)
    expect((error as ConfigError).problems.map((problem) => problem.variable)).toEqual([variable])
    expect((error as ConfigError).message).toStartWith(`${variable}=`)
  })
})

describe('HSTS through a real socket and X-Forwarded-Proto', () => {
  /** Listens on loopback, sends one request claiming HTTPS via X-Forwarded-Proto, and stops. */
  async function hstsVia(env: Record<string, string>, forwardedProto: string | null): Promise<string | null> {
    const { app } = startTestApp(env)
    app.listen({ hostname: '127.0.0.1', port: 0 })
    try {
      const headers: Record<string, string> = forwardedProto === null ? {} : { 'x-forwarded-proto': forwardedProto }
      const res = await fetch(`http://127.0.0.1:${app.server!.port}/api/version`, { headers })
      await res.arrayBuffer()
      expect(res.headers.get('x-frame-options')).toBe('DENY')
      return res.headers.get('strict-transport-security')
    } finally {
      await app.stop()
    }
  }

  test('from a trusted proxy (loopback, the default), X-Forwarded-Proto: https turns HSTS on', async () => {
    expect(await hstsVia({}, 'https')).toBe('max-age=31536000; includeSubDomains')
  })

  test('from a trusted proxy, plain HTTP gets no HSTS', async () => {
    expect(await hstsVia({}, 'http')).toBeNull()
    expect(await hstsVia({}, null)).toBeNull()
  })

  test('when loopback is not a trusted proxy, a forged X-Forwarded-Proto gives no HSTS', async () => {
    expect(await hstsVia({ FORWARDED_ALLOW_IPS: '10.9.9.9' }, 'https')).toBeNull()
  })
})
