import { describe, expect, test } from 'bun:test'
import { ConfigError } from './config-error.ts'
import { loadConfig } from './load-config.ts'

const cwd = '/srv/enclave'
const generic = { OAUTH_CLIENT_ID: 'enclave', OPENID_PROVIDER_URL: 'https://sso.example.com/realms/main/.well-known/openid-configuration', WEBUI_URL: 'https://chat.example.com' }

function problemsOf(env: Record<string, string>): string[] {
  try {
    loadConfig({ env, cwd })
  } catch (error) {
    if (error instanceof ConfigError) return error.problems.map((problem) => `${problem.variable}: ${problem.expected}`)
    throw error
  }
  throw new Error('expected a ConfigError')
}

describe('single sign-on settings', () => {
  test('no provider by default, and Open WebUI\'s defaults', () => {
    const { oauth } = loadConfig({ env: {}, cwd })
    expect(oauth.providers).toEqual([])
    expect(oauth).toMatchObject({
      enableSignup: false, mergeAccountsByEmail: false, allowedDomains: null, roleManagement: null, groupManagement: null,
      blockedGroups: [], maxSessionsPerUser: 10, enableBackchannelLogout: false, signoutRedirectUrl: null, timeoutSeconds: 10,
      claims: { email: 'email', username: 'name', picture: 'picture', roles: 'roles', groups: 'groups' },
    })
  })

  test('the generic provider: a public client without a secret, a confidential one with', () => {
    const publicClient = loadConfig({ env: generic, cwd }).oauth.providers[0]!
    expect(publicClient).toMatchObject({ id: 'oidc', kind: 'oidc', displayName: 'SSO', clientSecret: null, tokenEndpointAuthMethod: 'none', scopes: 'openid email profile' })
    const confidential = loadConfig({ env: { ...generic, OAUTH_CLIENT_SECRET: 's3cret', OAUTH_SCOPES: 'openid  email,groups' }, cwd }).oauth.providers[0]!
    expect(confidential).toMatchObject({ clientSecret: { value: 's3cret' }, tokenEndpointAuthMethod: 'client_secret_basic', scopes: 'openid email groups' })
    const fromFile = loadConfig({ env: { ...generic, OAUTH_CLIENT_SECRET_FILE: 'secrets/oidc' }, cwd }).oauth.providers[0]!
    expect(fromFile.clientSecret).toEqual({ file: '/srv/enclave/secrets/oidc', variable: 'OAUTH_CLIENT_SECRET_FILE' })
  })

  test('presets for Google, Microsoft and GitHub', () => {
    const { oauth } = loadConfig({
      env: {
        GOOGLE_CLIENT_ID: 'g', GOOGLE_CLIENT_SECRET: 'gs', MICROSOFT_CLIENT_ID: 'm', MICROSOFT_CLIENT_SECRET_FILE: '/run/ms',
        MICROSOFT_CLIENT_TENANT_ID: 'contoso.onmicrosoft.com', GITHUB_CLIENT_ID: 'h', GITHUB_CLIENT_SECRET: 'hs', WEBUI_URL: 'https://chat.example.com',
      },
      cwd,
    })
    expect(oauth.providers.map((provider) => [provider.id, provider.kind, provider.displayName, provider.discoveryUrl])).toEqual([
      ['google', 'oidc', 'Google', 'https://accounts.google.com/.well-known/openid-configuration'],
      ['microsoft', 'oidc', 'Microsoft', 'https://login.microsoftonline.com/contoso.onmicrosoft.com/v2.0/.well-known/openid-configuration'],
      ['github', 'github', 'GitHub', null],
    ])
    expect(oauth.providers[2]!.scopes).toBe('user:email')
  })

  test('rules: domains, roles, groups as JSON or commas, nested claim paths', () => {
    const { oauth } = loadConfig({
      env: {
        OAUTH_ALLOWED_DOMAINS: 'Example.com, example.org', ENABLE_OAUTH_ROLE_MANAGEMENT: 'true', OAUTH_ROLES_CLAIM: 'realm_access.roles',
        OAUTH_ADMIN_ROLES: 'chat-admin', OAUTH_ALLOWED_ROLES: 'chat-user, chat-admin', ENABLE_OAUTH_GROUP_MANAGEMENT: 'true',
        OAUTH_BLOCKED_GROUPS: '["contractors", "interns"]', OAUTH_MAX_SESSIONS_PER_USER: '3',
      },
      cwd,
    })
    expect(oauth.allowedDomains).toEqual(['example.com', 'example.org'])
    expect(oauth.roleManagement).toEqual({ adminRoles: ['chat-admin'], allowedRoles: ['chat-user', 'chat-admin'] })
    expect(oauth.claims.roles).toBe('realm_access.roles')
    expect(oauth.groupManagement).toEqual({ createMissing: false })
    expect(oauth.blockedGroups).toEqual(['contractors', 'interns'])
    expect(oauth.maxSessionsPerUser).toBe(3)
    expect(loadConfig({ env: { OAUTH_BLOCKED_GROUPS: 'a, b' }, cwd }).oauth.blockedGroups).toEqual(['a', 'b'])
  })

  test.each<[string, Record<string, string>, string]>([
    ['a client id without a provider URL', { OAUTH_CLIENT_ID: 'x' }, 'OPENID_PROVIDER_URL: to be set together with OAUTH_CLIENT_ID'],
    ['a provider URL without a client id', { OPENID_PROVIDER_URL: 'https://sso.example.com' }, 'OAUTH_CLIENT_ID: to be set together with OPENID_PROVIDER_URL'],
    ['a provider URL that is not http(s)', { ...generic, OPENID_PROVIDER_URL: 'ldap://sso' }, 'OPENID_PROVIDER_URL: an absolute http:// or https:// URL'],
    ['a secret method without a secret', { ...generic, OAUTH_TOKEN_ENDPOINT_AUTH_METHOD: 'client_secret_post' }, 'OAUTH_TOKEN_ENDPOINT_AUTH_METHOD: none when no OAUTH_CLIENT_SECRET(_FILE) is set'],
    ['an unknown auth method', { ...generic, OAUTH_TOKEN_ENDPOINT_AUTH_METHOD: 'private_key_jwt' }, 'OAUTH_TOKEN_ENDPOINT_AUTH_METHOD: one of client_secret_basic, client_secret_post, none'],
    ['a secret and its file', { ...generic, OAUTH_CLIENT_SECRET: 'a', OAUTH_CLIENT_SECRET_FILE: '/x' }, 'OAUTH_CLIENT_SECRET_FILE: to be unset when OAUTH_CLIENT_SECRET is set (choose one)'],
    ['Google without a secret', { GOOGLE_CLIENT_ID: 'g' }, 'GOOGLE_CLIENT_SECRET: to be set (or GOOGLE_CLIENT_SECRET_FILE) with GOOGLE_CLIENT_ID'],
    ['Microsoft without a tenant', { MICROSOFT_CLIENT_ID: 'm', MICROSOFT_CLIENT_SECRET: 's' }, 'MICROSOFT_CLIENT_TENANT_ID: the Entra tenant id (a GUID or domain) with MICROSOFT_CLIENT_ID'],
    ['Microsoft with a hostile tenant', { MICROSOFT_CLIENT_ID: 'm', MICROSOFT_CLIENT_SECRET: 's', MICROSOFT_CLIENT_TENANT_ID: '../../evil' }, 'MICROSOFT_CLIENT_TENANT_ID: the Entra tenant id (a GUID or domain) with MICROSOFT_CLIENT_ID'],
    ['GitHub without a secret', { GITHUB_CLIENT_ID: 'h' }, 'GITHUB_CLIENT_SECRET: to be set (or GITHUB_CLIENT_SECRET_FILE) with GITHUB_CLIENT_ID'],
    ['group creation without group management', { ENABLE_OAUTH_GROUP_CREATION: 'true' }, 'ENABLE_OAUTH_GROUP_CREATION: ENABLE_OAUTH_GROUP_MANAGEMENT=true as well'],
    ['back-channel logout without an OpenID provider', { ENABLE_OAUTH_BACKCHANNEL_LOGOUT: 'true' }, 'ENABLE_OAUTH_BACKCHANNEL_LOGOUT: an OpenID provider to be configured (OAUTH_CLIENT_ID with OPENID_PROVIDER_URL, Google or Microsoft)'],
    ['a claim path with spaces', { OAUTH_ROLES_CLAIM: 'realm access' }, 'OAUTH_ROLES_CLAIM: a claim name, dotted for nested claims (e.g. realm_access.roles)'],
    ['an empty claim step', { OAUTH_GROUPS_CLAIM: 'a..b' }, 'OAUTH_GROUPS_CLAIM: a claim name, dotted for nested claims (e.g. realm_access.roles)'],
    ['blocked groups as broken JSON', { OAUTH_BLOCKED_GROUPS: '["a", 1]' }, 'OAUTH_BLOCKED_GROUPS: a JSON array of strings, or names separated by commas'],
    ['a zero session cap', { OAUTH_MAX_SESSIONS_PER_USER: '0' }, 'OAUTH_MAX_SESSIONS_PER_USER: an integer from 1 to 1000'],
    ['a timeout in words', { OAUTH_TIMEOUT: 'ten' }, 'OAUTH_TIMEOUT: an integer from 1 to 300'],
    ['scopes with a quote', { OAUTH_SCOPES: 'openid "email"' }, 'OAUTH_SCOPES: scopes separated by spaces, such as openid email profile'],
  ])('refuses the start: %s, naming the variable', (_, env, problem) => {
    expect(problemsOf(env)).toContain(problem)
  })

  test.each<[string, Record<string, string>, string]>([
    ['the generic provider', { OAUTH_CLIENT_ID: 'enclave', OPENID_PROVIDER_URL: 'https://sso.example.com' }, 'OAUTH_CLIENT_ID is set, so set WEBUI_URL or OPENID_REDIRECT_URI'],
    ['Google', { GOOGLE_CLIENT_ID: 'g', GOOGLE_CLIENT_SECRET: 's' }, 'GOOGLE_CLIENT_ID is set, so set WEBUI_URL or GOOGLE_REDIRECT_URI'],
    ['Microsoft', { MICROSOFT_CLIENT_ID: 'm', MICROSOFT_CLIENT_SECRET: 's', MICROSOFT_CLIENT_TENANT_ID: 'contoso' }, 'MICROSOFT_CLIENT_ID is set, so set WEBUI_URL or MICROSOFT_REDIRECT_URI'],
    ['GitHub', { GITHUB_CLIENT_ID: 'h', GITHUB_CLIENT_SECRET: 's' }, 'GITHUB_CLIENT_ID is set, so set WEBUI_URL or GITHUB_CLIENT_REDIRECT_URI'],
  ])('%s without WEBUI_URL or its own callback URL refuses the start, naming both variables', (_, env, named) => {
    const problems = problemsOf(env)
    expect(problems).toHaveLength(1)
    expect(problems[0]).toStartWith('WEBUI_URL: ')
    expect(problems[0]).toContain(named)
  })

  test('a provider with its own callback URL needs no WEBUI_URL; the others still do', () => {
    expect(loadConfig({ env: { GITHUB_CLIENT_ID: 'h', GITHUB_CLIENT_SECRET: 's', GITHUB_CLIENT_REDIRECT_URI: 'https://chat.example.com/oauth/github/login/callback' }, cwd }).oauth.providers).toHaveLength(1)
    const problems = problemsOf({ GITHUB_CLIENT_ID: 'h', GITHUB_CLIENT_SECRET: 's', GITHUB_CLIENT_REDIRECT_URI: 'https://chat.example.com/cb', GOOGLE_CLIENT_ID: 'g', GOOGLE_CLIENT_SECRET: 's' })
    expect(problems).toHaveLength(1)
    expect(problems[0]).toContain('GOOGLE_CLIENT_ID')
    expect(problems[0]).not.toContain('GITHUB')
  })

  test('a refused secret is never echoed', () => {
    try {
      loadConfig({ env: { ...generic, OAUTH_CLIENT_SECRET: 'top-secret-value', OAUTH_CLIENT_SECRET_FILE: '/x' }, cwd })
      throw new Error('expected a ConfigError')
    } catch (error) {
      expect(String((error as Error).message)).not.toContain('top-secret-value')
    }
  })
})
