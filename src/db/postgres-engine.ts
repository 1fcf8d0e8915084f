/**
 * The SqlEngine contract (engine.ts) on PostgreSQL, through Bun's built-in client (Bun.SQL) and its
 * connection pool. Repositories keep SQLite's SQL: `?` placeholders are renumbered once per text
 * (postgres-placeholders.ts), and rows come back as the SQLite engine returns them: int8 and numeric
 * as numbers, bytea as Uint8Array, booleans as 1/0, times as milliseconds, JSON as text.
 *
 * Transactions: `transaction(fn)` takes a connection of its own and runs fn there at SERIALIZABLE,
 * with the transaction carried in the async context as on SQLite (nested calls join it; calls from
 * other contexts run beside it on other connections and never join it). Transactions of one process
 * run one after the other, as on SQLite. Another instance's concurrent transaction can still make
 * PostgreSQL refuse one (SQLSTATE 40001/40P01): fn then runs again, a few times at most, so fn must
 * keep its effects in the database (or undo the in-memory ones when it throws).
 *
 * A lost connection: every call fails with DatabaseUnavailableError (nothing else: no SQL, no values,
 * no URL). A connection the server ended (restart, failover) is dropped with the whole pool, and a
 * statement the server refused that way is sent once more on a new connection, as the server ran
 * none of it. The pool reconnects by itself once the server is back. A transaction whose connection
 * is lost rejects at once; what its fn still sends fails too, and never runs outside it.
 *
 * Threat: the URL holds the database password; it goes to Bun.SQL and nowhere else.
 */
// note: the type only; the class is read from `Bun` when a pool opens. A value import made every
// start (SQLite's too) load Bun's PostgreSQL client module: ~10 ms of a cold start.
import type { SQL } from 'bun'
import { AsyncLocalStorage } from 'node:async_hooks'
import type { PostgresConfig } from '../config/database-variables.ts'
import { DatabaseStatementError, DatabaseUnavailableError, isTransactionConflict } from './database-errors.ts'
import { runCommitted, type RunResult, type SqlEngine, type SqlTransaction, type SqlValue } from './engine.ts'
import { toPostgresPlaceholders } from './postgres-placeholders.ts'

/** The URL and pool settings, from DATABASE_URL and DATABASE_POOL_* (config/database-variables.ts). */
export type PostgresOptions = PostgresConfig
export type PostgresPool = PostgresConfig['pool']

type OpenTransaction = SqlTransaction & { readonly tx: SQL; isOpen: boolean; readonly committed: (() => void)[] }
type Rows = Record<string, unknown>[]

/**
 * How often a transaction refused for a conflict with another instance's runs in all, and the most
 * it waits before running again (a random part of 2^attempt ms, up to this): with several instances
 * writing one table at once (twenty first sign-ups over three), 8 attempts 5 ms apart at most left
 * one sign-up refused in a few runs; spread out further apart, the retries stop meeting each other.
 */
const MAX_TRANSACTION_ATTEMPTS = 16
const MAX_CONFLICT_BACKOFF_MS = 64

/** Opens a pool on the PostgreSQL database of `url` (postgres:// or postgresql://); it connects on first use. */
export function createPostgresEngine(options: PostgresOptions): SqlEngine {
  const context = new AsyncLocalStorage<OpenTransaction>()
  let pool = openPool(options)
  let queue: Promise<unknown> = Promise.resolve()

  /** Drops every connection of `failed` (if still current), so the next call starts afresh. */
  const replacePool = (failed: SQL) => {
    if (pool !== failed) return
    pool = openPool(options)
    failed.close({ timeout: 1 }).catch(() => {})
  }
  /** The engine's error for whatever Bun threw; a connection the server ended takes its pool with it. */
  const fail = (error: unknown, used: SQL): unknown => {
    const translated = translateError(error)
    if (translated instanceof DatabaseUnavailableError) replacePool(used)
    return translated
  }

  const query = async (sql: string, params: SqlValue[]) => {
    const text = toPostgresPlaceholders(sql)
    const values = params.map(toParameter)
    const open = context.getStore()
    if (open !== undefined && open.isOpen) {
      try {
        return await open.tx.unsafe(text, values)
      } catch (error) {
        throw translateError(error)
      }
    }
    const used = pool
    try {
      return await used.unsafe(text, values)
    } catch (error) {
      const translated = fail(error, used)
      if (!isSessionEndedByServer(error)) throw translated
    }
    const again = pool
    try {
      return await again.unsafe(text, values)
    } catch (error) {
      throw fail(error, again)
    }
  }

  /** Runs `task` once every transaction queued before it has ended. */
  const oneAtATime = <T>(task: () => Promise<T>): Promise<T> => {
    const result = queue.then(task)
    queue = result.then(() => {}, () => {})
    return result
  }

  const runTransaction = async <T>(fn: () => Promise<T>, settled: Promise<void>): Promise<T> => {
    for (let attempt = 1; ; attempt++) {
      const used = pool
      let started = false
      try {
        const reserved = await used.reserve({ signal: AbortSignal.timeout(options.pool.connectionTimeoutSeconds * 1000) })
        // note: per attempt, so what an attempt that ran into a conflict registered never runs.
        const committed: (() => void)[] = []
        try {
          const result = await reserved.begin('ISOLATION LEVEL SERIALIZABLE', async (tx) => {
            started = true
            // note: its snapshot may be older than a commit made meanwhile (by another instance, too).
            const open: OpenTransaction = { tx, isOpen: true, seesEveryCommit: false, settled, committed }
            try {
              return await context.run(open, fn)
            } finally {
              open.isOpen = false
            }
          }) as T
          runCommitted(committed)
          return result
        } finally {
          reserved.release().catch(() => {})
        }
      } catch (error) {
        const translated = error instanceof DOMException && error.name === 'TimeoutError' ? new DatabaseUnavailableError('pool_timeout') : fail(error, used)
        if (isTransactionConflict(translated) && attempt < MAX_TRANSACTION_ATTEMPTS) {
          await Bun.sleep(Math.random() * Math.min(MAX_CONFLICT_BACKOFF_MS, 2 ** attempt))
          continue
        }
        if (!started && attempt === 1 && isSessionEndedByServer(error)) continue
        throw translated
      }
    }
  }

  return {
    dialect: 'postgresql',
    // note: Bun.SQL prepares each statement on each pooled connection at its first use there; nothing is held here to prepare ahead.
    statementTexts: (): string[] => [],
    prepare(): void {},
    async get<Row>(sql: string, ...params: SqlValue[]): Promise<Row | null> {
      const result = await query(sql, params)
      return result.length === 0 ? null : (normalizeRows(result, 1)[0] as Row)
    },
    async all<Row>(sql: string, ...params: SqlValue[]): Promise<Row[]> {
      return normalizeRows(await query(sql, params)) as Row[]
    },
    async run(sql: string, ...params: SqlValue[]): Promise<RunResult> {
      const result = await query(sql, params)
      return { changes: result.affectedRows ?? result.count ?? 0 }
    },
    async exec(script: string): Promise<void> {
      const open = context.getStore()
      const target = open !== undefined && open.isOpen ? open.tx : pool
      try {
        await target.unsafe(script)
      } catch (error) {
        throw fail(error, target)
      }
    },
    transaction<T>(fn: () => Promise<T>): Promise<T> {
      const open = context.getStore()
      if (open !== undefined && open.isOpen) return fn()
      let settle!: () => void
      const settled = new Promise<void>((resolve) => { settle = resolve })
      return oneAtATime(() => runTransaction(fn, settled)).finally(settle)
    },
    inTransaction(): boolean {
      return context.getStore()?.isOpen === true
    },
    afterCommit(fn: () => void): void {
      const open = context.getStore()
      if (open !== undefined && open.isOpen) open.committed.push(fn)
      else fn()
    },
    currentTransaction(): SqlTransaction | null {
      const open = context.getStore()
      return open !== undefined && open.isOpen ? open : null
    },
    async close(): Promise<void> {
      await oneAtATime(async () => {})
      await pool.close({ timeout: 5 })
    },
  }
}

function openPool({ url, pool }: PostgresOptions): SQL {
  const parsed = new URL(url)
  const username = decodeURIComponent(parsed.username)
  return new Bun.SQL({
    adapter: 'postgres',
    url,
    // note: given again as options, which win over PGDATABASE, PGUSER... that Bun would otherwise prefer to the URL.
    hostname: parsed.hostname.replace(/^\[(.*)\]$/, '$1') || 'localhost',
    port: parsed.port === '' ? 5432 : Number(parsed.port),
    username,
    password: decodeURIComponent(parsed.password),
    database: decodeURIComponent(parsed.pathname.replace(/^\//, '')) || username,
    max: pool.maxConnections,
    idleTimeout: pool.idleTimeoutSeconds,
    maxLifetime: pool.maxLifetimeSeconds,
    connectionTimeout: pool.connectionTimeoutSeconds,
    bigint: true,
    connection: { application_name: 'enclave' },
  })
}

// note: SQLite binds true/false as 1/0, and flag columns are INTEGER on both engines.
const toParameter = (value: SqlValue): unknown => (typeof value === 'boolean' ? (value ? 1 : 0) : value ?? null)

/** PostgreSQL type OIDs whose values Bun returns otherwise than the SQLite engine does. */
const convertByType = new Map<number, (value: unknown) => unknown>([
  [20, (value) => (typeof value === 'bigint' && value <= BigInt(Number.MAX_SAFE_INTEGER) && value >= BigInt(Number.MIN_SAFE_INTEGER) ? Number(value) : value)],
  [1700, (value) => (typeof value === 'string' ? Number(value) : value)],
  [17, (value) => (value instanceof Uint8Array ? new Uint8Array(value.buffer, value.byteOffset, value.byteLength) : value)],
  [16, (value) => (typeof value === 'boolean' ? (value ? 1 : 0) : value)],
  [1082, (value) => (value instanceof Date ? value.getTime() : value)],
  [1114, (value) => (value instanceof Date ? value.getTime() : value)],
  [1184, (value) => (value instanceof Date ? value.getTime() : value)],
  [114, (value) => (value === null ? null : JSON.stringify(value))],
  [3802, (value) => (value === null ? null : JSON.stringify(value))],
])

/** Plain rows as the SQLite engine returns them: the first `limit` of them. */
function normalizeRows(result: Rows & { columns?: { name: string; type: number }[] | null }, limit = result.length): Rows {
  const conversions = (result.columns ?? []).flatMap((column) => {
    const convert = convertByType.get(column.type)
    return convert === undefined ? [] : [[column.name, convert] as const]
  })
  const count = Math.min(limit, result.length)
  const rows: Rows = new Array(count)
  for (let i = 0; i < count; i++) {
    const row = result[i]!
    for (const [name, convert] of conversions) {
      const value = row[name]
      if (value !== null && value !== undefined) row[name] = convert(value)
    }
    rows[i] = row
  }
  return rows
}

/** Bun's codes for a connection that could not be made or was lost. */
const CONNECTION_CODES = new Set([
  'ERR_POSTGRES_CONNECTION_CLOSED', 'ERR_POSTGRES_CONNECTION_FAILED', 'ERR_POSTGRES_CONNECTION_REFUSED',
  'ERR_POSTGRES_CONNECTION_TIMEOUT', 'ERR_POSTGRES_IDLE_TIMEOUT', 'ERR_POSTGRES_LIFETIME_TIMEOUT',
  'ERR_POSTGRES_TLS_NOT_AVAILABLE', 'ERR_POSTGRES_TLS_UPGRADE_FAILED',
  'ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN',
])
/** SQLSTATEs of a server that ended the session or cannot take one now. */
const SESSION_ENDED_STATES = new Set(['57P01', '57P02', '57P03'])
const UNAVAILABLE_STATES = new Set([...SESSION_ENDED_STATES, '53300'])

function errorFields(error: unknown): { code: string; errno: string } {
  if (typeof error !== 'object' || error === null) return { code: '', errno: '' }
  const { code, errno } = error as { code?: unknown; errno?: unknown }
  return { code: typeof code === 'string' ? code : '', errno: typeof errno === 'string' ? errno : '' }
}

/** The server ended the session before it ran the statement (shutdown, restart, terminated backend). */
function isSessionEndedByServer(error: unknown): boolean {
  return SESSION_ENDED_STATES.has(errorFields(error).errno)
}

/** Our error for Bun's: unavailable, a refused statement without the values it held, or the caller's own error unchanged. */
function translateError(error: unknown): unknown {
  if (error instanceof DatabaseUnavailableError || error instanceof DatabaseStatementError) return error
  const { code, errno } = errorFields(error)
  if (CONNECTION_CODES.has(code) || UNAVAILABLE_STATES.has(errno) || errno.startsWith('08')) return new DatabaseUnavailableError(errno || code)
  if (!(error instanceof Bun.SQL.PostgresError)) return error
  // note: data errors (class 22) quote the value they refused, so only the code is kept.
  const message = errno.startsWith('22') ? `PostgreSQL refused a value (SQLSTATE ${errno}).` : `${error.message} (SQLSTATE ${errno || code})`
  return new DatabaseStatementError(errno || code, message)
}
