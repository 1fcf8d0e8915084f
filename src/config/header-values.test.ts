import { describe, expect, test } from 'bun:test'
import fc from 'fast-check'
import {
  cacheControl, contentSecurityPolicy, contentTypeOptions, crossOriginOpenerPolicy, crossOriginResourcePolicy, downloadOptions,
  frameOptions, headerValueOrOff, permissionsPolicy, permittedCrossDomainPolicies, referrerPolicy, strictTransportSecurity,
} from './header-values.ts'
import { isParseFailure, type Parser } from './parsers.ts'

type Row = [string, Parser<string>, string, string]

describe('each header parser accepts its good values, normalised', () => {
  test.each<Row>([
    ['HSTS', strictTransportSecurity, 'max-age=31536000;includeSubDomains', 'max-age=31536000; includeSubDomains'],
    ['HSTS', strictTransportSecurity, 'max-age=31536000; includeSubDomains; preload', 'max-age=31536000; includeSubDomains; preload'],
    ['HSTS', strictTransportSecurity, 'MAX-AGE=0', 'max-age=0'],
    ['HSTS', strictTransportSecurity, 'max-age=600;preload;', 'max-age=600; preload'],
    ['XFRAME_OPTIONS', frameOptions, 'sameorigin', 'SAMEORIGIN'],
    ['REFERRER_POLICY', referrerPolicy, 'No-Referrer', 'no-referrer'],
    ['XCONTENT_TYPE', contentTypeOptions, 'NOSNIFF', 'nosniff'],
    ['XDOWNLOAD_OPTIONS', downloadOptions, 'noopen', 'noopen'],
    ['XPERMITTED_CROSS_DOMAIN_POLICIES', permittedCrossDomainPolicies, 'master-only', 'master-only'],
    ['XPERMITTED_CROSS_DOMAIN_POLICIES', permittedCrossDomainPolicies, 'all', 'all'],
    ['CROSS_ORIGIN_OPENER_POLICY', crossOriginOpenerPolicy, 'same-origin-allow-popups', 'same-origin-allow-popups'],
    ['CROSS_ORIGIN_RESOURCE_POLICY', crossOriginResourcePolicy, 'cross-origin', 'cross-origin'],
    ['CACHE_CONTROL', cacheControl, 'no-store', 'no-store'],
    ['CACHE_CONTROL', cacheControl, 'Private,max-age=60 ,  must-revalidate', 'private, max-age=60, must-revalidate'],
    ['PERMISSIONS_POLICY', permissionsPolicy, 'camera=(),microphone=(self),geolocation=()', 'camera=(), microphone=(self), geolocation=()'],
    ['PERMISSIONS_POLICY', permissionsPolicy, 'fullscreen=*, payment=(self "https://pay.example.com")', 'fullscreen=*, payment=(self "https://pay.example.com")'],
    ['CONTENT_SECURITY_POLICY', contentSecurityPolicy, "default-src 'self';  img-src * data: ;", "default-src 'self'; img-src * data:"],
    ['CONTENT_SECURITY_POLICY', contentSecurityPolicy, 'upgrade-insecure-requests', 'upgrade-insecure-requests'],
  ])('%s accepts %p', (_, parse, raw, expected) => {
    expect(headerValueOrOff(parse)(raw)).toBe(expected)
  })
})

describe('each header parser refuses bad values, saying what it expected', () => {
  test.each<Row>([
    ['HSTS', strictTransportSecurity, 'max-age=abc', 'max-age=<seconds>'],
    ['HSTS', strictTransportSecurity, 'includeSubDomains', 'max-age=<seconds>'],
    ['HSTS', strictTransportSecurity, 'max-age=1; preload; includeSubDomains', 'max-age=<seconds>'],
    ['HSTS', strictTransportSecurity, 'max-age=-1', 'max-age=<seconds>'],
    ['XFRAME_OPTIONS', frameOptions, 'ALLOW-FROM https://x.example', 'one of DENY, SAMEORIGIN'],
    ['REFERRER_POLICY', referrerPolicy, 'never', 'strict-origin-when-cross-origin'],
    ['XCONTENT_TYPE', contentTypeOptions, 'sniff', 'nosniff'],
    ['XDOWNLOAD_OPTIONS', downloadOptions, 'open', 'noopen'],
    ['XPERMITTED_CROSS_DOMAIN_POLICIES', permittedCrossDomainPolicies, 'some', 'by-ftp-filename'],
    ['CROSS_ORIGIN_OPENER_POLICY', crossOriginOpenerPolicy, 'cross-origin', 'same-origin'],
    ['CROSS_ORIGIN_RESOURCE_POLICY', crossOriginResourcePolicy, 'unsafe-none', 'same-site'],
    ['CACHE_CONTROL', cacheControl, 'forever', 'Cache-Control directives'],
    ['CACHE_CONTROL', cacheControl, 'no-store,', 'Cache-Control directives'],
    ['PERMISSIONS_POLICY', permissionsPolicy, 'camera', 'Permissions-Policy'],
    ['PERMISSIONS_POLICY', permissionsPolicy, 'camera=(evil', 'Permissions-Policy'],
    ['CONTENT_SECURITY_POLICY', contentSecurityPolicy, ';;', 'Content-Security-Policy'],
    ['CONTENT_SECURITY_POLICY', contentSecurityPolicy, "'self' default-src", 'Content-Security-Policy'],
  ])('%s refuses %p', (_, parse, raw, expected) => {
    const result = headerValueOrOff(parse)(raw)
    expect(isParseFailure(result)).toBe(true)
    expect((result as { expected: string }).expected).toContain(expected)
    expect((result as { expected: string }).expected).toContain('or empty to send no header')
  })
})

describe('headerValueOrOff', () => {
  const parse = headerValueOrOff(contentSecurityPolicy)

  test.each(['', ' ', '   '])('%p turns the header off (null)', (raw) => {
    expect(parse(raw)).toBeNull()
  })

  test.each([
    "default-src 'self'\r\nSet-Cookie: a=b",
    "default-src 'self'\nx-injected: 1",
    "default-src 'self'\r",
    "default-src 'self'\n",
    "default-src\t'self'",
    "default-src 'self'\0",
  ])('refuses line breaks and control characters anywhere: %p', (raw) => {
    expect(parse(raw)).toEqual({ expected: 'a header value on one line, without line breaks or control characters' })
  })

  test('refuses characters outside printable ASCII', () => {
    expect(parse("default-src 'self' https://bücher.example")).toEqual({ expected: 'a header value in printable ASCII' })
  })

  test('whatever it accepts is one line of printable ASCII (fast-check)', () => {
    fc.assert(fc.property(fc.string({ unit: 'binary', maxLength: 60 }), (raw) => {
      for (const parser of [contentSecurityPolicy, permissionsPolicy, cacheControl, strictTransportSecurity, frameOptions]) {
        const result = headerValueOrOff(parser)(raw)
        if (typeof result === 'string') expect(result).toMatch(/^[\x20-\x7e]+$/)
      }
    }))
  })
})
