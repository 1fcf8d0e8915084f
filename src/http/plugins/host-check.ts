/**
 * Refuses requests whose Host header names a host this server does not answer to (ALLOWED_HOSTS,
 * see config/allowed-hosts.ts), before any route runs: DNS rebinding makes a foreign page "same
 * origin" with a loopback server, but its Host header still carries the foreign name. The Host
 * header itself is checked, not X-Forwarded-Host, which a page on the rebound name may set.
 */
import { Elysia } from 'elysia'
import { isHostAllowed, type HostPolicy } from '../../config/allowed-hosts.ts'
import { HttpError } from '../http-error.ts'

/** How many Host values' answers are kept (a flood of made-up names only empties the list). */
const DECISIONS_KEPT = 256

/** Answers 421 to a request naming a host outside the policy. */
export const hostCheck = (policy: HostPolicy) => {
  const plugin = new Elysia({ name: 'host-check' })
  if (policy.allowsAnyHost) return plugin
  const isAllowed = hostDecider(policy)
  return plugin.onRequest(({ request }) => {
    if (!isAllowed(request)) {
      throw new HttpError(421, 'host_not_allowed', 'This server does not answer to this host name. If it is yours, add it to ALLOWED_HOSTS (or set WEBUI_URL).')
    }
  }).as('global')
}

/** Whether a request's host is within the policy, remembering the answer for each Host value seen. */
export function hostDecider(policy: HostPolicy): (request: Request) => boolean {
  if (policy.allowsAnyHost) return () => true
  // note: the answer for a Host value never changes; the few values a server sees are remembered.
  const decided = new Map<string, boolean>()
  return (request) => {
    // note: an HTTP/1.0 request may have no Host header and a bare path for its URL: nothing to allow.
    const host = request.headers.get('host') ?? URL.parse(request.url)?.host ?? ''
    let allowed = decided.get(host)
    if (allowed === undefined) {
      allowed = isHostAllowed(policy, host)
      if (decided.size >= DECISIONS_KEPT) decided.clear()
      decided.set(host, allowed)
    }
    return allowed
  }
}
