/**
 * A directory account with an authenticator app: the directory's password is the first step only;
 * the code finishes the sign-in, and wrong codes count toward the LDAP username's sign-in limit.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { TOTP_STEP_MS } from '../../src/auth/totp.ts'
import { signUp } from '../helpers/accounts.ts'
import { ldapSignIn, startLdapApp } from '../helpers/ldap-app.ts'
import { codeAt, enrolTotp } from '../helpers/second-factor.ts'
import { startSlapd, type Slapd } from '../helpers/slapd.ts'
import { req } from '../helpers/test-app.ts'

let slapd: Slapd
beforeAll(async () => { slapd = await startSlapd() }, 30_000)
afterAll(async () => { await slapd?.remove() })

test('LDAP sign-in asks for the second factor; wrong codes hit the limit for that username', async () => {
  let at = Date.now()
  const { app } = startLdapApp({ ...slapd.env('plain'), SIGNIN_RATE_LIMIT: '3/3m', DEFAULT_USER_ROLE: 'user' }, { now: () => at })
  await signUp(app, 'ada@example.com')
  const password = slapd.users.bob!.password
  const first = await ldapSignIn(app, 'bob', password)
  expect(first.status).toBe(200)
  const { secret } = await enrolTotp(app, { authorization: `Bearer ${first.body.token as string}` }, at)
  at += TOTP_STEP_MS

  const challenged = await ldapSignIn(app, 'bob', password)
  expect(challenged).toMatchObject({ status: 401, cookie: null, body: { code: 'second_factor_required' } })
  expect(challenged.body.token).toBeUndefined()
  const token = challenged.body.mfa_token as string
  const step = (code: string) => app.handle(req('POST', '/api/v1/auths/signin/mfa', { mfa_token: token, code }))
  expect((await step(codeAt(secret, at))).status).toBe(200)

  const again = (await ldapSignIn(app, 'bob', password)).body.mfa_token as string
  for (let i = 0; i < 3; i++) expect((await app.handle(req('POST', '/api/v1/auths/signin/mfa', { mfa_token: again, code: '000000' }))).status).toBe(400)
  expect((await app.handle(req('POST', '/api/v1/auths/signin/mfa', { mfa_token: again, code: codeAt(secret, at + TOTP_STEP_MS) }))).status).toBe(429)
  expect((await ldapSignIn(app, 'BOB', password)).status).toBe(429)
})
