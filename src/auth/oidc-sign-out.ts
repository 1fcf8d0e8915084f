import type { OAuthConfig } from '../config/oauth-variables.ts'
import type { UserId } from '../db/ids.ts'
import type { SessionId } from '../db/sessions.ts'
import type { AuthDeps } from './auth-deps.ts'
import type { OidcProviders } from './oidc-providers.ts'

/**
 * Where the browser should go after signing out of this session: the provider's end-session URL
 * with id_token_hint (and WEBUI_AUTH_SIGNOUT_REDIRECT_URL as post-logout redirect) when the session
 * came from single sign-on and the provider has one; else WEBUI_AUTH_SIGNOUT_REDIRECT_URL; else null.
 * Call before the session is revoked or after: its tokens stay until the session row is pruned.
 */
export function createSignOutRedirect(deps: AuthDeps, oauth: OAuthConfig, providers: OidcProviders) {
  return async (userId: UserId, sessionId: SessionId): Promise<string | null> => {
    const found = await deps.store.oidcSessions.findOidcSessionTokens(userId, sessionId)
    if (found !== null) {
      const url = await providers.buildSignOutUrl(found.provider, found.tokens.idToken, oauth.signoutRedirectUrl)
      if (url !== null) return url.href
    }
    return oauth.signoutRedirectUrl
  }
}

export type SignOutRedirect = ReturnType<typeof createSignOutRedirect>
