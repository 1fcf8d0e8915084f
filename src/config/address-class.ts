/**
 * What kind of network an IP address is on, for deciding where the server may send requests.
 * Threat: a URL a user (or an admin) gives makes the server connect somewhere it can reach and
 * they can't: its own loopback services, the private network, a cloud metadata service that hands
 * out credentials. Addresses arrive here as the WHATWG URL parser and the resolver give them (so
 * `2130706433`, `0x7f000001`, `0177.1` and `127.1` are already 127.0.0.1); IPv6 forms that carry an
 * IPv4 address (mapped `::ffff:a.b.c.d`, compatible `::a.b.c.d`, NAT64 `64:ff9b::`, 6to4 `2002::`)
 * are judged by that address.
 */
import { addressBytes } from './network.ts'

/**
 * `public`: the internet. `internal`: loopback, private (RFC 1918, 100.64/10 shared, fc00::/7
 * unique-local), where an admin's Ollama may live. The rest are never a place to send requests:
 * link-local (169.254/16, fe80::/10), cloud metadata, unspecified, multicast, reserved.
 */
export type AddressClass = 'public' | 'internal' | 'link_local' | 'metadata' | 'unspecified' | 'multicast' | 'reserved'

type V4Rule = [first: number[], prefixBits: number, kind: AddressClass]

// note: metadata services that sit outside link-local: Azure's wire server, Alibaba's (inside 100.64/10, named for the message).
const V4_RULES: V4Rule[] = [
  [[168, 63, 129, 16], 32, 'metadata'],
  [[100, 100, 100, 200], 32, 'metadata'],
  [[169, 254, 169, 254], 32, 'metadata'],
  [[0, 0, 0, 0], 8, 'unspecified'],
  [[127, 0, 0, 0], 8, 'internal'],
  [[10, 0, 0, 0], 8, 'internal'],
  [[172, 16, 0, 0], 12, 'internal'],
  [[192, 168, 0, 0], 16, 'internal'],
  [[100, 64, 0, 0], 10, 'internal'],
  [[169, 254, 0, 0], 16, 'link_local'],
  [[192, 0, 0, 0], 24, 'reserved'],
  [[192, 0, 2, 0], 24, 'reserved'],
  [[198, 18, 0, 0], 15, 'reserved'],
  [[198, 51, 100, 0], 24, 'reserved'],
  [[203, 0, 113, 0], 24, 'reserved'],
  [[224, 0, 0, 0], 4, 'multicast'],
  [[240, 0, 0, 0], 4, 'reserved'],
]

const matchesPrefix = (bytes: Uint8Array, first: readonly number[], prefixBits: number) => {
  for (let bit = 0; bit < prefixBits; bit++) {
    const mask = 0x80 >> (bit % 8)
    if ((bytes[bit >> 3]! & mask) !== ((first[bit >> 3] ?? 0) & mask)) return false
  }
  return true
}

function classifyV4(bytes: Uint8Array): AddressClass {
  for (const [first, prefixBits, kind] of V4_RULES) if (matchesPrefix(bytes, first, prefixBits)) return kind
  return 'public'
}

const isZero = (bytes: Uint8Array, from: number, to: number) => bytes.slice(from, to).every((byte) => byte === 0)

function classifyV6(bytes: Uint8Array): AddressClass {
  if (isZero(bytes, 0, 16)) return 'unspecified'
  if (isZero(bytes, 0, 15) && bytes[15] === 1) return 'internal'
  if (isZero(bytes, 0, 10) && bytes[10] === 0xff && bytes[11] === 0xff) return classifyV4(bytes.slice(12))
  // note: IPv4-compatible ::a.b.c.d (deprecated) and NAT64 64:ff9b::/96 reach the IPv4 address inside.
  if (isZero(bytes, 0, 12)) return classifyV4(bytes.slice(12))
  if (matchesPrefix(bytes, [0x00, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0], 96)) return classifyV4(bytes.slice(12))
  if (matchesPrefix(bytes, [0x20, 0x02], 16)) return classifyV4(bytes.slice(2, 6))
  if (matchesPrefix(bytes, [0xfd, 0x00, 0x0e, 0xc2], 32)) return 'metadata' // AWS's IPv6 metadata service, fd00:ec2::254
  if (matchesPrefix(bytes, [0xfc], 7)) return 'internal'
  if (matchesPrefix(bytes, [0xfe, 0x80], 10)) return 'link_local'
  if (matchesPrefix(bytes, [0xfe, 0xc0], 10)) return 'internal' // deprecated site-local
  if (matchesPrefix(bytes, [0xff], 8)) return 'multicast'
  if (matchesPrefix(bytes, [0x20, 0x01, 0x0d, 0xb8], 32)) return 'reserved'
  if (matchesPrefix(bytes, [0x01, 0x00, 0, 0, 0, 0, 0, 0], 64)) return 'reserved'
  return 'public'
}

/** The class of an IP address (IPv4-mapped IPv6 as IPv4); null when it is not an IP address. */
export function classifyAddress(address: string): AddressClass | null {
  const bytes = addressBytes(address)
  if (bytes === null) return null
  return bytes.length === 4 ? classifyV4(bytes) : classifyV6(bytes)
}

/** Host names of cloud metadata services, refused whatever they resolve to. */
const METADATA_NAMES = new Set(['metadata', 'metadata.google.internal', 'metadata.goog', 'instance-data', 'instance-data.ec2.internal', 'metadata.azure.internal'])

/** Whether a URL's host name (lower-case, any trailing dot removed) names a metadata service. */
export function isMetadataName(hostname: string): boolean {
  return METADATA_NAMES.has(hostname.toLowerCase().replace(/\.+$/, ''))
}

/**
 * Why an admin's Ollama URL may not be used, or null when it may: loopback and private networks
 * are where Ollama lives (0.0.0.0 reaches loopback too), but never link-local or metadata addresses.
 * A host name is judged by its name only (metadata names); where it resolves is the admin's network.
 */
export function refusedOllamaHost(url: string): string | null {
  const hostname = new URL(url).hostname
  if (isMetadataName(hostname)) return 'a cloud metadata service'
  const kind = classifyAddress(hostname.replace(/\.$/, ''))
  if (kind === 'link_local') return 'a link-local address (169.254.0.0/16, fe80::/10)'
  if (kind === 'metadata') return 'a cloud metadata address'
  return null
}
