/**
 * Variables that look like Enclave's but are not read: a misspelt name (`OLAMA_BASE_URL`) would
 * otherwise be ignored without a word and the default used. A name near a known one gets a "did
 * you mean"; other names with one of our prefixes (Open WebUI settings Enclave doesn't implement,
 * mostly) are listed together in one line, so an Open WebUI env file doesn't flood the log.
 */
import { editDistance } from './closest-name.ts'
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
const longNames = candidatesOf(known.filter((name) => name.length >= 8))
const shortNames = candidatesOf(known.filter((name) => name.length < 8))
/** Names shown in the one line of unsupported ones; the rest are counted. */
const MAX_LISTED = 20

/** Sorts the names (of the environment and .env) that Enclave doesn't read but that look like its own. */
export function findUnknownVariables(names: Iterable<string>): UnknownVariables {
  const misspelt: { name: string; known: string }[] = []
  const unsupported: string[] = []
  for (const name of new Set(names)) {
    if (name in variables || otherNames.has(name) || !/^[A-Za-z][A-Za-z0-9_]{1,99}$/.test(name)) continue
    const upper = name.toUpperCase()
    const counts = letterCounts(upper)
    const near = closestKnown(upper, counts, longNames, 2) ?? closestKnown(upper, counts, shortNames, 1)
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

/** A known name, upper-cased, with how often each character occurs in it. */
type Candidate = { name: string; upper: string; counts: Uint8Array }

function candidatesOf(names: readonly string[]): Candidate[] {
  return names.map((name) => ({ name, upper: name.toUpperCase(), counts: letterCounts(name.toUpperCase()) }))
}

/** Counts of A-Z, 0-9 and `_` in an upper-cased name (the only characters a name checked here has). */
function letterCounts(upper: string): Uint8Array {
  const counts = new Uint8Array(37)
  for (let i = 0; i < upper.length; i++) {
    const code = upper.charCodeAt(i)
    counts[code >= 65 && code <= 90 ? code - 65 : code >= 48 && code <= 57 ? code - 22 : 36]! += 1
  }
  return counts
}

/**
 * closestName (closest-name.ts) for an upper-cased name among known ones, the same answer: the
 * first candidate at the least distance within `maxDistance`. A candidate whose length, or whose
 * character counts, differ by more than `maxDistance` edits could make is passed over before its
 * distance is worked out: an edit changes the length by at most 1 and the counts' summed
 * differences by at most 2 (a swap of neighbours by 0), so its distance is over the bound anyway.
 * note: a start compares each name of the environment with each of the ~200 known names before the
 * port opens; with closestName's every-pair work (upper-casing, the distance table) a 35-name shell
 * environment took 4.8-6.6 ms of the start (timestamps in the compiled binary, four starts).
 */
function closestKnown(upper: string, counts: Uint8Array, candidates: readonly Candidate[], maxDistance: number): string | null {
  let best: { name: string; distance: number } | null = null
  for (const candidate of candidates) {
    if (Math.abs(candidate.upper.length - upper.length) > maxDistance || countsDiffer(counts, candidate.counts, 2 * maxDistance)) continue
    const distance = editDistance(upper, candidate.upper, maxDistance)
    if (distance <= maxDistance && (best === null || distance < best.distance)) best = { name: candidate.name, distance }
  }
  return best?.name ?? null
}

/** Whether the summed differences of two count tables exceed `limit`. */
function countsDiffer(a: Uint8Array, b: Uint8Array, limit: number): boolean {
  let sum = 0
  for (let i = 0; i < a.length; i++) {
    sum += Math.abs(a[i]! - b[i]!)
    if (sum > limit) return true
  }
  return false
}
