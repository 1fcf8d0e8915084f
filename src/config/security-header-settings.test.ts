import { describe, expect, test } from 'bun:test'
import { DEFAULT_CONTENT_SECURITY_POLICY } from './header-values.ts'
import { loadConfig } from './load-config.ts'
import { DEFAULT_SECURITY_HEADERS } from './security-header-settings.ts'

describe('security header settings', () => {
  test('the defaults are the safe baseline; HSTS only over HTTPS, no-store on the API', () => {
    expect(DEFAULT_SECURITY_HEADERS).toEqual({
      everyResponse: {
        'x-content-type-options': 'nosniff',
        'x-frame-options': 'DENY',
        'referrer-policy': 'strict-origin-when-cross-origin',
        'content-security-policy': DEFAULT_CONTENT_SECURITY_POLICY,
        'cross-origin-opener-policy': 'same-origin',
        'cross-origin-resource-policy': 'same-origin',
      },
      apiCacheControl: 'no-store',
      strictTransportSecurity: 'max-age=31536000; includeSubDomains',
    })
  })

  test('an unconfigured server loads exactly the defaults', () => {
    expect(loadConfig({ env: {}, cwd: '/srv' }).securityHeaders).toEqual(DEFAULT_SECURITY_HEADERS)
  })

  test('an empty value leaves its header out; a set one replaces the default', () => {
    const { securityHeaders } = loadConfig({ env: { XFRAME_OPTIONS: '', HSTS: '', CACHE_CONTROL: '', XDOWNLOAD_OPTIONS: 'noopen' }, cwd: '/srv' })
    expect(securityHeaders.everyResponse['x-frame-options']).toBeUndefined()
    expect(securityHeaders.everyResponse['x-download-options']).toBe('noopen')
    expect(securityHeaders.strictTransportSecurity).toBeNull()
    expect(securityHeaders.apiCacheControl).toBeNull()
  })

  test('the settings are frozen', () => {
    expect(Object.isFrozen(DEFAULT_SECURITY_HEADERS)).toBe(true)
    expect(Object.isFrozen(DEFAULT_SECURITY_HEADERS.everyResponse)).toBe(true)
  })
})
