import type { User } from '../db/users.ts'
import type { AuthDeps } from './auth-deps.ts'
import { isValidEmail } from './sign-up.ts'

export type TrustedHeaderResult = { ok: true; user: User } | { ok: false; reason: 'invalid_email' }

const roles = new Set<User['role']>(['admin', 'user', 'pending'])

/**
 * Signs in the user a trusted proxy vouches for (WEBUI_AUTH_TRUSTED_*_HEADER), creating the account
 * on first sight, as Open WebUI does. Call only for requests from a trusted proxy peer: the caller
 * checks FORWARDED_ALLOW_IPS, because these headers are trivially forged by anyone else.
 */
export async function trustedHeaderLogin(deps: AuthDeps, headers: Headers): Promise<TrustedHeaderResult> {
  const names = deps.auth.trustedHeaders!
  const email = headers.get(names.email)?.trim() ?? ''
  if (!isValidEmail(email)) return { ok: false, reason: 'invalid_email' }
  const name = (names.name === null ? null : headers.get(names.name)?.trim().slice(0, 200)) || email.split('@')[0]!
  const roleHeader = names.role === null ? null : headers.get(names.role)?.trim().toLowerCase()
  const role = roleHeader !== null && roleHeader !== undefined && roles.has(roleHeader as User['role']) ? (roleHeader as User['role']) : null

  const existing = await deps.store.users.findUserByEmail(email)
  if (existing !== null) {
    if (role !== null && role !== existing.role) await deps.store.users.setUserRole(existing.id, role)
    return { ok: true, user: role === null ? existing : { ...existing, role } }
  }
  const created = await deps.store.users.createUser({ email, name, role: role ?? deps.auth.defaultUserRole, adminIfFirst: role === null })
  if (!created.ok) return { ok: false, reason: 'invalid_email' }
  return { ok: true, user: created.user }
}
