/**
 * Reading what a provider says about a person: the ID token's claims merged with userinfo
 * (userinfo wins, as Open WebUI), read through claim paths that may be dotted for nested claims
 * (`realm_access.roles`, Keycloak's realm roles).
 */

export type Claims = Record<string, unknown>

/** Merges the ID token's claims with userinfo; userinfo's values win, except `sub`, which must agree anyway. */
export function mergeClaims(idTokenClaims: Claims, userinfo: Claims | null): Claims {
  return { ...idTokenClaims, ...(userinfo ?? {}), sub: idTokenClaims.sub ?? userinfo?.sub }
}

/** Reads a claim by a path: an exact top-level name first (some claims contain dots), then dotted steps. */
export function readClaim(claims: Claims, path: string): unknown {
  if (Object.hasOwn(claims, path)) return claims[path]
  let value: unknown = claims
  for (const step of path.split('.')) {
    if (typeof value !== 'object' || value === null || Array.isArray(value) || !Object.hasOwn(value, step)) return undefined
    value = (value as Record<string, unknown>)[step]
  }
  return value
}

/** Reads a claim as a list of names: an array of strings, or one string (split on commas). Absent: []. */
export function readClaimList(claims: Claims, path: string): string[] {
  const value = readClaim(claims, path)
  const items = Array.isArray(value) ? value : typeof value === 'string' ? value.split(',') : []
  return items.filter((item): item is string => typeof item === 'string').map((item) => item.trim()).filter((item) => item !== '').slice(0, 1000)
}

/** Reads a claim as a short string, or null when it is absent or not a string. */
export function readClaimText(claims: Claims, path: string): string | null {
  const value = readClaim(claims, path)
  return typeof value === 'string' && value.trim() !== '' ? value.trim() : null
}

/** Whether the provider says outright that the email is not verified (false, or the string "false"). */
export function isEmailMarkedUnverified(claims: Claims): boolean {
  return claims.email_verified === false || claims.email_verified === 'false'
}

/** Whether the provider vouches for the email: true only for a boolean true (or the string "true" some send). */
export function isEmailVerified(claims: Claims): boolean {
  return claims.email_verified === true || claims.email_verified === 'true'
}
