import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { startOidcProvider, type TestOidcProvider } from '../helpers/oidc-provider.ts'
import { startSsoApp } from '../helpers/sso-app.ts'
import { signIn, type CookieJar } from '../helpers/sso-browser.ts'

let op: TestOidcProvider
beforeAll(async () => { op = await startOidcProvider() })
afterAll(async () => { await op.stop() })

describe('single sign-on against a real OpenID provider', () => {
  test('first sign-in creates the user when sign-up is on; the session cookie works', async () => {
    const app = await startSsoApp(op, { ENABLE_OAUTH_SIGNUP: 'true' })
    const jar: CookieJar = new Map()
    const outcome = await signIn(jar, app.url, op, 'bob')
    expect(outcome.location).toBe('/')
    expect(jar.get('token')).toBeString()
    const me = await fetch(`${app.url}/api/v1/auths/`, { headers: { cookie: `token=${jar.get('token')}` } })
    expect(me.status).toBe(200)
    expect(await me.json()).toMatchObject({ email: 'bob@example.org', name: 'Bob Builder' })
    await app.stop()
  })
})
