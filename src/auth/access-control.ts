/**
 * Open WebUI's per-resource grant, as a pure decision. Format (as Open WebUI stores and sends it):
 * `null` means public (everyone may read, only the owner may write); otherwise
 * `{ read: { group_ids, user_ids }, write: { group_ids, user_ids } }`, where write implies read.
 * Threat: a user reaching a model, prompt, knowledge base or workspace model they were not granted.
 * Every path that decides on a grant asks this one function; callers supply who is asking (the user
 * id, role and current group ids) and the resource's owner and grant.
 */

export type AccessGrant = { group_ids: string[]; user_ids: string[] }
export type AccessControl = { read?: AccessGrant; write?: AccessGrant } | null

export type AccessKind = 'read' | 'write'

/** Who is asking, as far as grants are concerned. */
export type Accessor = { id: string; role: 'admin' | 'user' | 'pending'; groupIds: readonly string[] }

/** `bypassAdmin`: BYPASS_ADMIN_ACCESS_CONTROL (admins pass every grant). */
export type AccessPolicy = { bypassAdmin: boolean }

function granted(grant: AccessGrant | undefined, who: Accessor): boolean {
  if (!grant) return false
  if (grant.user_ids?.includes(who.id)) return true
  const groups = grant.group_ids ?? []
  return who.groupIds.some((id) => groups.includes(id))
}

/**
 * Whether `who` may `kind` a resource owned by `ownerId` (null: owned by nobody, e.g. a base model)
 * with grant `access`. Pending users never pass.
 */
export function hasAccess(
  who: Accessor,
  resource: { ownerId: string | null; access: AccessControl },
  kind: AccessKind,
  policy: AccessPolicy,
): boolean {
  if (who.role === 'pending') return false
  if (who.role === 'admin' && policy.bypassAdmin) return true
  if (resource.ownerId !== null && resource.ownerId === who.id) return true
  const access = resource.access
  if (access === null) return kind === 'read'
  if (granted(access.write, who)) return true
  return kind === 'read' && granted(access.read, who)
}
