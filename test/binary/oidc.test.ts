import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { chmodSync, existsSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { runBinary, startBinary, tempDirsRemovedAfterAll } from '../helpers/binary.ts'
import { startOidcProvider, type TestOidcProvider } from '../helpers/oidc-provider.ts'
import { signIn, type CookieJar } from '../helpers/sso-browser.ts'

const tempDir = tempDirsRemovedAfterAll()
let op: TestOidcProvider
beforeAll(async () => { op = await startOidcProvider() })
afterAll(async () => { await op.stop() })

describe('single sign-on in the compiled binary', () => {
  test('signs in through the provider, with the client secret from a 0600 file', async () => {
    const cwd = tempDir()
    const secret = `secret-${crypto.randomUUID()}`
    writeFileSync(join(cwd, 'oidc-secret'), `${secret}\n`, { mode: 0o600 })
    const clientId = `enclave-bin-${crypto.randomUUID()}`
    const server = await startBinary({
      cwd, args: ['--port', '0'],
      env: { OAUTH_CLIENT_ID: clientId, OAUTH_CLIENT_SECRET_FILE: 'oidc-secret', OPENID_PROVIDER_URL: op.issuer, ENABLE_OAUTH_SIGNUP: 'true', OAUTH_PROVIDER_NAME: 'Test SSO' },
    })
    try {
      op.registerClient({ clientId, clientSecret: secret, redirectUris: [`${server.url}/oauth/oidc/login/callback`] })
      const config = await (await fetch(`${server.url}/api/config`)).json() as { oauth: { providers: Record<string, string> } }
      expect(config.oauth.providers).toEqual({ oidc: 'Test SSO' })
      const jar: CookieJar = new Map()
      expect((await signIn(jar, server.url, op, 'bob')).location).toBe('/')
      const me = await fetch(`${server.url}/api/v1/auths/`, { headers: { cookie: `token=${jar.get('token')}` } })
      expect(await me.json()).toMatchObject({ email: 'bob@example.org' })
      expect(server.output()).not.toContain(secret)
    } finally {
      expect(await server.stop()).toBe(0)
    }
  }, 30_000)

  test('a half-configured provider stops the start, naming the variable', async () => {
    const cwd = tempDir()
    const run = await runBinary(['serve', '--port', '0'], { cwd, env: { OAUTH_CLIENT_ID: 'enclave', OAUTH_CLIENT_SECRET: 'never-printed-secret' } })
    expect(run.code).toBe(1)
    expect(run.stderr).toContain('OPENID_PROVIDER_URL')
    expect(run.output).not.toContain('never-printed-secret')
    expect(existsSync(join(cwd, 'data'))).toBe(false)
  })

  test('a client secret file others may read stops the start before anything is written', async () => {
    const cwd = tempDir()
    writeFileSync(join(cwd, 'oidc-secret'), 'a-secret-in-a-loose-file\n')
    chmodSync(join(cwd, 'oidc-secret'), 0o644)
    const run = await runBinary(['serve', '--port', '0'], { cwd, env: { OAUTH_CLIENT_ID: 'enclave', OAUTH_CLIENT_SECRET_FILE: 'oidc-secret', OPENID_PROVIDER_URL: op.issuer } })
    expect(run.code).toBe(1)
    expect(run.stderr).toContain('OAUTH_CLIENT_SECRET_FILE')
    expect(run.stderr).toContain('chmod 600')
    expect(run.output).not.toContain('a-secret-in-a-loose-file')
    expect(existsSync(join(cwd, 'data'))).toBe(false)
  })
})
