/** The embedded UI's files are sent gzipped to browsers that take gzip, and plain to others. */
import { describe, expect, test } from 'bun:test'
import { gunzipSync } from 'node:zlib'
import { uiFiles } from '../../build/ui-assets.gen.ts'
import { acceptsGzip } from '../../src/http/assets.ts'
import { req, startTestApp } from '../helpers/test-app.ts'

const { app } = startTestApp()
const script = uiFiles.find((file) => file.urlPath.startsWith('/assets/') && file.urlPath.endsWith('.js'))!

describe('gzip for the embedded UI', () => {
  test.each([['/'], [script.urlPath], ['/c/any-chat']])('%s is gzipped for a browser that accepts it, and unzips to the file', async (path) => {
    const res = await app.handle(req('GET', path, undefined, { 'accept-encoding': 'gzip, deflate, br, zstd' }))
    expect(res.status).toBe(200)
    expect(res.headers.get('content-encoding')).toBe('gzip')
    expect(res.headers.get('vary')).toContain('accept-encoding')
    const plain = await app.handle(req('GET', path))
    expect(plain.headers.get('content-encoding')).toBeNull()
    const expected = Buffer.from(await plain.arrayBuffer())
    const zipped = Buffer.from(await res.arrayBuffer())
    expect(zipped.length).toBeLessThan(expected.length)
    expect(gunzipSync(zipped).equals(expected)).toBe(true)
  })

  test('the headers a plain answer has stay on the gzipped one', async () => {
    const res = await app.handle(req('GET', script.urlPath, undefined, { 'accept-encoding': 'gzip' }))
    expect(res.headers.get('cache-control')).toBe('public, max-age=31536000, immutable')
    expect(res.headers.get('content-type')).toContain('javascript')
    expect(res.headers.get('content-security-policy')).toContain("script-src 'self'")
  })

  test.each([
    ['gzip', true], ['deflate, gzip;q=0.5', true], ['*', true], ['GZIP', true],
    ['gzip;q=0', false], ['br', false], ['', false], ['identity', false], ['gzip;q=0.0', false], ['x-gzip-ish', false],
  ])('Accept-Encoding %p takes gzip: %p', (header, expected) => {
    expect(acceptsGzip(header)).toBe(expected)
  })

  test('no Accept-Encoding, no gzip', () => {
    expect(acceptsGzip(null)).toBe(false)
  })
})

describe('chunks loaded on demand', () => {
  // note: the math and diagram renderers, KaTeX's sheet and its fonts are files of their own, embedded like the rest.
  test.each([
    [/^\/assets\/math-render-[\w-]+\.js$/, 'javascript'],
    [/^\/assets\/mermaid-render-[\w-]+\.js$/, 'javascript'],
    [/^\/assets\/katex-\w+\.css$/, 'text/css'],
    [/^\/assets\/KaTeX_Main-Regular-\w+\.woff2$/, 'font/woff2'],
  ])('%s is served, cached for good', async (pattern, type) => {
    const file = uiFiles.find((entry) => pattern.test(entry.urlPath))
    expect(file).toBeDefined()
    const res = await app.handle(req('GET', file!.urlPath))
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toContain(type)
    expect(res.headers.get('cache-control')).toBe('public, max-age=31536000, immutable')
  })

  test('the KaTeX sheet links only fonts that are embedded', async () => {
    const sheet = uiFiles.find((entry) => /^\/assets\/katex-\w+\.css$/.test(entry.urlPath))!
    const text = await (await app.handle(req('GET', sheet.urlPath))).text()
    const fonts = [...text.matchAll(/url\(([^)]+)\)/g)].map((match) => `/assets/${match[1]}`)
    expect(fonts.length).toBeGreaterThan(10)
    for (const font of fonts) expect(uiFiles.some((entry) => entry.urlPath === font)).toBe(true)
    expect(text).not.toContain('data:')
  })
})

describe('the default profile picture', () => {
  const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]

  // Open WebUI's page and Conduit (account_settings_page.dart) load `profile_image_url: "/user.png"` as an image
  test.each([['/user.png'], ['/user.png?v=2']])('%s is a PNG, to anyone, never the page', async (path) => {
    const res = await app.handle(req('GET', path))
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toBe('image/png')
    expect([...new Uint8Array(await res.arrayBuffer()).subarray(0, 8)]).toEqual(PNG_SIGNATURE)
  })

  test('only that path is the picture; a POST to it is not answered with it', async () => {
    expect((await app.handle(req('GET', '/user.pngx'))).headers.get('content-type')).toContain('text/html')
    expect((await app.handle(req('GET', '/users/user.png'))).headers.get('content-type')).toContain('text/html')
    expect((await app.handle(req('POST', '/user.png', {}))).headers.get('content-type')).not.toBe('image/png')
  })
})
