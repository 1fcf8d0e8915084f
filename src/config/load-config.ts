import { accessConfigFrom, type AccessConfig } from './access-variables.ts'
import { existsSync, readFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { hostPolicyFrom, type HostPolicy } from './allowed-hosts.ts'
import { ConfigError, type ConfigProblem } from './config-error.ts'
import { corsPolicyFrom, type CorsPolicy } from './cors-origins.ts'
import { checkDatabaseSettings, postgresConfigFrom, type PostgresConfig } from './database-variables.ts'
import { parseDotenv } from './dotenv.ts'
import { ldapConfigFrom, type LdapConfig } from './ldap-variables.ts'
import { addressList, type AddressList } from './network.ts'
import { oauthConfigFrom, type OAuthConfig } from './oauth-variables.ts'
import { ollamaConfigFrom, type OllamaConfig } from './ollama-variables.ts'
import { isParseFailure } from './parsers.ts'
import { securityHeaderSettingsFrom, type SecurityHeaderSettings } from './security-header-settings.ts'
import { socketConfigFrom, type SocketConfig } from './socket-variables.ts'
import { chatConfigFrom, type ChatConfig } from './chat-variables.ts'
import { checkClusterSettings, clusterConfigFrom, type ClusterConfig } from './cluster-variables.ts'
import { directConnectionConfigFrom, type DirectConnectionConfig } from './direct-connection-variables.ts'
import { ragConfigFrom, type RagConfig } from './rag-variables.ts'
import { readSecretFile } from './secret-file.ts'
import { fileConfigFrom, type FileConfig } from './file-variables.ts'
import { findUnknownVariables, type UnknownVariables } from './unknown-variables.ts'
import { variables, type Variable, type VariableName, type VariableValues } from './variables.ts'

/** Where a setting's value came from, in order of precedence. */
export type ValueSource = 'flag' | 'env' | '.env' | 'default'

/** Where the master key comes from; the key itself is read later, by crypto/master-key.ts. */
export type MasterKeySource =
  | { kind: 'env'; value: string }
  | { kind: 'file'; path: string }
  | { kind: 'generated'; path: string }

export type Config = Readonly<{
  port: number
  host: string
  /** Absolute path. */
  dataDir: string
  name: string
  publicUrl: string | null
  /** WEBUI_SECRET_KEY, else WEBUI_JWT_SECRET_KEY, else WEBUI_SECRET_KEY_FILE's content; null means: use or generate the persisted one. */
  sessionSecret: string | null
  masterKey: MasterKeySource
  /** PostgreSQL (DATABASE_URL, DATABASE_POOL_*), or null for SQLite in dataDir. */
  postgres: PostgresConfig | null
  ollamaBaseUrl: string
  /** Ollama connections from the environment (OLLAMA_BASE_URLS, else OLLAMA_BASE_URL) and their timeouts. */
  ollama: OllamaConfig
  logLevel: VariableValues['GLOBAL_LOG_LEVEL']
  maxRequestBodyBytes: number
  /** Peers whose forwarded headers are believed (FORWARDED_ALLOW_IPS, default loopback). */
  trustedProxies: AddressList
  shutdownTimeoutMs: number
  /** Browser security headers (HSTS, XFRAME_OPTIONS, CONTENT_SECURITY_POLICY, ...). */
  securityHeaders: SecurityHeaderSettings
  /** Cross-origin callers allowed (CORS_ALLOW_ORIGIN); by default none, same origin only. */
  cors: CorsPolicy
  /** Host names requests may name (ALLOWED_HOSTS, HOST, WEBUI_URL). */
  allowedHosts: HostPolicy
  auth: AuthConfig
  /** The chat socket's heartbeat and frame limits (WEBSOCKET_*). */
  socket: SocketConfig
  /** Several instances through Redis (REDIS_URL, WEBSOCKET_MANAGER), or null: one instance. */
  cluster: ClusterConfig
  /** Title generation and the per-user answer limit. */
  chat: ChatConfig
  /** Users' own OpenAI-compatible endpoints (ENABLE_DIRECT_CONNECTIONS), or null when they are off. */
  directConnections: DirectConnectionConfig
  /** Documents, embeddings and retrieval (CHUNK_*, RAG_*). */
  rag: RagConfig
  /** Upload limits (RAG_FILE_MAX_SIZE, RAG_FILE_MAX_COUNT, USER_FILE_STORAGE_QUOTA). */
  files: FileConfig
  /** Single sign-on providers and their account rules (OAUTH_*, OPENID_*, GOOGLE_*, MICROSOFT_*, GITHUB_*). */
  oauth: OAuthConfig
  /** LDAP sign-in (ENABLE_LDAP, LDAP_*), or null when it is off. */
  ldap: LdapConfig | null
  /** Every variable's typed value and where it came from, for `enclave config`. */
  values: Readonly<VariableValues>
  sources: Readonly<Record<VariableName, ValueSource>>
  /** For values read under another product's name (JWT_SECRET for WEBUI_SECRET_KEY), that name. */
  sourceNames: Readonly<Partial<Record<VariableName, string>>>
  /** Names in the environment or .env that look like settings but are not read (typos, Open WebUI-only settings). */
  unknownVariables: UnknownVariables
}>

export type Rate = { limit: number; windowMs: number }

export type AuthConfig = Readonly<{
  /** No sign-in: the browser on this machine is the one user, an admin (SINGLE_USER_MODE, or WEBUI_AUTH=false). */
  singleUser: boolean
  enableSignup: boolean
  defaultUserRole: 'pending' | 'user' | 'admin'
  enableLoginForm: boolean
  enablePasswordAuth: boolean
  /** Pattern new passwords must match, or null when only the minimum length applies. */
  passwordPattern: { pattern: RegExp; hint: string | null } | null
  /** Session lifetime; null means sessions never expire. */
  sessionTtlMs: number | null
  cookie: { sameSite: 'lax' | 'strict' | 'none'; alwaysSecure: boolean }
  /** Grants on models, admins' reach and the workspace defaults (access-variables.ts). */
  access: AccessConfig
  /** null when API keys are off. `allowedEndpoints` null means unrestricted. */
  apiKeys: { usersMayCreate: boolean; allowedEndpoints: readonly string[] | null } | null
  signinRateLimit: { perEmail: Rate; perIp: Rate }
  /** The admin to create at start when there are no users. */
  bootstrapAdmin: { email: string; name: string; password: { value: string } | { file: string } } | null
  /** Headers a trusted proxy signs users in with, or null when not configured. */
  trustedHeaders: { email: string; name: string | null; groups: string | null; role: string | null } | null
  /** Who must have a second factor (MFA_REQUIRED). */
  mfaRequired: 'none' | 'admins' | 'all'
  /** Passwordless sign-in with a passkey (ENABLE_PASSKEY_LOGIN). */
  passkeyLogin: boolean
  /** Chat share links (ENABLE_COMMUNITY_SHARING); an admin's saved setting overrides it (runtime-auth.ts). */
  enableCommunitySharing: boolean
  /** WEBUI_URL, as the admin config reports it (set by the environment only). */
  publicUrl: string | null
}>

export type ConfigInput = {
  /** Serve flags by variable name, e.g. { PORT: '9000' }. */
  flags?: Partial<Record<VariableName, string>>
  env: Record<string, string | undefined>
  /** The text of the .env file, or null when there is none. */
  dotenv?: string | null
  /** Relative paths (DATA_DIR, ENCRYPTION_KEY_FILE) resolve against this directory. */
  cwd: string
  /** Accept DATABASE_URL: false for a command that still opens the store on SQLite only (refused, rather than using SQLite unseen). */
  allowDatabaseUrl?: boolean
}

/**
 * Reads every setting once: flag over environment over .env over default. Returns a frozen Config,
 * or throws one ConfigError that names each bad variable, its value and what was expected.
 */
export function loadConfig({ flags = {}, env, dotenv = null, cwd, allowDatabaseUrl = true }: ConfigInput): Config {
  const parsedDotenv = dotenv === null ? { values: {}, problems: [] } : parseDotenv(dotenv)
  const problems: ConfigProblem[] = [...parsedDotenv.problems]
  const values: Record<string, unknown> = {}
  const sources: Record<string, ValueSource> = {}
  const sourceNames: Partial<Record<VariableName, string>> = {}

  for (const [name, variable] of Object.entries(variables) as [VariableName, Variable<unknown>][]) {
    const picked = pickUnderEitherName(name, variable, flags, env, parsedDotenv.values)
    if ('problem' in picked) {
      problems.push(picked.problem)
      continue
    }
    const { raw, source } = picked
    sources[name] = source
    if (picked.otherName !== undefined) sourceNames[name] = picked.otherName
    if (raw === null) {
      values[name] = variable.default
      continue
    }
    const parsed = variable.parse(raw)
    if (isParseFailure(parsed)) {
      const shown = variable.secret ? '***' : withoutUrlCredentials(raw)
      problems.push({ variable: source === 'flag' ? `${variable.flag ?? 'flag'} (${name})` : name, value: shown, expected: parsed.expected })
    } else {
      values[name] = parsed
    }
  }

  const typed = values as VariableValues
  if (typed.ENCRYPTION_KEY !== null && typed.ENCRYPTION_KEY_FILE !== null) {
    problems.push({ variable: 'ENCRYPTION_KEY_FILE', value: typed.ENCRYPTION_KEY_FILE, expected: 'to be unset when ENCRYPTION_KEY is set (choose one)' })
  }
  if ((typed.WEBUI_SECRET_KEY !== null || typed.WEBUI_JWT_SECRET_KEY !== null) && typed.WEBUI_SECRET_KEY_FILE !== null) {
    problems.push({ variable: 'WEBUI_SECRET_KEY_FILE', value: typed.WEBUI_SECRET_KEY_FILE, expected: 'to be unset when WEBUI_SECRET_KEY is set (choose one)' })
  }
  const sessionSecretFromFile = typed.WEBUI_SECRET_KEY_FILE === null || problems.length > 0 ? null
    : readSecretFile('WEBUI_SECRET_KEY_FILE', resolve(cwd, typed.WEBUI_SECRET_KEY_FILE), problems)
  problems.push(...checkAuthSettings(typed))
  if (!allowDatabaseUrl && !problems.some((problem) => problem.variable.startsWith('DATABASE_'))) problems.push(...checkDatabaseSettings(typed))
  problems.push(...checkClusterSettings(typed))
  problems.push(...checkSingleUserNames(typed, sources as Record<VariableName, ValueSource>))
  // note: the providers are checked only once every variable parsed, as they combine several.
  const oauth = problems.length === 0 ? oauthConfigFrom(typed, cwd) : null
  problems.push(...(oauth?.problems ?? []))
  // note: LDAP settings are checked together only once each LDAP variable parsed on its own.
  const ldap = problems.some((problem) => problem.variable.includes('LDAP')) ? { config: null, problems: [] } : ldapConfigFrom(typed, cwd)
  problems.push(...ldap.problems)
  if (problems.length > 0) throw new ConfigError(problems)

  const dataDir = resolve(cwd, typed.DATA_DIR)
  return Object.freeze({
    port: typed.PORT,
    host: typed.HOST,
    dataDir,
    name: typed.WEBUI_NAME,
    publicUrl: typed.WEBUI_URL,
    sessionSecret: typed.WEBUI_SECRET_KEY ?? typed.WEBUI_JWT_SECRET_KEY ?? sessionSecretFromFile,
    masterKey: pickMasterKeySource(typed, cwd, dataDir),
    postgres: postgresConfigFrom(typed),
    ollamaBaseUrl: typed.OLLAMA_BASE_URL,
    ollama: ollamaConfigFrom(typed),
    logLevel: typed.GLOBAL_LOG_LEVEL,
    maxRequestBodyBytes: typed.MAX_REQUEST_BODY_SIZE,
    trustedProxies: typed.FORWARDED_ALLOW_IPS ?? (addressList('127.0.0.1,::1') as AddressList),
    shutdownTimeoutMs: typed.SHUTDOWN_TIMEOUT_SECONDS * 1000,
    securityHeaders: securityHeaderSettingsFrom(typed),
    cors: corsPolicyFrom(typed.CORS_ALLOW_ORIGIN, typed.CORS_ALLOW_CUSTOM_SCHEME),
    allowedHosts: hostPolicyFrom(typed.ALLOWED_HOSTS, typed.HOST, typed.WEBUI_URL),
    auth: authConfigFrom(typed, cwd),
    socket: socketConfigFrom(typed),
    cluster: clusterConfigFrom(typed),
    chat: chatConfigFrom(typed),
    directConnections: directConnectionConfigFrom(typed),
    rag: ragConfigFrom(typed),
    files: fileConfigFrom(typed),
    oauth: oauth!.oauth,
    ldap: ldap.config,
    values: Object.freeze(typed),
    sources: Object.freeze(sources as Record<VariableName, ValueSource>),
    sourceNames: Object.freeze(sourceNames),
    unknownVariables: findUnknownVariables([...Object.keys(env), ...Object.keys(parsedDotenv.values)]),
  })
}

/** Reads `.env` from the directory, or returns null when there is none. */
export function readDotenvFile(cwd: string): string | null {
  const file = join(cwd, '.env')
  return existsSync(file) ? readFileSync(file, 'utf8') : null
}

/** Masks a password or user name written into a URL, so a refused value can be shown safely. */
function withoutUrlCredentials(raw: string): string {
  return raw.replace(/\/\/[^/@\s]*@/g, '//***@')
}

type Picked = { raw: string | null; source: ValueSource; otherName?: string } | { problem: ConfigProblem }

/**
 * Picks the value under our name, else under the other product's name (JWT_SECRET, CORS_ORIGIN);
 * refuses one set under both that differs, as either could be the one meant.
 */
function pickUnderEitherName(
  name: VariableName,
  variable: Variable<unknown>,
  flags: Partial<Record<VariableName, string>>,
  env: Record<string, string | undefined>,
  dotenv: Record<string, string>,
): Picked {
  const [raw, source] = pickRawValue(name, flags, env, dotenv)
  const other = variable.otherName
  if (other === undefined) return { raw, source }
  const [otherRaw, otherSource] = pickRawValue(name, {}, { [name]: env[other.name] }, { [name]: dotenv[other.name]! })
  if (otherRaw === null) return { raw, source }
  const rewritten = other.rewrite?.(otherRaw) ?? otherRaw
  if (raw === null) return { raw: rewritten, source: otherSource, otherName: other.name }
  if (rewritten.trim() === raw.trim()) return { raw, source }
  const shown = variable.secret ? '***' : otherRaw
  return { problem: { variable: other.name, value: shown, expected: `to equal ${name} (${other.product}'s name for the same setting), which is set to another value: set one of them` } }
}

/** SINGLE_USER_MODE=true and WEBUI_AUTH=false say the same; both set and saying otherwise is refused. */
function checkSingleUserNames(values: VariableValues, sources: Record<VariableName, ValueSource>): ConfigProblem[] {
  const bothSet = sources.SINGLE_USER_MODE !== 'default' && sources.WEBUI_AUTH !== 'default'
  if (!bothSet || values.SINGLE_USER_MODE !== values.WEBUI_AUTH) return []
  return [{ variable: 'SINGLE_USER_MODE', value: String(values.SINGLE_USER_MODE), expected: `to agree with WEBUI_AUTH=${String(values.WEBUI_AUTH)} (single-user mode is SINGLE_USER_MODE=true or WEBUI_AUTH=false): set one of them` }]
}

// note: an empty value counts as unset, as env files often carry `KEY=` placeholders, except
// where the variable says an empty value turns its feature off.
function pickRawValue(
  name: VariableName,
  flags: Partial<Record<VariableName, string>>,
  env: Record<string, string | undefined>,
  dotenv: Record<string, string>,
): [string | null, ValueSource] {
  const candidates: [string | undefined, ValueSource][] = [[flags[name], 'flag'], [env[name], 'env'], [dotenv[name], '.env']]
  const emptyCounts = (variables[name] as Variable<unknown>).emptyTurnsOff === true
  for (const [raw, source] of candidates) {
    if (raw !== undefined && (emptyCounts || raw.trim() !== '')) return [raw, source]
  }
  return [null, 'default']
}

function checkAuthSettings(values: VariableValues): ConfigProblem[] {
  const problems: ConfigProblem[] = []
  const hasPassword = values.WEBUI_ADMIN_PASSWORD !== null || values.WEBUI_ADMIN_PASSWORD_FILE !== null
  if (values.WEBUI_ADMIN_PASSWORD !== null && values.WEBUI_ADMIN_PASSWORD_FILE !== null) {
    problems.push({ variable: 'WEBUI_ADMIN_PASSWORD_FILE', value: values.WEBUI_ADMIN_PASSWORD_FILE, expected: 'to be unset when WEBUI_ADMIN_PASSWORD is set (choose one)' })
  }
  if ((values.WEBUI_ADMIN_EMAIL === null) !== !hasPassword) {
    problems.push({ variable: 'WEBUI_ADMIN_EMAIL', value: values.WEBUI_ADMIN_EMAIL ?? '', expected: 'to be set together with WEBUI_ADMIN_PASSWORD or WEBUI_ADMIN_PASSWORD_FILE' })
  }
  const trustedExtras = [values.WEBUI_AUTH_TRUSTED_NAME_HEADER, values.WEBUI_AUTH_TRUSTED_GROUPS_HEADER, values.WEBUI_AUTH_TRUSTED_ROLE_HEADER]
  if (values.WEBUI_AUTH_TRUSTED_EMAIL_HEADER === null && trustedExtras.some((header) => header !== null)) {
    problems.push({ variable: 'WEBUI_AUTH_TRUSTED_EMAIL_HEADER', value: '', expected: 'to be set when other WEBUI_AUTH_TRUSTED_*_HEADER variables are' })
  }
  return problems
}

function authConfigFrom(values: VariableValues, cwd: string): AuthConfig {
  const adminPassword = values.WEBUI_ADMIN_PASSWORD !== null ? { value: values.WEBUI_ADMIN_PASSWORD }
    : values.WEBUI_ADMIN_PASSWORD_FILE !== null ? { file: resolve(cwd, values.WEBUI_ADMIN_PASSWORD_FILE) } : null
  const singleUser = values.SINGLE_USER_MODE || !values.WEBUI_AUTH
  return {
    singleUser,
    // note: the single user is the only account, so sign-up stays closed.
    enableSignup: values.ENABLE_SIGNUP && !singleUser,
    defaultUserRole: values.DEFAULT_USER_ROLE,
    enableLoginForm: values.ENABLE_LOGIN_FORM,
    enablePasswordAuth: values.ENABLE_PASSWORD_AUTH,
    passwordPattern: values.ENABLE_PASSWORD_VALIDATION ? { pattern: values.PASSWORD_VALIDATION_REGEX_PATTERN, hint: values.PASSWORD_VALIDATION_HINT } : null,
    sessionTtlMs: values.JWT_EXPIRES_IN,
    access: accessConfigFrom(values),
    cookie: {
      sameSite: values.WEBUI_AUTH_COOKIE_SAME_SITE ?? values.WEBUI_SESSION_COOKIE_SAME_SITE,
      alwaysSecure: values.WEBUI_AUTH_COOKIE_SECURE ?? values.WEBUI_SESSION_COOKIE_SECURE,
    },
    apiKeys: values.ENABLE_API_KEYS
      ? { usersMayCreate: values.USER_PERMISSIONS_FEATURES_API_KEYS, allowedEndpoints: values.ENABLE_API_KEYS_ENDPOINT_RESTRICTIONS ? values.API_KEYS_ALLOWED_ENDPOINTS : null }
      : null,
    signinRateLimit: { perEmail: values.SIGNIN_RATE_LIMIT, perIp: values.SIGNIN_RATE_LIMIT_PER_IP },
    bootstrapAdmin: values.WEBUI_ADMIN_EMAIL !== null && adminPassword !== null
      ? { email: values.WEBUI_ADMIN_EMAIL, name: values.WEBUI_ADMIN_NAME, password: adminPassword } : null,
    trustedHeaders: values.WEBUI_AUTH_TRUSTED_EMAIL_HEADER === null ? null : {
      email: values.WEBUI_AUTH_TRUSTED_EMAIL_HEADER, name: values.WEBUI_AUTH_TRUSTED_NAME_HEADER,
      groups: values.WEBUI_AUTH_TRUSTED_GROUPS_HEADER, role: values.WEBUI_AUTH_TRUSTED_ROLE_HEADER,
    },
    mfaRequired: values.MFA_REQUIRED,
    passkeyLogin: values.ENABLE_PASSKEY_LOGIN,
    enableCommunitySharing: values.ENABLE_COMMUNITY_SHARING,
    publicUrl: values.WEBUI_URL,
  }
}

function pickMasterKeySource(values: VariableValues, cwd: string, dataDir: string): MasterKeySource {
  if (values.ENCRYPTION_KEY !== null) return { kind: 'env', value: values.ENCRYPTION_KEY }
  if (values.ENCRYPTION_KEY_FILE !== null) return { kind: 'file', path: resolve(cwd, values.ENCRYPTION_KEY_FILE) }
  return { kind: 'generated', path: join(dataDir, '.encryption_key') }
}
