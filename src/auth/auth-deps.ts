import type { AuditLog } from '../audit/audit-log.ts'
import type { AuthConfig } from '../config/load-config.ts'
import type { Store } from '../db/open-store.ts'
import { createModelAccess, type ModelAccess, type WorkspaceModelFinder } from './model-access.ts'
import { createPermissions, type Permissions } from './permissions.ts'
import { createFreshConfirmations, type FreshConfirmations } from './fresh-confirmations.ts'
import { createPasskeyChallenges, type PasskeyChallenges } from './passkey-challenges.ts'
import { createPrincipalCache, type PrincipalCache } from './principal-cache.ts'
import { createMemoryRateLimiter, type RateLimiterFactory, type SharedRateLimiter } from './rate-limiter.ts'
import { createSigninChallenges, type SigninChallenges } from './signin-challenges.ts'
import { createRuntimeAuth, type RuntimeAuth } from './runtime-auth.ts'
import type { SetupGate } from './setup-token.ts'

/** What the sign-in functions need: the store, settings, signing secret, audit log and clock. */
export type AuthDeps = {
  store: Store
  /** The auth settings in effect now (the environment's, overlaid with what an admin saved; see runtime-auth.ts). */
  readonly auth: AuthConfig
  /** Where an admin reads and changes the runtime settings. */
  runtime: RuntimeAuth
  sessionSecret: string
  /** Credentials admitted a moment ago, each good until its user's next revision (see principal-cache.ts). */
  principals: PrincipalCache
  audit: AuditLog
  now: () => number
  signinLimits: SigninLimits
  /** Guards the first sign-up on a server reachable beyond loopback. */
  setupGate: SetupGate
  /** Open WebUI's permissions: the defaults combined with the user's groups (permissions.ts). */
  permissions: Permissions
  /** The one decision on who may use which model (model-access.ts). */
  models: ModelAccess
  /** Sign-ins waiting for their second factor (see signin-challenges.ts). */
  signinChallenges: SigninChallenges
  /** WebAuthn challenges waiting for their answer (see passkey-challenges.ts). */
  passkeyChallenges: PasskeyChallenges
  /** Sessions whose holder just confirmed with a passkey (see fresh-confirmations.ts). */
  freshConfirmations: FreshConfirmations
}

/**
 * Attempts per client address (sign-in and sign-up); sign-in failures per account and per account
 * and address (see signin-throttle.ts); password-change attempts per user (perAccount too).
 */
export type SigninLimits = { perIp: SharedRateLimiter; perAccount: SharedRateLimiter; perAccountAndIp: SharedRateLimiter }

/** Builds the sign-in dependencies with fresh rate limiters; `auth` is the environment's, the runtime layer's base. */
/** `rateLimiters` makes the sign-in counters: shared through Redis between instances, or (by default) this instance's own. */
export function createAuthDeps(deps: Omit<AuthDeps, 'signinLimits' | 'runtime' | 'principals' | 'permissions' | 'models' | 'signinChallenges' | 'passkeyChallenges' | 'freshConfirmations'> & { workspaceModels?: WorkspaceModelFinder; rateLimiters?: RateLimiterFactory }): AuthDeps {
  const limits = deps.auth.signinRateLimit
  const limiterFor = deps.rateLimiters ?? ((_name, rate) => createMemoryRateLimiter(rate, deps.now))
  const runtime = createRuntimeAuth(deps.auth, deps.store.settings, deps.now)
  const { groups, modelGrants } = deps.store
  const access = deps.auth.access
  const models = createModelAccess({
    grants: modelGrants, groups, policy: () => access,
    ...(deps.workspaceModels === undefined ? {} : { workspaceModels: deps.workspaceModels }),
  })
  return {
    permissions: createPermissions({ defaults: runtime.currentPermissions, defaultsAsKnown: runtime.permissionsAsKnown, defaultsIfFresh: runtime.permissionsIfFresh, groups }),
    models,
    store: deps.store,
    // note: a getter, so every reader sees an admin's change at once; a spread copy (`{ ...deps }`) holds the value of its moment.
    get auth() {
      return runtime.current()
    },
    runtime,
    sessionSecret: deps.sessionSecret,
    principals: createPrincipalCache(deps.store.accountChanges, deps.now),
    audit: deps.audit,
    now: deps.now,
    setupGate: deps.setupGate,
    signinChallenges: createSigninChallenges(deps.sessionSecret, deps.now),
    passkeyChallenges: createPasskeyChallenges(deps.now),
    freshConfirmations: createFreshConfirmations(deps.now),
    signinLimits: {
      perIp: limiterFor('signin-ip', limits.perIp),
      perAccount: limiterFor('signin-account', limits.perEmail),
      perAccountAndIp: limiterFor('signin-account-ip', limits.perEmail),
    },
  }
}
