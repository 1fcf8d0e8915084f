import { hostList } from './allowed-hosts.ts'
import { corsOriginList, urlSchemeList } from './cors-origins.ts'
import {
  DEFAULT_CONTENT_SECURITY_POLICY, DEFAULT_STRICT_TRANSPORT_SECURITY, cacheControl, contentSecurityPolicy, contentTypeOptions,
  crossOriginOpenerPolicy, crossOriginResourcePolicy, downloadOptions, frameOptions, headerValueOrOff, permissionsPolicy,
  permittedCrossDomainPolicies, referrerPolicy, strictTransportSecurity,
} from './header-values.ts'
import { addressList } from './network.ts'
import type { Variable } from './variable.ts'

const emptySendsNone = 'Empty sends no header.'

/** How the server trusts proxies in front of it, and the headers it sends. */
export const httpVariables = {
  FORWARDED_ALLOW_IPS: {
    parse: addressList, default: null,
    doc: 'Proxies whose X-Forwarded-For and X-Forwarded-Proto are believed: IP addresses or CIDR ranges, comma-separated, or * (any peer; logs a warning). Unset means loopback only (127.0.0.1, ::1).',
  },
  ALLOWED_HOSTS: {
    parse: hostList, default: null, show: (hosts: unknown) => (Array.isArray(hosts) ? hosts.join(',') : String(hosts)),
    doc: 'Host names the server answers to (the Host header), comma-separated; *.example.com matches subdomains, * any name. WEBUI_URL\'s host, localhost, 127.0.0.1 and [::1] are always allowed, with any port. Unset means: any name when HOST is 0.0.0.0 (Docker) and WEBUI_URL is unset, else also the HOST address. Other names get 421, so a foreign page can\'t reach a loopback server through DNS rebinding.',
  },
  HSTS: {
    parse: headerValueOrOff(strictTransportSecurity), default: DEFAULT_STRICT_TRANSPORT_SECURITY, emptyTurnsOff: true,
    doc: `Strict-Transport-Security, e.g. max-age=31536000;includeSubDomains;preload. Sent only on requests that arrived over HTTPS (directly, or per X-Forwarded-Proto from a trusted proxy), never over plain HTTP. ${emptySendsNone}`,
  },
  XFRAME_OPTIONS: {
    parse: headerValueOrOff(frameOptions), default: 'DENY', emptyTurnsOff: true,
    doc: `X-Frame-Options: DENY or SAMEORIGIN. ${emptySendsNone}`,
  },
  PERMISSIONS_POLICY: {
    parse: headerValueOrOff(permissionsPolicy), default: null, emptyTurnsOff: true,
    doc: 'Permissions-Policy, e.g. camera=(),microphone=(self),geolocation=(). Unset or empty sends no header.',
  },
  REFERRER_POLICY: {
    parse: headerValueOrOff(referrerPolicy), default: 'strict-origin-when-cross-origin', emptyTurnsOff: true,
    doc: `Referrer-Policy: no-referrer, no-referrer-when-downgrade, origin, origin-when-cross-origin, same-origin, strict-origin, strict-origin-when-cross-origin or unsafe-url. ${emptySendsNone}`,
  },
  CACHE_CONTROL: {
    parse: headerValueOrOff(cacheControl), default: 'no-store', emptyTurnsOff: true,
    doc: `Cache-Control for API responses (paths under /api/), e.g. no-store or private, max-age=60. The UI's files keep their own caching. ${emptySendsNone}`,
  },
  XCONTENT_TYPE: {
    parse: headerValueOrOff(contentTypeOptions), default: 'nosniff', emptyTurnsOff: true,
    doc: `X-Content-Type-Options: nosniff. ${emptySendsNone}`,
  },
  XDOWNLOAD_OPTIONS: {
    parse: headerValueOrOff(downloadOptions), default: null, emptyTurnsOff: true,
    doc: 'X-Download-Options: noopen. Unset or empty sends no header.',
  },
  XPERMITTED_CROSS_DOMAIN_POLICIES: {
    parse: headerValueOrOff(permittedCrossDomainPolicies), default: null, emptyTurnsOff: true,
    doc: 'X-Permitted-Cross-Domain-Policies: none, master-only, by-content-type, by-ftp-filename or all. Unset or empty sends no header.',
  },
  CONTENT_SECURITY_POLICY: {
    parse: headerValueOrOff(contentSecurityPolicy), default: DEFAULT_CONTENT_SECURITY_POLICY, emptyTurnsOff: true,
    doc: `Content-Security-Policy. The default allows no inline or eval'd script; the bundled UI needs neither. ${emptySendsNone}`,
  },
  CONTENT_SECURITY_POLICY_REPORT_ONLY: {
    parse: headerValueOrOff(contentSecurityPolicy), default: null, emptyTurnsOff: true,
    doc: 'Content-Security-Policy-Report-Only: a policy the browser reports on without enforcing, to try one out. Unset or empty sends no header.',
  },
  CROSS_ORIGIN_OPENER_POLICY: {
    parse: headerValueOrOff(crossOriginOpenerPolicy), default: 'same-origin', emptyTurnsOff: true,
    doc: `Cross-Origin-Opener-Policy: same-origin, same-origin-allow-popups, noopener-allow-popups or unsafe-none. ${emptySendsNone}`,
  },
  CROSS_ORIGIN_RESOURCE_POLICY: {
    parse: headerValueOrOff(crossOriginResourcePolicy), default: 'same-origin', emptyTurnsOff: true,
    doc: `Cross-Origin-Resource-Policy: same-origin, same-site or cross-origin. ${emptySendsNone}`,
  },
  CORS_ALLOW_ORIGIN: {
    parse: corsOriginList, default: null, otherName: { name: 'CORS_ORIGIN', product: 'Libre WebUI', rewrite: (raw) => raw.replaceAll(',', ';') }, show: (origins: unknown) => (Array.isArray(origins) ? origins.join(';') : String(origins)),
    doc: 'Other web origins allowed to call the API from a browser, separated by ; (e.g. https://chat.example.com;http://localhost:5173): they get their origin back with credentials allowed. * allows any origin without credentials (logs a warning). Unset means same origin only: no CORS headers at all (Open WebUI defaults to *).',
  },
  CORS_ALLOW_CUSTOM_SCHEME: {
    parse: urlSchemeList, default: null, show: (schemes: unknown) => (Array.isArray(schemes) ? schemes.join(';') : String(schemes)),
    doc: 'Extra URL schemes allowed in CORS_ALLOW_ORIGIN besides http and https, separated by ; (e.g. app;tauri for desktop apps).',
  },
} as const satisfies Record<string, Variable<unknown>>
