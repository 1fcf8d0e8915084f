/**
 * The one authentication path. HTTP routes, the WebSocket and the compatible APIs all call this,
 * so every credential (Bearer token, `token` cookie, x-api-key header, Bearer sk-...) meets the
 * same rules: live session, current key fingerprint, existing user, API keys on and permitted, and
 * the API-key endpoint allow-list. A credential admitted a moment ago is looked up in
 * deps.principals instead of the database while its user's revision stands (see principal-cache.ts);
 * the API-key rules that depend on settings and path are checked on every request all the same.
 * The answer is synchronous for a remembered credential (the common case: a client's next
 * request), a promise when the database must be read.
 */
import type { PermissionTree } from '../db/groups.ts'
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
 * is synchronous for a remembered credential (principal-cache.ts, which keeps the enrolment rule's
 * answer with the admitted user too); a promise when the credential or that rule reads the database.
 */
export function authenticate(deps: AuthDeps, credential: string | null, path: string): AuthResult | Promise<AuthResult> {
  const admitted = admitCredential(deps, credential, path)
  return admitted instanceof Promise ? admitted.then((result) => withApiKeyRule(deps, result, path)) : withApiKeyRule(deps, admitted, path)
}

/**
 * Session tokens already refused as invalid for a request that is then handed on: session-user.ts's
 * fast route reads the token and, on a refusal, hands the request to the app, whose check
 * (`authenticateRequest`, require-auth.ts) takes that answer instead of reading the session again.
 * Only `invalid_credential` for a session token is kept, the answer a second read would give: a token
 * that fails its HMAC, has expired, is under another key, or whose session or user is gone never
 * becomes valid again. Kept by the request object and the deps it was decided with, so nothing else
 * sees it, and it goes with the request.
 */
const refusedTokens = new WeakMap<Request, { deps: AuthDeps; credential: string }>()

/** Notes that `credential`, a session token, was refused as invalid for `request` (see refusedTokens). */
export function noteRefusedToken(deps: AuthDeps, request: Request, credential: string, result: AuthResult): void {
  if (!result.ok && result.reason === 'invalid_credential' && !looksLikeApiKey(credential)) refusedTokens.set(request, { deps, credential })
}

/** `authenticate` for the credential the request carries, taking a refusal already decided for it (noteRefusedToken). */
export function authenticateRequest(deps: AuthDeps, request: Request, path: string): AuthResult | Promise<AuthResult> {
  const credential = findCredential(request.headers)
  const refused = refusedTokens.get(request)
  if (refused !== undefined && refused.deps === deps && refused.credential === credential) return INVALID
  return authenticate(deps, credential, path)
}

/** An API key's permission, asked from what is at most a second old: at once from memory, or read again; then the enrolment rule. */
function withApiKeyRule(deps: AuthDeps, result: AuthResult, path: string): AuthResult | Promise<AuthResult> {
  if (result.ok && result.principal.via === 'api_key') {
    const known = deps.auth.apiKeys === null ? false : deps.permissions.hasIfFresh({ user: result.principal.user }, 'features.api_keys')
    if (known === undefined) return mayUseApiKeys(deps, result.principal.user).then((may) => (may ? withEnrolmentRule(deps, result, path) : API_KEY_NOT_ALLOWED))
    if (!known) return API_KEY_NOT_ALLOWED
  }
  return withEnrolmentRule(deps, result, path)
}

const API_KEY_NOT_ALLOWED: AuthResult = Object.freeze({ ok: false, reason: 'api_key_not_allowed' })

/** Adds MFA_REQUIRED's enrolment rule to an admission; asks the database once per admission. */
function withEnrolmentRule(deps: AuthDeps, result: AuthResult, path: string): AuthResult | Promise<AuthResult> {
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
 * fingerprint, existing user, API keys on and permitted, the endpoint allow-list. Synchronous while
 * the principal cache holds the credential's admission; a promise when the database is read.
 */
export function admitCredential(deps: AuthDeps, credential: string | null, path: string): AuthResult | Promise<AuthResult> {
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

// note: by the effective tree (the same object while the settings and groups it was computed from stand, permissions.ts), with API keys off and on.
const withApiKeyFlag = new WeakMap<PermissionTree, [off?: PermissionTree, on?: PermissionTree]>()

/**
 * The user's effective permissions, as the session object carries them; features.api_keys only while keys are on.
 * Frozen, and the same object while the tree and the flag are the same.
 */
export async function permissionsOf(deps: AuthDeps, user: User): Promise<PermissionTree> {
  const known = deps.auth.apiKeys === null ? false : deps.permissions.hasIfFresh({ user }, 'features.api_keys')
  const [tree, apiKeys] = known === undefined
    ? await Promise.all([deps.permissions.effective({ user }), mayUseApiKeys(deps, user)])
    : [await deps.permissions.effective({ user }), known]
  let pair = withApiKeyFlag.get(tree)
  if (pair === undefined) withApiKeyFlag.set(tree, pair = [])
  const index = apiKeys ? 1 : 0
  return pair[index] ??= Object.freeze({ ...tree, features: Object.freeze({ ...tree.features, api_keys: apiKeys }) })
}

const INVALID: AuthResult = Object.freeze({ ok: false, reason: 'invalid_credential' })

function authenticateSession(deps: AuthDeps, token: string): AuthResult | Promise<AuthResult> {
  const known = deps.principals.find(token)
  if (known?.via === 'session') return { ok: true, principal: { ...known, token } }
  return admitSession(deps, token)
}

/** How often an admission is read again because an account change was announced while it was read. */
const MAX_ADMISSION_READS = 5

/**
 * Checks the token and reads its session and user; remembers whom it admits. Read again when any
 * account change is announced during the reads (one may have revoked it after it was read); after
 * MAX_ADMISSION_READS the last reading answers but is not remembered.
 */
async function admitSession(deps: AuthDeps, token: string, reads = 1): Promise<AuthResult> {
  const changes = deps.store.accountChanges
  const before = changes.changeCount()
  const claims = verifySessionToken(token, deps.sessionSecret, deps.now())
  if (claims === null || claims.kfp !== deps.store.info.keyFingerprint) return INVALID
  const session = await deps.store.sessions.findLiveSession(claims.jti as SessionId)
  if (session === null || session.userId !== claims.id) return INVALID
  const user = await deps.store.users.findUserById(session.userId)
  if (user === null || claims.kfp !== deps.store.info.keyFingerprint) return INVALID
  const sessionId = claims.jti as SessionId
  if (changes.changeCount() !== before) {
    if (reads < MAX_ADMISSION_READS) return admitSession(deps, token, reads + 1)
  } else {
    const expiresAt = Math.min(session.expiresAt ?? Number.POSITIVE_INFINITY, claims.exp === null ? Number.POSITIVE_INFINITY : claims.exp * 1000)
    deps.principals.remember(token, { user, via: 'session', sessionId }, changes.revisionOf(user.id), expiresAt)
  }
  return { ok: true, principal: { user, via: 'session', sessionId, token } }
}

function authenticateApiKey(deps: AuthDeps, key: string, path: string): AuthResult | Promise<AuthResult> {
  const known = deps.principals.find(key)
  return known === undefined ? admitApiKey(deps, key).then((admission) => applyApiKeyRules(deps, admission, key, path)) : applyApiKeyRules(deps, known, key, path)
}

/** The rules an API key meets on every request: keys on and permitted for its user, the endpoint allow-list. */
function applyApiKeyRules(deps: AuthDeps, admission: Admission | undefined, key: string, path: string): AuthResult {
  if (admission?.via !== 'api_key') return INVALID
  const { user, apiKeyId, allowedModels } = admission
  if (!mayUseApiKeysAsKnown(deps, user)) return { ok: false, reason: 'api_key_not_allowed' }
  const allowed = deps.auth.apiKeys?.allowedEndpoints ?? null
  if (allowed !== null && !allowed.some((entry) => isPathWithin(path, entry))) return { ok: false, reason: 'api_key_endpoint_denied' }
  return { ok: true, principal: { user, via: 'api_key', apiKeyId, token: key, allowedModels } }
}

/** Looks the key up in the database and remembers whom it admits (read again as admitSession is); undefined when it admits no one. */
async function admitApiKey(deps: AuthDeps, key: string, reads = 1): Promise<Admission | undefined> {
  const changes = deps.store.accountChanges
  const before = changes.changeCount()
  const used = await deps.store.apiKeys.useApiKey(hashApiKey(key))
  if (used === null) return undefined
  const user = await deps.store.users.findUserById(used.userId)
  if (user === null) return undefined
  const admission: Admission = { user, via: 'api_key', apiKeyId: used.id, allowedModels: used.allowedModels === null ? null : Object.freeze([...used.allowedModels]) }
  if (changes.changeCount() !== before) {
    if (reads < MAX_ADMISSION_READS) return admitApiKey(deps, key, reads + 1)
  } else deps.principals.remember(key, admission, changes.revisionOf(user.id), used.expiresAt)
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
