/**
 * The admin's view of LDAP: GET /api/v1/auths/admin/config/ldap (effective settings, app password
 * masked) and POST /api/v1/auths/admin/config/ldap/test (bind and search against the directory).
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { bearer, signUp } from '../helpers/accounts.ts'
import { ldapSignIn, startLdapApp } from '../helpers/ldap-app.ts'
import { startSlapd, type Slapd } from '../helpers/slapd.ts'
import { req } from '../helpers/test-app.ts'

let slapd: Slapd
// note: making keys and starting slapd can take a while on a loaded machine.
beforeAll(async () => { slapd = await startSlapd() }, 30_000)
afterAll(async () => { await slapd?.remove() })

const CONFIG = '/api/v1/auths/admin/config/ldap'
const TEST = '/api/v1/auths/admin/config/ldap/test'

/** An app with an admin (the first local account) and a plain user, and their tokens. */
async function withAccounts(env: Record<string, string>, timeoutMs?: number) {
  const started = startLdapApp(env, { timeoutMs })
  const admin = await signUp(started.app, 'root@example.com')
  const user = await signUp(started.app, 'user@example.com')
  return { ...started, adminToken: admin.token, userToken: user.token }
}

describe('GET admin/config/ldap', () => {
  test('shows the effective settings with the app password masked', async () => {
    const { app, adminToken } = await withAccounts(slapd.env('starttls', { LDAP_ADMIN_GROUPS: 'admins;cn=ops,ou=groups,dc=example,dc=org', LDAP_SEARCH_FILTERS: '(objectClass=person)' }))
    const res = await app.handle(req('GET', CONFIG, undefined, bearer(adminToken)))
    const text = await res.text()
    expect(res.status).toBe(200)
    expect(JSON.parse(text)).toEqual({
      ENABLE_LDAP: true, enable_ldap: true, active: true, label: 'LDAP Server', host: '127.0.0.1', port: slapd.ports.ldap, use_tls: false, use_starttls: true,
      validate_cert: true, certificate_path: slapd.caFile, ciphers: null, app_dn: slapd.appDn, app_dn_password: '***',
      search_base: 'dc=example,dc=org', search_filter: '(objectClass=person)', attribute_for_username: 'uid', attribute_for_mail: 'mail',
      attribute_for_groups: 'memberOf', enable_group_management: false, enable_group_creation: false,
      admin_groups: ['admins', 'cn=ops,ou=groups,dc=example,dc=org'], allowed_groups: null, timeout_seconds: 5,
    })
    expect(text).not.toContain(slapd.appPassword)
  })

  test('says LDAP is off when it is', async () => {
    const { app, adminToken } = await withAccounts({})
    expect(await (await app.handle(req('GET', CONFIG, undefined, bearer(adminToken)))).json()).toEqual({ ENABLE_LDAP: false, enable_ldap: false })
  })

  test.each([
    ['no credential', {}, 401],
    ['a user', 'user', 403],
    ['a forged token', { authorization: 'Bearer eyJhbGciOiJIUzI1NiJ9.e30.AAAA' }, 401],
  ])('refuses %s', async (_, who, status) => {
    const { app, userToken } = await withAccounts(slapd.env('plain'))
    const headers = who === 'user' ? bearer(userToken) : (who as Record<string, string>)
    const res = await app.handle(req('GET', CONFIG, undefined, headers))
    expect(res.status).toBe(status)
    expect(await res.text()).not.toContain(slapd.appPassword)
  })
})

describe('POST admin/config/ldap/test', () => {
  test('binds and finds a named user (its DN) or any user', async () => {
    const { app, adminToken } = await withAccounts(slapd.env('ldaps'))
    const named = await app.handle(req('POST', TEST, { user: 'bob' }, bearer(adminToken)))
    expect(await named.json()).toEqual({ ok: true, entries_found: 1, dn: slapd.users.bob!.dn })
    const any = await app.handle(req('POST', TEST, {}, bearer(adminToken)))
    expect(await any.json()).toMatchObject({ ok: true, entries_found: 1 })
    const nobody = await app.handle(req('POST', TEST, { user: 'mallory*' }, bearer(adminToken)))
    expect(await nobody.json()).toEqual({ ok: true, entries_found: 0, dn: null })
  })

  test.each([
    ['a wrong app password', () => slapd.env('plain', { LDAP_APP_PASSWORD: `wrong-${crypto.randomUUID()}` }), 'app_bind_refused', 'LDAP_APP_PASSWORD'],
    ['an untrusted certificate', () => slapd.env('ldaps', { LDAP_CA_CERT_FILE: slapd.otherCaFile }), 'tls_untrusted', 'SELF_SIGNED_CERT_IN_CHAIN'],
    ['a closed port', () => slapd.env('plain', { LDAP_SERVER_PORT: '1' }), 'unreachable', 'ECONNREFUSED'],
    ['a missing search base', () => slapd.env('plain', { LDAP_SEARCH_BASE: 'ou=gone,dc=example,dc=org' }), 'search_failed', 'NoSuchObject'],
  ])('reports the real error to the admin: %s', async (_, env, failure, words) => {
    const { app, adminToken } = await withAccounts(env(), 1500)
    const res = await app.handle(req('POST', TEST, {}, bearer(adminToken)))
    const text = await res.text()
    expect(res.status).toBe(200)
    expect(JSON.parse(text)).toMatchObject({ ok: false, failure })
    expect(text).toContain(words)
    expect(text).not.toContain(slapd.appPassword)
  })

  test.each([
    ['no credential', null, {}, 401],
    ['a user', 'user', {}, 403],
    ['an empty user name', 'admin', { user: '' }, 422],
    ['a number as user', 'admin', { user: 7 }, 422],
    ['a 3 KB user name', 'admin', { user: 'u'.repeat(3000) }, 422],
  ])('refuses %s', async (_, who, body, status) => {
    const { app, adminToken, userToken } = await withAccounts(slapd.env('plain'))
    const headers = who === 'admin' ? bearer(adminToken) : who === 'user' ? bearer(userToken) : {}
    expect((await app.handle(req('POST', TEST, body, headers))).status).toBe(status)
  })

  test('answers 409 when LDAP is off', async () => {
    const { app, adminToken } = await withAccounts({})
    expect((await app.handle(req('POST', TEST, {}, bearer(adminToken)))).status).toBe(409)
  })

  test('an admin who signed in through LDAP can use it too', async () => {
    const { app } = startLdapApp(slapd.env('plain', { LDAP_ADMIN_GROUPS: 'admins' }))
    const alice = await ldapSignIn(app, 'alice', slapd.users.alice!.password)
    expect((await app.handle(req('POST', TEST, { user: 'carol' }, bearer(alice.body.token as string)))).status).toBe(200)
  })
})

describe('LDAP at runtime (Open WebUI\'s admin page: toggle and server form)', () => {
  const SERVER = '/api/v1/auths/admin/config/ldap/server'

  test('the server form shows the environment\'s settings, the password as a placeholder only', async () => {
    const { app, adminToken } = await withAccounts(slapd.env('ldaps'))
    const res = await app.handle(req('GET', SERVER, undefined, bearer(adminToken)))
    const text = await res.text()
    expect(JSON.parse(text)).toEqual({
      label: 'LDAP Server', host: '127.0.0.1', port: slapd.ports.ldaps, attribute_for_mail: 'mail', attribute_for_username: 'uid',
      app_dn: slapd.appDn, app_dn_password: '***', search_base: 'dc=example,dc=org', search_filters: '', use_tls: true,
      certificate_path: slapd.caFile, validate_cert: true, ciphers: null,
    })
    expect(text).not.toContain(slapd.appPassword)
  })

  test('with LDAP off in the environment, an admin sets the server (web page body), turns it on, and users sign in', async () => {
    const { app, adminToken } = await withAccounts({})
    const bob = slapd.users.bob!
    expect((await app.handle(req('POST', CONFIG, { enable_ldap: true }, bearer(adminToken)))).status).toBe(400)
    // Open WebUI's updateLdapServer(token, ldapServerConfig): every field of LdapServerConfig
    const form = {
      label: 'Corp', host: '127.0.0.1', port: slapd.ports.ldap, attribute_for_mail: 'mail', attribute_for_username: 'uid',
      app_dn: slapd.appDn, app_dn_password: slapd.appPassword, search_base: 'dc=example,dc=org', search_filters: '', use_tls: false,
      certificate_path: '', validate_cert: true, ciphers: 'ALL',
    }
    const saved = await app.handle(req('POST', SERVER, form, bearer(adminToken)))
    const savedText = await saved.text()
    expect(saved.status).toBe(200)
    expect(JSON.parse(savedText)).toMatchObject({ label: 'Corp', app_dn_password: '***', use_tls: false })
    expect(savedText).not.toContain(slapd.appPassword)
    expect(await ldapSignIn(app, 'bob', bob.password)).toMatchObject({ status: 400, body: { code: 'ldap_disabled' } })
    expect(await (await app.handle(req('POST', CONFIG, { enable_ldap: true }, bearer(adminToken)))).json()).toEqual({ ENABLE_LDAP: true })
    expect((await (await app.handle(req('GET', '/api/config'))).json()).ldap).toEqual({ label: 'Corp' })
    expect((await ldapSignIn(app, 'bob', bob.password)).status).toBe(200)

    // the placeholder posted back keeps the stored password
    expect((await app.handle(req('POST', SERVER, { ...form, label: 'Corp 2', app_dn_password: '***' }, bearer(adminToken)))).status).toBe(200)
    expect((await ldapSignIn(app, 'bob', bob.password)).status).toBe(200)

    await app.handle(req('POST', CONFIG, { enable_ldap: false }, bearer(adminToken)))
    expect(await ldapSignIn(app, 'bob', bob.password)).toMatchObject({ status: 400, body: { code: 'ldap_disabled' } })
  })

  test.each([
    ['an empty required field', { search_base: '' }],
    ['a host with a scheme', { host: 'ldap://127.0.0.1' }],
    ['a malformed filter', { search_filters: 'objectClass=person' }],
    ['an unreadable CA file', { certificate_path: '/nonexistent/ca.pem' }],
  ])('refuses %s with 400', async (_, change) => {
    const { app, adminToken } = await withAccounts({})
    const form = {
      label: 'Corp', host: '127.0.0.1', port: 389, app_dn: 'cn=app', app_dn_password: 'x', search_base: 'dc=example,dc=org', use_tls: false, ...change,
    }
    expect((await app.handle(req('POST', SERVER, form, bearer(adminToken)))).status).toBe(400)
  })

  test('a user gets 403 on the toggle and the server form', async () => {
    const { app, userToken } = await withAccounts(slapd.env('plain'))
    expect((await app.handle(req('GET', SERVER, undefined, bearer(userToken)))).status).toBe(403)
    expect((await app.handle(req('POST', CONFIG, { enable_ldap: false }, bearer(userToken)))).status).toBe(403)
  })
})
