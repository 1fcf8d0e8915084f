import { readFileSync, statSync } from 'node:fs'
import { resolve } from 'node:path'
import type { ConfigProblem } from './config-error.ts'
import { boolean, hostName, integerFrom, nonEmptyText, path, text, type Parser } from './parsers.ts'
import type { Variable } from './variable.ts'
import type { VariableValues } from './variables.ts'

/** How the connection to the directory is protected. */
export type LdapTransport = 'ldaps' | 'starttls' | 'plain'

/** LDAP sign-in settings (ENABLE_LDAP and LDAP_*); null in Config when LDAP is off. Times in ms. */
export type LdapConfig = Readonly<{
  /** Shown on the sign-in form. */
  label: string
  host: string
  port: number
  transport: LdapTransport
  tls: Readonly<{
    validateCert: boolean
    /** PEM text of LDAP_CA_CERT_FILE, or null to trust the system store. */
    ca: string | null
    caFile: string | null
    /** OpenSSL cipher list, or null for the runtime's defaults. */
    ciphers: string | null
  }>
  /** The service account that searches; null searches anonymously. */
  appDn: string | null
  /** Its password (LDAP_APP_PASSWORD, or read from LDAP_APP_PASSWORD_FILE). Never logged or shown. */
  appPassword: string | null
  searchBase: string
  /** Extra filter ANDed to the username match, e.g. (objectClass=person); null for none. */
  searchFilter: string | null
  usernameAttribute: string
  mailAttribute: string
  groupsAttribute: string
  /** Sync memberships from the directory on every sign-in; null when off. */
  groupManagement: Readonly<{ createMissing: boolean }> | null
  /** Directory groups (DNs or CNs) whose members are admins; null leaves roles alone. */
  adminGroups: readonly string[] | null
  /** Directory groups (DNs or CNs) whose members may sign in; null lets every entry found sign in. */
  allowedGroups: readonly string[] | null
  /** Limit on connecting and on each directory operation. */
  timeoutMs: number
}>

/** An LDAP attribute name (or OID), trimmed. */
export const attributeName: Parser<string> = (raw) =>
  /^([A-Za-z][A-Za-z0-9-]{0,63}|\d+(\.\d+)+)$/.test(raw.trim()) ? raw.trim() : { expected: 'an LDAP attribute name such as uid or sAMAccountName' }

/** An RFC 4515 filter in parentheses, checked by the same parser that later sends it. */
export const ldapFilter: Parser<string> = (raw) => {
  const filter = raw.trim()
  const expected = 'an LDAP filter in parentheses, such as (objectClass=person)'
  if (!filter.startsWith('(') || !filter.endsWith(')') || filter.length > 4096 || !isOneBalancedGroup(filter)) return { expected }
  try {
    // note: required here, not imported, so a configuration without LDAP filters never loads ldapts.
    const { FilterParser } = require('ldapts') as typeof import('ldapts')
    FilterParser.parseString(filter)
    return filter
  } catch {
    return { expected }
  }
}

/** True when the parentheses balance and close only at the end (a literal parenthesis in a value is written \28 or \29). */
function isOneBalancedGroup(filter: string): boolean {
  let depth = 0
  for (let i = 0; i < filter.length; i++) {
    if (filter[i] === '(') depth++
    else if (filter[i] === ')' && --depth === 0 && i !== filter.length - 1) return false
    if (depth < 0) return false
  }
  return depth === 0
}

/** Group DNs or CNs separated by semicolons (DNs themselves contain commas). */
const groupList: Parser<string[]> = (raw) => {
  const groups = raw.split(';').map((entry) => entry.trim()).filter((entry) => entry !== '')
  return groups.length > 0 && groups.every((entry) => entry.length <= 1024) ? groups : { expected: 'group DNs or CNs separated by semicolons, e.g. admins;cn=staff,ou=groups,dc=example,dc=org' }
}

const showGroups = (groups: unknown) => (Array.isArray(groups) ? groups.join(';') : String(groups))

/** LDAP sign-in. Names and meanings follow Open WebUI; LDAP_USE_STARTTLS, LDAP_ADMIN_GROUPS and LDAP_ALLOWED_GROUPS are ours. */
export const ldapVariables = {
  ENABLE_LDAP: { parse: boolean, default: false, doc: 'Accept sign-in with a directory account at POST /api/v1/auths/ldap (see LDAP sign-in).' },
  LDAP_SERVER_LABEL: { parse: nonEmptyText, default: 'LDAP Server', doc: 'Name of the directory shown on the sign-in form.' },
  LDAP_SERVER_HOST: { parse: hostName('LDAP_SERVER_PORT'), default: null, doc: 'Host name or IP address of the directory server; required when ENABLE_LDAP is true.' },
  LDAP_SERVER_PORT: { parse: integerFrom(1, 65535), default: null, doc: 'Port of the directory server; unset means 636 with LDAP_USE_TLS, else 389.' },
  LDAP_ATTRIBUTE_FOR_USERNAME: { parse: attributeName, default: 'uid', doc: 'Attribute matched against the name typed at sign-in (uid; sAMAccountName for Active Directory).' },
  LDAP_ATTRIBUTE_FOR_MAIL: { parse: attributeName, default: 'mail', doc: 'Attribute holding the email address of the local account.' },
  LDAP_APP_DN: { parse: nonEmptyText, default: null, doc: 'DN of the service account that searches for users; unset searches anonymously.' },
  LDAP_APP_PASSWORD: { parse: text, default: null, secret: true, doc: 'Password of LDAP_APP_DN.' },
  LDAP_APP_PASSWORD_FILE: { parse: path, default: null, doc: 'File holding LDAP_APP_PASSWORD (must not be readable by group or others).' },
  LDAP_SEARCH_BASE: { parse: nonEmptyText, default: null, doc: 'DN under which users are searched; required when ENABLE_LDAP is true.' },
  LDAP_SEARCH_FILTER: { parse: ldapFilter, default: null, doc: 'Extra filter a user entry must match, ANDed with the username match, e.g. (objectClass=person).' },
  LDAP_SEARCH_FILTERS: { parse: ldapFilter, default: null, doc: 'Older name of LDAP_SEARCH_FILTER, read when that is unset.' },
  LDAP_USE_TLS: { parse: boolean, default: true, doc: 'Connect with TLS from the start (ldaps://).' },
  LDAP_USE_STARTTLS: { parse: boolean, default: false, doc: 'Upgrade a plain connection with StartTLS before anything is sent; set LDAP_USE_TLS=false with it.' },
  LDAP_VALIDATE_CERT: { parse: boolean, default: true, doc: 'Check the server certificate and its name; false logs a warning at start.' },
  LDAP_CA_CERT_FILE: { parse: path, default: null, doc: 'PEM file of the CA(s) that signed the server certificate; unset trusts the system store.' },
  LDAP_CIPHERS: { parse: nonEmptyText, default: null, doc: 'OpenSSL cipher list for the TLS connection; unset keeps the runtime defaults (Open WebUI defaults to ALL).' },
  ENABLE_LDAP_GROUP_MANAGEMENT: { parse: boolean, default: false, doc: 'Make the user\'s groups match the directory\'s on every sign-in.' },
  ENABLE_LDAP_GROUP_CREATION: { parse: boolean, default: false, doc: 'With group management: create groups the directory names that do not exist yet.' },
  LDAP_ATTRIBUTE_FOR_GROUPS: { parse: attributeName, default: 'memberOf', doc: 'Attribute of the user entry listing the DNs of its groups.' },
  LDAP_ADMIN_GROUPS: { parse: groupList, default: null, show: showGroups, doc: 'Directory groups (DNs or CNs, separated by ;) whose members are admins; others are demoted to user at their next sign-in.' },
  LDAP_ALLOWED_GROUPS: { parse: groupList, default: null, show: showGroups, doc: 'Directory groups (DNs or CNs, separated by ;) whose members may sign in; unset lets every entry found sign in.' },
} as const satisfies Record<string, Variable<unknown>>

/** Limit on connecting to the directory and on each operation. */
export const LDAP_TIMEOUT_MS = 5000

/**
 * Builds the LDAP settings, reading the CA and password files, or lists what is wrong, each naming
 * the variable. Returns null settings when ENABLE_LDAP is false.
 */
export function ldapConfigFrom(values: VariableValues, cwd: string): { config: LdapConfig | null; problems: ConfigProblem[] } {
  const problems: ConfigProblem[] = []
  if (!values.ENABLE_LDAP) return { config: null, problems }
  if (values.LDAP_SERVER_HOST === null) problems.push({ variable: 'LDAP_SERVER_HOST', value: '', expected: 'the directory server\'s host name when ENABLE_LDAP is true' })
  if (values.LDAP_SEARCH_BASE === null) problems.push({ variable: 'LDAP_SEARCH_BASE', value: '', expected: 'the DN to search for users under when ENABLE_LDAP is true' })
  if (values.LDAP_USE_TLS && values.LDAP_USE_STARTTLS) {
    problems.push({ variable: 'LDAP_USE_STARTTLS', value: 'true', expected: 'LDAP_USE_TLS=false with it: StartTLS upgrades a plain connection, LDAP_USE_TLS starts with TLS (choose one)' })
  }
  if (values.LDAP_APP_PASSWORD !== null && values.LDAP_APP_PASSWORD_FILE !== null) {
    problems.push({ variable: 'LDAP_APP_PASSWORD_FILE', value: values.LDAP_APP_PASSWORD_FILE, expected: 'to be unset when LDAP_APP_PASSWORD is set (choose one)' })
  }
  const caFile = values.LDAP_CA_CERT_FILE === null ? null : resolve(cwd, values.LDAP_CA_CERT_FILE)
  const ca = caFile === null ? null : readCaFile(caFile, problems)
  const passwordFile = values.LDAP_APP_PASSWORD_FILE === null ? null : resolve(cwd, values.LDAP_APP_PASSWORD_FILE)
  const appPassword = passwordFile === null ? values.LDAP_APP_PASSWORD : readPasswordFile(passwordFile, problems)
  if (values.LDAP_APP_DN !== null && (appPassword === null || appPassword === '') && problems.length === 0) {
    problems.push({ variable: 'LDAP_APP_PASSWORD', value: '', expected: 'the password of LDAP_APP_DN (or LDAP_APP_PASSWORD_FILE): an empty password would be an anonymous bind' })
  }
  if (problems.length > 0) return { config: null, problems }

  const transport: LdapTransport = values.LDAP_USE_TLS ? 'ldaps' : values.LDAP_USE_STARTTLS ? 'starttls' : 'plain'
  return {
    problems,
    config: {
      label: values.LDAP_SERVER_LABEL,
      // note: an IPv6 address may come in brackets, as in a URL; the connection adds them back.
      host: values.LDAP_SERVER_HOST!.replace(/^\[(.*)\]$/, '$1'),
      port: values.LDAP_SERVER_PORT ?? (transport === 'ldaps' ? 636 : 389),
      transport,
      tls: { validateCert: values.LDAP_VALIDATE_CERT, ca, caFile, ciphers: values.LDAP_CIPHERS },
      appDn: values.LDAP_APP_DN,
      appPassword: values.LDAP_APP_DN === null ? null : appPassword,
      searchBase: values.LDAP_SEARCH_BASE!,
      searchFilter: values.LDAP_SEARCH_FILTER ?? values.LDAP_SEARCH_FILTERS,
      usernameAttribute: values.LDAP_ATTRIBUTE_FOR_USERNAME,
      mailAttribute: values.LDAP_ATTRIBUTE_FOR_MAIL,
      groupsAttribute: values.LDAP_ATTRIBUTE_FOR_GROUPS,
      groupManagement: values.ENABLE_LDAP_GROUP_MANAGEMENT ? { createMissing: values.ENABLE_LDAP_GROUP_CREATION } : null,
      adminGroups: values.LDAP_ADMIN_GROUPS,
      allowedGroups: values.LDAP_ALLOWED_GROUPS,
      timeoutMs: LDAP_TIMEOUT_MS,
    },
  }
}

function readCaFile(file: string, problems: ConfigProblem[]): string | null {
  try {
    const pem = readFileSync(file, 'utf8')
    if (pem.includes('-----BEGIN CERTIFICATE-----')) return pem
    problems.push({ variable: 'LDAP_CA_CERT_FILE', value: file, expected: 'a PEM file holding at least one -----BEGIN CERTIFICATE----- block' })
  } catch {
    problems.push({ variable: 'LDAP_CA_CERT_FILE', value: file, expected: 'a file Enclave\'s user can read' })
  }
  return null
}

function readPasswordFile(file: string, problems: ConfigProblem[]): string | null {
  try {
    if ((statSync(file).mode & 0o077) !== 0) {
      problems.push({ variable: 'LDAP_APP_PASSWORD_FILE', value: file, expected: `a file only its owner may read (run: chmod 600 ${file})` })
      return null
    }
    // note: one trailing newline is what editors and `echo` leave; anything else is the password.
    return readFileSync(file, 'utf8').replace(/\r?\n$/, '')
  } catch {
    problems.push({ variable: 'LDAP_APP_PASSWORD_FILE', value: file, expected: 'a file Enclave\'s user can read' })
    return null
  }
}
