/**
 * Whether a string is an IP address literal, and of which family: node:net's `isIP`, without
 * loading node:net. Importing node:net loads its socket and stream machinery (about 6 MB of a
 * process's resident memory and several ms of its start), which the server never uses otherwise.
 * The IPv4 pattern is Node's own (lib/internal/net.js): dotted quads without leading zeros; IPv6 is
 * what Node's pattern accepts, every spelling with an embedded IPv4 tail and a `%zone` suffix, checked
 * part by part; ip-address.test.ts checks the answers against node:net's.
 */

const v4Segment = '(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9][0-9]|[0-9])'
const v4Address = `(?:${v4Segment}\\.){3}${v4Segment}`
const IPV4 = new RegExp(`^${v4Address}$`)
const HEX_GROUP = /^[0-9a-fA-F]{1,4}$/
const ZONE = /^[0-9a-zA-Z\-.:]+$/

/**
 * Whether `text` matches Node's IPv6 pattern: eight groups of 1-4 hex digits, the last two of which
 * may be a dotted-quad IPv4 address; or fewer, with one `::` standing for at least one group; then
 * an optional `%zone`. Checked part by part rather than with Node's one regular expression, whose
 * compilation at its first use took 0.57 ms of every start (TRUSTED_PROXIES' default holds `::1`).
 */
function isIpv6(text: string): boolean {
  const zoneAt = text.indexOf('%')
  if (zoneAt !== -1 && !ZONE.test(text.slice(zoneAt + 1))) return false
  const address = zoneAt === -1 ? text : text.slice(0, zoneAt)
  const halves = address.split('::')
  if (halves.length > 2) return false
  if (halves.length === 1) return groupCount(address, true) === 8
  const left = halves[0] === '' ? 0 : groupCount(halves[0]!, false)
  const right = halves[1] === '' ? 0 : groupCount(halves[1]!, true)
  return left >= 0 && right >= 0 && left + right <= 7
}

/** How many 16-bit groups `part` (groups joined by `:`) spells, an IPv4 tail counting two; -1 when it is not such a part. */
function groupCount(part: string, mayEndInIpv4: boolean): number {
  const groups = part.split(':')
  const last = groups.length - 1
  let count = 0
  for (let i = 0; i <= last; i++) {
    if (HEX_GROUP.test(groups[i]!)) count++
    else if (i === last && mayEndInIpv4 && IPV4.test(groups[i]!)) count += 2
    else return -1
  }
  return count
}

/** Returns 4 for an IPv4 literal, 6 for an IPv6 literal (brackets not included), 0 for anything else. */
export function ipVersionOf(text: string): 0 | 4 | 6 {
  if (IPV4.test(text)) return 4
  if (isIpv6(text)) return 6
  return 0
}
