import { httpVariables } from './http-variables.ts'
import type { VariableValues } from './variables.ts'

/** The security headers to send, built once from the header variables; null means "not sent". */
export type SecurityHeaderSettings = Readonly<{
  /** Lower-case header name to value, sent on every response. */
  everyResponse: Readonly<Record<string, string>>
  /** Cache-Control for responses under /api/ (CACHE_CONTROL); UI files keep their own caching. */
  apiCacheControl: string | null
  /** Strict-Transport-Security (HSTS), sent only on requests that arrived over HTTPS. */
  strictTransportSecurity: string | null
}>

/** Each variable that sets a header on every response, and the header it sets. */
const everyResponseHeaders = {
  XCONTENT_TYPE: 'x-content-type-options',
  XFRAME_OPTIONS: 'x-frame-options',
  REFERRER_POLICY: 'referrer-policy',
  PERMISSIONS_POLICY: 'permissions-policy',
  XDOWNLOAD_OPTIONS: 'x-download-options',
  XPERMITTED_CROSS_DOMAIN_POLICIES: 'x-permitted-cross-domain-policies',
  CONTENT_SECURITY_POLICY: 'content-security-policy',
  CONTENT_SECURITY_POLICY_REPORT_ONLY: 'content-security-policy-report-only',
  CROSS_ORIGIN_OPENER_POLICY: 'cross-origin-opener-policy',
  CROSS_ORIGIN_RESOURCE_POLICY: 'cross-origin-resource-policy',
} as const

type HeaderVariable = keyof typeof everyResponseHeaders | 'CACHE_CONTROL' | 'HSTS'

/** The header variables' values, as loadConfig parsed them. */
export type SecurityHeaderValues = Pick<VariableValues, HeaderVariable>

/** Builds the settings from the header variables, leaving out each header turned off. */
export function securityHeaderSettingsFrom(values: SecurityHeaderValues): SecurityHeaderSettings {
  const everyResponse: Record<string, string> = {}
  for (const [variable, header] of Object.entries(everyResponseHeaders) as [keyof typeof everyResponseHeaders, string][]) {
    const value = values[variable]
    if (value !== null) everyResponse[header] = value
  }
  return Object.freeze({
    everyResponse: Object.freeze(everyResponse),
    apiCacheControl: values.CACHE_CONTROL,
    strictTransportSecurity: values.HSTS,
  })
}

const headerVariableNames = [...Object.keys(everyResponseHeaders), 'CACHE_CONTROL', 'HSTS'] as HeaderVariable[]

/** The settings with every header variable at its default: what an unconfigured server sends. */
export const DEFAULT_SECURITY_HEADERS = securityHeaderSettingsFrom(
  Object.fromEntries(headerVariableNames.map((name) => [name, httpVariables[name].default])) as SecurityHeaderValues,
)
