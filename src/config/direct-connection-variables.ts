/**
 * Direct connections: a user's own OpenAI-compatible endpoints, reached through the server. Off by
 * default (as Open WebUI). The server refuses to send them anywhere but the public internet
 * (chat/outbound-address.ts) unless the admin lists the host, or a range holding its address, here.
 */
import { addressBytes, addressList, type AddressList } from './network.ts'
import { boolean, isParseFailure, type Parser } from './parsers.ts'
import type { Variable } from './variable.ts'
import type { VariableValues } from './variables.ts'

/** Null when direct connections are off. */
export type DirectConnectionConfig = Readonly<{
  /** Host names (lower-case, no trailing dot) the admin allows whatever they resolve to. */
  allowedHostNames: ReadonlySet<string>
  /** Addresses and ranges the admin allows; null when none are listed. */
  allowedRanges: AddressList | null
}> | null

type AllowedHosts = { names: string[]; ranges: string[] }

const HOST_NAME = /^(?=.{1,253}$)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*$/

/** Parses a comma-separated list of host names, IP addresses and CIDR ranges. */
const allowedHosts: Parser<AllowedHosts> = (raw) => {
  const expected = 'a comma-separated list of host names, IP addresses and CIDR ranges (e.g. llm.lan,10.0.0.0/8)'
  const parsed: AllowedHosts = { names: [], ranges: [] }
  for (const entry of raw.split(',').map((part) => part.trim().toLowerCase()).filter((part) => part !== '')) {
    if (addressBytes(entry.split('/')[0]!) !== null) {
      if (isParseFailure(addressList(entry))) return { expected }
      parsed.ranges.push(entry)
    } else if (HOST_NAME.test(entry.replace(/\.$/, ''))) parsed.names.push(entry.replace(/\.$/, ''))
    else return { expected }
  }
  return parsed
}

export const directConnectionVariables = {
  ENABLE_DIRECT_CONNECTIONS: {
    parse: boolean, default: false,
    doc: "Let users add their own OpenAI-compatible endpoints and API keys (Settings, Direct connections); the server sends those requests, to public addresses only, and their models are offered to that user alone.",
  },
  DIRECT_CONNECTIONS_ALLOWED_HOSTS: {
    parse: allowedHosts, default: null, show: (value: unknown) => [...(value as AllowedHosts).names, ...(value as AllowedHosts).ranges].join(','),
    doc: 'Hosts and CIDR ranges direct connections may reach although they are loopback, private or link-local (comma-separated, e.g. llm.lan,10.0.0.0/8). Unset: public addresses only.',
  },
} as const satisfies Record<string, Variable<unknown>>

/** Builds the direct-connection settings from the parsed variables. */
export function directConnectionConfigFrom(values: VariableValues): DirectConnectionConfig {
  if (!values.ENABLE_DIRECT_CONNECTIONS) return null
  const allowed = values.DIRECT_CONNECTIONS_ALLOWED_HOSTS ?? { names: [], ranges: [] }
  const ranges = allowed.ranges.length === 0 ? null : addressList(allowed.ranges.join(','))
  return Object.freeze({ allowedHostNames: new Set(allowed.names), allowedRanges: ranges === null || isParseFailure(ranges) ? null : ranges })
}
