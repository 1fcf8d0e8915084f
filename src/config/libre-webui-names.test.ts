import { describe, expect, test } from 'bun:test'
import { renderConfig } from '../cli/print-config.ts'
import { ConfigError } from './config-error.ts'
import { loadConfig, type ConfigInput } from './load-config.ts'
import { findUnknownVariables } from './unknown-variables.ts'

const cwd = '/srv/enclave'

function problemsOf(input: ConfigInput): string {
  try {
    loadConfig(input)
  } catch (error) {
    if (error instanceof ConfigError) return error.message
    throw error
  }
  throw new Error('expected loadConfig to refuse')
}

describe("Libre WebUI's names", () => {
  test('JWT_SECRET and CORS_ORIGIN are read when ours are unset, and `enclave config` names them', () => {
    const config = loadConfig({ env: { JWT_SECRET: 'libre-secret-value', CORS_ORIGIN: 'http://localhost:5173,http://localhost:3000' }, cwd })
    expect(config.sessionSecret).toBe('libre-secret-value')
    expect('allowedOrigins' in config.cors && config.cors.allowedOrigins).toEqual(['http://localhost:5173', 'http://localhost:3000'])
    expect(config.sourceNames).toEqual({ WEBUI_SECRET_KEY: 'JWT_SECRET', CORS_ALLOW_ORIGIN: 'CORS_ORIGIN' })
    const printed = renderConfig(config)
    expect(printed).toMatch(/WEBUI_SECRET_KEY\s+\*\*\*\s+\[env as JWT_SECRET\]/)
    expect(printed).toMatch(/CORS_ALLOW_ORIGIN\s+http:\/\/localhost:5173;http:\/\/localhost:3000\s+\[env as CORS_ORIGIN\]/)
    expect(printed).not.toContain('libre-secret-value')
  })

  test('a name read from .env is named too', () => {
    const config = loadConfig({ env: {}, dotenv: 'JWT_SECRET=from-dotenv\n', cwd })
    expect(config.sessionSecret).toBe('from-dotenv')
    expect(renderConfig(config)).toMatch(/WEBUI_SECRET_KEY\s+\*\*\*\s+\[\.env as JWT_SECRET\]/)
  })

  test('both names set to the same value is fine, and reads as ours', () => {
    const config = loadConfig({ env: { JWT_SECRET: 'same', WEBUI_SECRET_KEY: 'same', CORS_ORIGIN: 'http://a.test,http://b.test', CORS_ALLOW_ORIGIN: 'http://a.test;http://b.test' }, cwd })
    expect(config.sessionSecret).toBe('same')
    expect(config.sourceNames).toEqual({})
  })

  test.each([
    ['JWT_SECRET', 'WEBUI_SECRET_KEY', { JWT_SECRET: 'one-secret', WEBUI_SECRET_KEY: 'other-secret' }],
    ['CORS_ORIGIN', 'CORS_ALLOW_ORIGIN', { CORS_ORIGIN: 'http://a.test', CORS_ALLOW_ORIGIN: 'http://b.test' }],
    ['SINGLE_USER_MODE', 'WEBUI_AUTH', { SINGLE_USER_MODE: 'true', WEBUI_AUTH: 'true' }],
    ['SINGLE_USER_MODE', 'WEBUI_AUTH', { SINGLE_USER_MODE: 'false', WEBUI_AUTH: 'false' }],
  ])('%s and %s set and disagreeing is refused, naming both', (libre, ours, env) => {
    const message = problemsOf({ env, cwd })
    expect(message).toContain(libre)
    expect(message).toContain(ours)
    expect(message).not.toContain('one-secret')
    expect(message).not.toContain('other-secret')
  })

  test('the disagreement is found across the environment and .env', () => {
    const message = problemsOf({ env: { JWT_SECRET: 'one-secret' }, dotenv: 'WEBUI_SECRET_KEY=other-secret\n', cwd })
    expect(message).toContain('JWT_SECRET')
    expect(message).toContain('WEBUI_SECRET_KEY')
  })

  test.each([
    [{}, false],
    [{ SINGLE_USER_MODE: 'true' }, true],
    [{ WEBUI_AUTH: 'False' }, true],
    [{ SINGLE_USER_MODE: 'true', WEBUI_AUTH: 'false' }, true],
    [{ SINGLE_USER_MODE: 'false', WEBUI_AUTH: 'true' }, false],
  ])('single-user mode from %p: %p, and sign-up closes with it', (env, singleUser) => {
    const config = loadConfig({ env, cwd })
    expect(config.auth.singleUser).toBe(singleUser)
    if (singleUser) expect(config.auth.enableSignup).toBe(false)
  })

  test('the other names are not reported as unknown settings', () => {
    expect(findUnknownVariables(['JWT_SECRET', 'CORS_ORIGIN', 'SINGLE_USER_MODE', 'LIBRE_WEBUI_ENCRYPTION_KEY'])).toEqual({ misspelt: [], unsupported: [] })
  })
})
