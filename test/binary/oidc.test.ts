import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { chmodSync, existsSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { runBinary, startBinary, tempDirsRemovedAfterAll } from '../helpers/binary.ts'
import { freePort } from '../helpers/nginx.ts'
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
    const port = freePort()
    const server = await startBinary({
      cwd, args: ['--port', String(port)],
      env: { OAUTH_CLIENT_ID: clientId, OAUTH_CLIENT_SECRET_FILE: 'oidc-secret', OPENID_PROVIDER_URL: op.issuer, ENABLE_OAUTH_SIGNUP: 'true', OAUTH_PROVIDER_NAME: 'Test SSO', WEBUI_URL: `http://127.0.0.1:${port}` },
    })
    try {
      op.registerClient({ clientId, clientSecret: secret, redirectUris: [`${server.url}/oauth/oidc/login/callback`] })
      // note: a foreign Host is refused outright (the Host check); a loopback name WEBUI_URL does not use still gets WEBUI_URL's callback.
      expect((await fetch(`${server.url}/oauth/oidc/login`, { redirect: 'manual', headers: { host: 'evil.example' } })).status).toBe(421)
      const forged = await fetch(`${server.url}/oauth/oidc/login`, { redirect: 'manual', headers: { host: `localhost:${port}` } })
      expect(new URL(forged.headers.get('location')!).searchParams.get('redirect_uri')).toBe(`http://127.0.0.1:${port}/oauth/oidc/login/callback`)
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

  test('a provider without WEBUI_URL stops the start, naming both variables', async () => {
    const cwd = tempDir()
    const run = await runBinary(['serve', '--port', '0'], { cwd, env: { OAUTH_CLIENT_ID: 'enclave', OAUTH_CLIENT_SECRET: 'never-printed-secret', OPENID_PROVIDER_URL: op.issuer } })
    expect(run.code).toBe(1)
    expect(run.stderr).toContain('WEBUI_URL')
    expect(run.stderr).toContain('OAUTH_CLIENT_ID is set, so set WEBUI_URL or OPENID_REDIRECT_URI')
    expect(run.output).not.toContain('never-printed-secret')
    expect(existsSync(join(cwd, 'data'))).toBe(false)
  })

  test('a client secret file others may read stops the start before anything is written', async () => {
    const cwd = tempDir()
    writeFileSync(join(cwd, 'oidc-secret'), 'a-secret-in-a-loose-file\n')
    chmodSync(join(cwd, 'oidc-secret'), 0o644)
    const run = await runBinary(['serve', '--port', '0'], { cwd, env: { OAUTH_CLIENT_ID: 'enclave', OAUTH_CLIENT_SECRET_FILE: 'oidc-secret', OPENID_PROVIDER_URL: op.issuer, WEBUI_URL: 'https://chat.example.com' } })
    expect(run.code).toBe(1)
    expect(run.stderr).toContain('OAUTH_CLIENT_SECRET_FILE')
    expect(run.stderr).toContain('chmod 600')
    expect(run.output).not.toContain('a-secret-in-a-loose-file')
    expect(existsSync(join(cwd, 'data'))).toBe(false)
  })
})
