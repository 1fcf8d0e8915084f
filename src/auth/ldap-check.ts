import type { LdapConfig } from '../config/ldap-variables.ts'
import { DirectoryError, openDirectory, type DirectoryFailure } from './ldap-directory.ts'
import { userSearchFilter } from './ldap-filter.ts'

export type LdapCheckResult =
  | { ok: true; entriesFound: number; dn: string | null }
  | { ok: false; failure: DirectoryFailure; message: string }

/**
 * Tries the settings the way a sign-in would, for an admin: connect, bind as the app account, and
 * search for the named user (or for any entry with a username when none is named). The message of
 * a failure is the real one, meant for the admin; it never holds a password.
 */
export async function checkLdapSettings(ldap: LdapConfig, username: string | null): Promise<LdapCheckResult> {
  let directory: Awaited<ReturnType<typeof openDirectory>> | null = null
  try {
    directory = await openDirectory(ldap)
    await directory.bindAsApp()
    const filter = username === null ? `(&(${ldap.usernameAttribute}=*)${ldap.searchFilter ?? ''})` : userSearchFilter(ldap.usernameAttribute, username, ldap.searchFilter)
    const entries = await directory.searchUsers(filter, ['1.1'], username === null ? 1 : 2)
    return { ok: true, entriesFound: entries.length, dn: entries.length === 1 ? entries[0]!.dn : null }
  } catch (error) {
    if (error instanceof DirectoryError) return { ok: false, failure: error.failure, message: error.message }
    throw error
  } finally {
    await directory?.close()
  }
}
