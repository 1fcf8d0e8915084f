/**
 * Address lists for FORWARDED_ALLOW_IPS: IPv4 and IPv6 addresses and CIDR ranges, or `*`.
 * Matching is exact on parsed addresses; IPv4-mapped IPv6 (::ffff:a.b.c.d) counts as IPv4.
 */
import { ipVersionOf } from './ip-address.ts'
import type { Parser } from './parsers.ts'

export type AddressList = { readonly any: boolean; readonly entries: readonly string[]; matches(address: string | null): boolean }

type Range = { bytes: Uint8Array; prefixBits: number }

/** Parses a comma-separated list of addresses and CIDR ranges, or `*` for any address. */
export const addressList: Parser<AddressList> = (raw) => {
  const expected = 'a comma-separated list of IP addresses or CIDR ranges (e.g. 127.0.0.1,10.0.0.0/8), or *'
  const entries = raw.split(',').map((entry) => entry.trim()).filter((entry) => entry !== '')
  if (entries.length === 0) return { expected }
  if (entries.includes('*')) return entries.length === 1 ? { any: true, entries, matches: () => true } : { expected }
  const ranges: Range[] = []
  for (const entry of entries) {
    const range = parseRange(entry)
    if (range === null) return { expected }
    ranges.push(range)
  }
  return {
    any: false,
    entries,
    matches(address) {
      const bytes = address === null ? null : addressBytes(address)
      return bytes !== null && ranges.some((range) => inRange(bytes, range))
    },
  }
}

function parseRange(entry: string): Range | null {
  const [address, prefix, extra] = entry.split('/')
  if (address === undefined || extra !== undefined) return null
  const bytes = addressBytes(address)
  if (bytes === null) return null
  const maxBits = bytes.length * 8
  if (prefix === undefined) return { bytes, prefixBits: maxBits }
  if (!/^\d{1,3}$/.test(prefix) || Number(prefix) > maxBits) return null
  return { bytes, prefixBits: Number(prefix) }
}

/** Returns an address as 4 or 16 bytes (IPv4-mapped IPv6 as 4), or null when it is not one. */
export function addressBytes(address: string): Uint8Array | null {
  const plain = address.replace(/^\[|\]$/g, '').replace(/%.*$/, '')
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(plain)
  const candidate = mapped?.[1] ?? plain
  const family = ipVersionOf(candidate)
  if (family === 4) return new Uint8Array(candidate.split('.').map(Number))
  if (family === 6) return ipv6Bytes(candidate)
  return null
}

function ipv6Bytes(address: string): Uint8Array {
  const [head, tail] = address.includes('::') ? address.split('::') as [string, string] : [address, null]
  const groups = (part: string) => (part === '' ? [] : part.split(':'))
  const expand = (parts: string[]) => parts.flatMap((part) => (part.includes('.') ? ipv4AsGroups(part) : [part]))
  const left = expand(groups(head))
  const right = tail === null ? [] : expand(groups(tail))
  const all = tail === null ? left : [...left, ...Array(8 - left.length - right.length).fill('0'), ...right]
  const bytes = new Uint8Array(16)
  all.forEach((group, i) => {
    const value = parseInt(group, 16)
    bytes[i * 2] = value >> 8
    bytes[i * 2 + 1] = value & 0xff
  })
  return bytes
}

function ipv4AsGroups(dotted: string): string[] {
  const [a, b, c, d] = dotted.split('.').map(Number) as [number, number, number, number]
  return [((a << 8) | b).toString(16), ((c << 8) | d).toString(16)]
}

function inRange(bytes: Uint8Array, { bytes: base, prefixBits }: Range): boolean {
  if (bytes.length !== base.length) return false
  for (let bit = 0; bit < prefixBits; bit++) {
    const mask = 0x80 >> (bit % 8)
    if ((bytes[bit >> 3]! & mask) !== (base[bit >> 3]! & mask)) return false
  }
  return true
}
