/**
 * Whether a string is an IP address literal, and of which family: node:net's `isIP`, without
 * loading node:net. Importing node:net loads its socket and stream machinery (about 6 MB of a
 * process's resident memory and several ms of its start), which the server never uses otherwise.
 * The patterns are Node's own (lib/internal/net.js): dotted-quad IPv4 without leading zeros, and
 * every IPv6 spelling, with an embedded IPv4 tail and a `%zone` suffix; ip-address.test.ts checks
 * the answers against node:net's.
 */

const v4Segment = '(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9][0-9]|[0-9])'
const v4Address = `(?:${v4Segment}\\.){3}${v4Segment}`
const v6Segment = '(?:[0-9a-fA-F]{1,4})'
const IPV4 = new RegExp(`^${v4Address}$`)
const IPV6 = new RegExp('^(?:' +
  `(?:${v6Segment}:){7}(?:${v6Segment}|:)|` +
  `(?:${v6Segment}:){6}(?:${v4Address}|:${v6Segment}|:)|` +
  `(?:${v6Segment}:){5}(?::${v4Address}|(?::${v6Segment}){1,2}|:)|` +
  `(?:${v6Segment}:){4}(?:(?::${v6Segment}){0,1}:${v4Address}|(?::${v6Segment}){1,3}|:)|` +
  `(?:${v6Segment}:){3}(?:(?::${v6Segment}){0,2}:${v4Address}|(?::${v6Segment}){1,4}|:)|` +
  `(?:${v6Segment}:){2}(?:(?::${v6Segment}){0,3}:${v4Address}|(?::${v6Segment}){1,5}|:)|` +
  `(?:${v6Segment}:){1}(?:(?::${v6Segment}){0,4}:${v4Address}|(?::${v6Segment}){1,6}|:)|` +
  `(?::(?:(?::${v6Segment}){0,5}:${v4Address}|(?::${v6Segment}){1,7}|:))` +
')(?:%[0-9a-zA-Z-.:]{1,})?$')

/** Returns 4 for an IPv4 literal, 6 for an IPv6 literal (brackets not included), 0 for anything else. */
export function ipVersionOf(text: string): 0 | 4 | 6 {
  if (IPV4.test(text)) return 4
  if (IPV6.test(text)) return 6
  return 0
}
