/**
 * The real app, listening on 127.0.0.1 and a free port, configured for single sign-on against a
 * test provider, with its own client registered there (callback and back-channel URLs on its port).
 */
import type { TestOidcProvider } from './oidc-provider.ts'
import { startTestApp } from './test-app.ts'

export type SsoApp = Awaited<ReturnType<typeof startSsoApp>>

/** Starts the app with `env` on top of the provider settings; `providerUrl` overrides the discovery URL. */
export async function startSsoApp(op: TestOidcProvider, env: Record<string, string> = {}, providerUrl: string = op.discoveryUrl) {
  const clientId = `enclave-${crypto.randomUUID()}`
  const clientSecret = `secret-${crypto.randomUUID()}`
  const started = startTestApp({
    OAUTH_CLIENT_ID: clientId, OAUTH_CLIENT_SECRET: clientSecret, OPENID_PROVIDER_URL: providerUrl,
    OAUTH_SCOPES: 'openid email profile groups roles', OAUTH_TIMEOUT: '5', ...env,
  })
  started.app.listen({ hostname: '127.0.0.1', port: 0 })
  const url = `http://127.0.0.1:${started.app.server!.port}`
  op.registerClient({
    clientId, clientSecret,
    redirectUris: [`${url}/oauth/oidc/login/callback`, `${url}/oauth/oidc/callback`],
    postLogoutRedirectUris: [`${url}/`, `${url}/auth`],
    backchannelLogoutUri: `${url}/oauth/backchannel-logout`,
  })
  return {
    ...started, url, clientId, clientSecret,
    stop: () => started.app.stop(true),
  }
}
