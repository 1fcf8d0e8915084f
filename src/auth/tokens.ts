/**
 * Session tokens: JWTs signed with HMAC-SHA256 under WEBUI_SECRET_KEY.
 *
 * Format: base64url({"alg":"HS256","typ":"JWT"}) . base64url(claims) . base64url(HMAC-SHA256)
 * Claims: id (user id), jti (session id), iat and exp (seconds; exp absent when sessions never
 * expire), kfp (the master key's fingerprint, so a key change ends every session) and purpose.
 *
 * The algorithm is pinned: a token whose header is anything but the exact HS256 header is refused
 * before its signature is looked at, so alg "none" and algorithm confusion can't arise. Signatures
 * are compared in constant time. Verification is synchronous and takes a few microseconds.
 */
import { createHmac, timingSafeEqual } from 'node:crypto'

const HEADER = Buffer.from(JSON.stringify({ alg: 'HS256', typ: 'JWT' })).toString('base64url')
const PURPOSE = 'session'

export type SessionClaims = { id: string; jti: string; iat: number; exp: number | null; kfp: string }

/** Signs a session token. Times are unix milliseconds; the token carries seconds. */
export function signSessionToken(claims: { userId: string; sessionId: string; issuedAtMs: number; expiresAtMs: number | null; keyFingerprint: string }, secret: string): string {
  const payload: Record<string, string | number> = {
    id: claims.userId, jti: claims.sessionId, iat: Math.floor(claims.issuedAtMs / 1000), kfp: claims.keyFingerprint, purpose: PURPOSE,
  }
  if (claims.expiresAtMs !== null) payload.exp = Math.floor(claims.expiresAtMs / 1000)
  const body = `${HEADER}.${Buffer.from(JSON.stringify(payload)).toString('base64url')}`
  return `${body}.${sign(body, secret)}`
}

/** Returns the claims of a well-formed, correctly signed, unexpired session token; else null. */
export function verifySessionToken(token: string, secret: string, nowMs: number): SessionClaims | null {
  if (token.length > 4096) return null
  const parts = token.split('.')
  if (parts.length !== 3 || parts[0] !== HEADER) return null
  const expected = Buffer.from(sign(`${parts[0]}.${parts[1]}`, secret), 'base64url')
  const given = Buffer.from(parts[2]!, 'base64url')
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return null
  let claims: Record<string, unknown>
  try {
    claims = JSON.parse(Buffer.from(parts[1]!, 'base64url').toString('utf8')) as Record<string, unknown>
  } catch {
    return null
  }
  const { id, jti, iat, exp, kfp, purpose } = claims
  if (purpose !== PURPOSE || typeof id !== 'string' || typeof jti !== 'string' || typeof iat !== 'number' || typeof kfp !== 'string') return null
  if (exp !== undefined && (typeof exp !== 'number' || exp * 1000 <= nowMs)) return null
  return { id, jti, iat, exp: (exp as number | undefined) ?? null, kfp }
}

function sign(body: string, secret: string): string {
  return createHmac('sha256', secret).update(body).digest('base64url')
}
