/**
 * The configured sign-in providers, spoken to through openid-client v6, which does the protocol:
 * discovery, the authorization URL, the code exchange with PKCE, and the ID token's checks (issuer,
 * audience, expiry, nonce, signature against the provider's keys). Discovery happens at the first
 * sign-in and is kept; a failed one is retried at the next, so a provider that was down at start
 * costs nothing once it is back. Every request to a provider is bounded by OAUTH_TIMEOUT.
 * openid-client is imported at the first use, so a server without SSO never loads it.
 */
import type * as OpenId from 'openid-client'
import type { OAuthConfig, OAuthProviderConfig } from '../config/oauth-variables.ts'
import { readKeyFile } from '../crypto/key-files.ts'
import type { ProviderTokens } from '../db/oidc-sessions.ts'
import { mergeClaims, type Claims } from './oidc-claims.ts'

/** What the browser's sealed cookie carries between the redirect and the callback. */
export type LoginFlow = { provider: string; state: string; nonce: string; verifier: string; redirectUri: string }

export type FinishedLogin = { issuer: string; claims: Claims; sid: string | null; tokens: ProviderTokens }

export type ProviderFailure = 'provider_unreachable' | 'provider_refused' | 'invalid_response'

export type StartResult = { ok: true; url: URL; flow: LoginFlow } | { ok: false; reason: ProviderFailure; detail: string }
export type FinishResult = { ok: true; login: FinishedLogin } | { ok: false; reason: ProviderFailure | 'access_denied'; detail: string }

/** Where GitHub's OAuth endpoints and API are; tests point these at a stand-in. */
export type GitHubEndpoints = { authorization: string; token: string; api: string }

const GITHUB_ISSUER = 'https://github.com'
const GITHUB: GitHubEndpoints = {
  authorization: 'https://github.com/login/oauth/authorize',
  token: 'https://github.com/login/oauth/access_token',
  api: 'https://api.github.com',
}

/** Builds the provider clients from the configuration; reads *_FILE secrets now, so a bad file stops the start. */
export function createOidcProviders(oauth: OAuthConfig, options: { github?: GitHubEndpoints } = {}) {
  const github = options.github ?? GITHUB
  const secrets = new Map(oauth.providers.map((provider) => [provider.id, readSecret(provider)]))
  const configurations = new Map<string, Promise<OpenId.Configuration>>()

  function clientAuthOf(client: typeof OpenId, provider: OAuthProviderConfig): OpenId.ClientAuth {
    const secret = secrets.get(provider.id) ?? undefined
    switch (provider.tokenEndpointAuthMethod) {
      case 'client_secret_basic': return client.ClientSecretBasic(secret)
      case 'client_secret_post': return client.ClientSecretPost(secret)
      case 'none': return client.None()
    }
  }

  async function discover(provider: OAuthProviderConfig): Promise<OpenId.Configuration> {
    const client = await loadOpenIdClient()
    const secret = secrets.get(provider.id) ?? undefined
    if (provider.kind === 'github') {
      const metadata = { issuer: GITHUB_ISSUER, authorization_endpoint: github.authorization, token_endpoint: github.token }
      const configuration = new client.Configuration(metadata, provider.clientId, secret, clientAuthOf(client, provider))
      if (github.token.startsWith('http:')) client.allowInsecureRequests(configuration)
      configuration.timeout = oauth.timeoutSeconds
      return configuration
    }
    const url = new URL(provider.discoveryUrl!)
    // note: plain http is accepted only when the operator configured an http:// provider URL.
    const execute = url.protocol === 'http:' ? [client.allowInsecureRequests] : []
    const configuration = await client.discovery(url, provider.clientId, secret, clientAuthOf(client, provider), { execute, timeout: oauth.timeoutSeconds })
    configuration.timeout = oauth.timeoutSeconds
    return configuration
  }

  /** The provider's configuration, discovering it on first use; a failure is forgotten, so the next call retries. */
  function configurationOf(provider: OAuthProviderConfig): Promise<OpenId.Configuration> {
    let pending = configurations.get(provider.id)
    if (pending === undefined) {
      pending = discover(provider)
      configurations.set(provider.id, pending)
      pending.catch(() => configurations.delete(provider.id))
    }
    return pending
  }

  return {
    providers: oauth.providers,

    /** The provider with that id, or null when none is configured. */
    findProvider(id: string): OAuthProviderConfig | null {
      return oauth.providers.find((provider) => provider.id === id) ?? null
    },

    configurationOf,

    /** Builds the authorization URL with a fresh state, nonce and PKCE S256 verifier. */
    async startLogin(provider: OAuthProviderConfig, redirectUri: string): Promise<StartResult> {
      let configuration: OpenId.Configuration
      try {
        configuration = await configurationOf(provider)
      } catch (error) {
        return { ok: false, reason: 'provider_unreachable', detail: describe(error) }
      }
      const client = await loadOpenIdClient()
      const flow: LoginFlow = { provider: provider.id, state: client.randomState(), nonce: client.randomNonce(), verifier: client.randomPKCECodeVerifier(), redirectUri }
      const parameters: Record<string, string> = {
        redirect_uri: redirectUri, scope: provider.scopes, state: flow.state,
        code_challenge: await client.calculatePKCECodeChallenge(flow.verifier), code_challenge_method: 'S256',
      }
      if (provider.kind === 'oidc') parameters.nonce = flow.nonce
      if (provider.audience !== null) parameters.audience = provider.audience
      return { ok: true, url: client.buildAuthorizationUrl(configuration, parameters), flow }
    },

    /** Exchanges the callback's code and reads who signed in: ID token claims merged with userinfo. */
    async finishLogin(provider: OAuthProviderConfig, query: URLSearchParams, flow: LoginFlow): Promise<FinishResult> {
      let configuration: OpenId.Configuration
      try {
        configuration = await configurationOf(provider)
      } catch (error) {
        return { ok: false, reason: 'provider_unreachable', detail: describe(error) }
      }
      const client = await loadOpenIdClient()
      const currentUrl = new URL(flow.redirectUri)
      for (const [key, value] of query) currentUrl.searchParams.append(key, value)
      try {
        const tokens = await client.authorizationCodeGrant(configuration, currentUrl, {
          pkceCodeVerifier: flow.verifier, expectedState: flow.state,
          ...(provider.kind === 'oidc' ? { expectedNonce: flow.nonce, idTokenExpected: true } : {}),
        })
        const stored: ProviderTokens = { idToken: tokens.id_token ?? null, accessToken: tokens.access_token, refreshToken: tokens.refresh_token ?? null }
        if (provider.kind === 'github') {
          return { ok: true, login: { issuer: GITHUB_ISSUER, claims: await readGitHubClaims(github.api, tokens.access_token, oauth.timeoutSeconds), sid: null, tokens: stored } }
        }
        const idClaims = tokens.claims()! as Claims
        const userinfo = configuration.serverMetadata().userinfo_endpoint === undefined ? null
          : await client.fetchUserInfo(configuration, tokens.access_token, String(idClaims.sub)) as Claims
        const sid = typeof idClaims.sid === 'string' ? idClaims.sid : null
        return { ok: true, login: { issuer: String(idClaims.iss), claims: mergeClaims(idClaims, userinfo), sid, tokens: stored } }
      } catch (error) {
        if (error instanceof client.AuthorizationResponseError && error.error === 'access_denied') return { ok: false, reason: 'access_denied', detail: describe(error) }
        const refused = error instanceof client.ResponseBodyError || error instanceof client.AuthorizationResponseError || error instanceof client.WWWAuthenticateChallengeError
        const reason = refused ? 'provider_refused'
          : isNetworkError(error) ? 'provider_unreachable' : 'invalid_response'
        return { ok: false, reason, detail: describe(error) }
      }
    },

    /** The provider's end-session URL for this ID token, or null when it has none. */
    async buildSignOutUrl(providerId: string, idToken: string | null, postLogoutRedirect: string | null): Promise<URL | null> {
      const provider = oauth.providers.find((entry) => entry.id === providerId)
      if (provider === undefined || provider.kind !== 'oidc') return null
      let configuration: OpenId.Configuration
      try {
        configuration = await configurationOf(provider)
      } catch {
        return null
      }
      if (configuration.serverMetadata().end_session_endpoint === undefined) return null
      const client = await loadOpenIdClient()
      const parameters: Record<string, string> = { client_id: provider.clientId }
      if (idToken !== null) parameters.id_token_hint = idToken
      if (postLogoutRedirect !== null) parameters.post_logout_redirect_uri = postLogoutRedirect
      return client.buildEndSessionUrl(configuration, parameters)
    },
  }
}

export type OidcProviders = ReturnType<typeof createOidcProviders>

/** openid-client, evaluated at the first sign-in rather than at start. */
function loadOpenIdClient(): Promise<typeof OpenId> {
  return import('openid-client')
}

function readSecret(provider: OAuthProviderConfig): string | null {
  const source = provider.clientSecret
  if (source === null) return null
  return 'value' in source ? source.value : readKeyFile(source.file, source.variable)
}

/** GitHub is plain OAuth 2: the person comes from its API, with the primary email only when GitHub verified it. */
async function readGitHubClaims(api: string, accessToken: string, timeoutSeconds: number): Promise<Claims> {
  const get = async (path: string) => {
    const response = await fetch(`${api}${path}`, {
      headers: { authorization: `Bearer ${accessToken}`, accept: 'application/vnd.github+json', 'user-agent': 'Enclave' },
      signal: AbortSignal.timeout(timeoutSeconds * 1000),
    })
    if (!response.ok) throw new Error(`GitHub API ${path} answered ${response.status}`)
    return response.json() as Promise<unknown>
  }
  const user = await get('/user') as { id?: unknown; login?: unknown; name?: unknown; avatar_url?: unknown }
  const emails = await get('/user/emails') as { email?: unknown; primary?: unknown; verified?: unknown }[]
  if (typeof user.id !== 'number' || !Array.isArray(emails)) throw new Error('GitHub API answered an unexpected shape')
  const primary = emails.find((entry) => entry.primary === true && entry.verified === true && typeof entry.email === 'string')
  return {
    sub: String(user.id), preferred_username: user.login, name: typeof user.name === 'string' && user.name !== '' ? user.name : user.login,
    picture: user.avatar_url, email: primary?.email, email_verified: primary !== undefined,
  }
}

function isNetworkError(error: unknown): boolean {
  const text = describe(error)
  return /fetch failed|ECONNREFUSED|Unable to connect|timed? ?out|aborted|ConnectionRefused|socket/i.test(text)
}

/** A short description for the log: the error's class and message, never a token. */
function describe(error: unknown): string {
  if (!(error instanceof Error)) return String(error).slice(0, 200)
  const code = (error as { code?: unknown }).code
  // note: openid-client names the claim that failed (iss, aud, nonce, ...) in the cause; only its name is kept.
  let claim: unknown
  for (let cause: unknown = error.cause, depth = 0; cause !== undefined && cause !== null && depth < 3 && claim === undefined; depth++) {
    claim = (cause as { claim?: unknown }).claim
    cause = (cause as { cause?: unknown }).cause
  }
  return `${error.name}${typeof code === 'string' ? ` ${code}` : ''}: ${error.message}${typeof claim === 'string' ? ` (claim ${claim})` : ''}`.slice(0, 300)
}
