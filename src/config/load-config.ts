import { existsSync, readFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { ConfigError, type ConfigProblem } from './config-error.ts'
import { parseDotenv } from './dotenv.ts'
import { addressList, type AddressList } from './network.ts'
import { isParseFailure } from './parsers.ts'
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
  /** WEBUI_SECRET_KEY, else WEBUI_JWT_SECRET_KEY; null means: use or generate the persisted one. */
  sessionSecret: string | null
  masterKey: MasterKeySource
  ollamaBaseUrl: string
  logLevel: VariableValues['GLOBAL_LOG_LEVEL']
  maxRequestBodyBytes: number
  /** Peers whose forwarded headers are believed (FORWARDED_ALLOW_IPS, default loopback). */
  trustedProxies: AddressList
  shutdownTimeoutMs: number
  /** Every variable's typed value and where it came from, for `enclave config`. */
  values: Readonly<VariableValues>
  sources: Readonly<Record<VariableName, ValueSource>>
}>

export type ConfigInput = {
  /** Serve flags by variable name, e.g. { PORT: '9000' }. */
  flags?: Partial<Record<VariableName, string>>
  env: Record<string, string | undefined>
  /** The text of the .env file, or null when there is none. */
  dotenv?: string | null
  /** Relative paths (DATA_DIR, ENCRYPTION_KEY_FILE) resolve against this directory. */
  cwd: string
}

/**
 * Reads every setting once: flag over environment over .env over default. Returns a frozen Config,
 * or throws one ConfigError that names each bad variable, its value and what was expected.
 */
export function loadConfig({ flags = {}, env, dotenv = null, cwd }: ConfigInput): Config {
  const parsedDotenv = dotenv === null ? { values: {}, problems: [] } : parseDotenv(dotenv)
  const problems: ConfigProblem[] = [...parsedDotenv.problems]
  const values: Record<string, unknown> = {}
  const sources: Record<string, ValueSource> = {}

  for (const [name, variable] of Object.entries(variables) as [VariableName, Variable<unknown>][]) {
    const [raw, source] = pickRawValue(name, flags, env, parsedDotenv.values)
    sources[name] = source
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
  if (problems.length > 0) throw new ConfigError(problems)

  const dataDir = resolve(cwd, typed.DATA_DIR)
  return Object.freeze({
    port: typed.PORT,
    host: typed.HOST,
    dataDir,
    name: typed.WEBUI_NAME,
    publicUrl: typed.WEBUI_URL,
    sessionSecret: typed.WEBUI_SECRET_KEY ?? typed.WEBUI_JWT_SECRET_KEY,
    masterKey: pickMasterKeySource(typed, cwd, dataDir),
    ollamaBaseUrl: typed.OLLAMA_BASE_URL,
    logLevel: typed.GLOBAL_LOG_LEVEL,
    maxRequestBodyBytes: typed.MAX_REQUEST_BODY_SIZE,
    trustedProxies: typed.FORWARDED_ALLOW_IPS ?? (addressList('127.0.0.1,::1') as AddressList),
    shutdownTimeoutMs: typed.SHUTDOWN_TIMEOUT_SECONDS * 1000,
    values: Object.freeze(typed),
    sources: Object.freeze(sources as Record<VariableName, ValueSource>),
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

function pickMasterKeySource(values: VariableValues, cwd: string, dataDir: string): MasterKeySource {
  if (values.ENCRYPTION_KEY !== null) return { kind: 'env', value: values.ENCRYPTION_KEY }
  if (values.ENCRYPTION_KEY_FILE !== null) return { kind: 'file', path: resolve(cwd, values.ENCRYPTION_KEY_FILE) }
  return { kind: 'generated', path: join(dataDir, '.encryption_key') }
}
