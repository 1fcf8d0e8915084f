/**
 * What one instance shares with the others (REDIS_URL, WEBSOCKET_MANAGER=redis): a bus for account
 * changes and, when the socket traffic goes through Redis, one for socket frames (on
 * WEBSOCKET_REDIS_URL when set, else the same connection). Built by `enclave serve`; without
 * REDIS_URL there is none and every part stays in memory, as on one instance.
 */
import type { ClusterConfig } from '../config/cluster-variables.ts'
import type { ClusterKeys } from '../crypto/cluster-seal.ts'
import type { Logger } from '../log/logger.ts'
import { createAnswerSlots, type AnswerSlots } from './answer-slots.ts'
import { createClusterBus, type ClusterBus } from './cluster-bus.ts'
import { createRedisLink, type RedisLink, type RedisState } from './redis-link.ts'

export type Cluster = {
  /** Account changes, shared limits; on REDIS_URL. */
  bus: ClusterBus
  /** Socket frames between instances, or null when each instance serves its own sockets (WEBSOCKET_MANAGER=local). */
  socketBus: ClusterBus | null
  /** The per-user cap on answers streaming at once, held over every instance; on REDIS_URL. */
  answerSlots: AnswerSlots
  /** Each connection's state, for /health. */
  states(): { redis: RedisState; websocketRedis: RedisState | null }
  /** Whether every Redis answers a PING now, for /health/ready. */
  isAnswering(): Promise<boolean>
  close(): void
}

/** Connects to Redis (in the background: an instance starts even while Redis is down, and joins when it comes up). */
export function openCluster({ config, keys, log, retryMs }: { config: NonNullable<ClusterConfig>; keys: ClusterKeys; log: Logger; retryMs?: number }): Cluster {
  const instanceId = crypto.randomUUID()
  const link = createRedisLink({ url: config.redisUrl, log, ...(retryMs === undefined ? {} : { retryMs }) })
  const socketLink: RedisLink | null = config.socketRedisUrl === null ? null
    : config.socketRedisUrl === config.redisUrl ? link : createRedisLink({ url: config.socketRedisUrl, log, ...(retryMs === undefined ? {} : { retryMs }) })
  const bus = createClusterBus({ link, keys, keyPrefix: config.keyPrefix, log, instanceId })
  const socketBus = socketLink === null ? null : socketLink === link ? bus : createClusterBus({ link: socketLink, keys, keyPrefix: config.keyPrefix, log, instanceId })
  const answerSlots = createAnswerSlots({ link, keys, keyPrefix: config.keyPrefix })
  const links = socketLink === null || socketLink === link ? [link] : [link, socketLink]
  return {
    bus,
    socketBus,
    answerSlots,
    states: () => ({ redis: link.state(), websocketRedis: socketLink?.state() ?? null }),
    isAnswering: async () => (await Promise.all(links.map((each) => each.isAnswering()))).every(Boolean),
    close: () => {
      answerSlots.close()
      links.forEach((each) => each.close())
    },
  }
}
