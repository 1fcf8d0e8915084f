import { readFileSync } from 'node:fs'
import { describe, expect, test } from 'bun:test'
import { Elysia, t } from 'elysia'
import { uiFiles } from '../../build/ui-assets.gen.ts'
import { FieldOpenError } from '../../src/db/field-open-error.ts'
import { httpErrors } from '../../src/http/http-error.ts'
import { bodyLimit } from '../../src/http/plugins/body-limit.ts'
import { securityHeaders } from '../../src/http/plugins/security-headers.ts'
import { silentLogger, createLogger } from '../../src/log/logger.ts'
import { VERSION } from '../../src/version.ts'
import { req, startTestApp } from '../helpers/test-app.ts'

const { app } = startTestApp()
// note: the page's entry script, as index.html links it (the other scripts are chunks it imports).
const indexHtml = readFileSync(uiFiles.find((file) => file.urlPath === '/index.html')!.filePath, 'utf8')
const hashedAsset = /src="(\/assets\/[^"]+\.js)"/.exec(indexHtml)![1]!

describe('health and version', () => {
  test('GET /health answers {"status":true}', async () => {
    const res = await app.handle(req('GET', '/health'))
    expect(res.status).toBe(200)
    expect(await res.json()).toEqual({ status: true })
    expect(res.headers.get('content-type')).toBe('application/json;charset=utf-8')
  })

  test('HEAD /health answers like GET, without a body; a header a plugin set for the request is kept', async () => {
    const head = await app.handle(req('HEAD', '/health'))
    expect([head.status, await head.text()]).toEqual([200, ''])
    const withCors = startTestApp({ CORS_ALLOW_ORIGIN: 'https://app.example' }).app
    const res = await withCors.handle(req('GET', '/health', undefined, { origin: 'https://app.example' }))
    expect(res.headers.get('access-control-allow-origin')).toBe('https://app.example')
    expect(res.headers.get('vary')).toBe('Origin')
    expect(res.headers.get('x-content-type-options')).toBe('nosniff')
  })

  test('GET /api/version answers the package version, not cached', async () => {
    const res = await app.handle(req('GET', '/api/version'))
    expect(await res.json()).toEqual({ version: VERSION })
    expect(res.headers.get('cache-control')).toBe('no-store')
  })
})

describe('embedded UI', () => {
  test.each([['/'], ['/index.html'], ['/c/some-chat-id'], ['/settings/']])('%s serves index.html, revalidated on every load', async (path) => {
    const res = await app.handle(req('GET', path))
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toContain('text/html')
    expect(res.headers.get('cache-control')).toBe('no-cache')
    const html = await res.text()
    expect(html).toContain(hashedAsset)
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/) // no inline script: the CSP forbids it
  })

  test('hashed assets are cacheable for a year', async () => {
    const res = await app.handle(req('GET', hashedAsset))
    expect(res.status).toBe(200)
    expect(res.headers.get('cache-control')).toBe('public, max-age=31536000, immutable')
    expect(res.headers.get('content-type')).toContain('javascript')
  })

  test.each([['/assets/missing-0000.js'], ['/api/nothing-here'], ['/api/v1/'], ['/health/extra'], ['/oauth/x/unknown']])(
    '%s is a JSON 404, never the page', async (path) => {
      const res = await app.handle(req('GET', path))
      expect(res.status).toBe(404)
      expect(await res.json()).toMatchObject({ detail: 'Not found.' })
    })

  test('path traversal does not reach files outside the bundle', async () => {
    for (const path of ['/assets/../../package.json', '/%2e%2e/%2e%2e/package.json', '/assets/..%2f..%2fpackage.json']) {
      const res = await app.handle(req('GET', path))
      expect(await res.text()).not.toContain('"devDependencies"')
    }
  })
})

describe('security headers', () => {
  test.each([['/health'], ['/'], ['/api/missing'], [hashedAsset]])('%s carries the baseline headers', async (path) => {
    const res = await app.handle(req('GET', path))
    expect(res.headers.get('x-content-type-options')).toBe('nosniff')
    expect(res.headers.get('x-frame-options')).toBe('DENY')
    expect(res.headers.get('referrer-policy')).toBe('strict-origin-when-cross-origin')
    expect(res.headers.get('content-security-policy')).toContain("script-src 'self'")
    expect(res.headers.get('content-security-policy')).not.toContain('unsafe-inline')
  })
})

describe('bad input never becomes a 500', () => {
  // A probe app with one JSON route, wired with the same plugins as the server.
  const probe = new Elysia()
    .use(httpErrors(silentLogger))
    .use(securityHeaders())
    .use(bodyLimit(1024, () => true))
    .post('/echo', ({ body }) => body, { body: t.Object({ text: t.String({ maxLength: 100 }) }) })

  test.each([
    ['malformed JSON', '{"text": ', { 'content-type': 'application/json' }, 400],
    ['JSON of the wrong shape', '{"text": 5}', { 'content-type': 'application/json' }, 422],
    ['empty JSON body', '', { 'content-type': 'application/json' }, 400],
    ['oversized declared body', 'x'.repeat(2048), { 'content-type': 'application/json', 'content-length': '2048' }, 413],
    ['non-numeric content-length', '{}', { 'content-type': 'application/json', 'content-length': 'abc' }, 400],
    ['unicode and control characters', JSON.stringify({ text: '\u0000\u202e🙂' }), { 'content-type': 'application/json' }, 200],
  ])('%s', async (_, body, headers, status) => {
    const res = await probe.handle(req('POST', '/echo', body, headers as Record<string, string>))
    expect(res.status).toBe(status)
    if (status !== 200) expect(typeof ((await res.json()) as { detail: unknown }).detail).toBe('string')
  })

  test('validation errors name the field but never echo the value', async () => {
    const secret = 'SECRET-VALUE-'.repeat(10)
    const res = await probe.handle(req('POST', '/echo', { text: secret }))
    expect(res.status).toBe(422)
    expect(await res.text()).not.toContain('SECRET-VALUE')
  })

  test('a field that fails to decrypt is a generic 500; the log names the place, the client sees nothing', async () => {
    const lines: string[] = []
    const broken = new Elysia().use(httpErrors(createLogger('DEBUG', (line) => void lines.push(line))))
      .get('/broken', () => { throw new FieldOpenError('message', 'content', '42') })
    const res = await broken.handle(req('GET', '/broken'))
    expect(res.status).toBe(500)
    const body = await res.text()
    expect(body).not.toContain('message.content')
    expect(body).toContain('stored_data_unreadable')
    expect(lines.join('')).toContain('"table":"message","column":"content","row":"42"')
  })

  test('an unexpected error is a 500 with a fixed sentence, its details only in the log', async () => {
    const lines: string[] = []
    const broken = new Elysia().use(httpErrors(createLogger('DEBUG', (line) => void lines.push(line))))
      .get('/boom', () => { throw new Error('internal detail /srv/secret/path') })
    const res = await broken.handle(req('GET', '/boom'))
    expect(res.status).toBe(500)
    expect(await res.text()).not.toContain('/srv/secret/path')
    expect(lines.join('')).toContain('/srv/secret/path')
  })
})
