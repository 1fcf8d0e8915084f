/**
 * LDAP settings an admin changes at runtime (Open WebUI's /admin/config/ldap and .../ldap/server):
 * on or off, and the server (host, port, TLS, service account, search). The LDAP_* environment is
 * the default until an admin saves; what is saved (the service account's password and the CA's
 * PEM text among it) is stored sealed in the setting table and wins on later starts.
 * Threat: the service account's password is a directory credential; it is never answered back
 * (the admin page gets `***`, and posting `***` back keeps the stored one).
 */
import { readFileSync } from 'node:fs'
import { attributeName, LDAP_TIMEOUT_MS, ldapFilter, type LdapConfig } from '../config/ldap-variables.ts'
import { hostName } from '../config/parsers.ts'
import type { SettingsRepo } from '../db/settings.ts'

/** What the admin page shows and posts for the server: Open WebUI's LdapServerConfig. */
export type LdapServerForm = {
  label: string
  host: string
  port: number | null
  attribute_for_mail: string
  attribute_for_username: string
  app_dn: string
  app_dn_password: string
  search_base: string
  search_filters: string
  use_tls: boolean
  certificate_path: string | null
  validate_cert: boolean
  ciphers: string | null
}

/** Stands in for the stored password in answers; posted back, it keeps the stored one. */
export const PASSWORD_PLACEHOLDER = '***'

const ENABLED_SETTING = 'ldap_enabled'
const SERVER_SETTING = 'ldap_server'

type StoredServer = Omit<LdapConfig, 'groupsAttribute' | 'groupManagement' | 'adminGroups' | 'allowedGroups' | 'timeoutMs'>

export type SaveServerResult = { ok: true } | { ok: false; field: keyof LdapServerForm; expected: string }

/** Builds the runtime layer over LDAP_* (null: not configured in the environment). */
export function createRuntimeLdap(base: LdapConfig | null, settings: SettingsRepo) {
  const configured = async (): Promise<LdapConfig | null> => {
    const stored = await settings.readSetting(SERVER_SETTING) as StoredServer | null
    if (stored === null) return base
    return {
      ...stored,
      groupsAttribute: base?.groupsAttribute ?? 'memberOf', groupManagement: base?.groupManagement ?? null,
      adminGroups: base?.adminGroups ?? null, allowedGroups: base?.allowedGroups ?? null, timeoutMs: base?.timeoutMs ?? LDAP_TIMEOUT_MS,
    }
  }
  const isEnabled = async () => (await settings.readSetting(ENABLED_SETTING) as boolean | null) ?? base !== null

  return {
    /**
     * The LDAP settings in effect now; null when LDAP sign-in is off or no server is set. Read from
     * the database on each call (a sign-in, a config page), so another instance's change holds at once.
     */
    current: async (): Promise<LdapConfig | null> => (await isEnabled() ? configured() : null),
    isEnabled,
    /** The server settings whether or not LDAP is on; null when none were ever given. */
    configured,
    /** Turns LDAP sign-in on or off; false when turning it on without a server. */
    async setEnabled(enabled: boolean): Promise<boolean> {
      if (enabled && await configured() === null) return false
      await settings.writeSetting(ENABLED_SETTING, enabled)
      return true
    },
    /** Checks and stores the server settings; a missing CA file or a malformed value names the field. */
    async saveServer(form: LdapServerForm): Promise<SaveServerResult> {
      const previous = await configured()
      for (const key of ['label', 'host', 'attribute_for_mail', 'attribute_for_username', 'app_dn', 'app_dn_password', 'search_base'] as const) {
        if (form[key].trim() === '') return { ok: false, field: key, expected: 'a value (this field is required)' }
      }
      const host = hostName('port')(form.host)
      if (typeof host !== 'string') return { ok: false, field: 'host', expected: host.expected }
      const mail = attributeName(form.attribute_for_mail)
      const username = attributeName(form.attribute_for_username)
      if (typeof mail !== 'string') return { ok: false, field: 'attribute_for_mail', expected: mail.expected }
      if (typeof username !== 'string') return { ok: false, field: 'attribute_for_username', expected: username.expected }
      const filter = form.search_filters.trim() === '' ? null : ldapFilter(form.search_filters)
      if (filter !== null && typeof filter !== 'string') return { ok: false, field: 'search_filters', expected: filter.expected }
      const caFile = form.certificate_path?.trim() || null
      let ca: string | null = null
      if (caFile !== null) {
        try {
          ca = readFileSync(caFile, 'utf8')
        } catch {
          return { ok: false, field: 'certificate_path', expected: 'a PEM file Enclave\'s user can read' }
        }
        if (!ca.includes('-----BEGIN CERTIFICATE-----')) return { ok: false, field: 'certificate_path', expected: 'a PEM file holding at least one -----BEGIN CERTIFICATE----- block' }
      }
      const transport = !form.use_tls ? 'plain' : previous?.transport === 'starttls' ? 'starttls' : 'ldaps'
      const stored: StoredServer = {
        label: form.label.trim(), host, port: form.port ?? (transport === 'ldaps' ? 636 : 389), transport,
        tls: { validateCert: form.validate_cert, ca, caFile, ciphers: form.ciphers?.trim() || null },
        appDn: form.app_dn.trim(),
        appPassword: form.app_dn_password === PASSWORD_PLACEHOLDER ? previous?.appPassword ?? null : form.app_dn_password,
        searchBase: form.search_base.trim(), searchFilter: filter, usernameAttribute: username, mailAttribute: mail,
      }
      if (stored.appPassword === null) return { ok: false, field: 'app_dn_password', expected: 'the service account\'s password' }
      await settings.writeSetting(SERVER_SETTING, stored)
      return { ok: true }
    },
  }
}

export type RuntimeLdap = ReturnType<typeof createRuntimeLdap>

/** The server settings as the admin page shows them (Open WebUI's shape; the password as a placeholder). */
export function describeLdapServer(ldap: LdapConfig | null): LdapServerForm {
  return {
    label: ldap?.label ?? '', host: ldap?.host ?? '', port: ldap?.port ?? null,
    attribute_for_mail: ldap?.mailAttribute ?? 'mail', attribute_for_username: ldap?.usernameAttribute ?? 'uid',
    app_dn: ldap?.appDn ?? '', app_dn_password: ldap?.appPassword ? PASSWORD_PLACEHOLDER : '',
    search_base: ldap?.searchBase ?? '', search_filters: ldap?.searchFilter ?? '',
    use_tls: (ldap?.transport ?? 'plain') !== 'plain', certificate_path: ldap?.tls.caFile ?? null,
    validate_cert: ldap?.tls.validateCert ?? true, ciphers: ldap?.tls.ciphers ?? null,
  }
}
