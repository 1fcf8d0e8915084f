/**
 * The one authentication path. HTTP routes, the WebSocket and the compatible APIs all call this,
 * so every credential (Bearer token, `token` cookie, x-api-key header, Bearer sk-...) meets the
 * same rules: live session, current key fingerprint, existing user, API keys on and permitted, and
 * the API-key endpoint allow-list. A credential admitted a moment ago is looked up in
 * deps.principals instead of the database while its user's revision stands (see principal-cache.ts);
 * the API-key rules that depend on settings and path are checked on every request all the same.
 */
import type { UserId } from '../db/ids.ts'
import type { SessionId } from '../db/sessions.ts'
import type { User } from '../db/users.ts'
import type { AuthDeps } from './auth-deps.ts'
import { hashApiKey, looksLikeApiKey } from './api-key-secret.ts'
import type { Admission } from './principal-cache.ts'
import type { Principal } from './principal.ts'
import { isEnrolmentPath, mustEnrolSecondFactor } from './second-factor.ts'
import { verifySessionToken } from './tokens.ts'

export type AuthFailure = 'missing_credential' | 'invalid_credential' | 'api_key_not_allowed' | 'api_key_endpoint_denied' | 'second_factor_enrolment_required'
export type AuthResult = { ok: true; principal: Principal } | { ok: false; reason: AuthFailure }

/** Finds the credential a request carries: Authorization Bearer, then x-api-key, then the token cookie; '' when malformed. */
export function findCredential(headers: Headers): string | null {
  // note: another scheme (Basic from a proxy in front) is not ours; fall through to the others.
  const authorization = headers.get('authorization')
  if (authorization !== null && /^Bearer(\s|$)/i.test(authorization)) {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization)
    return match?.[1] ?? ''
  }
  const apiKey = headers.get('x-api-key')
  if (apiKey !== null) return apiKey.trim()
  return readCookie(headers.get('cookie'), 'token')
}

/**
 * Authenticates a credential for a request to `path`. A user MFA_REQUIRED covers who has no second
 * factor yet reaches only the enrolment paths (second-factor.ts), whatever the credential. The answer
 * is synchronous unless that rule needs the database: once per admission, as its answer is kept with
 * the admitted user (principal-cache.ts), so a remembered credential is answered without an await.
 */
export function authenticate(deps: AuthDeps, credential: string | null, path: string): AuthResult | Promise<AuthResult> {
  const result = admitCredential(deps, credential, path)
  // note: an API key's permission is asked from what is at most a second old: at once from memory, or read again.
  if (result.ok && result.principal.via === 'api_key') {
    const known = deps.auth.apiKeys === null ? false : deps.permissions.hasIfFresh({ user: result.principal.user }, 'features.api_keys')
    if (known === undefined) return mayUseApiKeys(deps, result.principal.user).then((may) => (may ? enrolled(deps, result, path) : API_KEY_NOT_ALLOWED))
    if (!known) return API_KEY_NOT_ALLOWED
  }
  return enrolled(deps, result, path)
}

const API_KEY_NOT_ALLOWED: AuthResult = Object.freeze({ ok: false, reason: 'api_key_not_allowed' })

/** The second-factor enrolment rule over an admitted credential. */
function enrolled(deps: AuthDeps, result: AuthResult, path: string): AuthResult | Promise<AuthResult> {
  if (!result.ok || deps.auth.mfaRequired === 'none' || isEnrolmentPath(path)) return result
  const { user } = result.principal
  const known = deps.principals.enrolmentOf(user)
  if (known !== undefined) return known ? ENROLMENT_REQUIRED : result
  return mustEnrolSecondFactor(deps, user).then((must) => {
    deps.principals.rememberEnrolment(user, must)
    return must ? ENROLMENT_REQUIRED : result
  })
}

const ENROLMENT_REQUIRED: AuthResult = Object.freeze({ ok: false, reason: 'second_factor_enrolment_required' })

/**
 * The credential's own rules, without the enrolment rule: live session or key, current key
 * fingerprint, existing user, API keys on and permitted, the endpoint allow-list. Synchronous, for
 * what must decide at once: a revocation notice (credential-watch.ts), a socket frame, the body limit.
 */
export function admitCredential(deps: AuthDeps, credential: string | null, path: string): AuthResult {
  if (credential === null) return { ok: false, reason: 'missing_credential' }
  if (credential === '' || credential.length > 4096) return { ok: false, reason: 'invalid_credential' }
  return looksLikeApiKey(credential) ? authenticateApiKey(deps, credential, path) : authenticateSession(deps, credential)
}

/** Whether this user may hold and use API keys now: keys are on, and the features.api_keys permission (defaults or a group). */
export async function mayUseApiKeys(deps: AuthDeps, user: User): Promise<boolean> {
  return deps.auth.apiKeys !== null && await deps.permissions.has({ user }, 'features.api_keys')
}

/**
 * mayUseApiKeys as last known, at once (permissions.ts `hasAsKnown`), for the synchronous checks;
 * a user whose groups were never read here passes it, as `authenticate` then asks by a read.
 */
function mayUseApiKeysAsKnown(deps: AuthDeps, user: User): boolean {
  return deps.auth.apiKeys !== null && deps.permissions.hasAsKnown({ user }, 'features.api_keys') !== false
}

/** The user's effective permissions, as the session object carries them; features.api_keys only while keys are on. */
export async function permissionsOf(deps: AuthDeps, user: User) {
  const [tree, apiKeys] = await Promise.all([deps.permissions.effective({ user }), mayUseApiKeys(deps, user)])
  return { ...tree, features: { ...tree.features, api_keys: apiKeys } }
}

function authenticateSession(deps: AuthDeps, token: string): AuthResult {
  const known = deps.principals.find(token)
  if (known?.via === 'session') return { ok: true, principal: { ...known, token } }
  const claims = verifySessionToken(token, deps.sessionSecret, deps.now())
  if (claims === null || claims.kfp !== deps.store.info.keyFingerprint) return { ok: false, reason: 'invalid_credential' }
  const revision = deps.store.accountChanges.revisionOf(claims.id as UserId)
  const session = deps.store.sessions.findLiveSession(claims.jti as SessionId)
  if (session === null || session.userId !== claims.id) return { ok: false, reason: 'invalid_credential' }
  const user = deps.store.users.findUserById(session.userId)
  if (user === null) return { ok: false, reason: 'invalid_credential' }
  const sessionId = claims.jti as SessionId
  const expiresAt = Math.min(session.expiresAt ?? Number.POSITIVE_INFINITY, claims.exp === null ? Number.POSITIVE_INFINITY : claims.exp * 1000)
  deps.principals.remember(token, { user, via: 'session', sessionId }, revision, expiresAt)
  return { ok: true, principal: { user, via: 'session', sessionId, token } }
}

function authenticateApiKey(deps: AuthDeps, key: string, path: string): AuthResult {
  const admission = deps.principals.find(key) ?? admitApiKey(deps, key)
  if (admission?.via !== 'api_key') return { ok: false, reason: 'invalid_credential' }
  const { user, apiKeyId, allowedModels } = admission
  if (!mayUseApiKeysAsKnown(deps, user)) return { ok: false, reason: 'api_key_not_allowed' }
  const allowed = deps.auth.apiKeys?.allowedEndpoints ?? null
  if (allowed !== null && !allowed.some((entry) => isPathWithin(path, entry))) return { ok: false, reason: 'api_key_endpoint_denied' }
  return { ok: true, principal: { user, via: 'api_key', apiKeyId, token: key, allowedModels } }
}

/** Looks the key up in the database and remembers whom it admits; undefined when it admits no one. */
function admitApiKey(deps: AuthDeps, key: string): Admission | undefined {
  const used = deps.store.apiKeys.useApiKey(hashApiKey(key))
  if (used === null) return undefined
  // note: read with the rows below, in one synchronous run: no change can come in between.
  const revision = deps.store.accountChanges.revisionOf(used.userId)
  const user = deps.store.users.findUserById(used.userId)
  if (user === null) return undefined
  const admission: Admission = { user, via: 'api_key', apiKeyId: used.id, allowedModels: used.allowedModels === null ? null : Object.freeze([...used.allowedModels]) }
  deps.principals.remember(key, admission, revision, used.expiresAt)
  return admission
}

/** A path matches an allow-list entry exactly or as `entry/...`; a trailing slash is ignored. */
export function isPathWithin(path: string, entry: string): boolean {
  const normalised = path.length > 1 ? path.replace(/\/+$/, '') : path
  return normalised === entry || normalised.startsWith(entry.endsWith('/') ? entry : `${entry}/`)
}

function readCookie(header: string | null, name: string): string | null {
  if (header === null) return null
  for (const part of header.split(';')) {
    const index = part.indexOf('=')
    if (index === -1 || part.slice(0, index).trim() !== name) continue
    try {
      return decodeURIComponent(part.slice(index + 1).trim())
    } catch {
      return ''
    }
  }
  return null
}
