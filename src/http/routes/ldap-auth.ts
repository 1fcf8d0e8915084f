/**
 * LDAP sign-in (Open WebUI's POST /api/v1/auths/ldap) and its admin view: the effective settings
 * with the app password masked, turning LDAP on or off, the server settings in Open WebUI's shape
 * (GET/POST .../ldap/server; the password answered as `***`, never in clear, unlike Open WebUI),
 * and a live test of the connection, bind and search.
 */
import { Elysia, t } from 'elysia'
import { Integer } from '../numeric-schemas.ts'
import type { AuthDeps } from '../../auth/auth-deps.ts'
import { checkLdapSettings } from '../../auth/ldap-check.ts'
import { ldapLogin, ldapThrottleAccount } from '../../auth/ldap-login.ts'
import { describeLdapServer, type RuntimeLdap } from '../../auth/runtime-ldap.ts'
import type { LdapConfig } from '../../config/ldap-variables.ts'
import type { AddressList } from '../../config/network.ts'
import type { Logger } from '../../log/logger.ts'
import { resolveClientAddress } from '../client-address.ts'
import { HttpError } from '../http-error.ts'
import { requireAuth } from '../plugins/require-auth.ts'
import { answerAfterPassword } from '../second-step.ts'

// note: a 1 KB username must reach the directory escaped and match nothing, not bounce off the schema.
const LdapCredentials = t.Object({ user: t.String({ maxLength: 2048 }), password: t.String({ maxLength: 4096 }) })
const CheckBody = t.Object({ user: t.Optional(t.String({ minLength: 1, maxLength: 2048 })) })
const EnableBody = t.Object({ enable_ldap: t.Optional(t.Nullable(t.Boolean())) })
const Text = (maxLength: number) => t.String({ maxLength })
const ServerBody = t.Object({
  label: Text(200), host: Text(255), port: t.Optional(t.Nullable(Integer({ minimum: 1, maximum: 65535 }))),
  attribute_for_mail: t.Optional(Text(64)), attribute_for_username: t.Optional(Text(64)), app_dn: Text(1024), app_dn_password: Text(1024),
  search_base: Text(1024), search_filters: t.Optional(Text(4096)), use_tls: t.Optional(t.Boolean()),
  certificate_path: t.Optional(t.Nullable(Text(4096))), validate_cert: t.Optional(t.Boolean()), ciphers: t.Optional(t.Nullable(Text(1024))),
})

/** The settings as an admin sees them: every value in effect, the app password as *** when set. */
export function describeLdapSettings(ldap: LdapConfig | null, enablePasswordAuth: boolean) {
  // note: ENABLE_LDAP is Open WebUI's spelling, read by its admin page; enable_ldap is Enclave's.
  if (ldap === null) return { ENABLE_LDAP: false, enable_ldap: false }
  return {
    ENABLE_LDAP: true,
    enable_ldap: true,
    active: enablePasswordAuth,
    label: ldap.label,
    host: ldap.host,
    port: ldap.port,
    use_tls: ldap.transport === 'ldaps',
    use_starttls: ldap.transport === 'starttls',
    validate_cert: ldap.tls.validateCert,
    certificate_path: ldap.tls.caFile,
    ciphers: ldap.tls.ciphers,
    app_dn: ldap.appDn,
    app_dn_password: ldap.appPassword === null ? null : '***',
    search_base: ldap.searchBase,
    search_filter: ldap.searchFilter,
    attribute_for_username: ldap.usernameAttribute,
    attribute_for_mail: ldap.mailAttribute,
    attribute_for_groups: ldap.groupsAttribute,
    enable_group_management: ldap.groupManagement !== null,
    enable_group_creation: ldap.groupManagement?.createMissing ?? false,
    admin_groups: ldap.adminGroups,
    allowed_groups: ldap.allowedGroups,
    timeout_seconds: ldap.timeoutMs / 1000,
  }
}

export const ldapAuthRoutes = (deps: AuthDeps, runtime: RuntimeLdap, log: Logger, trustedProxies: AddressList) =>
  new Elysia({ prefix: '/api/v1/auths' })
    .use(requireAuth(deps, trustedProxies))
    .post('/ldap', async ({ body, request, server, set }) => {
      const client = resolveClientAddress(request, server, trustedProxies)
      const result = await ldapLogin({ ...deps, ldap: await runtime.current(), log }, body, client.ip)
      if (!result.ok) {
        switch (result.reason) {
          case 'invalid_credentials': throw new HttpError(400, 'invalid_credentials', 'The username or password provided is incorrect.')
          case 'password_auth_disabled': throw new HttpError(403, 'password_auth_disabled', 'Password sign-in is turned off on this server.')
          case 'ldap_disabled': throw new HttpError(400, 'ldap_disabled', 'LDAP sign-in is not enabled on this server.')
          case 'no_email': throw new HttpError(400, 'ldap_no_email', 'Your directory entry has no valid email address; ask your directory administrator.')
          case 'email_taken': throw new HttpError(409, 'email_taken', 'An account with your directory email address already exists here; ask an administrator.')
          case 'setup_token_required': throw new HttpError(403, 'setup_token_required', 'This server has no administrator yet: create the first account with the setup token shown on the server console (also in DATA_DIR/.setup_token), or set LDAP_ADMIN_GROUPS.')
          case 'directory_unavailable': throw new HttpError(503, 'directory_unavailable', 'The directory server is not available right now. Try again later.')
          case 'rate_limited':
            set.headers['retry-after'] = String(result.retryAfterSeconds)
            throw new HttpError(429, 'rate_limited', `Too many sign-in attempts. Try again in ${result.retryAfterSeconds} seconds.`)
        }
      }
      return answerAfterPassword(deps, result.user, { account: ldapThrottleAccount(body.user), method: 'ldap' }, request, client, set)
    }, { body: LdapCredentials })

    .get('/admin/config/ldap', async () => describeLdapSettings(await runtime.current(), deps.auth.enablePasswordAuth), { auth: 'admin' })

    .post('/admin/config/ldap', async ({ body, principal, request, server }) => {
      const enabled = body.enable_ldap === true
      if (!await runtime.setEnabled(enabled)) throw new HttpError(400, 'ldap_not_configured', 'Set the LDAP server first (LDAP_SERVER_HOST, or the server settings here).')
      deps.audit.record({ event: 'admin_config_changed', actorId: principal.user.id, ip: resolveClientAddress(request, server, trustedProxies).ip, details: { ENABLE_LDAP: enabled } })
      return { ENABLE_LDAP: enabled }
    }, { auth: 'admin', body: EnableBody })

    .get('/admin/config/ldap/server', async () => describeLdapServer(await runtime.configured()), { auth: 'admin' })

    .post('/admin/config/ldap/server', async ({ body, principal, request, server }) => {
      const result = await runtime.saveServer({
        ...body, port: body.port ?? null, attribute_for_mail: body.attribute_for_mail ?? 'mail', attribute_for_username: body.attribute_for_username ?? 'uid',
        search_filters: body.search_filters ?? '', use_tls: body.use_tls ?? true, certificate_path: body.certificate_path ?? null,
        validate_cert: body.validate_cert ?? true, ciphers: body.ciphers ?? null,
      })
      if (!result.ok) throw new HttpError(400, 'invalid_ldap_server', `${result.field}: expected ${result.expected}.`)
      deps.audit.record({ event: 'admin_config_changed', actorId: principal.user.id, ip: resolveClientAddress(request, server, trustedProxies).ip, details: { LDAP_SERVER: 'changed' } })
      return describeLdapServer(await runtime.configured())
    }, { auth: 'admin', body: ServerBody })

    .post('/admin/config/ldap/test', async ({ body }) => {
      const ldap = await runtime.current()
      if (ldap === null) throw new HttpError(409, 'ldap_disabled', 'LDAP sign-in is not enabled (ENABLE_LDAP).')
      const result = await checkLdapSettings(ldap, body.user?.trim().normalize('NFC') || null)
      return result.ok
        ? { ok: true, entries_found: result.entriesFound, dn: result.dn }
        : { ok: false, failure: result.failure, message: result.message }
    }, { auth: 'admin', body: CheckBody })
