/**
 * LDAP sign-in when things go wrong: certificates that must not be trusted, a directory that is
 * stopped, frozen or never answers, a wrong app password, the rate limits, and sockets left open.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { readdirSync, readlinkSync } from 'node:fs'
import { ldapSignIn, startLdapApp } from '../helpers/ldap-app.ts'
import { startSlapd, type Slapd } from '../helpers/slapd.ts'
import { req } from '../helpers/test-app.ts'

const TIMEOUT_MS = 1500
let slapd: Slapd
// note: making keys and starting slapd can take a while on a loaded machine.
beforeAll(async () => { slapd = await startSlapd() }, 30_000)
afterAll(async () => { await slapd?.remove() })

const pw = (uid: string) => slapd.users[uid]!.password

/** Signs in and also says how long the answer took. */
async function timedSignIn(env: Record<string, string>, user = 'bob', password = pw('bob')) {
  const started = startLdapApp(env, { timeoutMs: TIMEOUT_MS })
  const at = performance.now()
  const answer = await ldapSignIn(started.app, user, password)
  return { ...answer, ms: performance.now() - at, logText: started.logLines.join(''), audit: started.audit.entries }
}

describe('certificates', () => {
  test.each([
    ['LDAPS against the system store', () => ({ ...slapd.env('ldaps'), LDAP_CA_CERT_FILE: '' })],
    ['LDAPS with a CA that did not sign it', () => slapd.env('ldaps', { LDAP_CA_CERT_FILE: slapd.otherCaFile })],
    ['StartTLS against the system store', () => ({ ...slapd.env('starttls'), LDAP_CA_CERT_FILE: '' })],
    ['StartTLS with a CA that did not sign it', () => slapd.env('starttls', { LDAP_CA_CERT_FILE: slapd.otherCaFile })],
    ['LDAPS to an address the certificate does not name', () => slapd.env('ldaps', { LDAP_SERVER_HOST: '127.0.0.2' })],
    ['StartTLS to an address the certificate does not name', () => slapd.env('starttls', { LDAP_SERVER_HOST: '127.0.0.2' })],
  ])('%s is refused: 503 for the user, a clear reason in the log', async (_, env) => {
    const answer = await timedSignIn(env())
    expect(answer).toMatchObject({ status: 503, body: { code: 'directory_unavailable' }, cookie: null })
    expect(answer.logText).toContain('is not trusted')
    expect(answer.audit.at(-1)).toMatchObject({ event: 'signin_failed', method: 'ldap', reason: 'directory_tls_untrusted' })
    expect(answer.logText).not.toContain(pw('bob'))
    expect(answer.logText).not.toContain(slapd.appPassword)
  })

  test('the certificate name is checked against a host name too (localhost is in its SAN)', async () => {
    expect((await timedSignIn(slapd.env('ldaps', { LDAP_SERVER_HOST: 'localhost' }))).status).toBe(200)
    expect((await timedSignIn(slapd.env('starttls', { LDAP_SERVER_HOST: 'localhost' }))).status).toBe(200)
  })

  test.each([
    ['LDAPS', () => ({ ...slapd.env('ldaps'), LDAP_CA_CERT_FILE: '', LDAP_VALIDATE_CERT: 'false' })],
    ['StartTLS', () => ({ ...slapd.env('starttls'), LDAP_CA_CERT_FILE: '', LDAP_VALIDATE_CERT: 'false' })],
    ['LDAPS to an unnamed address', () => slapd.env('ldaps', { LDAP_SERVER_HOST: '127.0.0.2', LDAP_VALIDATE_CERT: 'false' })],
  ])('LDAP_VALIDATE_CERT=false works (%s)', async (_, env) => {
    expect((await timedSignIn(env())).status).toBe(200)
  })

  test('LDAP_CIPHERS is passed to TLS: a cipher list that matches nothing fails the handshake', async () => {
    const answer = await timedSignIn(slapd.env('ldaps', { LDAP_CIPHERS: 'NULL-MD5' }))
    expect(answer.status).toBe(503)
    expect((await timedSignIn(slapd.env('ldaps', { LDAP_CIPHERS: 'ECDHE+AESGCM' }))).status).toBe(200)
  })
})

describe('a directory that is down or hangs gives 503 within the timeout', () => {
  // note: bounds here are generous (a loaded machine), but far below what a hung request would take.
  const bound = TIMEOUT_MS * 3 + 1000

  test('stopped mid-test, then started again', async () => {
    expect((await timedSignIn(slapd.env('plain'))).status).toBe(200)
    await slapd.stop()
    try {
      for (const mode of ['plain', 'ldaps', 'starttls'] as const) {
        const answer = await timedSignIn(slapd.env(mode))
        expect(answer).toMatchObject({ status: 503, body: { code: 'directory_unavailable', detail: 'The directory server is not available right now. Try again later.' } })
        expect(answer.ms).toBeLessThan(bound)
        expect(answer.logText).toContain('unreachable')
      }
    } finally {
      await slapd.restart()
    }
    expect((await timedSignIn(slapd.env('starttls'))).status).toBe(200)
  }, 20_000)

  test('frozen (SIGSTOP): connections are accepted but never answered', async () => {
    slapd.pause()
    try {
      for (const mode of ['plain', 'ldaps', 'starttls'] as const) {
        const answer = await timedSignIn(slapd.env(mode))
        expect(answer.status).toBe(503)
        expect(answer.ms).toBeLessThan(bound)
        expect(answer.logText).toContain(`did not answer within ${TIMEOUT_MS / 1000} s`)
      }
    } finally {
      slapd.resume()
    }
    expect((await timedSignIn(slapd.env('plain'))).status).toBe(200)
  }, 20_000)

  test('a port that accepts and never says a word (plain, LDAPS handshake, StartTLS)', async () => {
    const silent = Bun.listen({ hostname: '127.0.0.1', port: 0, socket: { data() {} } })
    try {
      for (const mode of ['plain', 'ldaps', 'starttls'] as const) {
        const answer = await timedSignIn(slapd.env(mode, { LDAP_SERVER_PORT: String(silent.port) }))
        expect(answer.status).toBe(503)
        expect(answer.ms).toBeLessThan(bound)
      }
    } finally {
      silent.stop(true)
    }
  }, 20_000)

  test('a wrong app password is the server\'s problem: 503, and the log names the variables to check', async () => {
    const answer = await timedSignIn(slapd.env('plain', { LDAP_APP_PASSWORD: `wrong-${crypto.randomUUID()}` }))
    expect(answer.status).toBe(503)
    expect(answer.logText).toContain('LDAP_APP_DN and LDAP_APP_PASSWORD')
    expect(answer.audit.at(-1)?.reason).toBe('directory_app_bind_refused')
  })

  test('a search base that does not exist: 503 with the directory\'s reason in the log', async () => {
    const answer = await timedSignIn(slapd.env('plain', { LDAP_SEARCH_BASE: 'ou=nowhere,dc=example,dc=org' }))
    expect(answer.status).toBe(503)
    expect(answer.logText).toContain('LDAP_SEARCH_BASE')
  })
})

describe('rate limits: the same as password sign-in', () => {
  test('the 4th attempt for one username gets 429 with Retry-After, even with the right password', async () => {
    const { app, audit } = startLdapApp(slapd.env('plain', { SIGNIN_RATE_LIMIT: '3/1m' }))
    for (let i = 0; i < 3; i++) expect((await ldapSignIn(app, i === 1 ? 'BOB' : 'bob', 'wrong')).status).toBe(400)
    const limited = await ldapSignIn(app, 'bob', pw('bob'))
    expect(limited).toMatchObject({ status: 429, body: { code: 'rate_limited' }, cookie: null })
    expect(Number(limited.retryAfter)).toBeGreaterThan(0)
    expect((await ldapSignIn(app, 'alice', pw('alice'))).status).toBe(200)
    expect(audit.entries.filter((entry) => entry.event === 'rate_limited')).toMatchObject([{ method: 'ldap', reason: 'per_account' }])
  })

  test('the per-IP budget is shared between password and LDAP sign-in', async () => {
    const { app } = startLdapApp(slapd.env('plain', { SIGNIN_RATE_LIMIT_PER_IP: '4/1m' }))
    for (let i = 0; i < 2; i++) expect((await app.handle(req('POST', '/api/v1/auths/signin', { email: `x${i}@example.org`, password: 'nope' }))).status).toBe(400)
    for (const user of ['alice', 'carol']) expect((await ldapSignIn(app, user, 'nope')).status).toBe(400)
    expect((await ldapSignIn(app, 'bob', pw('bob'))).status).toBe(429)
  })

  test('blank passwords count against the limit too', async () => {
    const { app } = startLdapApp(slapd.env('plain', { SIGNIN_RATE_LIMIT: '2/1m' }))
    for (let i = 0; i < 2; i++) expect((await ldapSignIn(app, 'bob', '')).status).toBe(400)
    expect((await ldapSignIn(app, 'bob', '')).status).toBe(429)
  })
})

test('no socket is left open after sign-ins, refusals and failures', async () => {
  const openSockets = () => readdirSync('/proc/self/fd').filter((fd) => {
    try { return readlinkSync(`/proc/self/fd/${fd}`).startsWith('socket:') } catch { return false }
  }).length
  const { app } = startLdapApp(slapd.env('starttls', { LDAP_ALLOWED_GROUPS: 'chatters' }), { timeoutMs: TIMEOUT_MS })
  const wrongCa = startLdapApp(slapd.env('ldaps', { LDAP_CA_CERT_FILE: slapd.otherCaFile }), { timeoutMs: TIMEOUT_MS })
  await ldapSignIn(app, 'bob', pw('bob'))
  const before = openSockets()
  for (let i = 0; i < 5; i++) {
    expect((await ldapSignIn(app, 'bob', pw('bob'))).status).toBe(200)
    expect((await ldapSignIn(app, 'bob', 'wrong')).status).toBe(400)
    expect((await ldapSignIn(app, 'mallory', 'wrong')).status).toBe(400)
    expect((await ldapSignIn(app, 'carol', pw('carol'))).status).toBe(400)
    expect((await ldapSignIn(wrongCa.app, 'bob', pw('bob'))).status).toBe(503)
  }
  await Bun.sleep(100)
  expect(openSockets()).toBeLessThanOrEqual(before)
}, 30_000)
