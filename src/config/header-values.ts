/**
 * Parsers for the security header variables (HSTS, XFRAME_OPTIONS, ...). Each accepts the format
 * Open WebUI accepts for the same variable, but refuses a bad value instead of silently replacing
 * it. An empty value yields null: that header is not sent. Values are checked to be one line of
 * printable ASCII, so a setting can never inject a second header (CR/LF) or break Bun's Headers.
 */
import { oneOf, type Parser } from './parsers.ts'

/** No inline or eval'd script or style. */
// note: the bundled UI loads only its own hashed files, so scripts and styles need nothing inline.
export const DEFAULT_CONTENT_SECURITY_POLICY = [
  "default-src 'self'", "script-src 'self'", "style-src 'self'", "img-src 'self' data: blob:", "connect-src 'self'",
  "font-src 'self'", "object-src 'none'", "base-uri 'none'", "frame-ancestors 'none'", "form-action 'self'",
].join('; ')

/** HSTS for a year, subdomains included; sent only over HTTPS. */
export const DEFAULT_STRICT_TRANSPORT_SECURITY = 'max-age=31536000; includeSubDomains'

/** Wraps a header parser: empty means "send no header" (null); line breaks and non-ASCII are refused. */
export function headerValueOrOff<T extends string>(parse: Parser<T>): Parser<T | null> {
  return (raw) => {
    if (/[\x00-\x1f\x7f]/.test(raw)) return { expected: 'a header value on one line, without line breaks or control characters' }
    const value = raw.trim()
    if (value === '') return null
    if (/[^\x20-\x7e]/.test(value)) return { expected: 'a header value in printable ASCII' }
    const parsed = parse(value)
    return typeof parsed === 'string' ? parsed : { expected: `${parsed.expected}, or empty to send no header` }
  }
}

/** Accepts `max-age=N` with optional `includeSubDomains` and `preload`; returns `max-age=N; includeSubDomains`. */
export const strictTransportSecurity: Parser<string> = (raw) => {
  const match = /^max-age=(\d{1,10})(\s*;\s*includeSubDomains)?(\s*;\s*preload)?\s*;?$/i.exec(raw)
  if (match === null) return { expected: 'max-age=<seconds> with optional ;includeSubDomains and ;preload, such as max-age=31536000;includeSubDomains' }
  return [`max-age=${Number(match[1])}`, match[2] && 'includeSubDomains', match[3] && 'preload'].filter(Boolean).join('; ')
}

/** X-Frame-Options (XFRAME_OPTIONS). */
export const frameOptions = oneOf(['DENY', 'SAMEORIGIN'])

/** Referrer-Policy (REFERRER_POLICY): one of the standard tokens. */
export const referrerPolicy = oneOf([
  'no-referrer', 'no-referrer-when-downgrade', 'origin', 'origin-when-cross-origin',
  'same-origin', 'strict-origin', 'strict-origin-when-cross-origin', 'unsafe-url',
])

/** X-Content-Type-Options (XCONTENT_TYPE): only nosniff exists. */
export const contentTypeOptions = oneOf(['nosniff'])

/** X-Download-Options (XDOWNLOAD_OPTIONS): only noopen exists. */
export const downloadOptions = oneOf(['noopen'])

/** X-Permitted-Cross-Domain-Policies (XPERMITTED_CROSS_DOMAIN_POLICIES). */
export const permittedCrossDomainPolicies = oneOf(['none', 'master-only', 'by-content-type', 'by-ftp-filename', 'all'])

/** Cross-Origin-Opener-Policy (CROSS_ORIGIN_OPENER_POLICY). */
export const crossOriginOpenerPolicy = oneOf(['same-origin', 'same-origin-allow-popups', 'noopener-allow-popups', 'unsafe-none'])

/** Cross-Origin-Resource-Policy (CROSS_ORIGIN_RESOURCE_POLICY). */
export const crossOriginResourcePolicy = oneOf(['same-origin', 'same-site', 'cross-origin'])

const cacheDirective = /^(public|private|no-cache|no-store|must-revalidate|proxy-revalidate|no-transform|immutable|max-age=\d{1,10}|s-maxage=\d{1,10})$/i

/** Accepts comma-separated Cache-Control directives (no-store, private, max-age=60, ...), lower-cased. */
export const cacheControl: Parser<string> = (raw) => {
  const directives = raw.split(',').map((directive) => directive.trim().toLowerCase())
  return directives.every((directive) => cacheDirective.test(directive))
    ? directives.join(', ')
    : { expected: 'Cache-Control directives such as no-store or private, max-age=60 (public, private, no-cache, no-store, must-revalidate, proxy-revalidate, no-transform, immutable, max-age=N, s-maxage=N)' }
}

const permissionEntry = /^[a-z][a-z0-9-]*=(\*|self|\(\s*((self|src|\*|"[^"\s]+")(\s+(self|src|\*|"[^"\s]+"))*)?\s*\))$/i

/** Accepts a Permissions-Policy such as `camera=(), microphone=(self), geolocation=()`. */
export const permissionsPolicy: Parser<string> = (raw) => {
  const entries = raw.split(',').map((entry) => entry.trim())
  return entries.every((entry) => permissionEntry.test(entry))
    ? entries.join(', ')
    : { expected: 'a Permissions-Policy such as camera=(),microphone=(self),geolocation=()' }
}

const cspDirective = /^[a-z][a-z0-9-]*(\s+[^\s;]+)*$/i

/** Accepts a Content-Security-Policy: `;`-separated directives, each a name and its sources. */
export const contentSecurityPolicy: Parser<string> = (raw) => {
  const directives = raw.split(';').map((directive) => directive.trim()).filter((directive) => directive !== '')
  return directives.length > 0 && directives.every((directive) => cspDirective.test(directive))
    ? directives.join('; ')
    : { expected: "a Content-Security-Policy such as default-src 'self'; script-src 'self'" }
}
