/**
 * The time a socket frame takes from one instance to a user's tab on another, through Redis: a
 * frame published by one bus (sealed, PUBLISH) until the other bus has opened it (subscriber,
 * open) and handed it to its hub. Target: at most 2 ms at the median (issue 21), on loopback to a
 * local redis-server. Run alone: `bun bench/cluster-fan-out.ts` (needs redis-server installed).
 */
import { createClusterBus } from '../src/cluster/cluster-bus.ts'
import { createRedisLink } from '../src/cluster/redis-link.ts'
import { deriveClusterKeys } from '../src/crypto/cluster-seal.ts'
import { createLogger } from '../src/log/logger.ts'
import { startTestRedis } from '../test/helpers/redis-server.ts'
import { median, nowMs } from './measure.ts'

const FRAMES = 2_000
const WARMUPS = 200

/** Median and 95th percentile milliseconds from publish to delivery on the other instance. */
export async function measureClusterFanOut(): Promise<{ p50Ms: number; p95Ms: number }> {
  const redis = await startTestRedis()
  const keys = deriveClusterKeys(crypto.getRandomValues(new Uint8Array(32)))
  const log = createLogger('CRITICAL')
  const [linkA, linkB] = [createRedisLink({ url: redis.url, log }), createRedisLink({ url: redis.url, log })]
  try {
    await Promise.all([linkA.ready, linkB.ready])
    const [a, b] = [createClusterBus({ link: linkA, keys, keyPrefix: 'bench', log }), createClusterBus({ link: linkB, keys, keyPrefix: 'bench', log })]
    let arrived: (() => void) | null = null
    await b.subscribe('frames', () => arrived?.())
    const frame = { userId: 'user-1', text: JSON.stringify({ type: 'chat:delta', chatId: 'c', messageId: 'live-1', index: 1, content: 'a typical token ' }) }
    const times: number[] = []
    for (let i = 0; i < WARMUPS + FRAMES; i++) {
      const start = nowMs()
      const delivered = new Promise<void>((resolve) => (arrived = resolve))
      await a.publish('frames', frame)
      await delivered
      if (i >= WARMUPS) times.push(nowMs() - start)
    }
    times.sort((x, y) => x - y)
    return { p50Ms: median(times), p95Ms: times[Math.floor(times.length * 0.95)]! }
  } finally {
    linkA.close()
    linkB.close()
    await redis.stop()
  }
}

if (import.meta.main) {
  const { p50Ms, p95Ms } = await measureClusterFanOut()
  console.log(`socket frame to another instance through Redis: p50 ${p50Ms.toFixed(3)} ms, p95 ${p95Ms.toFixed(3)} ms (target p50 ≤ 2 ms)`)
}
