import { describe, expect, test } from 'bun:test'
import fc from 'fast-check'
import { ConfigError } from './config-error.ts'
import { corsOriginList, corsPolicyFrom, urlSchemeList } from './cors-origins.ts'
import { isParseFailure } from './parsers.ts'

describe('corsOriginList', () => {
  test.each<[string, unknown]>([
    ['*', '*'],
    [' * ', '*'],
    ['https://chat.example.com', ['https://chat.example.com']],
    ['https://chat.example.com;http://localhost:5173', ['https://chat.example.com', 'http://localhost:5173']],
    [' https://a.example.com ; ; http://b.example.com;', ['https://a.example.com', 'http://b.example.com']],
    ['HTTPS://Chat.Example.COM', ['https://chat.example.com']],
    ['https://chat.example.com/', ['https://chat.example.com']],
    ['https://chat.example.com:443', ['https://chat.example.com']],
    ['http://chat.example.com:80', ['http://chat.example.com']],
    ['https://chat.example.com:8443', ['https://chat.example.com:8443']],
    ['http://127.0.0.1:3000', ['http://127.0.0.1:3000']],
    ['http://[::1]:3000', ['http://[::1]:3000']],
    ['http://[0:0:0:0:0:0:0:1]', ['http://[::1]']],
    ['https://bücher.example', ['https://xn--bcher-kva.example']],
    ['app://localhost', ['app://localhost']],
    ['tauri://localhost:80', ['tauri://localhost:80']],
    ['https://a.example.com;https://A.example.com', ['https://a.example.com']],
  ])('%p -> %p', (raw, expected) => {
    expect(corsOriginList(raw)).toEqual(expected as never)
  })

  test.each<[string, string]>([
    [';', 'origins separated by ;'],
    ['*;https://chat.example.com', '* cannot be combined'],
    ['null', '"null" is never allowed'],
    ['https://ok.example.com;NULL', '"null" is never allowed'],
    ['chat.example.com', '"chat.example.com" is not one'],
    ['https://chat.example.com/app', '"https://chat.example.com/app" is not one'],
    ['https://chat.example.com//', '"https://chat.example.com//" is not one'],
    ['https://chat.example.com?x=1', 'is not one'],
    ['https://chat.example.com#top', 'is not one'],
    ['https://user@chat.example.com', 'is not one'],
    ['https://user:pw@chat.example.com', 'is not one'],
    ['https://*.example.com', 'is not one'],
    ['https://chat.example.com:0', 'is not one'],
    ['https://chat.example.com:65536', 'is not one'],
    ['https://chat.example.com:abc', 'is not one'],
    ['https://', 'is not one'],
    ['https://chat example.com', 'is not one'],
    ['https://chat.example.com.', 'is not one'],
    ['http://[::1', 'is not one'],
    ['http://[not-ipv6]', 'is not one'],
    ['//chat.example.com', 'is not one'],
    ['https://ok.example.com;ftp//bad', '"ftp//bad" is not one'],
  ])('refuses %p', (raw, expected) => {
    const result = corsOriginList(raw)
    expect(isParseFailure(result)).toBe(true)
    expect((result as { expected: string }).expected).toContain(expected)
  })
})

describe('corsOriginList normalises once and for all', () => {
  test('any host and port parses to one origin that parses back to itself (fast-check)', () => {
    fc.assert(fc.property(fc.constantFrom('http', 'https', 'app'),
      fc.domain().filter((domain) => !/(^|\.)xn--/.test(domain)), // note: an xn-- label must be valid punycode
      fc.option(fc.integer({ min: 1, max: 65535 })),
      (scheme, host, port) => {
        const parsed = corsOriginList(`${scheme}://${host.toUpperCase()}${port === null ? '' : `:${port}`}/`)
        expect(Array.isArray(parsed)).toBe(true)
        const [origin] = parsed as string[]
        expect(origin).toBe(origin!.toLowerCase())
        expect(corsOriginList(origin!)).toEqual([origin!])
      }))
  })
})

describe('urlSchemeList', () => {
  test.each<[string, string[]]>([
    ['app', ['app']],
    ['app;tauri', ['app', 'tauri']],
    [' App ; capacitor ;', ['app', 'capacitor']],
    ['chrome-extension;moz-extension', ['chrome-extension', 'moz-extension']],
    ['app;app', ['app']],
  ])('%p -> %p', (raw, expected) => {
    expect(urlSchemeList(raw)).toEqual(expected)
  })

  test.each([';', 'app://', 'app:', '1app', 'my app', 'file', 'javascript', 'data', 'app;blob'])('refuses %p', (raw) => {
    expect(isParseFailure(urlSchemeList(raw))).toBe(true)
  })
})

describe('corsPolicyFrom', () => {
  test('unset means same origin only', () => {
    expect(corsPolicyFrom(null, null)).toEqual({ allowsAnyOrigin: false, allowedOrigins: [] })
  })

  test('* allows any origin', () => {
    expect(corsPolicyFrom('*', null)).toEqual({ allowsAnyOrigin: true })
  })

  test('http and https origins need no custom scheme; listed schemes allow theirs', () => {
    expect(corsPolicyFrom(['https://a.example.com', 'http://localhost:5173'], null))
      .toEqual({ allowsAnyOrigin: false, allowedOrigins: ['https://a.example.com', 'http://localhost:5173'] })
    expect(corsPolicyFrom(['app://localhost', 'https://a.example.com'], ['app']))
      .toEqual({ allowsAnyOrigin: false, allowedOrigins: ['app://localhost', 'https://a.example.com'] })
  })

  test.each<[string[], string[] | null]>([
    [['app://localhost'], null],
    [['https://a.example.com', 'tauri://localhost'], ['app']],
    [['ftp://files.example.com'], []],
  ])('an origin whose scheme is not allowed is a ConfigError naming CORS_ALLOW_ORIGIN and the entry: %p', (origins, schemes) => {
    let error: unknown
    try {
      corsPolicyFrom(origins, schemes)
    } catch (thrown) {
      error = thrown
    }
    expect(error).toBeInstanceOf(ConfigError)
    const refused = origins.at(-1)!
    expect((error as ConfigError).message).toStartWith('CORS_ALLOW_ORIGIN=')
    expect((error as ConfigError).message).toContain(`"${refused}" uses another scheme`)
    expect((error as ConfigError).message).toContain('CORS_ALLOW_CUSTOM_SCHEME')
  })
})
