import type { LdapConfig } from '../config/ldap-variables.ts'
import type { Role, User } from '../db/users.ts'
import type { Logger } from '../log/logger.ts'
import type { AuthDeps } from './auth-deps.ts'
import { isInAnyGroup, type DirectoryGroup } from './ldap-groups.ts'

/** What a directory entry says about its person, read after the user's own bind succeeded. */
export type DirectoryPerson = {
  /** The link to the entry: `uuid:<entryUUID>`, `guid:<objectGUID hex>` (Active Directory), else `dn:<normalised DN>`. */
  subject: string
  email: string
  name: string
  groups: readonly DirectoryGroup[]
}

export type LdapAccountResult = { ok: true; user: User; created: boolean } | { ok: false; reason: 'email_taken' | 'setup_token_required' }

/**
 * Finds the local account linked to the directory entry, or creates and links one; then brings
 * its email, name and (with LDAP_ADMIN_GROUPS) role in line with the directory. An existing local
 * account with the same email is never taken over: the link is by entry, not by address.
 */
export function syncLdapAccount(deps: AuthDeps, ldap: LdapConfig, log: Logger, person: DirectoryPerson, ip: string): Promise<LdapAccountResult> {
  // note: lookup, creation and link in one transaction, so two sign-ins of one entry can't both create an account.
  return deps.store.sql.transaction(() => syncInTransaction(deps, ldap, log, person, ip))
}

async function syncInTransaction(deps: AuthDeps, ldap: LdapConfig, log: Logger, person: DirectoryPerson, ip: string): Promise<LdapAccountResult> {
  const isAdminByDirectory = ldap.adminGroups === null ? null : isInAnyGroup(person.groups, ldap.adminGroups)
  const userId = await deps.store.identities.findUserIdByIdentity('ldap', person.subject)
  if (userId === null) {
    // note: as for password sign-up and single sign-on, the first account (the admin) is made beyond
    // loopback only with the setup token, unless LDAP_ADMIN_GROUPS decides; so whoever has any entry in
    // the directory can't take a fresh server.
    const isFirst = await deps.store.users.countUsers() === 0
    if (isFirst && isAdminByDirectory === null && !deps.setupGate.admits(undefined)) return { ok: false, reason: 'setup_token_required' }
    const role: Role = isAdminByDirectory === true ? 'admin' : deps.auth.defaultUserRole
    const result = await deps.store.users.createUser({ email: person.email, name: person.name, role, adminIfFirst: isAdminByDirectory === null })
    if (!result.ok) return { ok: false, reason: 'email_taken' }
    if (isFirst) deps.setupGate.close()
    await deps.store.identities.linkIdentity('ldap', person.subject, result.user.id)
    deps.audit.record({ event: 'signup', actorId: result.user.id, ip, method: 'ldap', details: { role: result.user.role } })
    return { ok: true, user: result.user, created: true }
  }
  await deps.store.identities.recordIdentityLogin('ldap', person.subject)
  const user = await deps.store.users.findUserById(userId)
  if (user === null) return { ok: false, reason: 'email_taken' }
  return { ok: true, user: await updateFromDirectory(deps, log, user, person, isAdminByDirectory, ip), created: false }
}

/** Applies the directory's email, name and admin flag to the local user; returns the user as now stored. */
async function updateFromDirectory(deps: AuthDeps, log: Logger, user: User, person: DirectoryPerson, isAdminByDirectory: boolean | null, ip: string): Promise<User> {
  let updated = user
  if (person.email !== user.email) {
    const changed = await deps.store.users.changeUserEmail(user.id, person.email)
    if (changed.ok) updated = { ...updated, email: person.email }
    else log.warn('The directory gave a user an email address another account has; the old address is kept', { userId: user.id })
  }
  if (person.name !== user.name && await deps.store.users.renameUser(user.id, person.name)) updated = { ...updated, name: person.name }
  const role: Role | null = isAdminByDirectory === true && user.role !== 'admin' ? 'admin'
    : isAdminByDirectory === false && user.role === 'admin' ? 'user' : null
  if (role !== null && await deps.store.users.setUserRole(user.id, role)) {
    deps.audit.record({ event: 'role_changed', targetId: user.id, ip, method: 'ldap', details: { from: user.role, to: role } })
    updated = { ...updated, role }
  }
  return updated
}
