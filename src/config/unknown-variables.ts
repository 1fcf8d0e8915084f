/**
 * Variables that look like Enclave's but are not read: a misspelt name (`OLAMA_BASE_URL`) would
 * otherwise be ignored without a word and the default used. A name near a known one gets a "did
 * you mean"; other names with one of our prefixes (Open WebUI settings Enclave doesn't implement,
 * mostly) are listed together in one line, so an Open WebUI env file doesn't flood the log.
 */
import { closestName } from './closest-name.ts'
import { variables } from './variables.ts'

export type UnknownVariables = Readonly<{
  /** Names within a typo of a known one, with that one. */
  misspelt: readonly { name: string; known: string }[]
  /** Other names with one of the prefixes Enclave's and Open WebUI's settings use. */
  unsupported: readonly string[]
}>

const PREFIXES = ['OLLAMA_', 'WEBUI_', 'ENABLE_', 'LDAP_', 'OAUTH_', 'OPENID_', 'ENCRYPTION_', 'WEBSOCKET_', 'CORS_', 'JWT_', 'AUDIT_', 'CHAT_', 'GOOGLE_', 'MICROSOFT_', 'DEFAULT_', 'USER_', 'ADMIN_']
const known = Object.keys(variables)
/** Other products' names for our settings (Libre WebUI's JWT_SECRET, ...): read, so not unknown. */
const otherNames = new Set<string>(Object.values(variables).flatMap((variable) => ('otherName' in variable ? [variable.otherName.name] : [])))
// note: short names get one edit, not two: HOME is two edits from HOST, and every shell has it.
const longNames = known.filter((name) => name.length >= 8)
const shortNames = known.filter((name) => name.length < 8)
/** Names shown in the one line of unsupported ones; the rest are counted. */
const MAX_LISTED = 20

/** Sorts the names (of the environment and .env) that Enclave doesn't read but that look like its own. */
export function findUnknownVariables(names: Iterable<string>): UnknownVariables {
  const misspelt: { name: string; known: string }[] = []
  const unsupported: string[] = []
  for (const name of new Set(names)) {
    if (name in variables || otherNames.has(name) || !/^[A-Za-z][A-Za-z0-9_]{1,99}$/.test(name)) continue
    const near = closestName(name, longNames, 2) ?? closestName(name, shortNames, 1)
    if (near !== null) misspelt.push({ name, known: near })
    else if (PREFIXES.some((prefix) => name.toUpperCase().startsWith(prefix))) unsupported.push(name)
  }
  return { misspelt, unsupported: unsupported.sort() }
}

/** The log lines for them: a warning per misspelt name, and at most one line for the others. */
export function describeUnknownVariables({ misspelt, unsupported }: UnknownVariables): { warnings: string[]; notice: string | null } {
  const warnings = misspelt.map(({ name, known: near }) => `${name} is set but is not a setting Enclave reads: did you mean ${near}?`)
  if (unsupported.length === 0) return { warnings, notice: null }
  const listed = unsupported.slice(0, MAX_LISTED).join(', ')
  const more = unsupported.length > MAX_LISTED ? ` and ${unsupported.length - MAX_LISTED} more` : ''
  return { warnings, notice: `Not read by Enclave (Open WebUI settings it does not implement, or typos): ${listed}${more}. See docs/configuration.md for the settings Enclave reads.` }
}
