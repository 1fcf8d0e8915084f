import type { ConfigProblem } from './config-error.ts'
import { integerFrom, type Parser } from './parsers.ts'
import type { Variable } from './variable.ts'
import type { VariableValues } from './variables.ts'

/** PostgreSQL instead of SQLite in DATA_DIR (DATABASE_URL), with its pool; times in seconds. */
export type PostgresConfig = Readonly<{
  /** postgres:// or postgresql://, password included: give it to the engine and nothing else. */
  url: string
  pool: Readonly<{
    maxConnections: number
    /** Seconds an unused connection stays open; 0 keeps it. */
    idleTimeoutSeconds: number
    /** Seconds to wait for a new connection, or for a free one for a transaction. */
    connectionTimeoutSeconds: number
    /** Seconds after which a connection is replaced once it is free; 0 never. */
    maxLifetimeSeconds: number
  }>
}>

/** Connections when DATABASE_POOL_SIZE is 0 (Open WebUI's "no pool"): opened as needed, closed when idle. */
const UNPOOLED_MAX_CONNECTIONS = 10
const UNPOOLED_IDLE_SECONDS = 30

/** Accepts a postgres:// or postgresql:// URL with a host; an sqlite URL is refused with what to do instead. */
export const postgresUrl: Parser<string> = (raw) => {
  const value = raw.trim()
  if (/^sqlite(\+\w+)?:/i.test(value)) {
    return { expected: 'a postgres:// or postgresql:// URL. Enclave keeps its SQLite database in DATA_DIR (enclave.db), not at a URL: unset DATABASE_URL to use it' }
  }
  const expected = 'a postgres:// or postgresql:// URL, such as postgresql://enclave:PASSWORD@db.internal:5432/enclave'
  let url: URL
  try {
    url = new URL(value)
  } catch {
    return { expected }
  }
  if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:') return { expected }
  if (url.hostname === '') return { expected: `${expected} (with a host)` }
  return value
}

/** The URL with its password masked, for `enclave config` and the docs. */
export function withoutPassword(url: unknown): string {
  try {
    const parsed = new URL(String(url))
    if (parsed.password !== '') parsed.password = '***'
    return parsed.href
  } catch {
    return '***'
  }
}

/** The database. The names, meanings and defaults are Open WebUI's. */
export const databaseVariables = {
  DATABASE_URL: {
    parse: postgresUrl, default: null, show: withoutPassword,
    doc: 'PostgreSQL to keep everything in instead of SQLite in DATA_DIR: postgres://user:password@host:port/database (postgresql:// too; ?sslmode=require and the other Bun.SQL URL parameters apply). Unset: SQLite in DATA_DIR. See docs/postgresql.md. The password is never printed.',
  },
  DATABASE_POOL_SIZE: {
    parse: integerFrom(0, 1000), default: 0,
    doc: `PostgreSQL connections kept open. 0 (Open WebUI's "no pool"): up to ${UNPOOLED_MAX_CONNECTIONS}, each closed after ${UNPOOLED_IDLE_SECONDS} s unused.`,
  },
  DATABASE_POOL_MAX_OVERFLOW: {
    parse: integerFrom(0, 1000), default: 0,
    doc: 'PostgreSQL connections allowed beyond DATABASE_POOL_SIZE under load (the pool holds up to the sum).',
  },
  DATABASE_POOL_TIMEOUT: {
    parse: integerFrom(1, 3600), default: 30,
    doc: 'Seconds to wait for a PostgreSQL connection (a new one, or a free one for a transaction) before the request fails with 503.',
  },
  DATABASE_POOL_RECYCLE: {
    parse: integerFrom(-1, 604_800), default: 3600,
    doc: 'Seconds after which a PostgreSQL connection is closed and replaced once it is free; -1 keeps connections for good.',
  },
} as const satisfies Record<string, Variable<unknown>>

/** PostgreSQL settings from the parsed variables, or null for SQLite in DATA_DIR. */
export function postgresConfigFrom(values: VariableValues): PostgresConfig | null {
  if (values.DATABASE_URL === null) return null
  const size = values.DATABASE_POOL_SIZE
  return {
    url: values.DATABASE_URL,
    pool: {
      maxConnections: (size > 0 ? size : UNPOOLED_MAX_CONNECTIONS) + values.DATABASE_POOL_MAX_OVERFLOW,
      idleTimeoutSeconds: size > 0 ? 0 : UNPOOLED_IDLE_SECONDS,
      connectionTimeoutSeconds: values.DATABASE_POOL_TIMEOUT,
      maxLifetimeSeconds: values.DATABASE_POOL_RECYCLE < 0 ? 0 : values.DATABASE_POOL_RECYCLE,
    },
  }
}

/**
 * Refuses DATABASE_URL for a command that still opens the store on SQLite only, naming the URL
 * without its password: it would read or write DATA_DIR's SQLite file unseen, not the database the
 * server runs on.
 */
export function checkDatabaseSettings(values: VariableValues): ConfigProblem[] {
  if (values.DATABASE_URL === null) return []
  return [{
    variable: 'DATABASE_URL', value: withoutPassword(values.DATABASE_URL),
    expected: 'to be unset for this command: it works on SQLite in DATA_DIR only so far, not on the PostgreSQL the server runs on (docs/postgresql.md)',
  }]
}
