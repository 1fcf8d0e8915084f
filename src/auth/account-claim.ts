/**
 * Claiming a passwordless admin: single-user mode's account (or an imported one) has no password,
 * so once the mode is off nobody could sign in to it. While the server's only admin has no password,
 * no linked LDAP or SSO account and no trusted proxy to vouch for it, the sign-in page offers to set
 * its password, once.
 *
 * Threat: whoever sets that password owns the server. So the claim passes the same gate as the first
 * sign-up on a fresh server (setup-token.ts): beyond loopback it needs the setup token from the
 * server console or DATA_DIR/.setup_token; on loopback, this machine's users are trusted as they are
 * for the first account. Invariant: the password is set only while the account has none, checked in
 * the same transaction that writes it, so two claims at once make exactly one password.
 */
import type { Store } from '../db/open-store.ts'
import type { User } from '../db/users.ts'
import type { AuthConfig } from '../config/load-config.ts'
import type { AuthDeps } from './auth-deps.ts'
import { findPasswordProblem, hashPassword, type PasswordProblem } from './passwords.ts'

export type ClaimResult =
  | { ok: true; user: User }
  | { ok: false; reason: 'nothing_to_claim' | 'setup_token_required' }
  | { ok: false; reason: 'weak_password'; problem: PasswordProblem }

/** Returns the admin whose password may be claimed, or null when there is none (the usual case). */
export async function findClaimableAdmin(deps: { store: Store; auth: AuthConfig }): Promise<User | null> {
  const { store, auth } = deps
  // note: single-user mode needs no password, password sign-in off has no use for one, and behind a
  // trusted-header proxy a passwordless admin is normal: the proxy is its way in.
  if (auth.singleUser || !auth.enablePasswordAuth || auth.trustedHeaders !== null) return null
  const admin = await store.users.findOnlyAdmin()
  if (admin === null) return null
  if (await store.credentials.findPasswordHash(admin.id) !== null) return null
  return (await store.identities.listIdentitiesOfUser(admin.id)).length === 0 ? admin : null
}

/** Sets the claimable admin's first password (policy checked, argon2id) if the setup gate admits it. */
export async function claimAdminAccount(deps: AuthDeps, input: { password: string; setupToken?: string }): Promise<ClaimResult> {
  if (await findClaimableAdmin(deps) === null) return { ok: false, reason: 'nothing_to_claim' }
  const problem = findPasswordProblem(input.password, deps.auth.passwordPattern)
  if (problem !== null) return { ok: false, reason: 'weak_password', problem }
  const hash = await hashPassword(input.password)
  return deps.store.sql.transaction(async (): Promise<ClaimResult> => {
    // Checked again inside the transaction: a claim that finished meanwhile leaves nothing to claim.
    const admin = await findClaimableAdmin(deps)
    if (admin === null) return { ok: false, reason: 'nothing_to_claim' }
    if (!deps.setupGate.admits(input.setupToken)) return { ok: false, reason: 'setup_token_required' }
    await deps.store.credentials.setPasswordHash(admin.id, hash)
    deps.setupGate.close()
    return { ok: true, user: admin }
  })
}
