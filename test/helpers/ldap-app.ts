import type { SetupGate } from '../../src/auth/setup-token.ts'
import { createApp } from '../../src/http/create-app.ts'
import { startTestApp, req } from './test-app.ts'

/**
 * Like startTestApp, with LDAP's timeout shortened when asked (it is fixed at a few seconds in
 * the product), so outage tests finish quickly. Everything else is the real app.
 */
export function startLdapApp(env: Record<string, string>, options: { timeoutMs?: number; now?: () => number; setupGate?: SetupGate } = {}) {
  const base = startTestApp(env, options.now, options.setupGate)
  const ldap = base.deps.config.ldap
  if (options.timeoutMs === undefined || ldap === null) return base
  const deps = { ...base.deps, config: { ...base.deps.config, ldap: { ...ldap, timeoutMs: options.timeoutMs } } }
  return { ...base, deps, app: createApp(deps) }
}

export type LdapAnswer = { status: number; body: Record<string, unknown>; cookie: string | null; retryAfter: string | null }

/** POSTs {user, password} to /api/v1/auths/ldap and reads the answer. */
export async function ldapSignIn(app: ReturnType<typeof createApp>, user: string, password: string): Promise<LdapAnswer> {
  const res = await app.handle(req('POST', '/api/v1/auths/ldap', { user, password }))
  return { status: res.status, body: (await res.json()) as Record<string, unknown>, cookie: res.headers.get('set-cookie'), retryAfter: res.headers.get('retry-after') }
}
