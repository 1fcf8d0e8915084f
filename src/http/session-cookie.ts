import type { AuthConfig } from '../config/load-config.ts'

/** The `token` cookie: HttpOnly always, Path=/, SameSite as configured, Secure when configured or over HTTPS. */
export function sessionCookie(token: string, expiresAt: number | null, cookie: AuthConfig['cookie'], isHttps: boolean): string {
  const parts = [`token=${token}`, 'HttpOnly', 'Path=/', `SameSite=${capitalise(cookie.sameSite)}`]
  if (cookie.alwaysSecure || isHttps || cookie.sameSite === 'none') parts.push('Secure')
  if (expiresAt !== null) parts.push(`Expires=${new Date(expiresAt).toUTCString()}`)
  return parts.join('; ')
}

/** Clears the `token` cookie. */
export function clearedSessionCookie(cookie: AuthConfig['cookie'], isHttps: boolean): string {
  return sessionCookie('', 0, cookie, isHttps).replace(/Expires=[^;]*/, 'Max-Age=0')
}

function capitalise(word: string): string {
  return word[0]!.toUpperCase() + word.slice(1)
}
