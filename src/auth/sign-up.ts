import type { User } from '../db/users.ts'
import type { AuthDeps } from './auth-deps.ts'
import { findPasswordProblem, hashPassword, type PasswordProblem } from './passwords.ts'

export type SignUpResult =
  | { ok: true; user: User }
  | { ok: false; reason: 'signup_disabled' | 'email_taken' | 'invalid_email' | 'setup_token_required' | 'blank_name' }
  | { ok: false; reason: 'weak_password'; problem: PasswordProblem }

// note: deliberately simple: one @, no spaces, a dot in the domain; the mailbox is not checked.
const EMAIL_PATTERN = /^[^\s@]{1,64}@[^\s@]+\.[^\s@]+$/u

/** Checks an email's form after normalisation (trimmed, NFC, lower-cased, at most 254 characters). */
export function isValidEmail(email: string): boolean {
  const normalised = email.trim().normalize('NFC').toLowerCase()
  return normalised.length <= 254 && EMAIL_PATTERN.test(normalised)
}

/**
 * Creates a local account with a password. The first account ever becomes admin, decided inside
 * the insert's transaction so two simultaneous first sign-ups make exactly one admin; later ones
 * need ENABLE_SIGNUP and ENABLE_LOGIN_FORM and get DEFAULT_USER_ROLE. `byAdmin` skips those gates.
 */
export async function signUp(
  deps: AuthDeps, input: { name: string; email: string; password: string; role?: User['role']; setupToken?: string }, byAdmin: boolean,
): Promise<SignUpResult> {
  const isOpen = byAdmin || (deps.auth.enableSignup && deps.auth.enableLoginForm && deps.auth.enablePasswordAuth)
  if (!isOpen && await deps.store.users.countUsers() > 0) return { ok: false, reason: 'signup_disabled' }
  if (!isValidEmail(input.email)) return { ok: false, reason: 'invalid_email' }
  if (input.name.trim() === '') return { ok: false, reason: 'blank_name' }
  const problem = findPasswordProblem(input.password, deps.auth.passwordPattern)
  if (problem !== null) return { ok: false, reason: 'weak_password', problem }
  const hash = await hashPassword(input.password)
  const role = input.role ?? deps.auth.defaultUserRole
  return deps.store.sql.transaction(async (): Promise<SignUpResult> => {
    // Checked again inside the transaction: only the very first account may skip a closed sign-up.
    const isFirst = await deps.store.users.countUsers() === 0
    if (!isOpen && !isFirst) return { ok: false, reason: 'signup_disabled' }
    if (isFirst && !byAdmin && !deps.setupGate.admits(input.setupToken)) return { ok: false, reason: 'setup_token_required' }
    const created = await deps.store.users.createUser({ email: input.email.trim().normalize('NFC'), name: input.name.trim(), role, adminIfFirst: !byAdmin })
    if (!created.ok) return created
    await deps.store.credentials.setPasswordHash(created.user.id, hash)
    if (isFirst) deps.setupGate.close()
    return created
  })
}
