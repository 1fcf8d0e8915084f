import type { OAuthConfig } from '../config/oauth-variables.ts'
import type { IdentityProvider } from '../db/identities.ts'
import type { Role, User } from '../db/users.ts'
import type { AuthDeps } from './auth-deps.ts'
import { isEmailMarkedUnverified, isEmailVerified, readClaim, readClaimList, readClaimText, type Claims } from './oidc-claims.ts'
import { isValidEmail } from './sign-up.ts'

export type OidcLoginRefusal =
  | 'email_missing' | 'domain_not_allowed' | 'blocked_group' | 'role_not_allowed'
  | 'signup_disabled' | 'email_taken' | 'email_not_verified' | 'setup_token_required'

export type OidcLoginResult =
  | { ok: true; user: User; created: boolean; linked: boolean; groups: { added: number; removed: number } | null }
  | { ok: false; reason: OidcLoginRefusal }

export type OidcIdentity = { providerId: string; issuer: string; claims: Claims }

/** The identity key of an OpenID account: provider id, and issuer + NUL + sub (never the email). */
export function oidcIdentityOf(providerId: string, issuer: string, sub: string): { provider: IdentityProvider; subject: string } {
  return { provider: `oidc:${providerId}`, subject: `${issuer}\0${sub}` }
}

/**
 * Signs in the person a provider vouched for (its ID token and userinfo already validated by
 * openid-client). Every refusal is decided before anything is written, and the writes (account,
 * link, role, groups) happen in one transaction, so a refused sign-in creates nothing.
 * Accounts are linked by (issuer, sub); an email match links only with OAUTH_MERGE_ACCOUNTS_BY_EMAIL
 * and email_verified=true, so a provider can't take over a local account by claiming its address.
 */
export async function oidcLogin(deps: AuthDeps, oauth: OAuthConfig, input: OidcIdentity): Promise<OidcLoginResult> {
  const { claims } = input
  const email = readClaimText(claims, oauth.claims.email)
  if (email === null || !isValidEmail(email)) return { ok: false, reason: 'email_missing' }
  const domain = email.slice(email.lastIndexOf('@') + 1).toLowerCase()
  if (oauth.allowedDomains !== null && !oauth.allowedDomains.includes(domain)) return { ok: false, reason: 'domain_not_allowed' }
  // note: an address the provider itself calls unverified (a user may have typed it) does not pass the
  // domain list; providers that send no email_verified at all (Entra ID) are taken at their word.
  if (oauth.allowedDomains !== null && isEmailMarkedUnverified(claims)) return { ok: false, reason: 'email_not_verified' }

  const groups = readClaimList(claims, oauth.claims.groups)
  const blocked = new Set(oauth.blockedGroups.map(fold))
  if (groups.some((group) => blocked.has(fold(group)))) return { ok: false, reason: 'blocked_group' }
  const role = decideRole(oauth, readClaimList(claims, oauth.claims.roles))
  if (role === 'refused') return { ok: false, reason: 'role_not_allowed' }

  const identity = oidcIdentityOf(input.providerId, input.issuer, String(claims.sub))
  // note: the lookups and refusals run in the transaction of the writes, so two sign-ins of one account can't both create it.
  return deps.store.sql.transaction(async (): Promise<OidcLoginResult> => {
    const linkedId = await deps.store.identities.findUserIdByIdentity(identity.provider, identity.subject)
    const linkedUser = linkedId === null ? null : await deps.store.users.findUserById(linkedId)
    const byEmail = linkedUser === null ? await deps.store.users.findUserByEmail(email) : null
    if (linkedUser === null && byEmail !== null) {
      if (!oauth.mergeAccountsByEmail) return { ok: false, reason: 'email_taken' }
      if (!isEmailVerified(claims)) return { ok: false, reason: 'email_not_verified' }
      // note: an account already linked to another person at this provider (an address handed on) is not theirs.
      if ((await deps.store.identities.listIdentitiesOfUser(byEmail.id)).some((link) => link.provider === identity.provider)) return { ok: false, reason: 'email_taken' }
    }
    if (linkedUser === null && byEmail === null && !oauth.enableSignup) return { ok: false, reason: 'signup_disabled' }

    let user = linkedUser ?? byEmail
    const created = user === null
    const isFirst = user === null && await deps.store.users.countUsers() === 0
    // note: the first account becomes admin unless the provider's roles decide; beyond loopback that
    // needs the setup token (password sign-up), so whoever holds any account at the provider can't take a fresh server.
    if (isFirst && role === null && !deps.setupGate.admits(undefined)) return { ok: false, reason: 'setup_token_required' }
    if (user === null) {
      const name = (readClaimText(claims, oauth.claims.username) ?? email.split('@')[0]!).slice(0, 200)
      const result = await deps.store.users.createUser({ email, name, role: role ?? deps.auth.defaultUserRole, adminIfFirst: role === null })
      if (!result.ok) return { ok: false, reason: 'email_taken' }
      user = result.user
      if (isFirst) deps.setupGate.close()
    }
    const linked = linkedUser === null
    if (linked) await deps.store.identities.linkIdentity(identity.provider, identity.subject, user.id)
    else await deps.store.identities.recordIdentityLogin(identity.provider, identity.subject)
    if (role !== null && role !== user.role) {
      await deps.store.users.setUserRole(user.id, role)
      user = { ...user, role }
    }
    let synced: { added: number; removed: number } | null = null
    // note: a provider that sends no groups claim at all (not an empty one) leaves memberships as they are.
    if (oauth.groupManagement !== null && readClaim(claims, oauth.claims.groups) !== undefined) {
      const sync = await deps.store.groups.syncMembershipsFromSource(user.id, 'oidc', groups, oauth.groupManagement.createMissing)
      synced = { added: sync.added.length, removed: sync.removed.length }
    }
    return { ok: true, user, created, linked, groups: synced }
  })
}

/** The role the provider's roles give (Open WebUI's rules), null when role management is off, 'refused' when roles are present but none is allowed. */
export function decideRole(oauth: OAuthConfig, roles: readonly string[]): Role | 'refused' | null {
  if (oauth.roleManagement === null) return null
  if (roles.length === 0) return 'pending'
  if (roles.some((role) => oauth.roleManagement!.adminRoles.includes(role))) return 'admin'
  if (roles.some((role) => oauth.roleManagement!.allowedRoles.includes(role))) return 'user'
  return 'refused'
}

function fold(name: string): string {
  return name.trim().normalize('NFC').toLowerCase()
}
