/**
 * Sign-in with a directory account (POST /api/v1/auths/ldap), as Open WebUI does it, hardened:
 *
 *   rate limits -> refuse a blank password (an empty simple bind is an anonymous bind, RFC 4513
 *   5.1.2) -> bind as the app account -> search `(&(uid=<escaped>)<extra filter>)` under the base
 *   -> exactly one entry -> bind as that entry with the password -> allowed groups -> local account
 *   (linked by entryUUID, Active Directory's objectGUID, or DN) -> role and groups from the directory.
 *
 * Wrong password, unknown user, several matching entries and a user outside LDAP_ALLOWED_GROUPS all
 * return 'invalid_credentials', so the answer tells nothing; the audit log gets the real reason.
 * A directory that is down, hangs or is misconfigured returns 'directory_unavailable' within the
 * timeout, and the server log says why.
 */
import type { LdapConfig } from '../config/ldap-variables.ts'
import type { User } from '../db/users.ts'
import type { Logger } from '../log/logger.ts'
import type { AuthDeps } from './auth-deps.ts'
import { syncLdapAccount, type DirectoryPerson } from './ldap-account.ts'
import { DirectoryError, openDirectory } from './ldap-directory.ts'
import { userSearchFilter } from './ldap-filter.ts'
import { groupsFromAttribute, isInAnyGroup, normaliseDn } from './ldap-groups.ts'
import { admitSigninAttempt, recordSigninFailure } from './signin-throttle.ts'
import { isValidEmail } from './sign-up.ts'

export type LdapLoginResult =
  | { ok: true; user: User }
  | { ok: false; reason: 'invalid_credentials' | 'password_auth_disabled' | 'ldap_disabled' | 'no_email' | 'email_taken' | 'setup_token_required' | 'directory_unavailable' }
  | { ok: false; reason: 'rate_limited'; retryAfterSeconds: number }

export type LdapLoginDeps = AuthDeps & { ldap: LdapConfig | null; log: Logger }

export type Entry = Record<string, unknown> & { dn: string }

/** Signs in with a directory username and password; see the header for the steps. */
export async function ldapLogin(deps: LdapLoginDeps, input: { user: string; password: string }, ip: string): Promise<LdapLoginResult> {
  if (!deps.auth.enablePasswordAuth) return { ok: false, reason: 'password_auth_disabled' }
  const ldap = deps.ldap
  if (ldap === null) return { ok: false, reason: 'ldap_disabled' }
  const username = input.user.trim().normalize('NFC')
  const limited = await checkRateLimits(deps, username, ip)
  if (limited !== null) return limited
  const refuse = async (reason: string): Promise<LdapLoginResult> => {
    await recordSigninFailure(deps, ldapAccount(username), ip)
    deps.audit.record({ event: 'signin_failed', ip, method: 'ldap', reason })
    return { ok: false, reason: 'invalid_credentials' }
  }
  if (username === '') return refuse('blank_username')
  if (input.password.trim() === '') return refuse('blank_password')

  const found = await findAndBind(deps, ldap, username, input.password, ip)
  if (!found.ok) return found.reason === 'directory_unavailable' ? { ok: false, reason: 'directory_unavailable' } : refuse(found.reason)
  const { entry } = found

  const groups = groupsFromAttribute(attributeOf(entry, ldap.groupsAttribute))
  const isAllowed = ldap.allowedGroups === null || isInAnyGroup(groups, ldap.allowedGroups) || (ldap.adminGroups !== null && isInAnyGroup(groups, ldap.adminGroups))
  if (!isAllowed) return refuse('not_in_allowed_groups')
  const email = firstString(attributeOf(entry, ldap.mailAttribute))
  if (email === null || !isValidEmail(email)) {
    deps.audit.record({ event: 'signin_failed', ip, method: 'ldap', reason: 'no_email' })
    return { ok: false, reason: 'no_email' }
  }
  const person: DirectoryPerson = {
    subject: subjectOf(entry),
    email: email.trim().toLowerCase(),
    name: (firstString(attributeOf(entry, 'cn')) ?? username).trim().slice(0, 200) || username.slice(0, 200),
    groups,
  }
  const account = await syncLdapAccount(deps, ldap, deps.log, person, ip)
  if (!account.ok) {
    deps.audit.record({ event: 'signin_failed', ip, method: 'ldap', reason: account.reason })
    return { ok: false, reason: account.reason }
  }
  if (ldap.groupManagement !== null) {
    const names = groups.map((group) => group.cn).filter((cn): cn is string => cn !== null)
    const sync = await deps.store.groups.syncMembershipsFromSource(account.user.id, 'ldap', names, ldap.groupManagement.createMissing)
    if (sync.added.length + sync.removed.length > 0) deps.log.info('Directory groups synced', { userId: account.user.id, added: sync.added.length, removed: sync.removed.length })
  }
  return { ok: true, user: account.user }
}

type FindResult = { ok: true; entry: Entry } | { ok: false; reason: 'unknown_account' | 'ambiguous_account' | 'wrong_password' | 'directory_unavailable' }

/** The directory part: app bind, search, user bind, on one connection that is always closed. */
async function findAndBind(deps: LdapLoginDeps, ldap: LdapConfig, username: string, password: string, ip: string): Promise<FindResult> {
  let directory: Awaited<ReturnType<typeof openDirectory>> | null = null
  try {
    directory = await openDirectory(ldap)
    await directory.bindAsApp()
    // note: entryUUID (RFC 4530) and objectGUID (Active Directory) are asked for by name; a
    // directory that has neither ignores them, and the DN is the link instead.
    const attributes = [ldap.usernameAttribute, ldap.mailAttribute, 'cn', ldap.groupsAttribute, 'entryUUID', 'objectGUID']
    const entries = await directory.searchUsers(userSearchFilter(ldap.usernameAttribute, username, ldap.searchFilter), attributes, 2, ['objectGUID'])
    if (entries.length !== 1) {
      // Same work for unknown accounts as for wrong passwords: a second app bind stands in for the
      // user bind, so timing can't tell them apart (and the user's password goes nowhere).
      await directory.bindAsApp()
      return { ok: false, reason: entries.length === 0 ? 'unknown_account' : 'ambiguous_account' }
    }
    const entry = entries[0] as Entry
    if (!(await directory.bindAsUser(entry.dn, password))) return { ok: false, reason: 'wrong_password' }
    return { ok: true, entry }
  } catch (error) {
    if (!(error instanceof DirectoryError)) throw error
    deps.log.warn(`LDAP sign-in failed at the directory: ${error.message}`, { failure: error.failure })
    deps.audit.record({ event: 'signin_failed', ip, method: 'ldap', reason: `directory_${error.failure}` })
    return { ok: false, reason: 'directory_unavailable' }
  } finally {
    await directory?.close()
  }
}

/** The same rule as password sign-in (signin-throttle.ts): per client IP (shared with it) and per username. */
async function checkRateLimits(deps: LdapLoginDeps, username: string, ip: string): Promise<LdapLoginResult | null> {
  const refused = await admitSigninAttempt(deps, ldapAccount(username), ip)
  if (refused === null) return null
  deps.audit.record({ event: 'rate_limited', ip, method: 'ldap', reason: refused.reason })
  return { ok: false, reason: 'rate_limited', retryAfterSeconds: refused.retryAfterSeconds }
}

/** The sign-in throttle's account key for a directory username as typed. */
export const ldapThrottleAccount = (username: string) => `ldap:${username.trim().normalize('NFC').toLowerCase()}`
const ldapAccount = ldapThrottleAccount

/** An attribute of the entry by name, compared case-insensitively (directories return their own spelling). */
function attributeOf(entry: Entry, name: string): unknown {
  const wanted = name.toLowerCase()
  const key = Object.keys(entry).find((candidate) => candidate.toLowerCase() === wanted)
  return key === undefined ? undefined : entry[key]
}

/** The first value of an attribute (ldapts gives a string for one value, an array for several). */
function firstString(value: unknown): string | null {
  const first = Array.isArray(value) ? value[0] : value
  return typeof first === 'string' && first.trim() !== '' ? first : null
}

/** The entry's stable identity: entryUUID, else objectGUID, else its DN (which changes when it moves). */
export function subjectOf(entry: Entry): string {
  const uuid = firstString(attributeOf(entry, 'entryUUID'))
  if (uuid !== null) return `uuid:${uuid.toLowerCase()}`
  const guid = attributeOf(entry, 'objectGUID')
  const guidBytes = Array.isArray(guid) ? guid[0] : guid
  if (Buffer.isBuffer(guidBytes) && guidBytes.length === 16) return `guid:${guidBytes.toString('hex')}`
  return `dn:${normaliseDn(entry.dn)}`
}
