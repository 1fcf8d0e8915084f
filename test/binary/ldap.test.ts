/**
 * LDAP through the compiled binary against a real slapd: sign-in works, the app password (given
 * directly or in LDAP_APP_PASSWORD_FILE) never reaches the log, the audit log or `enclave config`,
 * weakened TLS is warned about at start, and misconfiguration refuses the start naming the variable.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { runBinary, startBinary, tempDirsRemovedAfterAll } from '../helpers/binary.ts'
import { startSlapd, type Slapd } from '../helpers/slapd.ts'

const tempDir = tempDirsRemovedAfterAll()
let slapd: Slapd
// note: making keys and starting slapd can take a while on a loaded machine.
beforeAll(async () => { slapd = await startSlapd() }, 30_000)
afterAll(async () => { await slapd?.remove() })

const post = (url: string, body: unknown) =>
  fetch(url, { method: 'POST', body: JSON.stringify(body), headers: { 'content-type': 'application/json' } })

test('sign-in through the binary; no password reaches its output or audit log', async () => {
  const cwd = tempDir()
  const env = { ...slapd.env('starttls', { LDAP_ADMIN_GROUPS: 'admins' }), GLOBAL_LOG_LEVEL: 'DEBUG' }
  const server = await startBinary({ cwd, env })
  const alice = slapd.users.alice!
  let token = ''
  try {
    const config = (await (await fetch(`${server.url}/api/config`)).json()) as { features: { enable_ldap: boolean }; ldap: { label: string } }
    expect(config.features.enable_ldap).toBe(true)
    expect(config.ldap).toEqual({ label: 'LDAP Server' })

    const signin = await post(`${server.url}/api/v1/auths/ldap`, { user: 'alice', password: alice.password })
    expect(signin.status).toBe(200)
    expect(signin.headers.get('set-cookie')).toStartWith('token=')
    const session = (await signin.json()) as { token: string; role: string; email: string }
    expect(session).toMatchObject({ role: 'admin', email: 'alice@example.org' })
    token = session.token
    expect((await post(`${server.url}/api/v1/auths/ldap`, { user: 'alice', password: slapd.users.bob!.password })).status).toBe(400)
    expect((await post(`${server.url}/api/v1/auths/ldap`, { user: 'alice)(uid=*', password: alice.password })).status).toBe(400)

    const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' }
    const settings = await (await fetch(`${server.url}/api/v1/auths/admin/config/ldap`, { headers })).text()
    expect(settings).toContain('"app_dn_password":"***"')
    const check = await (await fetch(`${server.url}/api/v1/auths/admin/config/ldap/test`, { method: 'POST', headers, body: JSON.stringify({ user: 'bob' }) })).json()
    expect(check).toMatchObject({ ok: true, entries_found: 1 })
  } finally {
    await server.stop()
  }
  const audit = readFileSync(join(cwd, 'data', 'audit.log'), 'utf8')
  expect(audit.split('\n').filter(Boolean).map((line) => JSON.parse(line).reason ?? JSON.parse(line).event))
    .toEqual(['signup', 'signin_succeeded', 'wrong_password', 'unknown_account'])
  for (const secret of [slapd.appPassword, alice.password, slapd.users.bob!.password, token]) {
    expect(server.output()).not.toContain(secret)
    expect(audit).not.toContain(secret)
  }
  expect(server.output()).toContain('listening on')
})

test('the directory going away gives 503 from the binary, and its log says why without the password', async () => {
  const cwd = tempDir()
  const env = slapd.env('ldaps', { LDAP_CA_CERT_FILE: slapd.otherCaFile })
  const server = await startBinary({ cwd, env })
  try {
    const res = await post(`${server.url}/api/v1/auths/ldap`, { user: 'bob', password: slapd.users.bob!.password })
    expect(res.status).toBe(503)
  } finally {
    await server.stop()
  }
  expect(server.output()).toContain('is not trusted (SELF_SIGNED_CERT_IN_CHAIN)')
  expect(server.output()).not.toContain(slapd.appPassword)
})

test('`enclave config` shows LDAP_APP_PASSWORD as *** and the password file by its path only', async () => {
  const cwd = tempDir()
  const direct = await runBinary(['config'], { cwd, env: slapd.env('plain') })
  expect(direct.code).toBe(0)
  expect(direct.stdout).toMatch(/LDAP_APP_PASSWORD\s+\*\*\*\s+\[env\]/)
  expect(direct.output).not.toContain(slapd.appPassword)

  const file = join(cwd, 'ldap-app-password')
  writeFileSync(file, `${slapd.appPassword}\n`, { mode: 0o600 })
  const env = { ...slapd.env('plain'), LDAP_APP_PASSWORD: '', LDAP_APP_PASSWORD_FILE: file }
  const viaFile = await runBinary(['config'], { cwd, env })
  expect(viaFile.code).toBe(0)
  expect(viaFile.stdout).toContain(file)
  expect(viaFile.output).not.toContain(slapd.appPassword)

  // The file's password really is the one used.
  const server = await startBinary({ cwd, env })
  try {
    expect((await post(`${server.url}/api/v1/auths/ldap`, { user: 'bob', password: slapd.users.bob!.password })).status).toBe(200)
  } finally {
    await server.stop()
  }
  expect(server.output()).not.toContain(slapd.appPassword)
})

test('weakened TLS is warned about at start', async () => {
  const cwd = tempDir()
  const server = await startBinary({ cwd, env: slapd.env('ldaps', { LDAP_VALIDATE_CERT: 'false' }) })
  await server.stop()
  expect(server.output()).toMatch(/WARNING LDAP_VALIDATE_CERT=false/)

  const plain = await startBinary({ cwd: tempDir(), env: slapd.env('plain') })
  await plain.stop()
  expect(plain.output()).toMatch(/WARNING LDAP_USE_TLS=false without LDAP_USE_STARTTLS/)
})

test.each([
  ['no search base', { ENABLE_LDAP: 'true', LDAP_SERVER_HOST: '127.0.0.1' }, 'LDAP_SEARCH_BASE'],
  ['no host', { ENABLE_LDAP: 'true', LDAP_SEARCH_BASE: 'dc=example,dc=org' }, 'LDAP_SERVER_HOST'],
  ['an unreadable CA file', { ENABLE_LDAP: 'true', LDAP_SERVER_HOST: 'h', LDAP_SEARCH_BASE: 'dc=x', LDAP_CA_CERT_FILE: '/nonexistent/ca.pem' }, 'LDAP_CA_CERT_FILE'],
])('a start with %s is refused, naming the variable', async (_, env, variable) => {
  const cwd = tempDir()
  const result = await runBinary(['serve', '--port', '0'], { cwd, env })
  expect(result.code).toBe(1)
  expect(result.stderr).toContain(`enclave: cannot start: ${variable}=`)
})
