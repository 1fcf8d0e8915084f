import { describe, expect, test } from 'bun:test'
import fc from 'fast-check'
import { loadConfig } from '../config/load-config.ts'
import { isEmailVerified, mergeClaims, readClaim, readClaimList, readClaimText } from './oidc-claims.ts'
import { decideRole } from './oidc-login.ts'

describe('claims', () => {
  test('userinfo wins over the ID token, except sub', () => {
    expect(mergeClaims({ sub: 'a', email: 'old@example.org', name: 'Old' }, { sub: 'b', email: 'new@example.org' }))
      .toEqual({ sub: 'a', email: 'new@example.org', name: 'Old' })
    expect(mergeClaims({ sub: 'a', name: 'Only' }, null)).toEqual({ sub: 'a', name: 'Only' })
  })

  test.each<[string, unknown]>([
    ['realm_access.roles', ['admin']],
    ['resource_access.enclave.roles', ['chat-user']],
    ['https://example.com/claims.groups', ['flat']], // a top-level name with dots is read as it is
    ['realm_access.missing', undefined],
    ['name.first', undefined], // a string has no members
    ['list.0', undefined], // arrays are not indexed
    ['__proto__.polluted', undefined],
  ])('reads %s', (path, expected) => {
    const claims = {
      name: 'Ada', list: ['x'], realm_access: { roles: ['admin'] }, resource_access: { enclave: { roles: ['chat-user'] } },
      'https://example.com/claims.groups': ['flat'],
    }
    expect(readClaim(claims, path)).toEqual(expected)
  })

  test('lists: arrays of strings, or a comma-separated string; anything else is empty', () => {
    expect(readClaimList({ g: ['a', ' b ', '', 3, null] }, 'g')).toEqual(['a', 'b'])
    expect(readClaimList({ g: 'a, b' }, 'g')).toEqual(['a', 'b'])
    expect(readClaimList({ g: { a: 1 } }, 'g')).toEqual([])
    expect(readClaimList({}, 'g')).toEqual([])
  })

  test('text claims and email_verified', () => {
    expect(readClaimText({ email: '  ada@example.org ' }, 'email')).toBe('ada@example.org')
    expect(readClaimText({ email: 42 }, 'email')).toBeNull()
    expect([true, 'true', false, 'false', 1, undefined].map((value) => isEmailVerified({ email_verified: value }))).toEqual([true, true, false, false, false, false])
  })

  test('reading any path of any JSON never throws', () => {
    fc.assert(fc.property(fc.jsonValue(), fc.string(), (value, path) => {
      const claims = typeof value === 'object' && value !== null && !Array.isArray(value) ? value as Record<string, unknown> : { value }
      readClaim(claims, path)
      readClaimList(claims, path)
    }))
  })
})

describe('roles (Open WebUI\'s rules, refusing roles that are present but not allowed)', () => {
  const oauth = loadConfig({ env: { ENABLE_OAUTH_ROLE_MANAGEMENT: 'true', OAUTH_ADMIN_ROLES: 'boss', OAUTH_ALLOWED_ROLES: 'staff,boss' }, cwd: '/' }).oauth
  test.each<[string[], string]>([
    [['boss'], 'admin'], [['staff', 'boss'], 'admin'], [['staff'], 'user'], [[], 'pending'], [['guest'], 'refused'], [['Staff'], 'refused'],
  ])('%j → %s', (roles, expected) => {
    expect(decideRole(oauth, roles)).toBe(expected as never)
  })
  test('off: null', () => {
    expect(decideRole(loadConfig({ env: {}, cwd: '/' }).oauth, ['boss'])).toBeNull()
  })
})
