/**
 * Directory groups as a user entry lists them (memberOf: one DN per group) and how they are matched
 * against LDAP_ADMIN_GROUPS / LDAP_ALLOWED_GROUPS, whose entries are DNs or plain CNs.
 */

/** The groups of an entry: each DN, and its CN when its first RDN is a cn (as Open WebUI names them). */
export type DirectoryGroup = { dn: string; cn: string | null }

/** Reads the group DNs from the attribute value (ldapts gives a string for one value, an array for several). */
export function groupsFromAttribute(value: unknown): DirectoryGroup[] {
  const values = Array.isArray(value) ? value : value === undefined || value === null ? [] : [value]
  return values.filter((dn): dn is string => typeof dn === 'string' && dn.trim() !== '').map((dn) => ({ dn, cn: firstCn(dn) }))
}

/** True when any group matches any entry of the list: a DN by its normalised form, a CN case-insensitively. */
export function isInAnyGroup(groups: readonly DirectoryGroup[], list: readonly string[]): boolean {
  return list.some((wanted) => {
    if (looksLikeDn(wanted)) return groups.some((group) => normaliseDn(group.dn) === normaliseDn(wanted))
    return groups.some((group) => group.cn !== null && group.cn.toLowerCase() === wanted.trim().toLowerCase())
  })
}

/** A DN compared loosely: lower case, no spaces around separators. Enough for the DNs a directory returns. */
export function normaliseDn(dn: string): string {
  return splitRdns(dn).map((rdn) => rdn.replace(/\s*=\s*/, '=').trim()).join(',').toLowerCase()
}

function looksLikeDn(entry: string): boolean {
  return /^[A-Za-z][A-Za-z0-9-]*\s*=/.test(entry.trim())
}

/** The value of the DN's first RDN when it is cn=..., unescaped; null otherwise. */
function firstCn(dn: string): string | null {
  const first = splitRdns(dn)[0]
  const match = first === undefined ? null : /^\s*cn\s*=\s*(.*)$/is.exec(first)
  return match === null ? null : unescapeDnValue(match[1]!.trim())
}

/** Splits a DN at the commas that are not escaped. */
function splitRdns(dn: string): string[] {
  const parts: string[] = []
  let current = ''
  for (let i = 0; i < dn.length; i++) {
    const char = dn[i]!
    if (char === '\\' && i + 1 < dn.length) {
      current += char + dn[i + 1]
      i++
    } else if (char === ',') {
      parts.push(current)
      current = ''
    } else {
      current += char
    }
  }
  parts.push(current)
  return parts
}

function unescapeDnValue(value: string): string {
  // note: `\xx` escapes are UTF-8 bytes (RFC 4514), so runs of them are decoded together.
  return value.replace(/(\\[0-9a-fA-F]{2})+|\\(.)/g, (run: string, _hex: string | undefined, char: string | undefined) =>
    char !== undefined ? char : Buffer.from(run.replaceAll('\\', ''), 'hex').toString('utf8'))
}
