/**
 * A real OpenID provider for the tests: the certified `oidc-provider` package, in this process, on
 * 127.0.0.1 and a free port. PKCE (S256) is required of every client; each run makes a fresh RS256
 * key, cookie key and user passwords. Clients are registered after the app under test listens
 * (`registerClient`), since their callback URLs carry its port. Accounts are mutable, so a test
 * can change someone's roles or groups between two sign-ins.
 *
 * Claims: sub, email, email_verified, name, preferred_username, groups, roles and a nested
 * `realm_access.roles` (Keycloak's shape); they are in the ID token and at userinfo.
 * Login: oidc-provider's devInteractions pages behind a password gate (a wrong password goes back
 * to the login form). Back-channel logout goes to the registered client's loopback URL with
 * oidc-provider's SSRF guard off (it refuses loopback otherwise).
 */
import { generateKeyPairSync, randomBytes } from 'node:crypto'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import Provider from 'oidc-provider'
import MemoryAdapter from 'oidc-provider/lib/adapters/memory_adapter.js'

export type TestAccount = {
  email: string
  email_verified: boolean
  name: string
  groups: string[]
  roles: string[]
  realm_access?: { roles: string[] }
  /** Claims that differ at userinfo from the ID token's. */
  userinfo?: Record<string, unknown>
}

export type ClientRegistration = {
  clientId: string
  clientSecret: string | null
  redirectUris: string[]
  postLogoutRedirectUris?: string[]
  backchannelLogoutUri?: string
}

/** The people the provider knows; tests may change them. */
export function defaultAccounts(): Map<string, TestAccount> {
  return new Map<string, TestAccount>([
    ['alice', { email: 'alice@example.org', email_verified: true, name: 'Alice Admin', groups: ['admins', 'users'], roles: ['admin'], realm_access: { roles: ['admin'] } }],
    ['bob', { email: 'bob@example.org', email_verified: true, name: 'Bob Builder', groups: ['users'], roles: ['user'], realm_access: { roles: ['user'] } }],
    ['carol', { email: 'carol@example.org', email_verified: false, name: 'Carol Chat', groups: [], roles: ['user'], realm_access: { roles: ['user'] } }],
    ['dave', { email: 'dave@example.org', email_verified: true, name: 'Dave Contractor', groups: ['users', 'contractors'], roles: ['user'] }],
    ['erin', { email: 'erin@elsewhere.net', email_verified: true, name: 'Erin Elsewhere', groups: ['users'], roles: ['user'] }],
    ['frank', { email: 'frank@example.org', email_verified: true, name: 'Frank Guest', groups: [], roles: ['guest'], realm_access: { roles: ['guest'] } }],
  ])
}

export type TestOidcProvider = Awaited<ReturnType<typeof startOidcProvider>>

/** Starts the provider; stop it with `stop()`. */
export async function startOidcProvider(accounts: Map<string, TestAccount> = defaultAccounts()) {
  const passwords = new Map([...accounts.keys()].map((login) => [login, `pw-${randomBytes(12).toString('base64url')}`]))
  const clients = new Map<string, Record<string, unknown>>()
  const backchannel: { ok: number; failed: string[] } = { ok: 0, failed: [] }

  let handler: http.RequestListener = (_req, res) => { res.statusCode = 503; res.end('starting') }
  const server = http.createServer((req, res) => handler(req, res))
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => resolve())
  })
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  const jwk = { ...generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'jwk' }), kid: `test-${randomBytes(4).toString('hex')}`, use: 'sig', alg: 'RS256' }

  // note: clients live in this map so they can be added after the provider starts.
  const clientAdapter = {
    async find(id: string) { return clients.get(id) },
    async upsert() {}, async consume() {}, async destroy() {}, async revokeByGrantId() {},
    async findByUid() { return undefined }, async findByUserCode() { return undefined },
  }
  const provider = new Provider(issuer, {
    adapter: (name: string) => (name === 'Client' ? clientAdapter : new MemoryAdapter(name)) as never,
    pkce: { required: () => true },
    jwks: { keys: [jwk] as never },
    cookies: { keys: [randomBytes(32).toString('hex')] },
    claims: {
      openid: ['sub'],
      email: ['email', 'email_verified'],
      profile: ['name', 'preferred_username'],
      groups: ['groups'],
      roles: ['roles', 'realm_access'],
    },
    conformIdTokenClaims: false,
    features: {
      devInteractions: { enabled: true },
      rpInitiatedLogout: { enabled: true },
      backchannelLogout: { enabled: true },
      revocation: { enabled: true },
    },
    // note: oidc-provider refuses requests to loopback addresses (an SSRF guard); the app under test is on one.
    fetch: ((url: string, options: Record<string, unknown>) => { delete options.dispatcher; return globalThis.fetch(url, options) }) as never,
    async findAccount(_ctx: unknown, id: string) {
      const account = accounts.get(id)
      if (account === undefined) return undefined
      const { userinfo, ...claims } = account
      return { accountId: id, async claims(use: string) { return { sub: id, preferred_username: id, ...claims, ...(use === 'userinfo' ? userinfo : {}) } } }
    },
    ttl: { Session: 3600, Grant: 3600, AccessToken: 3600, IdToken: 3600, Interaction: 600, RefreshToken: 86400, AuthorizationCode: 60 },
    renderError(ctx: { type: string; body: unknown }, out: unknown) {
      ctx.type = 'json'
      ctx.body = out
    },
  } as never)
  provider.on('backchannel.success', () => { backchannel.ok += 1 })
  provider.on('backchannel.error', (_ctx: unknown, error: Error) => { backchannel.failed.push(error.message) })
  const callback = provider.callback()
  handler = async (req, res) => {
    // The password gate in front of devInteractions' login form.
    if (req.method === 'POST' && /^\/interaction\/[^/?]+$/.test(req.url ?? '')) {
      const chunks: Buffer[] = []
      for await (const chunk of req) chunks.push(chunk as Buffer)
      const form = Object.fromEntries(new URLSearchParams(Buffer.concat(chunks).toString()))
      if (form.prompt === 'login' && (passwords.get(form.login ?? '') === undefined || passwords.get(form.login ?? '') !== form.password)) {
        res.writeHead(303, { location: `${req.url}?error=invalid_login` }).end()
        return
      }
      ;(req as unknown as { body: unknown }).body = form
    }
    return callback(req, res)
  }

  return {
    issuer,
    discoveryUrl: `${issuer}/.well-known/openid-configuration`,
    accounts,
    backchannel,
    /** The provider's private signing key, so a test can mint tokens the provider could have signed. */
    signingJwk: jwk,
    /** The password the harness generated for this login. */
    passwordOf(login: string): string {
      return passwords.get(login) ?? 'no-such-user'
    },
    /** Registers (or replaces) a client: a confidential one with a secret, else public. */
    registerClient(client: ClientRegistration): void {
      clients.set(client.clientId, {
        client_id: client.clientId,
        ...(client.clientSecret === null ? { token_endpoint_auth_method: 'none' } : { client_secret: client.clientSecret, token_endpoint_auth_method: 'client_secret_basic' }),
        redirect_uris: client.redirectUris,
        post_logout_redirect_uris: client.postLogoutRedirectUris ?? [],
        grant_types: ['authorization_code', 'refresh_token'],
        response_types: ['code'],
        ...(client.backchannelLogoutUri === undefined ? {} : { backchannel_logout_uri: client.backchannelLogoutUri, backchannel_logout_session_required: true }),
      })
    },
    stop(): Promise<void> {
      return new Promise((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      })
    },
  }
}
