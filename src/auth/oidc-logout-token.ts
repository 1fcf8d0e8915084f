/**
 * OpenID back-channel logout tokens (OpenID Connect Back-Channel Logout 1.0, section 2.6). The
 * provider POSTs a signed JWT naming a user (sub) and/or a provider session (sid); we end the
 * matching Enclave sessions. Threat: anyone can POST to the endpoint, so a token counts only when
 * it is signed by a key from the provider's own JWKS (asymmetric algorithms only), names that
 * provider as issuer and our client as audience, is fresh (iat), carries the back-channel logout
 * event, has no nonce (so an ID token can't pass as one), names sub or sid, and was not seen before.
 * jose is imported at the first token, so a server without SSO never loads it.
 */
import type { createRemoteJWKSet, JWTPayload } from 'jose'
import type { OidcProviders } from './oidc-providers.ts'
import { createMemoryClaims, type OneTimeClaims } from './one-time-claims.ts'

export type LogoutClaims = { providerId: string; issuer: string; sub: string | null; sid: string | null }
export type LogoutTokenResult = { ok: true; logout: LogoutClaims } | { ok: false; reason: 'malformed' | 'unknown_issuer' | 'invalid_token' | 'replayed' }

const LOGOUT_EVENT = 'http://schemas.openid.net/event/backchannel-logout'
const MAX_AGE_SECONDS = 300
const ASYMMETRIC = /^(RS|PS|ES)(256|384|512)$|^EdDSA$|^Ed25519$/

/** Builds the checker; it keeps each provider's key set, and the ids of tokens already used in `usedTokens` (shared between instances with Redis). */
export function createLogoutTokenVerifier(providers: OidcProviders, now: () => number, timeoutSeconds: number, usedTokens: OneTimeClaims = createMemoryClaims(now)) {
  const keySets = new Map<string, ReturnType<typeof createRemoteJWKSet>>()
  // note: a token is fresh for MAX_AGE_SECONDS by its iat, so remembering it twice as long outlives any replay.
  const rememberJti = (key: string) => usedTokens.claim(`logout-token\0${key}`, 2 * MAX_AGE_SECONDS * 1000)

  return {
    /** Checks a logout token; says which provider and whom it names. */
    async verifyLogoutToken(token: string): Promise<LogoutTokenResult> {
      const { createRemoteJWKSet, decodeJwt, jwtVerify } = await import('jose')
      let unverified: JWTPayload
      try {
        unverified = decodeJwt(token)
      } catch {
        return { ok: false, reason: 'malformed' }
      }
      for (const provider of providers.providers) {
        if (provider.kind !== 'oidc') continue
        let metadata: ReturnType<Awaited<ReturnType<OidcProviders['configurationOf']>>['serverMetadata']>
        try {
          metadata = (await providers.configurationOf(provider)).serverMetadata()
        } catch {
          continue
        }
        if (metadata.issuer !== unverified.iss || metadata.jwks_uri === undefined) continue
        let keys = keySets.get(provider.id)
        if (keys === undefined) {
          keys = createRemoteJWKSet(new URL(metadata.jwks_uri), { timeoutDuration: timeoutSeconds * 1000 })
          keySets.set(provider.id, keys)
        }
        const algorithms = (metadata.id_token_signing_alg_values_supported ?? ['RS256']).filter((alg) => ASYMMETRIC.test(alg))
        let payload: JWTPayload
        try {
          ({ payload } = await jwtVerify(token, keys, {
            issuer: metadata.issuer, audience: provider.clientId, algorithms, maxTokenAge: MAX_AGE_SECONDS,
            requiredClaims: ['iat', 'jti', 'events'], currentDate: new Date(now()),
          }))
        } catch {
          return { ok: false, reason: 'invalid_token' }
        }
        const events = payload.events as Record<string, unknown> | undefined
        const sub = typeof payload.sub === 'string' ? payload.sub : null
        const sid = typeof payload.sid === 'string' ? payload.sid : null
        const hasEvent = typeof events === 'object' && events !== null && typeof events[LOGOUT_EVENT] === 'object' && events[LOGOUT_EVENT] !== null
        if (!hasEvent || 'nonce' in payload || (sub === null && sid === null)) return { ok: false, reason: 'invalid_token' }
        if (!(await rememberJti(`${provider.id}\0${String(payload.jti)}`))) return { ok: false, reason: 'replayed' }
        return { ok: true, logout: { providerId: provider.id, issuer: metadata.issuer, sub, sid } }
      }
      return { ok: false, reason: 'unknown_issuer' }
    },
  }
}

export type LogoutTokenVerifier = ReturnType<typeof createLogoutTokenVerifier>
