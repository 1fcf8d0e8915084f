import { expect, test } from 'bun:test'
import { createMemoryAuditLog } from '../audit/audit-log.ts'
import { loadConfig } from '../config/load-config.ts'
import { openMemoryStore } from '../db/open-store.ts'
import { createAuthDeps } from './auth-deps.ts'
import { bootstrapAdmin } from './bootstrap-admin.ts'
import { localLogin } from './local-login.ts'
import { findPasswordProblem, hashPassword, verifyPassword } from './passwords.ts'
import { openGate } from './setup-token.ts'
import { signUp } from './sign-up.ts'

function authDeps(env: Record<string, string> = {}) {
  const config = loadConfig({ env, cwd: process.cwd() })
  return createAuthDeps({ store: openMemoryStore(), auth: config.auth, sessionSecret: 'unit-test-secret', audit: createMemoryAuditLog(), now: Date.now, setupGate: openGate })
}

test('argon2id hashes verify, do not truncate at 72 bytes, and need no rehash', async () => {
  const long = 'p'.repeat(80)
  const hash = await hashPassword(long)
  expect(hash).toStartWith('$argon2id$')
  expect(await verifyPassword(long, hash)).toEqual({ matches: true, needsRehash: false })
  expect((await verifyPassword(`${'p'.repeat(79)}q`, hash)).matches).toBe(false)
})

test('a malformed stored hash never matches and never throws', async () => {
  for (const hash of ['', 'plain text', '$argon2id$broken', '$2b$10$short']) expect(await verifyPassword('anything', hash)).toEqual({ matches: false, needsRehash: false })
})

test('an imported bcrypt hash signs in and is upgraded to argon2id', async () => {
  const deps = authDeps()
  const created = await signUp(deps, { name: 'Imported', email: 'imported@example.com', password: 'imported password' }, false)
  if (!created.ok) throw new Error('not created')
  await deps.store.credentials.setPasswordHash(created.user.id, await Bun.password.hash('imported password', { algorithm: 'bcrypt', cost: 4 }))
  expect(await deps.store.credentials.findPasswordHash(created.user.id)).toStartWith('$2')
  expect((await localLogin(deps, { email: 'imported@example.com', password: 'imported password' }, '127.0.0.1')).ok).toBe(true)
  expect(await deps.store.credentials.findPasswordHash(created.user.id)).toStartWith('$argon2id$')
  expect((await localLogin(deps, { email: 'imported@example.com', password: 'imported password' }, '127.0.0.1')).ok).toBe(true)
})

test('a stored bcrypt hash above cost 12 never matches, even with the right password; cost 12 still does', async () => {
  const costly = await Bun.password.hash('right password', { algorithm: 'bcrypt', cost: 13 })
  expect(await verifyPassword('right password', costly)).toEqual({ matches: false, needsRehash: false })
  expect(await verifyPassword('right password', await Bun.password.hash('right password', { algorithm: 'bcrypt', cost: 12 }))).toEqual({ matches: true, needsRehash: true })
})

test.each([
  ['short', 'seven77', 'password_too_short'],
  ['long enough', 'eight888', null],
  ['eight emoji count as eight characters', '🔑'.repeat(8), null],
  ['over the maximum', 'x'.repeat(1025), 'password_too_long'],
])('password policy: %s', (_, password, code) => {
  const found: string | null = findPasswordProblem(password, null)?.code ?? null
  expect(found).toBe(code)
})

test('the configured pattern and hint apply when validation is on', () => {
  const { auth } = loadConfig({ env: { ENABLE_PASSWORD_VALIDATION: 'true', PASSWORD_VALIDATION_HINT: 'Mix cases, digits and symbols.' }, cwd: process.cwd() })
  expect(findPasswordProblem('alllowercase1', auth.passwordPattern)).toEqual({ code: 'password_too_weak', message: 'Mix cases, digits and symbols.' })
  expect(findPasswordProblem('Mixed-Case-1', auth.passwordPattern)).toBeNull()
})

test('bootstrapAdmin creates the admin once, only when there are no users, and refuses a weak password naming the variable', async () => {
  const deps = authDeps({ WEBUI_ADMIN_EMAIL: 'root@example.com', WEBUI_ADMIN_PASSWORD: 'root password 1' })
  expect(await bootstrapAdmin(deps)).toBe('created')
  expect((await deps.store.users.findUserByEmail('root@example.com'))?.role).toBe('admin')
  expect(await bootstrapAdmin(deps)).toBe('skipped_users_exist')
  expect(await bootstrapAdmin(authDeps())).toBe('not_configured')
  const weak = authDeps({ WEBUI_ADMIN_EMAIL: 'root@example.com', WEBUI_ADMIN_PASSWORD: 'short' })
  await expect(bootstrapAdmin(weak)).rejects.toThrow('WEBUI_ADMIN_PASSWORD')
  await expect(bootstrapAdmin(weak)).rejects.not.toThrow('short')
})
