import { addressList } from './network.ts'
import type { Variable } from './variable.ts'

/** How the server trusts proxies in front of it, and the headers it sends. */
export const httpVariables = {
  FORWARDED_ALLOW_IPS: {
    parse: addressList, default: null,
    doc: 'Proxies whose X-Forwarded-For and X-Forwarded-Proto are believed: IP addresses or CIDR ranges, comma-separated, or * (any peer; logs a warning). Unset means loopback only (127.0.0.1, ::1).',
  },
} as const satisfies Record<string, Variable<unknown>>
