import { describe, expect, test } from 'bun:test'
import { renderConfig } from '../cli/print-config.ts'
import { ConfigError } from './config-error.ts'
import { checkDatabaseSettings, postgresConfigFrom, postgresUrl, withoutPassword } from './database-variables.ts'
import { loadConfig } from './load-config.ts'
import type { VariableValues } from './variables.ts'

const password = `pw-${crypto.randomUUID()}`
const defaults = { DATABASE_URL: null, DATABASE_POOL_SIZE: 0, DATABASE_POOL_MAX_OVERFLOW: 0, DATABASE_POOL_TIMEOUT: 30, DATABASE_POOL_RECYCLE: 3600 }
const values = (set: Partial<typeof defaults> | { DATABASE_URL: string }) => ({ ...defaults, ...set }) as unknown as VariableValues

/** The error of a command that still refuses DATABASE_URL (it opens SQLite only). */
function configErrorFrom(env: Record<string, string>): ConfigError {
  try {
    loadConfig({ env, cwd: '/srv/enclave', allowDatabaseUrl: false })
  } catch (error) {
    if (error instanceof ConfigError) return error
    throw error
  }
  throw new Error('expected a ConfigError')
}

describe('DATABASE_URL', () => {
  test.each([
    ['postgresql://enclave:pw@db.internal:5432/enclave', true],
    ['postgres://enclave@127.0.0.1/enclave?sslmode=require', true],
    [' postgresql://db/enclave ', true],
    ['sqlite:///app/backend/data/webui.db', false],
    ['sqlite+aiosqlite:///data/webui.db', false],
    ['mysql://u:p@db/enclave', false],
    ['postgresql+psycopg2://u:p@db/enclave', false],
    ['postgresql:///enclave', false],
    ['not a url', false],
    ['', false],
  ])('%s accepted: %p', (raw, accepted) => {
    expect(typeof postgresUrl(raw) === 'string').toBe(accepted)
  })

  test('an sqlite URL is refused with what to do instead', () => {
    expect(postgresUrl('sqlite:///data/webui.db')).toEqual({ expected: expect.stringContaining('unset DATABASE_URL') })
  })

  test('the password shows up in no error and no printout', () => {
    for (const url of [`mysql://enclave:${password}@db/enclave`, `postgresql://enclave:${password}@db.internal:5432/enclave`]) {
      const error = configErrorFrom({ DATABASE_URL: url })
      expect(error.message).toContain('DATABASE_URL')
      expect(`${error.message} ${error.stack} ${JSON.stringify(error)}`).not.toContain(password)
    }
    expect(withoutPassword(`postgresql://enclave:${password}@db:5432/enclave`)).toBe('postgresql://enclave:***@db:5432/enclave')
    expect(checkDatabaseSettings(values({ DATABASE_URL: `postgresql://enclave:${password}@db/enclave` }))[0]!.value).not.toContain(password)
    const printed = renderConfig(loadConfig({ env: {}, cwd: '/srv/enclave' }))
    expect(printed).toMatch(/DATABASE_URL\s+\(not set\)/)
  })

  test('accepted by the server and the commands that work on PostgreSQL; still parsed and checked', () => {
    const url = `postgresql://enclave:${password}@db.internal:5432/enclave`
    expect(loadConfig({ env: { DATABASE_URL: url }, cwd: '/srv/enclave' }).postgres?.url).toBe(url)
    expect(() => loadConfig({ env: { DATABASE_URL: 'sqlite:///data/webui.db' }, cwd: '/srv/enclave' })).toThrow(ConfigError)
  })

  test('refused, by name, for a command that still opens SQLite only', () => {
    const error = configErrorFrom({ DATABASE_URL: `postgresql://enclave:${password}@db.internal:5432/enclave` })
    expect(error.message).toContain('DATABASE_URL="postgresql://enclave:***@db.internal:5432/enclave"')
    expect(error.message).toContain('SQLite in DATA_DIR only')
  })

  test('unset: SQLite in DATA_DIR, as before', () => {
    expect(loadConfig({ env: {}, cwd: '/srv/enclave' }).postgres).toBeNull()
  })
})

describe('DATABASE_POOL_*', () => {
  const url = 'postgresql://enclave:pw@db/enclave'
  test.each([
    ['Open WebUI defaults: no pool', {}, { maxConnections: 10, idleTimeoutSeconds: 30, connectionTimeoutSeconds: 30, maxLifetimeSeconds: 3600 }],
    ['a pool with overflow', { DATABASE_POOL_SIZE: 5, DATABASE_POOL_MAX_OVERFLOW: 10 }, { maxConnections: 15, idleTimeoutSeconds: 0, connectionTimeoutSeconds: 30, maxLifetimeSeconds: 3600 }],
    ['recycle off, short timeout', { DATABASE_POOL_SIZE: 2, DATABASE_POOL_TIMEOUT: 5, DATABASE_POOL_RECYCLE: -1 }, { maxConnections: 2, idleTimeoutSeconds: 0, connectionTimeoutSeconds: 5, maxLifetimeSeconds: 0 }],
  ])('%s', (_, set, pool) => {
    expect(postgresConfigFrom(values({ DATABASE_URL: url, ...set }))).toEqual({ url, pool })
  })

  test.each([
    ['DATABASE_POOL_SIZE', '-1'], ['DATABASE_POOL_SIZE', 'ten'], ['DATABASE_POOL_MAX_OVERFLOW', '1.5'],
    ['DATABASE_POOL_TIMEOUT', '0'], ['DATABASE_POOL_RECYCLE', '-2'],
  ])('%s=%s is refused', (name, raw) => {
    expect(configErrorFrom({ [name]: raw }).message).toContain(name)
  })
})
