/**
 * LDAP search filters built from what a user typed. Threat: filter injection, where input such as
 * `*` or `admin)(uid=*` widens the search to entries the user does not own. Invariant: every value
 * taken from input is escaped per RFC 4515 section 3, so it can only ever be matched literally.
 */

/**
 * Escapes a value for an RFC 4515 filter: `*`, `(`, `)`, `\` and NUL become `\2a`, `\28`, `\29`,
 * `\5c`, `\00`. Other characters stay as they are; the filter is sent as UTF-8.
 */
export function escapeFilterValue(value: string): string {
  // note: non-ASCII is not hex-escaped on purpose: ldapts decodes each `\xx` as one character, which
  // would split a multi-byte UTF-8 sequence. Sent as is, it arrives intact.
  return value.replace(/[*()\\\0]/g, (char) => `\\${char.charCodeAt(0).toString(16).padStart(2, '0')}`)
}

/** The filter that finds the entry for a typed username: `(&(attr=<escaped>)<extra>)`. */
export function userSearchFilter(usernameAttribute: string, username: string, extraFilter: string | null): string {
  return `(&(${usernameAttribute}=${escapeFilterValue(username)})${extraFilter ?? ''})`
}
