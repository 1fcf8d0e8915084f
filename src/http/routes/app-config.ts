import { Elysia } from 'elysia'
import { MIN_PASSWORD_LENGTH } from '../../auth/passwords.ts'
import type { RuntimeLdap } from '../../auth/runtime-ldap.ts'
import type { AuthConfig, Config } from '../../config/load-config.ts'
import { VERSION } from '../../version.ts'

/** What the page needs to know about the server's accounts, asked at each request. */
export type AccountState = {
  hasNoUsers: () => Promise<boolean>
  /** The email of the passwordless admin whose first password may be set (auth/account-claim.ts), or null. */
  findClaimableEmail: () => Promise<string | null>
  /** True while the first account (or a passwordless admin's first password) needs the setup token (auth/setup-token.ts). */
  isSetupTokenRequired: () => Promise<boolean>
}

/**
 * GET /api/config: what a sign-in page needs to draw itself (Open WebUI's shape); nothing secret.
 * `onboarding` (as Open WebUI) says the server has no account yet, so the page offers to create
 * the first one, the administrator, even where sign-up is off. `account_claim` (Enclave's own; Open
 * WebUI clients ignore it) says the only admin has no password yet, so the page offers to set it.
 * `setup_token_required` (Enclave's own) says that step needs the one-time setup token from the
 * server's data directory, so the page asks for it up front; `password_rules` says what a new
 * password must be before one is sent.
 * Sign-up, API keys and LDAP are read from the runtime settings (an admin may change them without a restart).
 * An active signed-in caller also gets `default_models`, `default_prompt_suggestions`, the admin
 * config's `features.enable_*` switches and `ui` texts; a pending one the overlay (routes/interface-config.ts).
 */
export const appConfigRoutes = (config: Config, runtime: { readonly auth: AuthConfig }, ldap: RuntimeLdap, accounts: AccountState, forSignedIn: (request: Request) => { features?: object } | Promise<{ features?: object }> = () => ({})) =>
  new Elysia().get('/api/config', async ({ request }) => {
    const ldapNow = await ldap.current()
    // note: as Open WebUI, a signed-in (active) caller also gets the admin's interface defaults and switches.
    const { features: signedInFeatures, ...signedIn } = await forSignedIn(request)
    return {
    status: true,
    name: config.name,
    version: VERSION,
    // note: single-user mode has its one account from the start, and no sign-in (Open WebUI's WEBUI_AUTH=False reads `features.auth`).
    onboarding: !config.auth.singleUser && await accounts.hasNoUsers(),
    auth: !config.auth.singleUser,
    features: {
      auth: !config.auth.singleUser,
      auth_trusted_header: config.auth.trustedHeaders !== null,
      enable_signup: runtime.auth.enableSignup && config.auth.enableLoginForm && config.auth.enablePasswordAuth,
      enable_login_form: config.auth.enableLoginForm,
      enable_password_auth: config.auth.enablePasswordAuth,
      enable_ldap: ldapNow !== null && config.auth.enablePasswordAuth,
      enable_api_keys: runtime.auth.apiKeys !== null,
      enable_passkey_login: config.auth.passkeyLogin,
      enable_direct_connections: config.directConnections !== null,
      // note: Enclave has no web search, image generation or code interpreter. Conduit shows its web
      // search toggle to an admin unless this says false (app_providers.dart webSearchAvailableProvider),
      // so it is said to every caller: Conduit may have read the config before signing in.
      enable_web_search: false,
      enable_image_generation: false,
      enable_code_interpreter: false,
      ...signedInFeatures,
    },
    // note: the sign-in page draws one button per provider, linking to /oauth/{id}/login.
    oauth: { providers: Object.fromEntries(config.oauth.providers.map((provider) => [provider.id, provider.displayName])) },
    // note: the sign-in page draws its LDAP form from exactly this shape.
    ...(ldapNow !== null && config.auth.enablePasswordAuth ? { ldap: { label: ldapNow.label } } : {}),
    ...claimOf(await accounts.findClaimableEmail()),
    setup_token_required: await accounts.isSetupTokenRequired(),
    password_rules: { min_length: MIN_PASSWORD_LENGTH, hint: config.auth.passwordPattern === null ? null : config.auth.passwordPattern.hint ?? 'The server has its own password rules.' },
    ...signedIn,
    }
  })

const claimOf = (email: string | null) => (email === null ? {} : { account_claim: { email } })
