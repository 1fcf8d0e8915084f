/**
 * Sealed cookies: a small JSON value kept in the browser, encrypted and authenticated, so any
 * replica can read it back and nobody else can read or change it.
 *
 *   cookie value = base64url(field-cipher blob), AAD = ('cookie', purpose, '')
 *   plaintext    = JSON { v: value, exp: unix ms }
 *
 * The key is HKDF-SHA256 of the session secret with the purpose as info, so it differs from the
 * session-signing key and per purpose. Threat: a visitor who edits or forges the cookie (to pick
 * their own state, nonce or PKCE verifier), or replays an old one. Invariant: a cookie opens only
 * under this server's secret, for the purpose it was sealed for, before its expiry.
 */
import { hkdfSync } from 'node:crypto'
import { openField, sealField, type VersionedKey } from './field-cipher.ts'

/** Derives the key for one purpose from the session secret. */
export function deriveCookieKey(sessionSecret: string, purpose: string): VersionedKey {
  return { version: 1, key: new Uint8Array(hkdfSync('sha256', sessionSecret, 'enclave sealed cookie', purpose, 32)) }
}

/** Seals `value` for `purpose`, valid until `expiresAt` (unix ms). */
export function sealCookieValue(key: VersionedKey, purpose: string, value: unknown, expiresAt: number): string {
  const sealed = sealField(key, JSON.stringify({ v: value, exp: expiresAt }), { table: 'cookie', column: purpose, rowId: '' })
  return Buffer.from(sealed).toString('base64url')
}

/** Opens a sealed cookie; null when it is malformed, forged, for another purpose or expired. */
export function openCookieValue(key: VersionedKey, purpose: string, cookie: string, now: number): unknown {
  if (cookie.length > 4096 || !/^[A-Za-z0-9_-]+$/.test(cookie)) return null
  const bytes = openField(key, new Uint8Array(Buffer.from(cookie, 'base64url')), { table: 'cookie', column: purpose, rowId: '' })
  if (bytes === null) return null
  try {
    const parsed = JSON.parse(new TextDecoder().decode(bytes)) as { v: unknown; exp: unknown }
    return typeof parsed.exp === 'number' && parsed.exp > now ? parsed.v : null
  } catch {
    return null
  }
}
