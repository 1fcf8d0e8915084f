/**
 * Browser security headers on every response: UI pages and files, API answers, 404s, 413s and
 * errors alike (set in onRequest, so they are in place before any handler or error can answer).
 * Which headers and values come from the header variables (see config/header-values.ts).
 * HSTS goes only on requests that arrived over HTTPS: over plain HTTP a browser ignores it, and
 * X-Forwarded-Proto counts only from a trusted proxy, so a client can't claim HTTPS for itself.
 */
import { Elysia } from 'elysia'
import type { AddressList } from '../../config/network.ts'
import { DEFAULT_SECURITY_HEADERS, type SecurityHeaderSettings } from '../../config/security-header-settings.ts'
import { arrivedOverHttps } from '../client-address.ts'
import { requestPath } from '../request-path.ts'

const noTrustedProxies: AddressList = { any: false, entries: [], matches: () => false }

/** Sets the configured security headers on every response; API answers get CACHE_CONTROL too. */
export const securityHeaders = (settings: SecurityHeaderSettings = DEFAULT_SECURITY_HEADERS, trustedProxies: AddressList = noTrustedProxies) => {
  // note: worked out once: the same names and values go on every response.
  const everyResponse = Object.entries(settings.everyResponse)
  const { apiCacheControl, strictTransportSecurity } = settings
  return new Elysia({ name: 'security-headers' }).onRequest(({ set, request, server }) => {
    const headers = set.headers
    for (const [name, value] of everyResponse) headers[name] = value
    if (apiCacheControl !== null && requestPath(request).startsWith('/api/')) headers['cache-control'] = apiCacheControl
    if (strictTransportSecurity !== null && arrivedOverHttps(request, server, trustedProxies)) {
      headers['strict-transport-security'] = strictTransportSecurity
    }
  }).as('global')
}
