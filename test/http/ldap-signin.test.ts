/**
 * LDAP sign-in against a real OpenLDAP slapd (test/helpers/slapd.ts): the three transports, the
 * local account it creates and keeps in line with the directory, roles and groups, the refusals,
 * and hostile usernames.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { PASSWORD, signIn, signUp } from '../helpers/accounts.ts'
import { ldapSignIn, startLdapApp } from '../helpers/ldap-app.ts'
import { startSlapd, type LdapMode, type Slapd } from '../helpers/slapd.ts'
import { req } from '../helpers/test-app.ts'

let slapd: Slapd
// note: making keys and starting slapd can take a while on a loaded machine.
beforeAll(async () => { slapd = await startSlapd() }, 30_000)
afterAll(async () => { await slapd?.remove() })

const pw = (uid: string) => slapd.users[uid]!.password

describe.each<LdapMode>(['plain', 'ldaps', 'starttls'])('over %s', (mode) => {
  test('the right password signs in with the same session object and cookie as password sign-in', async () => {
    const { app, audit } = startLdapApp(slapd.env(mode))
    const answer = await ldapSignIn(app, 'bob', pw('bob'))
    expect(answer.status).toBe(200)
    expect(answer.body).toMatchObject({ token_type: 'Bearer', email: 'bob@example.org', name: 'Bob Builder', profile_image_url: '/user.png' })
    expect(answer.cookie).toMatch(/^token=eyJ[^;]+; HttpOnly; Path=\/; SameSite=Lax/)
    // The same keys as a password sign-in answers.
    await signUp(app, 'ada@example.com')
    expect(Object.keys(answer.body).sort()).toEqual(Object.keys(await signIn(app, 'ada@example.com')).sort())
    // The token works.
    const me = await app.handle(req('GET', '/api/v1/auths/', undefined, { authorization: `Bearer ${answer.body.token}` }))
    expect(((await me.json()) as { email: string }).email).toBe('bob@example.org')
    expect(audit.entries.filter((entry) => entry.event === 'signin_succeeded').map((entry) => entry.method)).toEqual(['ldap', 'password'])
  })

  test('a wrong password gets the generic 400', async () => {
    const { app } = startLdapApp(slapd.env(mode))
    const answer = await ldapSignIn(app, 'bob', pw('alice'))
    expect(answer).toMatchObject({ status: 400, body: { code: 'invalid_credentials' }, cookie: null })
  })
})

describe('the first account on a server beyond loopback', () => {
  /** A gate like the one a server listening beyond loopback has: only the setup token opens it. */
  const closedGate = () => {
    let isOpen = true
    return { tokenFile: null, admits: (given: string | undefined) => isOpen && given === 'the-setup-token', close: () => { isOpen = false } }
  }

  test('is not made by an LDAP sign-in without LDAP_ADMIN_GROUPS: 403 setup_token_required, nothing created', async () => {
    const { app, deps, audit } = startLdapApp(slapd.env('plain'), { setupGate: closedGate() })
    const answer = await ldapSignIn(app, 'bob', pw('bob'))
    expect(answer).toMatchObject({ status: 403, body: { code: 'setup_token_required' }, cookie: null })
    expect(await deps.store.users.countUsers()).toBe(0)
    expect(audit.entries.at(-1)).toMatchObject({ event: 'signin_failed', method: 'ldap', reason: 'setup_token_required' })
  })

  test('is made when the directory decides the role (LDAP_ADMIN_GROUPS), and the setup token is then spent', async () => {
    const gate = closedGate()
    const { app } = startLdapApp(slapd.env('plain', { LDAP_ADMIN_GROUPS: 'admins' }), { setupGate: gate })
    expect(await ldapSignIn(app, 'alice', pw('alice'))).toMatchObject({ status: 200, body: { role: 'admin' } })
    expect(gate.admits('the-setup-token')).toBe(false)
  })

  test('once an admin exists, LDAP users sign in with the default role', async () => {
    const { app } = startLdapApp(slapd.env('plain'), { setupGate: closedGate() })
    const admin = await app.handle(req('POST', '/api/v1/auths/signup', { name: 'Root', email: 'root@example.com', password: PASSWORD, setup_token: 'the-setup-token' }))
    expect(admin.status).toBe(200)
    expect(await ldapSignIn(app, 'bob', pw('bob'))).toMatchObject({ status: 200, body: { role: 'pending' } })
  })
})

describe('the local account', () => {
  test('is created on the first sign-in and reused after (one user, one identity link)', async () => {
    const { app, deps } = startLdapApp(slapd.env('ldaps'))
    const first = await ldapSignIn(app, 'bob', pw('bob'))
    const second = await ldapSignIn(app, ' bob ', pw('bob'))
    expect(second.body.id).toBe(first.body.id as string)
    expect(await deps.store.users.countUsers()).toBe(1)
    const links = await deps.store.identities.listIdentitiesOfUser(first.body.id as never)
    expect(links).toHaveLength(1)
    expect(links[0]!.subject).toMatch(/^uuid:[0-9a-f-]{36}$/)
  })

  test('the link follows the entry (entryUUID), not its DN: a moved entry keeps its account', async () => {
    const { app } = startLdapApp(slapd.env('plain'))
    const before = await ldapSignIn(app, 'carol', pw('carol'))
    const moved = `uid=carol,ou=contractors,dc=example,dc=org`
    await slapd.asRoot((client) => client.modifyDN(slapd.users.carol!.dn, moved))
    try {
      expect((await slapd.asRoot((client) => client.search(moved, { scope: 'base' }))).searchEntries).toHaveLength(1)
      const after = await ldapSignIn(app, 'carol', pw('carol'))
      expect(after.status).toBe(200)
      expect(after.body.id).toBe(before.body.id as string)
    } finally {
      await slapd.asRoot((client) => client.modifyDN(moved, slapd.users.carol!.dn))
    }
  })

  test('the first account ever becomes admin (as Open WebUI), later ones get DEFAULT_USER_ROLE', async () => {
    const { app } = startLdapApp(slapd.env('plain'))
    expect((await ldapSignIn(app, 'carol', pw('carol'))).body.role).toBe('admin')
    expect((await ldapSignIn(app, 'bob', pw('bob'))).body.role).toBe('pending')
  })

  test('name and email follow the directory at each sign-in', async () => {
    const { app, deps } = startLdapApp(slapd.env('plain'))
    const before = await ldapSignIn(app, 'erin', pw('erin'))
    expect(before.body).toMatchObject({ name: 'Erin Local', email: 'erin@example.org' })
    await slapd.setAttribute('erin', 'cn', 'Erin Renamed')
    await slapd.setAttribute('erin', 'mail', 'Erin.New@Example.org')
    try {
      const after = await ldapSignIn(app, 'erin', pw('erin'))
      expect(after.body).toMatchObject({ id: before.body.id, name: 'Erin Renamed', email: 'erin.new@example.org' })
      expect((await deps.store.users.findUserByEmail('erin.new@example.org'))?.id).toBe(before.body.id as never)
      expect(await deps.store.users.findUserByEmail('erin@example.org')).toBeNull()
    } finally {
      await slapd.setAttribute('erin', 'cn', 'Erin Local')
      await slapd.setAttribute('erin', 'mail', 'erin@example.org')
    }
  })

  test('a local account with the same email is never taken over: 409, and it stays as it was', async () => {
    const { app, deps, audit } = startLdapApp(slapd.env('plain'))
    const local = await signUp(app, 'erin@example.org')
    const answer = await ldapSignIn(app, 'erin', pw('erin'))
    expect(answer).toMatchObject({ status: 409, body: { code: 'email_taken' }, cookie: null })
    expect(await deps.store.identities.listIdentitiesOfUser(local.id as never)).toEqual([])
    expect((await signIn(app, 'erin@example.org', PASSWORD)).id).toBe(local.id)
    expect(audit.entries.at(-2)).toMatchObject({ event: 'signin_failed', method: 'ldap', reason: 'email_taken' })
  })

  test('an entry without an email address is refused after its password was checked', async () => {
    const { app, deps } = startLdapApp(slapd.env('plain'))
    expect((await ldapSignIn(app, 'nomail', 'wrong')).status).toBe(400)
    expect(await ldapSignIn(app, 'nomail', pw('nomail'))).toMatchObject({ status: 400, body: { code: 'ldap_no_email' } })
    expect(await deps.store.users.countUsers()).toBe(0)
  })

  test('an account made by LDAP has no local password: password sign-in with the directory password fails', async () => {
    const { app } = startLdapApp(slapd.env('plain'))
    await ldapSignIn(app, 'bob', pw('bob'))
    const res = await app.handle(req('POST', '/api/v1/auths/signin', { email: 'bob@example.org', password: pw('bob') }))
    expect(res.status).toBe(400)
  })
})

describe('roles and groups from the directory', () => {
  test('LDAP_ADMIN_GROUPS makes members admins; leaving the group demotes at the next sign-in', async () => {
    const { app, audit } = startLdapApp(slapd.env('starttls', { LDAP_ADMIN_GROUPS: 'admins' }))
    expect((await ldapSignIn(app, 'bob', pw('bob'))).body.role).toBe('pending')
    const alice = await ldapSignIn(app, 'alice', pw('alice'))
    expect(alice.body.role).toBe('admin')
    await slapd.setMembership('admins', 'alice', false)
    try {
      expect((await ldapSignIn(app, 'alice', pw('alice'))).body.role).toBe('user')
      // The old session now carries the lesser role too: roles are read per request.
      const me = await app.handle(req('GET', '/api/v1/auths/', undefined, { authorization: `Bearer ${alice.body.token}` }))
      expect(((await me.json()) as { role: string }).role).toBe('user')
    } finally {
      await slapd.setMembership('admins', 'alice', true)
    }
    expect((await ldapSignIn(app, 'alice', pw('alice'))).body.role).toBe('admin')
    expect(audit.entries.filter((entry) => entry.event === 'role_changed').map((entry) => entry.details)).toEqual([{ from: 'admin', to: 'user' }, { from: 'user', to: 'admin' }])
  })

  test('LDAP_ADMIN_GROUPS by DN works the same, and the first user is not made admin by being first', async () => {
    const { app } = startLdapApp(slapd.env('plain', { LDAP_ADMIN_GROUPS: 'CN=Admins, OU=groups, DC=example, DC=org' }))
    expect((await ldapSignIn(app, 'bob', pw('bob'))).body.role).toBe('pending')
    expect((await ldapSignIn(app, 'alice', pw('alice'))).body.role).toBe('admin')
  })

  test('LDAP_ALLOWED_GROUPS: outsiders get the generic 400 even with the right password; the audit says why', async () => {
    const { app, audit, deps } = startLdapApp(slapd.env('plain', { LDAP_ALLOWED_GROUPS: 'chatters' }))
    const carol = await ldapSignIn(app, 'carol', pw('carol'))
    const wrong = await ldapSignIn(app, 'carol', 'not her password')
    expect(carol).toMatchObject({ status: 400, body: { code: 'invalid_credentials' }, cookie: null })
    expect(carol.body).toEqual(wrong.body)
    expect(audit.entries.map((entry) => entry.reason).filter(Boolean)).toEqual(['not_in_allowed_groups', 'wrong_password'])
    expect(await deps.store.users.countUsers()).toBe(0)
    expect((await ldapSignIn(app, 'bob', pw('bob'))).status).toBe(200)
  })

  test('group management syncs memberships, creating groups only with ENABLE_LDAP_GROUP_CREATION', async () => {
    const creating = startLdapApp(slapd.env('plain', { ENABLE_LDAP_GROUP_MANAGEMENT: 'true', ENABLE_LDAP_GROUP_CREATION: 'true' }))
    const alice = await ldapSignIn(creating.app, 'alice', pw('alice'))
    expect((await creating.deps.store.groups.listGroupsOfUser(alice.body.id as never)).map((group) => group.name).sort()).toEqual(['admins', 'chatters'])
    await slapd.setMembership('chatters', 'alice', false)
    try {
      await ldapSignIn(creating.app, 'alice', pw('alice'))
      expect((await creating.deps.store.groups.listGroupsOfUser(alice.body.id as never)).map((group) => group.name)).toEqual(['admins'])
    } finally {
      await slapd.setMembership('chatters', 'alice', true)
    }

    const existingOnly = startLdapApp(slapd.env('plain', { ENABLE_LDAP_GROUP_MANAGEMENT: 'true' }))
    await existingOnly.deps.store.groups.ensureGroup('Chatters', 'local')
    const bob = await ldapSignIn(existingOnly.app, 'bob', pw('bob'))
    const alice2 = await ldapSignIn(existingOnly.app, 'alice', pw('alice'))
    expect((await existingOnly.deps.store.groups.listGroupsOfUser(bob.body.id as never)).map((group) => group.name)).toEqual(['Chatters'])
    expect((await existingOnly.deps.store.groups.listGroupsOfUser(alice2.body.id as never)).map((group) => group.name)).toEqual(['Chatters'])
    expect(await existingOnly.deps.store.groups.listGroups()).toHaveLength(1)
  })

  test('without group management no groups are touched', async () => {
    const { app, deps } = startLdapApp(slapd.env('plain'))
    await ldapSignIn(app, 'alice', pw('alice'))
    expect(await deps.store.groups.listGroups()).toEqual([])
  })
})

describe('refusals', () => {
  test('an unknown user gets the same answer as a wrong password; the audit log tells them apart', async () => {
    const { app, audit } = startLdapApp(slapd.env('plain'))
    const unknown = await ldapSignIn(app, 'mallory', 'whatever')
    const wrong = await ldapSignIn(app, 'bob', 'whatever')
    expect(unknown.status).toBe(400)
    expect(unknown.body).toEqual(wrong.body)
    expect(audit.entries.map((entry) => entry.reason)).toEqual(['unknown_account', 'wrong_password'])
  })

  test('two entries with the username: refused, not a guess', async () => {
    const { app, audit } = startLdapApp(slapd.env('plain'))
    expect((await ldapSignIn(app, 'twin', slapd.users.twin!.password)).status).toBe(400)
    expect((await ldapSignIn(app, 'twin', slapd.users['twin@contractors']!.password)).status).toBe(400)
    expect(audit.entries.map((entry) => entry.reason)).toEqual(['ambiguous_account', 'ambiguous_account'])
  })

  test('LDAP_SEARCH_FILTER narrows who is found (and so lets one of two twins in)', async () => {
    const { app } = startLdapApp(slapd.env('plain', { LDAP_SEARCH_FILTER: '(mail=twin2@example.org)' }))
    expect((await ldapSignIn(app, 'twin', slapd.users['twin@contractors']!.password)).status).toBe(200)
    expect((await ldapSignIn(app, 'bob', pw('bob'))).status).toBe(400)
  })

  test.each([
    ['an empty password', ''],
    ['a blank password', '   '],
    ['a tab and newline', '\t\n'],
  ])('%s is refused before the directory is asked (an empty simple bind is anonymous)', async (_, password) => {
    // Port 1 answers nothing: had the directory been asked, this would be 503, not 400.
    const { app, audit } = startLdapApp({ ...slapd.env('plain'), LDAP_SERVER_PORT: '1' })
    expect(await ldapSignIn(app, 'bob', password)).toMatchObject({ status: 400, body: { code: 'invalid_credentials' } })
    expect(audit.entries.at(-1)).toMatchObject({ event: 'signin_failed', method: 'ldap', reason: 'blank_password' })
  })

  test('an empty username is refused the same way', async () => {
    const { app } = startLdapApp({ ...slapd.env('plain'), LDAP_SERVER_PORT: '1' })
    expect((await ldapSignIn(app, '  ', 'x')).status).toBe(400)
  })

  test.each([
    ['missing password', { user: 'bob' }],
    ['missing user', { password: 'x' }],
    ['a number as user', { user: 42, password: 'x' }],
    ['a 5 KB password', { user: 'bob', password: 'x'.repeat(5000) }],
    ['a 3 KB username', { user: 'b'.repeat(3000), password: 'x' }],
  ])('a malformed body (%s) gets 422 and no session', async (_, body) => {
    const { app } = startLdapApp(slapd.env('plain'))
    const res = await app.handle(req('POST', '/api/v1/auths/ldap', body))
    expect(res.status).toBe(422)
    expect(res.headers.get('set-cookie')).toBeNull()
  })

  test('LDAP off: 400 ldap_disabled (as Open WebUI), and /api/config says so', async () => {
    const { app } = startLdapApp({})
    expect(await ldapSignIn(app, 'bob', 'x')).toMatchObject({ status: 400, body: { code: 'ldap_disabled' } })
    const config = (await (await app.handle(req('GET', '/api/config'))).json()) as Record<string, unknown>
    expect((config.features as Record<string, unknown>).enable_ldap).toBe(false)
    expect(config).not.toHaveProperty('ldap')
  })

  test('ENABLE_PASSWORD_AUTH=false turns LDAP sign-in off too', async () => {
    const { app } = startLdapApp(slapd.env('plain', { ENABLE_PASSWORD_AUTH: 'false' }))
    expect(await ldapSignIn(app, 'bob', pw('bob'))).toMatchObject({ status: 403, body: { code: 'password_auth_disabled' } })
    const config = (await (await app.handle(req('GET', '/api/config'))).json()) as Record<string, unknown>
    expect((config.features as Record<string, unknown>).enable_ldap).toBe(false)
    expect(config).not.toHaveProperty('ldap')
  })

  test('LDAP on: /api/config has features.enable_ldap and ldap.label, and nothing else about the directory', async () => {
    const { app } = startLdapApp(slapd.env('plain', { LDAP_SERVER_LABEL: 'Corp Directory' }))
    const text = await (await app.handle(req('GET', '/api/config'))).text()
    const config = JSON.parse(text) as Record<string, unknown>
    expect((config.features as Record<string, unknown>).enable_ldap).toBe(true)
    expect(config.ldap).toEqual({ label: 'Corp Directory' })
    for (const hidden of [slapd.appPassword, 'cn=app', '127.0.0.1', 'dc=example']) expect(text).not.toContain(hidden)
  })
})

describe('hostile usernames neither match nor error', () => {
  test.each([
    ['*'],
    ['admin)(uid=*'],
    ['*)(uid=*'],
    ['bob)(|(uid=*'],
    ['al*'],
    ['\\00'],
    ['bob\0'],
    ['('],
    [')'],
    ['()'],
    ['\\2a'],
    ['x'.repeat(1024)],
    ['(&(uid=bob))'],
    ['bob)(objectClass=*'],
    ['ボブ'],
  ])('%p with a real password answers the generic 400', async (user) => {
    const { app, audit, logLines } = startLdapApp(slapd.env('plain'))
    for (const password of [pw('bob'), pw('alice')]) {
      const answer = await ldapSignIn(app, user, password)
      expect(answer).toMatchObject({ status: 400, body: { code: 'invalid_credentials' }, cookie: null })
    }
    expect(audit.entries.map((entry) => entry.reason)).toEqual(['unknown_account', 'unknown_account'])
    expect(logLines).toEqual([])
  })
})
