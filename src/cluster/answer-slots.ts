/**
 * The per-user cap on answers streaming at once (CHAT_MAX_CONCURRENT_ANSWERS), held over every
 * instance: each answer takes a slot in Redis before it starts, and one script checks the count and
 * takes the slot (atomic), so two answers started at the same moment on two instances cannot both
 * pass the last slot.
 *
 * Format: `<prefix>:answers:<tag>`, a sorted set per user (the tag a keyed hash of the user id, so
 * Redis names nobody); members are random slot ids, scores the time (Redis's own clock, in ms) at
 * which the slot lapses. This instance renews its slots every `leaseMs / 3`, so a slot of an
 * instance that died (kill -9) lapses within `leaseMs` and stops counting.
 *
 * Redis down: `reserve` answers 'unavailable' and the caller counts on its own (this instance's
 * answers, and those it heard of elsewhere), as on one machine; the slots it holds are written
 * again at the next renewal once Redis is back, so they count for the others from then on.
 */
import { nameTagOf, type ClusterKeys } from '../crypto/cluster-seal.ts'
import type { UserId } from '../db/ids.ts'
import type { RedisLink } from './redis-link.ts'

/** A slot lapses this long after its last renewal unless renewed again. */
export const ANSWER_SLOT_LEASE_MS = 30_000

// note: TIME is Redis's clock, so the instances' clocks need not agree; scripts replicate their effects (Redis >= 5).
const NOW = `local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
`
const RESERVE = `${NOW}redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[1]) then return 0 end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[3])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1`
const RENEW = `${NOW}for i = 2, #ARGV do redis.call('ZADD', KEYS[1], now + tonumber(ARGV[1]), ARGV[i]) end
redis.call('PEXPIRE', KEYS[1], ARGV[1])
return 1`

export type SlotVerdict = 'reserved' | 'full' | 'unavailable'

/** Slots in Redis for this instance's answers; `close` stops renewing (the slots then lapse). */
export function createAnswerSlots({ link, keys, keyPrefix, leaseMs = ANSWER_SLOT_LEASE_MS }: { link: Pick<RedisLink, 'send'>; keys: ClusterKeys; keyPrefix: string; leaseMs?: number }) {
  /** This instance's slots, by user. */
  const held = new Map<UserId, Set<string>>()
  const keyOf = (userId: UserId) => `${keyPrefix}:answers:${nameTagOf(keys, `answers\0${userId}`)}`
  const hold = (userId: UserId, slotId: string) => {
    const slots = held.get(userId)
    if (slots === undefined) held.set(userId, new Set([slotId]))
    else slots.add(slotId)
  }

  async function renewAll() {
    for (const [userId, slots] of held) {
      if (slots.size === 0) continue
      try {
        await link.send('EVAL', [RENEW, '1', keyOf(userId), String(leaseMs), ...slots])
      } catch {
        return // note: Redis is down; the next renewal writes them all again.
      }
    }
  }
  const timer = setInterval(() => void renewAll(), Math.max(1, Math.floor(leaseMs / 3)))
  timer.unref?.()

  return {
    /**
     * Takes a slot for one answer of the user unless `limit` are taken on every instance together:
     * 'full' then. 'unavailable' while Redis is down: the slot is held here (and written once Redis is
     * back), and the caller must count this instance's answers itself.
     */
    async reserve(userId: UserId, slotId: string, limit: number): Promise<SlotVerdict> {
      try {
        const taken = await link.send('EVAL', [RESERVE, '1', keyOf(userId), String(limit), String(leaseMs), slotId])
        if (taken !== 1) return 'full'
        hold(userId, slotId)
        return 'reserved'
      } catch {
        hold(userId, slotId)
        return 'unavailable'
      }
    },
    /** Gives the slot back (the answer ended, or never started). */
    release(userId: UserId, slotId: string): void {
      const slots = held.get(userId)
      if (slots === undefined || !slots.delete(slotId)) return
      if (slots.size === 0) held.delete(userId)
      void link.send('ZREM', [keyOf(userId), slotId]).catch(() => {})
    },
    /** How many slots this instance holds for the user. */
    countHeld: (userId: UserId): number => held.get(userId)?.size ?? 0,
    /** Renews every slot held now (as the timer does), for tests. */
    renewAll,
    close(): void {
      clearInterval(timer)
    },
  }
}

export type AnswerSlots = ReturnType<typeof createAnswerSlots>
