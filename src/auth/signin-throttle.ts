/**
 * The sign-in rate rule, for passwords and LDAP alike. The threats pull two ways: guessing an
 * account's password, and locking its owner out by failing on purpose. So failures count per
 * account *and* client address, and an account's own count stops only the addresses that failed:
 * - every attempt counts against the client's address (SIGNIN_RATE_LIMIT_PER_IP);
 * - an address with SIGNIN_RATE_LIMIT failures for an account may not try it again in the window;
 * - once an account has SIGNIN_RATE_LIMIT failures from all addresses together, any address that
 *   failed for it at least once in the window is stopped too (a spread-out guesser gets one try per
 *   address), while an address that has not failed (the owner, elsewhere) still gets in.
 * Checked before any password work; a failure is recorded after it.
 */
import { addressBytes } from '../config/network.ts'
import type { AuthDeps } from './auth-deps.ts'
import type { RateCheck } from './rate-limiter.ts'

/** Why an attempt may not go ahead, and for how long. */
export type SigninRefusal = { reason: 'per_ip' | 'per_account'; retryAfterSeconds: number }

/** Counts this attempt against the address and says whether it may go ahead; `account` is e.g. `email:ada@example.com`. */
export async function admitSigninAttempt(deps: Pick<AuthDeps, 'signinLimits'>, account: string, ip: string): Promise<SigninRefusal | null> {
  const limits = deps.signinLimits
  const perIp = await limits.perIp.hit(`ip:${ipBucket(ip)}`)
  if (!perIp.allowed) return { reason: 'per_ip', retryAfterSeconds: perIp.retryAfterSeconds }
  const pair = pairKey(account, ip)
  const byAddress = await limits.perAccountAndIp.peek(pair)
  if (!byAddress.allowed) return { reason: 'per_account', retryAfterSeconds: byAddress.retryAfterSeconds }
  const byAccount: RateCheck = await limits.perAccount.peek(account)
  if (!byAccount.allowed && (await limits.perAccountAndIp.hitsOf(pair)) > 0) return { reason: 'per_account', retryAfterSeconds: byAccount.retryAfterSeconds }
  return null
}

/** Records a failed attempt (wrong password, unknown account) for the account from this address. */
export async function recordSigninFailure(deps: Pick<AuthDeps, 'signinLimits'>, account: string, ip: string): Promise<void> {
  await Promise.all([deps.signinLimits.perAccountAndIp.hit(pairKey(account, ip)), deps.signinLimits.perAccount.hit(account)])
}

const pairKey = (account: string, ip: string) => `${account}|${ipBucket(ip)}`

/** The rate-limit bucket of an address: itself for IPv4, its /64 for IPv6 (one host often holds a whole /64). */
export function ipBucket(ip: string): string {
  if (!ip.includes(':')) return ip
  const bytes = addressBytes(ip)
  return bytes === null || bytes.length === 4 ? ip : `${Buffer.from(bytes.subarray(0, 8)).toString('hex')}::/64`
}
