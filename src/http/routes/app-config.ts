import { Elysia } from 'elysia'
import type { Config } from '../../config/load-config.ts'
import { VERSION } from '../../version.ts'

/**
 * GET /api/config: what a sign-in page needs to draw itself (Open WebUI's shape); nothing secret.
 * `onboarding` (as Open WebUI) says the server has no account yet, so the page offers to create
 * the first one, the administrator, even where sign-up is off.
 */
export const appConfigRoutes = (config: Config, hasNoUsers: () => boolean) =>
  new Elysia().get('/api/config', () => ({
    status: true,
    name: config.name,
    version: VERSION,
    // note: single-user mode has its one account from the start, and no sign-in (Open WebUI's WEBUI_AUTH=False reads `features.auth`).
    onboarding: !config.auth.singleUser && hasNoUsers(),
    auth: !config.auth.singleUser,
    features: {
      auth: !config.auth.singleUser,
      auth_trusted_header: config.auth.trustedHeaders !== null,
      enable_signup: config.auth.enableSignup && config.auth.enableLoginForm && config.auth.enablePasswordAuth,
      enable_login_form: config.auth.enableLoginForm,
      enable_password_auth: config.auth.enablePasswordAuth,
      enable_ldap: config.ldap !== null && config.auth.enablePasswordAuth,
      enable_api_keys: config.auth.apiKeys !== null,
    },
    // note: the sign-in page draws one button per provider, linking to /oauth/{id}/login.
    oauth: { providers: Object.fromEntries(config.oauth.providers.map((provider) => [provider.id, provider.displayName])) },
    // note: the sign-in page draws its LDAP form from exactly this shape.
    ...(config.ldap !== null && config.auth.enablePasswordAuth ? { ldap: { label: config.ldap.label } } : {}),
  }))
