import { Elysia } from 'elysia'

// note: the bundled UI loads only its own hashed files, so scripts and styles need nothing inline.
export const DEFAULT_CONTENT_SECURITY_POLICY = [
  "default-src 'self'", "script-src 'self'", "style-src 'self'", "img-src 'self' data: blob:", "connect-src 'self'",
  "font-src 'self'", "object-src 'none'", "base-uri 'none'", "frame-ancestors 'none'", "form-action 'self'",
].join('; ')

const baseline: Record<string, string> = {
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'strict-origin-when-cross-origin',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
  'content-security-policy': DEFAULT_CONTENT_SECURITY_POLICY,
}

/** Sets safe browser headers on every response, errors and 404s included; API answers are never cached. */
export const securityHeaders = () =>
  new Elysia({ name: 'security-headers' }).onRequest(({ set, request }) => {
    Object.assign(set.headers, baseline)
    if (new URL(request.url).pathname.startsWith('/api/')) set.headers['cache-control'] = 'no-store'
  }).as('global')
