import { resolve } from 'node:path'
import type { ConfigProblem } from './config-error.ts'
import { boolean, httpUrl, integerFrom, nonEmptyText, oneOf, path, type Parser } from './parsers.ts'
import type { Variable } from './variable.ts'
import type { VariableValues } from './variables.ts'

/** How the client proves itself at the token endpoint; 'none' is a public client (PKCE only). */
export type TokenEndpointAuthMethod = 'client_secret_basic' | 'client_secret_post' | 'none'

/** Where a client secret comes from: the environment, or a file read at start (mode 0600). */
export type SecretSource = { value: string } | { file: string; variable: string } | null

/** One configured sign-in provider. `kind` says how it is spoken to. */
export type OAuthProviderConfig = Readonly<{
  /** The id in the routes: /oauth/{id}/login. */
  id: 'oidc' | 'google' | 'microsoft' | 'github'
  kind: 'oidc' | 'github'
  displayName: string
  clientId: string
  clientSecret: SecretSource
  /** OpenID discovery URL (issuer, or its .well-known/openid-configuration); null for GitHub. */
  discoveryUrl: string | null
  scopes: string
  /** null: WEBUI_URL + /oauth/{id}/login/callback (loadConfig requires WEBUI_URL then; never the request's Host). */
  redirectUri: string | null
  tokenEndpointAuthMethod: TokenEndpointAuthMethod
  /** Sent as `audience` in the authorization request when set (OAUTH_AUDIENCE). */
  audience: string | null
}>

export type OAuthConfig = Readonly<{
  providers: readonly OAuthProviderConfig[]
  /** Seconds to wait for the provider on each request (discovery, token, userinfo). */
  timeoutSeconds: number
  claims: Readonly<{ email: string; username: string; picture: string; roles: string; groups: string }>
  enableSignup: boolean
  mergeAccountsByEmail: boolean
  /** Lower-cased email domains allowed to sign in, or null for any ('*'). */
  allowedDomains: readonly string[] | null
  /** null when role management is off. */
  roleManagement: Readonly<{ allowedRoles: readonly string[]; adminRoles: readonly string[] }> | null
  /** null when group management is off. */
  groupManagement: Readonly<{ createMissing: boolean }> | null
  blockedGroups: readonly string[]
  maxSessionsPerUser: number
  enableBackchannelLogout: boolean
  signoutRedirectUrl: string | null
}>

/** A list written as a JSON array (Open WebUI's form for groups) or separated by commas. */
const list: Parser<string[]> = (raw) => {
  const trimmed = raw.trim()
  if (trimmed.startsWith('[')) {
    try {
      const parsed: unknown = JSON.parse(trimmed)
      if (Array.isArray(parsed) && parsed.every((entry) => typeof entry === 'string')) return parsed.map((entry) => entry.trim()).filter((entry) => entry !== '')
    } catch {
      // falls through to the failure below
    }
    return { expected: 'a JSON array of strings, or names separated by commas' }
  }
  return trimmed.split(',').map((entry) => entry.trim()).filter((entry) => entry !== '')
}

/** A dotted claim path such as `realm_access.roles`. */
const claimPath: Parser<string> = (raw) =>
  /^[A-Za-z0-9_:\-/]+(\.[A-Za-z0-9_:\-/]+)*$/.test(raw.trim()) ? raw.trim() : { expected: 'a claim name, dotted for nested claims (e.g. realm_access.roles)' }

/** Space-separated OAuth scopes. */
const scopes: Parser<string> = (raw) => {
  const words = raw.trim().split(/[\s,]+/).filter((word) => word !== '')
  return words.length > 0 && words.every((word) => /^[\x21\x23-\x5B\x5D-\x7E]+$/.test(word)) ? words.join(' ') : { expected: 'scopes separated by spaces, such as openid email profile' }
}

const domains: Parser<string[]> = (raw) => raw.split(/[,;]/).map((entry) => entry.trim().toLowerCase()).filter((entry) => entry !== '')

const authMethod = oneOf(['client_secret_basic', 'client_secret_post', 'none'] as const)
const secret = { parse: nonEmptyText, default: null, secret: true } as const

/** Single sign-on with OpenID Connect and OAuth 2, with Open WebUI's names and meanings (the *_FILE variants are ours). */
export const oauthVariables = {
  OAUTH_CLIENT_ID: { parse: nonEmptyText, default: null, doc: 'Client id at the generic OpenID provider (Keycloak, Authentik, Entra ID, ...); with OPENID_PROVIDER_URL it enables the "oidc" provider.' },
  OAUTH_CLIENT_SECRET: { ...secret, doc: 'Client secret at the generic OpenID provider; leave unset for a public client (PKCE is always used).' },
  OAUTH_CLIENT_SECRET_FILE: { parse: path, default: null, doc: 'File holding OAUTH_CLIENT_SECRET (mode 0600).' },
  OPENID_PROVIDER_URL: { parse: httpUrl, default: null, doc: 'The provider\'s discovery document, e.g. https://sso.example.com/realms/main/.well-known/openid-configuration (the issuer URL alone also works).' },
  OAUTH_PROVIDER_NAME: { parse: nonEmptyText, default: 'SSO', doc: 'Name of the generic provider on the sign-in page.' },
  OAUTH_SCOPES: { parse: scopes, default: 'openid email profile', doc: 'Scopes asked of the generic provider.' },
  OPENID_REDIRECT_URI: { parse: httpUrl, default: null, doc: 'Callback URL registered at the generic provider; by default WEBUI_URL + /oauth/oidc/login/callback (WEBUI_URL is required when this is unset).' },
  OAUTH_TOKEN_ENDPOINT_AUTH_METHOD: { parse: authMethod, default: null, doc: 'client_secret_basic, client_secret_post or none; by default client_secret_basic with a secret and none without.' },
  OAUTH_AUDIENCE: { parse: nonEmptyText, default: null, doc: 'Sent as the audience parameter of the authorization request (some providers need it for access tokens).' },
  OAUTH_TIMEOUT: { parse: integerFrom(1, 300), default: 10, doc: 'Seconds to wait for a provider on each request (discovery, tokens, userinfo, keys).' },
  OAUTH_EMAIL_CLAIM: { parse: claimPath, default: 'email', doc: 'Claim holding the email address; dotted for nested claims.' },
  OAUTH_USERNAME_CLAIM: { parse: claimPath, default: 'name', doc: 'Claim holding the display name; dotted for nested claims.' },
  OAUTH_PICTURE_CLAIM: { parse: claimPath, default: 'picture', doc: 'Claim holding the profile picture URL; dotted for nested claims. Accepted for compatibility: Enclave stores no profile pictures yet.' },
  ENABLE_OAUTH_SIGNUP: { parse: boolean, default: false, doc: 'Create an account at the first single sign-on of someone unknown.' },
  OAUTH_MERGE_ACCOUNTS_BY_EMAIL: { parse: boolean, default: false, doc: 'Link a first single sign-on to an existing account with the same email, only when the provider says email_verified=true.' },
  OAUTH_ALLOWED_DOMAINS: { parse: domains, default: ['*'], doc: 'Email domains allowed to sign in with single sign-on, comma-separated; * allows any.' },
  ENABLE_OAUTH_ROLE_MANAGEMENT: { parse: boolean, default: false, doc: 'Set the role from the provider\'s roles claim at every sign-in: admin for OAUTH_ADMIN_ROLES, user for OAUTH_ALLOWED_ROLES, refused when roles are present but none is allowed, pending when there are none.' },
  OAUTH_ROLES_CLAIM: { parse: claimPath, default: 'roles', doc: 'Claim holding the roles; dotted for nested claims (e.g. realm_access.roles).' },
  OAUTH_ALLOWED_ROLES: { parse: list, default: ['user', 'admin'], doc: 'Provider roles that may sign in as users, comma-separated.' },
  OAUTH_ADMIN_ROLES: { parse: list, default: ['admin'], doc: 'Provider roles that make an admin, comma-separated.' },
  ENABLE_OAUTH_GROUP_MANAGEMENT: { parse: boolean, default: false, doc: 'Sync group memberships from the groups claim at every sign-in (added and removed).' },
  OAUTH_GROUPS_CLAIM: { parse: claimPath, default: 'groups', doc: 'Claim holding the groups; dotted for nested claims.' },
  ENABLE_OAUTH_GROUP_CREATION: { parse: boolean, default: false, doc: 'Create groups named in the groups claim that do not exist yet (with group management).' },
  OAUTH_BLOCKED_GROUPS: { parse: list, default: [], doc: 'Members of these provider groups may not sign in (JSON array or comma-separated). Open WebUI only leaves them out of the sync; Enclave refuses the sign-in.' },
  OAUTH_MAX_SESSIONS_PER_USER: { parse: integerFrom(1, 1000), default: 10, doc: 'Most single sign-on sessions one user keeps; a new sign-in ends the oldest beyond it.' },
  ENABLE_OAUTH_BACKCHANNEL_LOGOUT: { parse: boolean, default: false, doc: 'Accept OpenID back-channel logout at POST /oauth/backchannel-logout: a valid logout token ends every session of that user from that provider.' },
  WEBUI_AUTH_SIGNOUT_REDIRECT_URL: { parse: httpUrl, default: null, doc: 'Where the browser goes after signing out (post-logout redirect at the provider, or directly).' },
  GOOGLE_CLIENT_ID: { parse: nonEmptyText, default: null, doc: 'Google client id; enables the "google" provider.' },
  GOOGLE_CLIENT_SECRET: { ...secret, doc: 'Google client secret.' },
  GOOGLE_CLIENT_SECRET_FILE: { parse: path, default: null, doc: 'File holding GOOGLE_CLIENT_SECRET (mode 0600).' },
  GOOGLE_OAUTH_SCOPE: { parse: scopes, default: 'openid email profile', doc: 'Scopes asked of Google.' },
  GOOGLE_REDIRECT_URI: { parse: httpUrl, default: null, doc: 'Callback URL registered at Google; by default WEBUI_URL + /oauth/google/login/callback (WEBUI_URL is required when this is unset).' },
  MICROSOFT_CLIENT_ID: { parse: nonEmptyText, default: null, doc: 'Microsoft Entra ID client id; enables the "microsoft" provider.' },
  MICROSOFT_CLIENT_SECRET: { ...secret, doc: 'Microsoft client secret.' },
  MICROSOFT_CLIENT_SECRET_FILE: { parse: path, default: null, doc: 'File holding MICROSOFT_CLIENT_SECRET (mode 0600).' },
  MICROSOFT_CLIENT_TENANT_ID: { parse: nonEmptyText, default: null, doc: 'Microsoft Entra tenant id (needed with MICROSOFT_CLIENT_ID).' },
  MICROSOFT_OAUTH_SCOPE: { parse: scopes, default: 'openid email profile', doc: 'Scopes asked of Microsoft.' },
  MICROSOFT_REDIRECT_URI: { parse: httpUrl, default: null, doc: 'Callback URL registered at Microsoft; by default WEBUI_URL + /oauth/microsoft/login/callback (WEBUI_URL is required when this is unset).' },
  GITHUB_CLIENT_ID: { parse: nonEmptyText, default: null, doc: 'GitHub OAuth app client id; enables the "github" provider (plain OAuth 2: the primary verified email comes from GitHub\'s API).' },
  GITHUB_CLIENT_SECRET: { ...secret, doc: 'GitHub client secret.' },
  GITHUB_CLIENT_SECRET_FILE: { parse: path, default: null, doc: 'File holding GITHUB_CLIENT_SECRET (mode 0600).' },
  GITHUB_CLIENT_SCOPE: { parse: scopes, default: 'user:email', doc: 'Scopes asked of GitHub.' },
  GITHUB_CLIENT_REDIRECT_URI: { parse: httpUrl, default: null, doc: 'Callback URL registered at GitHub; by default WEBUI_URL + /oauth/github/login/callback (WEBUI_URL is required when this is unset).' },
} as const satisfies Record<string, Variable<unknown>>

type Values = VariableValues

/** The variable that turns each provider on, and the one that gives its callback URL. */
const providerVariables: Record<OAuthProviderConfig['id'], { enabledBy: string; redirectUri: string }> = {
  oidc: { enabledBy: 'OAUTH_CLIENT_ID', redirectUri: 'OPENID_REDIRECT_URI' },
  google: { enabledBy: 'GOOGLE_CLIENT_ID', redirectUri: 'GOOGLE_REDIRECT_URI' },
  microsoft: { enabledBy: 'MICROSOFT_CLIENT_ID', redirectUri: 'MICROSOFT_REDIRECT_URI' },
  github: { enabledBy: 'GITHUB_CLIENT_ID', redirectUri: 'GITHUB_CLIENT_REDIRECT_URI' },
}

/** Picks a secret from its variable or its *_FILE variant; both set is a problem. */
function secretFrom(values: Values, name: 'OAUTH_CLIENT_SECRET' | 'GOOGLE_CLIENT_SECRET' | 'MICROSOFT_CLIENT_SECRET' | 'GITHUB_CLIENT_SECRET', cwd: string, problems: ConfigProblem[]): SecretSource {
  const value = values[name]
  const file = values[`${name}_FILE`]
  if (value !== null && file !== null) problems.push({ variable: `${name}_FILE`, value: file, expected: `to be unset when ${name} is set (choose one)` })
  if (value !== null) return { value }
  return file === null ? null : { file: resolve(cwd, file), variable: `${name}_FILE` }
}

/** Builds the single sign-on settings, and lists every inconsistency (each naming its variable). */
export function oauthConfigFrom(values: Values, cwd: string): { oauth: OAuthConfig; problems: ConfigProblem[] } {
  const problems: ConfigProblem[] = []
  const providers: OAuthProviderConfig[] = []
  const secretOf = (name: Parameters<typeof secretFrom>[1]) => secretFrom(values, name, cwd, problems)

  const genericSecret = secretOf('OAUTH_CLIENT_SECRET')
  if ((values.OAUTH_CLIENT_ID === null) !== (values.OPENID_PROVIDER_URL === null)) {
    const missing = values.OAUTH_CLIENT_ID === null ? 'OAUTH_CLIENT_ID' : 'OPENID_PROVIDER_URL'
    problems.push({ variable: missing, value: '', expected: `to be set together with ${missing === 'OAUTH_CLIENT_ID' ? 'OPENID_PROVIDER_URL' : 'OAUTH_CLIENT_ID'}` })
  }
  if (values.OAUTH_CLIENT_ID !== null && values.OPENID_PROVIDER_URL !== null) {
    const method = values.OAUTH_TOKEN_ENDPOINT_AUTH_METHOD ?? (genericSecret === null ? 'none' : 'client_secret_basic')
    if (method !== 'none' && genericSecret === null) {
      problems.push({ variable: 'OAUTH_TOKEN_ENDPOINT_AUTH_METHOD', value: method, expected: 'none when no OAUTH_CLIENT_SECRET(_FILE) is set' })
    }
    providers.push({
      id: 'oidc', kind: 'oidc', displayName: values.OAUTH_PROVIDER_NAME, clientId: values.OAUTH_CLIENT_ID, clientSecret: genericSecret,
      discoveryUrl: values.OPENID_PROVIDER_URL, scopes: values.OAUTH_SCOPES, redirectUri: values.OPENID_REDIRECT_URI,
      tokenEndpointAuthMethod: method, audience: values.OAUTH_AUDIENCE,
    })
  }

  const googleSecret = secretOf('GOOGLE_CLIENT_SECRET')
  if (values.GOOGLE_CLIENT_ID !== null) {
    if (googleSecret === null) problems.push({ variable: 'GOOGLE_CLIENT_SECRET', value: '', expected: 'to be set (or GOOGLE_CLIENT_SECRET_FILE) with GOOGLE_CLIENT_ID' })
    providers.push({
      id: 'google', kind: 'oidc', displayName: 'Google', clientId: values.GOOGLE_CLIENT_ID, clientSecret: googleSecret,
      discoveryUrl: 'https://accounts.google.com/.well-known/openid-configuration', scopes: values.GOOGLE_OAUTH_SCOPE,
      redirectUri: values.GOOGLE_REDIRECT_URI, tokenEndpointAuthMethod: 'client_secret_post', audience: null,
    })
  }

  const microsoftSecret = secretOf('MICROSOFT_CLIENT_SECRET')
  if (values.MICROSOFT_CLIENT_ID !== null) {
    if (microsoftSecret === null) problems.push({ variable: 'MICROSOFT_CLIENT_SECRET', value: '', expected: 'to be set (or MICROSOFT_CLIENT_SECRET_FILE) with MICROSOFT_CLIENT_ID' })
    const tenant = values.MICROSOFT_CLIENT_TENANT_ID
    if (tenant === null || !/^[A-Za-z0-9.-]{1,100}$/.test(tenant)) {
      problems.push({ variable: 'MICROSOFT_CLIENT_TENANT_ID', value: tenant ?? '', expected: 'the Entra tenant id (a GUID or domain) with MICROSOFT_CLIENT_ID' })
    }
    providers.push({
      id: 'microsoft', kind: 'oidc', displayName: 'Microsoft', clientId: values.MICROSOFT_CLIENT_ID, clientSecret: microsoftSecret,
      discoveryUrl: `https://login.microsoftonline.com/${tenant ?? 'unset'}/v2.0/.well-known/openid-configuration`, scopes: values.MICROSOFT_OAUTH_SCOPE,
      redirectUri: values.MICROSOFT_REDIRECT_URI, tokenEndpointAuthMethod: 'client_secret_post', audience: null,
    })
  }

  const githubSecret = secretOf('GITHUB_CLIENT_SECRET')
  if (values.GITHUB_CLIENT_ID !== null) {
    if (githubSecret === null) problems.push({ variable: 'GITHUB_CLIENT_SECRET', value: '', expected: 'to be set (or GITHUB_CLIENT_SECRET_FILE) with GITHUB_CLIENT_ID' })
    providers.push({
      id: 'github', kind: 'github', displayName: 'GitHub', clientId: values.GITHUB_CLIENT_ID, clientSecret: githubSecret,
      discoveryUrl: null, scopes: values.GITHUB_CLIENT_SCOPE, redirectUri: values.GITHUB_CLIENT_REDIRECT_URI,
      tokenEndpointAuthMethod: 'client_secret_post', audience: null,
    })
  }

  // note: the callback URL must not come from a request: a forged Host header would send the
  // provider's code to another site, or make the provider refuse every sign-in.
  const withoutCallback = providers.filter((provider) => provider.redirectUri === null)
  if (values.WEBUI_URL === null && withoutCallback.length > 0) {
    const named = withoutCallback.map((provider) => `${providerVariables[provider.id].enabledBy} is set, so set WEBUI_URL or ${providerVariables[provider.id].redirectUri}`).join('; ')
    problems.push({ variable: 'WEBUI_URL', value: '', expected: `this server's public URL (such as https://chat.example.com) with single sign-on, as the callback URL sent to the provider is built from it (${named})` })
  }
  if (values.ENABLE_OAUTH_GROUP_CREATION && !values.ENABLE_OAUTH_GROUP_MANAGEMENT) {
    problems.push({ variable: 'ENABLE_OAUTH_GROUP_CREATION', value: 'true', expected: 'ENABLE_OAUTH_GROUP_MANAGEMENT=true as well' })
  }
  if (values.ENABLE_OAUTH_BACKCHANNEL_LOGOUT && !providers.some((provider) => provider.kind === 'oidc')) {
    problems.push({ variable: 'ENABLE_OAUTH_BACKCHANNEL_LOGOUT', value: 'true', expected: 'an OpenID provider to be configured (OAUTH_CLIENT_ID with OPENID_PROVIDER_URL, Google or Microsoft)' })
  }

  const oauth: OAuthConfig = {
    providers,
    timeoutSeconds: values.OAUTH_TIMEOUT,
    claims: { email: values.OAUTH_EMAIL_CLAIM, username: values.OAUTH_USERNAME_CLAIM, picture: values.OAUTH_PICTURE_CLAIM, roles: values.OAUTH_ROLES_CLAIM, groups: values.OAUTH_GROUPS_CLAIM },
    enableSignup: values.ENABLE_OAUTH_SIGNUP,
    mergeAccountsByEmail: values.OAUTH_MERGE_ACCOUNTS_BY_EMAIL,
    allowedDomains: values.OAUTH_ALLOWED_DOMAINS.includes('*') ? null : values.OAUTH_ALLOWED_DOMAINS,
    roleManagement: values.ENABLE_OAUTH_ROLE_MANAGEMENT ? { allowedRoles: values.OAUTH_ALLOWED_ROLES, adminRoles: values.OAUTH_ADMIN_ROLES } : null,
    groupManagement: values.ENABLE_OAUTH_GROUP_MANAGEMENT ? { createMissing: values.ENABLE_OAUTH_GROUP_CREATION } : null,
    blockedGroups: values.OAUTH_BLOCKED_GROUPS,
    maxSessionsPerUser: values.OAUTH_MAX_SESSIONS_PER_USER,
    enableBackchannelLogout: values.ENABLE_OAUTH_BACKCHANNEL_LOGOUT,
    signoutRedirectUrl: values.WEBUI_AUTH_SIGNOUT_REDIRECT_URL,
  }
  return { oauth, problems }
}
