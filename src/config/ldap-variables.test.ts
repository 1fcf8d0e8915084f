import { afterAll, describe, expect, test } from 'bun:test'
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { renderConfig } from '../cli/print-config.ts'
import { ConfigError } from './config-error.ts'
import { loadConfig } from './load-config.ts'

const dir = mkdtempSync(join(tmpdir(), 'enclave-ldap-config-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))
const caFile = join(dir, 'ca.pem')
writeFileSync(caFile, '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n')
writeFileSync(join(dir, 'not-a-cert.txt'), 'hello\n')
const appPassword = `app-${crypto.randomUUID()}`
const minimal = { ENABLE_LDAP: 'true', LDAP_SERVER_HOST: 'ldap.example.org', LDAP_SEARCH_BASE: 'dc=example,dc=org' }

const load = (env: Record<string, string>) => loadConfig({ env, cwd: dir })
function problemsOf(env: Record<string, string>): string {
  try {
    load(env)
  } catch (error) {
    if (error instanceof ConfigError) return error.message
    throw error
  }
  throw new Error('expected a ConfigError')
}

test('LDAP is off by default, and other LDAP variables alone do not turn it on', () => {
  expect(load({}).ldap).toBeNull()
  expect(load({ LDAP_SERVER_HOST: 'x' }).ldap).toBeNull()
})

test('the defaults: LDAPS on 636, certificate checked, uid and mail, memberOf, no groups managed', () => {
  expect(load(minimal).ldap).toEqual({
    label: 'LDAP Server', host: 'ldap.example.org', port: 636, transport: 'ldaps',
    tls: { validateCert: true, ca: null, caFile: null, ciphers: null },
    appDn: null, appPassword: null, searchBase: 'dc=example,dc=org', searchFilter: null,
    usernameAttribute: 'uid', mailAttribute: 'mail', groupsAttribute: 'memberOf',
    groupManagement: null, adminGroups: null, allowedGroups: null, timeoutMs: 5000,
  })
})

test('StartTLS and plain both default to port 389; an explicit port wins', () => {
  expect(load({ ...minimal, LDAP_USE_TLS: 'false', LDAP_USE_STARTTLS: 'true' }).ldap).toMatchObject({ transport: 'starttls', port: 389 })
  expect(load({ ...minimal, LDAP_USE_TLS: 'false' }).ldap).toMatchObject({ transport: 'plain', port: 389 })
  expect(load({ ...minimal, LDAP_SERVER_PORT: '3269' }).ldap!.port).toBe(3269)
})

test('an IPv6 host may be written in brackets', () => {
  expect(load({ ...minimal, LDAP_SERVER_HOST: '[::1]' }).ldap!.host).toBe('::1')
})

test('LDAP_SEARCH_FILTER wins over its older name LDAP_SEARCH_FILTERS, which is read when it is unset', () => {
  expect(load({ ...minimal, LDAP_SEARCH_FILTERS: '(objectClass=person)' }).ldap!.searchFilter).toBe('(objectClass=person)')
  expect(load({ ...minimal, LDAP_SEARCH_FILTER: '(objectClass=user)', LDAP_SEARCH_FILTERS: '(objectClass=person)' }).ldap!.searchFilter).toBe('(objectClass=user)')
})

test('groups, group creation, admin and allowed groups (DNs contain commas, so ; separates)', () => {
  const ldap = load({ ...minimal, ENABLE_LDAP_GROUP_MANAGEMENT: 'true', ENABLE_LDAP_GROUP_CREATION: 'true', LDAP_ADMIN_GROUPS: 'cn=admins,ou=groups,dc=example,dc=org; ops', LDAP_ALLOWED_GROUPS: 'chatters' }).ldap!
  expect(ldap.groupManagement).toEqual({ createMissing: true })
  expect(ldap.adminGroups).toEqual(['cn=admins,ou=groups,dc=example,dc=org', 'ops'])
  expect(ldap.allowedGroups).toEqual(['chatters'])
})

describe('misconfiguration refuses the start, naming the variable', () => {
  test.each([
    ['no host', { ENABLE_LDAP: 'true', LDAP_SEARCH_BASE: 'dc=x' }, 'LDAP_SERVER_HOST'],
    ['no search base', { ENABLE_LDAP: 'true', LDAP_SERVER_HOST: 'h' }, 'LDAP_SEARCH_BASE'],
    ['a CA file that does not exist', { ...minimal, LDAP_CA_CERT_FILE: 'missing.pem' }, 'LDAP_CA_CERT_FILE'],
    ['a CA file without a certificate', { ...minimal, LDAP_CA_CERT_FILE: 'not-a-cert.txt' }, 'LDAP_CA_CERT_FILE'],
    ['an app password file that does not exist', { ...minimal, LDAP_APP_DN: 'cn=app,dc=x', LDAP_APP_PASSWORD_FILE: 'missing-password' }, 'LDAP_APP_PASSWORD_FILE'],
    ['an empty admin group list', { ...minimal, LDAP_ADMIN_GROUPS: ' ; ' }, 'LDAP_ADMIN_GROUPS'],
    ['TLS and StartTLS together', { ...minimal, LDAP_USE_STARTTLS: 'true' }, 'LDAP_USE_STARTTLS'],
    ['an app DN without a password', { ...minimal, LDAP_APP_DN: 'cn=app,dc=x' }, 'LDAP_APP_PASSWORD'],
    ['a filter without parentheses', { ...minimal, LDAP_SEARCH_FILTER: 'objectClass=person' }, 'LDAP_SEARCH_FILTER'],
    ['an unbalanced filter', { ...minimal, LDAP_SEARCH_FILTER: '(&(objectClass=person)' }, 'LDAP_SEARCH_FILTER'],
    ['two filters side by side', { ...minimal, LDAP_SEARCH_FILTER: '(a=b)(c=d)' }, 'LDAP_SEARCH_FILTER'],
    ['a bad attribute name', { ...minimal, LDAP_ATTRIBUTE_FOR_USERNAME: 'uid)(x' }, 'LDAP_ATTRIBUTE_FOR_USERNAME'],
    ['a port out of range', { ...minimal, LDAP_SERVER_PORT: '70000' }, 'LDAP_SERVER_PORT'],
    ['a host with a scheme', { ...minimal, LDAP_SERVER_HOST: 'ldap://h' }, 'LDAP_SERVER_HOST'],
    ['a non-boolean switch', { ...minimal, LDAP_VALIDATE_CERT: 'maybe' }, 'LDAP_VALIDATE_CERT'],
  ])('%s', (_, env, variable) => {
    expect(problemsOf(env)).toContain(`${variable}=`)
  })

  test('both problems at once when host and base are missing', () => {
    const message = problemsOf({ ENABLE_LDAP: 'true' })
    expect(message).toContain('LDAP_SERVER_HOST=')
    expect(message).toContain('LDAP_SEARCH_BASE=')
  })
})

test('the CA file is read as PEM, relative to the working directory', () => {
  expect(load({ ...minimal, LDAP_CA_CERT_FILE: 'ca.pem' }).ldap!.tls).toMatchObject({ caFile: caFile, ca: expect.stringContaining('BEGIN CERTIFICATE') })
})

describe('LDAP_APP_PASSWORD_FILE', () => {
  const file = join(dir, 'app-password')
  test('is read without its trailing newline when only its owner may read it', () => {
    writeFileSync(file, `${appPassword}\n`, { mode: 0o600 })
    chmodSync(file, 0o600)
    expect(load({ ...minimal, LDAP_APP_DN: 'cn=app,dc=x', LDAP_APP_PASSWORD_FILE: file }).ldap!.appPassword).toBe(appPassword)
  })
  test('is refused when group or others may read it, and the refusal does not show its contents', () => {
    writeFileSync(file, appPassword)
    chmodSync(file, 0o644)
    const message = problemsOf({ ...minimal, LDAP_APP_DN: 'cn=app,dc=x', LDAP_APP_PASSWORD_FILE: file })
    expect(message).toContain('LDAP_APP_PASSWORD_FILE=')
    expect(message).toContain('chmod 600')
    expect(message).not.toContain(appPassword)
  })
  test('is refused next to LDAP_APP_PASSWORD', () => {
    chmodSync(file, 0o600)
    expect(problemsOf({ ...minimal, LDAP_APP_DN: 'cn=app,dc=x', LDAP_APP_PASSWORD: appPassword, LDAP_APP_PASSWORD_FILE: file })).toContain('LDAP_APP_PASSWORD_FILE=')
  })
})

test('`enclave config` prints LDAP_APP_PASSWORD as *** and never its value', () => {
  const output = renderConfig(load({ ...minimal, LDAP_APP_DN: 'cn=app,dc=x', LDAP_APP_PASSWORD: appPassword }))
  expect(output).toMatch(/LDAP_APP_PASSWORD\s+\*\*\*\s+\[env\]/)
  expect(output).not.toContain(appPassword)
})

test('a bad value elsewhere does not hide LDAP problems, and a refused secret is never echoed', () => {
  const message = problemsOf({ ENABLE_LDAP: 'true', PORT: 'x', LDAP_APP_PASSWORD: appPassword, LDAP_SERVER_PORT: 'nope' })
  expect(message).toContain('PORT=')
  expect(message).toContain('LDAP_SERVER_PORT=')
  expect(message).not.toContain(appPassword)
})
