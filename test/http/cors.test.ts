import { afterAll, describe, expect, test } from 'bun:test'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { serve } from '../../src/cli/serve.ts'
import { ConfigError } from '../../src/config/config-error.ts'
import { loadConfig } from '../../src/config/load-config.ts'
import { createLogger } from '../../src/log/logger.ts'
import { req, startTestApp } from '../helpers/test-app.ts'

const allowed = 'https://chat.example.com'
const other = 'https://evil.example.net'

function corsHeaders(res: Response): Record<string, string> {
  return Object.fromEntries([...res.headers].filter(([name]) => name.startsWith('access-control-')))
}

function preflight(origin: string, requestHeaders = 'content-type'): Request {
  return req('OPTIONS', '/api/version', undefined, {
    origin, 'access-control-request-method': 'POST', 'access-control-request-headers': requestHeaders,
  })
}

function configErrorFrom(env: Record<string, string>): ConfigError {
  try {
    loadConfig({ env, cwd: process.cwd() })
  } catch (error) {
    if (error instanceof ConfigError) return error
    throw error
  }
  throw new Error('expected loadConfig to throw a ConfigError')
}

describe('by default: same origin only, no CORS headers at all', () => {
  const { app, deps } = startTestApp()

  test('the config says so', () => {
    expect(deps.config.cors).toEqual({ allowsAnyOrigin: false, allowedOrigins: [] })
  })

  test.each<[string, () => Request]>([
    ['GET with an Origin', () => req('GET', '/api/version', undefined, { origin: allowed })],
    ['GET without an Origin', () => req('GET', '/api/version')],
    ['a 404 with an Origin', () => req('GET', '/api/missing', undefined, { origin: allowed })],
    ['a preflight', () => preflight(allowed)],
    ['a preflight from localhost', () => preflight('http://localhost:5173')],
  ])('%s', async (_, request) => {
    const res = await app.handle(request())
    expect(corsHeaders(res)).toEqual({})
    expect(res.status).not.toBe(204)
  })
})

describe('CORS_ALLOW_ORIGIN with a list', () => {
  const { app } = startTestApp({ CORS_ALLOW_ORIGIN: `${allowed};http://localhost:5173`, MAX_REQUEST_BODY_SIZE: '1kb' })

  test.each([[allowed], ['http://localhost:5173']])('an allowed origin (%s) gets itself back, with credentials', async (origin) => {
    const res = await app.handle(req('GET', '/api/version', undefined, { origin }))
    expect(res.status).toBe(200)
    expect(corsHeaders(res)).toEqual({ 'access-control-allow-origin': origin, 'access-control-allow-credentials': 'true' })
    expect(res.headers.get('vary')).toBe('Origin')
  })

  test.each<[string, () => Request, number]>([
    ['a 404', () => req('GET', '/api/missing', undefined, { origin: allowed }), 404],
    ['a 413', () => req('POST', '/api/version', 'x'.repeat(2048), { origin: allowed, 'content-type': 'text/plain', 'content-length': '2048' }), 413],
  ])('errors for an allowed origin carry the CORS headers too, so it can read them: %s', async (_, request, status) => {
    const res = await app.handle(request())
    expect(res.status).toBe(status)
    expect(res.headers.get('access-control-allow-origin')).toBe(allowed)
  })

  test.each([
    [other],
    ['https://chat.example.com.evil.example.net'],
    ['https://chat.example.com:8443'],
    ['http://chat.example.com'],
    ['null'],
    ['HTTPS://CHAT.EXAMPLE.COM'],
  ])('another origin (%s) gets no CORS headers', async (origin) => {
    const res = await app.handle(req('GET', '/api/version', undefined, { origin }))
    expect(res.status).toBe(200)
    expect(corsHeaders(res)).toEqual({})
    expect(res.headers.get('vary')).toBe('Origin') // a cache must not hand this answer to an allowed origin
  })

  test('a preflight from an allowed origin is a 204 naming methods, allowed request headers and max age', async () => {
    const res = await app.handle(preflight(allowed, 'Authorization, Content-Type, X-API-Key, X-Evil, Cookie'))
    expect(res.status).toBe(204)
    expect(await res.text()).toBe('')
    expect(corsHeaders(res)).toEqual({
      'access-control-allow-origin': allowed,
      'access-control-allow-credentials': 'true',
      'access-control-allow-methods': 'GET, POST, PUT, PATCH, DELETE',
      'access-control-allow-headers': 'authorization, content-type, x-api-key',
      'access-control-max-age': '600',
    })
    expect(res.headers.get('x-frame-options')).toBe('DENY') // security headers on the preflight too
  })

  test('a preflight asking only for headers off the allow-list gets no Allow-Headers', async () => {
    const res = await app.handle(preflight(allowed, 'x-evil'))
    expect(res.status).toBe(204)
    expect(res.headers.has('access-control-allow-headers')).toBe(false)
  })

  test('a preflight from another origin is a 403 with {detail, code} and no CORS headers', async () => {
    const res = await app.handle(preflight(other))
    expect(res.status).toBe(403)
    expect(corsHeaders(res)).toEqual({})
    expect(await res.json()).toEqual({ detail: expect.any(String), code: 'origin_not_allowed' })
    expect(res.headers.get('x-content-type-options')).toBe('nosniff')
  })

  test('an OPTIONS request that is not a preflight is not answered as one', async () => {
    const res = await app.handle(req('OPTIONS', '/api/version', undefined, { origin: allowed }))
    expect(res.status).not.toBe(204)
    expect(res.headers.has('access-control-allow-methods')).toBe(false)
  })
})

describe('CORS_ALLOW_ORIGIN=*', () => {
  const { app, deps } = startTestApp({ CORS_ALLOW_ORIGIN: '*' })

  test('the config marks it, so the server warns at start', () => {
    expect(deps.config.cors.allowsAnyOrigin).toBe(true)
  })

  test('any origin gets *, never credentials', async () => {
    const res = await app.handle(req('GET', '/api/version', undefined, { origin: other }))
    expect(corsHeaders(res)).toEqual({ 'access-control-allow-origin': '*' })
  })

  test('a preflight from any origin is a 204 without credentials', async () => {
    const res = await app.handle(preflight(other, 'authorization'))
    expect(res.status).toBe(204)
    expect(res.headers.get('access-control-allow-origin')).toBe('*')
    expect(res.headers.get('access-control-allow-headers')).toBe('authorization')
    expect(res.headers.has('access-control-allow-credentials')).toBe(false)
  })
})

describe('the start-up warning for *', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'enclave-cors-'))
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }))

  test.each<[string, Record<string, string>, boolean]>([
    ['* warns', { CORS_ALLOW_ORIGIN: '*' }, true],
    ['a list does not', { CORS_ALLOW_ORIGIN: allowed }, false],
    ['unset does not', {}, false],
  ])('%s', async (_, env, warns) => {
    const lines: string[] = []
    const config = loadConfig({ env: { DATA_DIR: dataDir, PORT: '0', SHUTDOWN_TIMEOUT_SECONDS: '1', ...env }, cwd: process.cwd() })
    const umask = process.umask() // note: serve() tightens the umask; other test files share this process.
    try {
      const running = await serve(config, createLogger('DEBUG', (line) => void lines.push(line)))
      await running.stop('test')
    } finally {
      process.umask(umask)
    }
    expect(lines.some((line) => line.includes('CORS_ALLOW_ORIGIN=*'))).toBe(warns)
  })
})

describe('CORS_ALLOW_CUSTOM_SCHEME', () => {
  test('lets an app:// origin be listed and reflected', async () => {
    const { app } = startTestApp({ CORS_ALLOW_ORIGIN: `app://localhost;${allowed}`, CORS_ALLOW_CUSTOM_SCHEME: 'app;tauri' })
    const res = await app.handle(req('GET', '/api/version', undefined, { origin: 'app://localhost' }))
    expect(res.headers.get('access-control-allow-origin')).toBe('app://localhost')
    expect((await app.handle(req('GET', '/api/version', undefined, { origin: 'tauri://localhost' }))).headers.has('access-control-allow-origin')).toBe(false)
  })

  test('without it, an app:// origin refuses the start, naming the variable and the entry', () => {
    const error = configErrorFrom({ CORS_ALLOW_ORIGIN: `${allowed};app://localhost` })
    expect(error.message).toStartWith('CORS_ALLOW_ORIGIN=')
    expect(error.message).toContain('"app://localhost"')
  })

  test.each(['app://', 'file', 'my app'])('a bad scheme %p refuses the start, naming the variable', (value) => {
    expect(configErrorFrom({ CORS_ALLOW_CUSTOM_SCHEME: value }).problems.map((problem) => problem.variable)).toEqual(['CORS_ALLOW_CUSTOM_SCHEME'])
  })
})

describe('malformed origins refuse the start, naming the variable and the bad entry', () => {
  test.each<[string, string]>([
    [`${allowed};null`, 'null'],
    [`${allowed};chat.example.org`, 'chat.example.org'],
    ['https://chat.example.com/app', 'https://chat.example.com/app'],
    ['https://chat.example.com?x=1', 'https://chat.example.com?x=1'],
    ['https://admin@chat.example.com', 'https://admin@chat.example.com'],
    ['https://*.example.com', 'https://*.example.com'],
    ['https://chat.example.com:99999', 'https://chat.example.com:99999'],
    [`*;${allowed}`, '*'],
    ['ftp://files.example.com', 'ftp://files.example.com'],
  ])('%p', (value, entry) => {
    const error = configErrorFrom({ CORS_ALLOW_ORIGIN: value })
    expect(error.problems.map((problem) => problem.variable)).toEqual(['CORS_ALLOW_ORIGIN'])
    expect(error.message).toStartWith('CORS_ALLOW_ORIGIN=')
    expect(error.problems[0]!.expected).toContain(entry)
  })
})
