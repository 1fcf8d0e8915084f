/**
 * How many chat sockets each user holds open on this instance (routes/socket.ts), against
 * WEBSOCKET_MAX_SOCKETS_PER_USER. The upgrade is refused when the user already holds the limit
 * (socket-admission.ts); the count is taken when the socket opens and given back when it closes
 * (a close of either side, a ping left unanswered, a revocation's 4401: Bun calls `close` for each).
 * Format: a count per user id, absent at zero.
 * Threat: one account, or one stolen API key, opening sockets until the server runs out of memory
 * or file descriptors. Upgrades admitted at the same moment all pass the check at the upgrade; the
 * count taken at open refuses those beyond the limit (closed with 1008), so it never goes past it.
 * With several instances each counts its own sockets: the limit holds per instance.
 */
import type { UserId } from '../../db/ids.ts'

export type SocketQuota = ReturnType<typeof socketQuota>

export function socketQuota(limit: number) {
  const open = new Map<UserId, number>()
  return {
    limit,
    /** Whether the user holds the limit already (an upgrade is refused). */
    isFull: (userId: UserId): boolean => (open.get(userId) ?? 0) >= limit,
    /** Counts a socket that opens; false, counting nothing, when the user holds the limit already. */
    take(userId: UserId): boolean {
      const held = open.get(userId) ?? 0
      if (held >= limit) return false
      open.set(userId, held + 1)
      return true
    },
    /** Gives back a socket `take` counted. */
    release(userId: UserId): void {
      const held = open.get(userId) ?? 0
      if (held <= 1) open.delete(userId)
      else open.set(userId, held - 1)
    },
    /** The sockets the user holds open here. */
    heldBy: (userId: UserId): number => open.get(userId) ?? 0,
  }
}
