import type { AuditLog } from '../audit/audit-log.ts'
import type { AuthConfig } from '../config/load-config.ts'
import type { Store } from '../db/open-store.ts'
import { RateLimiter } from './rate-limiter.ts'
import type { SetupGate } from './setup-token.ts'

/** What the sign-in functions need: the store, settings, signing secret, audit log and clock. */
export type AuthDeps = {
  store: Store
  auth: AuthConfig
  sessionSecret: string
  audit: AuditLog
  now: () => number
  signinLimits: SigninLimits
  /** Guards the first sign-up on a server reachable beyond loopback. */
  setupGate: SetupGate
}

/**
 * Attempts per client address (sign-in and sign-up); sign-in failures per account and per account
 * and address (see signin-throttle.ts); password-change attempts per user (perAccount too).
 */
export type SigninLimits = { perIp: RateLimiter; perAccount: RateLimiter; perAccountAndIp: RateLimiter }

/** Builds the sign-in dependencies with fresh rate limiters. */
export function createAuthDeps(deps: Omit<AuthDeps, 'signinLimits'>): AuthDeps {
  const limits = deps.auth.signinRateLimit
  return {
    ...deps,
    signinLimits: {
      perIp: new RateLimiter(limits.perIp, deps.now),
      perAccount: new RateLimiter(limits.perEmail, deps.now),
      perAccountAndIp: new RateLimiter(limits.perEmail, deps.now),
    },
  }
}
