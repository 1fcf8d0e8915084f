import { boolean, durationOrNever, headerName, nonEmptyText, oneOf, path, pathList, rateLimit, regex, text } from './parsers.ts'
import type { Variable } from './variable.ts'

const showRate = (rate: unknown) => {
  const { limit, windowMs } = rate as { limit: number; windowMs: number }
  return `${limit}/${windowMs / 1000}s`
}

const sameSite = oneOf(['lax', 'strict', 'none'])

/** Accounts, sessions, API keys and sign-in defences, with Open WebUI's names and meanings. */
export const authVariables = {
  SINGLE_USER_MODE: {
    parse: boolean, default: false,
    doc: 'Libre WebUI\'s name: true runs without sign-in, the browser being the one local user, an admin (the same as WEBUI_AUTH=false). Allowed only when HOST is a loopback address and DATA_DIR has at most one account; requests must come from this server\'s own page on a loopback host name. API keys still work.',
  },
  WEBUI_AUTH: {
    parse: boolean, default: true,
    doc: 'Open WebUI\'s name: false is single-user mode (see SINGLE_USER_MODE); set both only if they agree.',
  },
  ENABLE_SIGNUP: { parse: boolean, default: true, doc: 'Allow new accounts to sign up (the first account, which becomes admin, always may).' },
  DEFAULT_USER_ROLE: { parse: oneOf(['pending', 'user', 'admin']), default: 'pending', doc: 'Role of accounts after the first: pending accounts wait for an admin.' },
  ENABLE_LOGIN_FORM: { parse: boolean, default: true, doc: 'Show the email/password form and allow password sign-up.' },
  ENABLE_PASSWORD_AUTH: { parse: boolean, default: true, doc: 'Accept password and LDAP sign-in at all (false leaves only SSO and trusted headers).' },
  ENABLE_PASSWORD_VALIDATION: { parse: boolean, default: false, doc: 'Check new passwords against PASSWORD_VALIDATION_REGEX_PATTERN (a minimum of 8 characters always applies).' },
  PASSWORD_VALIDATION_REGEX_PATTERN: {
    parse: regex, default: /^(?=.*[a-z])(?=.*[A-Z])(?=.*\d)(?=.*[^\w\s]).{8,}$/,
    doc: 'Pattern a new password must match when ENABLE_PASSWORD_VALIDATION is true.',
  },
  PASSWORD_VALIDATION_HINT: { parse: text, default: null, doc: 'Sentence shown when a password does not match the pattern.' },
  JWT_EXPIRES_IN: { parse: durationOrNever, default: 4 * 604_800_000, show: (ms) => (ms === null ? 'never' : `${Number(ms) / 1000}s`), doc: 'Session lifetime, e.g. 30m, 1h30m, 4w; -1 for none (a warning is logged).' },
  WEBUI_AUTH_COOKIE_SAME_SITE: { parse: sameSite, default: null, doc: 'SameSite of the session cookie; defaults to WEBUI_SESSION_COOKIE_SAME_SITE.' },
  WEBUI_SESSION_COOKIE_SAME_SITE: { parse: sameSite, default: 'lax', doc: 'SameSite of the session cookie (lax, strict, none).' },
  WEBUI_AUTH_COOKIE_SECURE: { parse: boolean, default: null, doc: 'Mark the session cookie Secure; defaults to WEBUI_SESSION_COOKIE_SECURE. Requests over HTTPS always get Secure.' },
  WEBUI_SESSION_COOKIE_SECURE: { parse: boolean, default: false, doc: 'Mark the session cookie Secure even over HTTP.' },
  ENABLE_API_KEYS: { parse: boolean, default: false, doc: 'Allow API keys (sk-...) at all.' },
  USER_PERMISSIONS_FEATURES_API_KEYS: { parse: boolean, default: false, doc: 'Let non-admin users create API keys (admins always may when ENABLE_API_KEYS is true).' },
  ENABLE_API_KEYS_ENDPOINT_RESTRICTIONS: { parse: boolean, default: false, doc: 'Restrict API keys to API_KEYS_ALLOWED_ENDPOINTS.' },
  API_KEYS_ALLOWED_ENDPOINTS: { parse: pathList, default: [], doc: 'Comma-separated paths an API key may call when restricted; a path matches an entry exactly or as entry/... .' },
  SIGNIN_RATE_LIMIT: { parse: rateLimit, default: { limit: 15, windowMs: 180_000 }, show: showRate, doc: 'Failed sign-ins allowed per account (email, or LDAP username) from one client address, e.g. 15/3m. Once an account has this many failures from all addresses together, every address that failed for it waits too; an address that has not failed (the owner, elsewhere) still signs in with the right password, so nobody can lock an account by failing on purpose.' },
  SIGNIN_RATE_LIMIT_PER_IP: { parse: rateLimit, default: { limit: 60, windowMs: 180_000 }, show: showRate, doc: 'Sign-in attempts, right or wrong, allowed per client IP address (IPv6: per /64), e.g. 60/3m.' },
  MFA_REQUIRED: {
    parse: oneOf(['none', 'admins', 'all']), default: 'none',
    doc: 'Who must have a second factor (TOTP or a passkey; see docs/second-factors.md): none, admins, or all local and LDAP accounts. Such a user enrols at their next sign-in before anything else works. Single sign-on accounts are left to their provider.',
  },
  ENABLE_PASSKEY_LOGIN: { parse: boolean, default: false, doc: 'Allow passwordless sign-in with a passkey (user verification required). Passkeys always work as a second factor. The relying party id is WEBUI_URL\'s host name, or the request\'s when WEBUI_URL is unset.' },
  WEBUI_ADMIN_EMAIL: { parse: nonEmptyText, default: null, doc: 'With WEBUI_ADMIN_PASSWORD: create this admin at start when there are no users. Sign-up is then closed (stored in the database, as Open WebUI does), also after a restart without these variables, until an admin opens it in the admin settings.' },
  WEBUI_ADMIN_PASSWORD: { parse: nonEmptyText, default: null, secret: true, doc: 'Password of the admin created from WEBUI_ADMIN_EMAIL.' },
  WEBUI_ADMIN_PASSWORD_FILE: { parse: path, default: null, doc: 'File holding WEBUI_ADMIN_PASSWORD (mode 0600).' },
  WEBUI_ADMIN_NAME: { parse: nonEmptyText, default: 'Admin', doc: 'Name of the admin created from WEBUI_ADMIN_EMAIL.' },
  WEBUI_AUTH_TRUSTED_EMAIL_HEADER: { parse: headerName, default: null, doc: 'Header carrying the signed-in email from a trusted proxy (honoured only from FORWARDED_ALLOW_IPS).' },
  WEBUI_AUTH_TRUSTED_NAME_HEADER: { parse: headerName, default: null, doc: 'Header carrying the user\'s name from a trusted proxy.' },
  WEBUI_AUTH_TRUSTED_GROUPS_HEADER: { parse: headerName, default: null, doc: 'Header carrying the user\'s groups from a trusted proxy.' },
  WEBUI_AUTH_TRUSTED_ROLE_HEADER: { parse: headerName, default: null, doc: 'Header carrying the user\'s role from a trusted proxy.' },
} as const satisfies Record<string, Variable<unknown>>
