/**
 * Messages between the instances of one deployment, over Redis publish/subscribe. Threat: Redis
 * (and anyone reading its traffic or MONITOR) sees every message, so each one is sealed
 * (crypto/cluster-seal.ts) with its channel name as AAD, and channel names are fixed words under
 * REDIS_KEY_PREFIX: `<prefix>:cluster:<topic>`, never a user id or an email.
 *
 * Delivery is at most once and only to instances connected at the time, as Redis pub/sub is: the
 * bus carries notices that are also true in the shared database (a revocation) or that lose
 * nothing when dropped (a live delta, whose answer is checkpointed). An instance does not hear its
 * own messages. A message that does not open or parse is dropped and logged without its content.
 */
import { openFromCluster, sealForCluster, type ClusterKeys } from '../crypto/cluster-seal.ts'
import type { Logger } from '../log/logger.ts'
import type { RedisLink } from './redis-link.ts'

/** The closed list of topics; each has one channel. */
export type BusTopic = 'frames' | 'access' | 'cancel' | 'writes'

type Envelope = { from: string; body: unknown }

/** `instanceId` tells this instance's own messages apart; a fresh one per process by default. */
export function createClusterBus({ link, keys, keyPrefix, log, instanceId = crypto.randomUUID() }: { link: RedisLink; keys: ClusterKeys; keyPrefix: string; log: Logger; instanceId?: string }) {
  const channelOf = (topic: BusTopic) => `${keyPrefix}:cluster:${topic}`

  return {
    instanceId,
    link,
    keyPrefix,
    /** Whether messages reach the other instances now (Redis is up). */
    isShared: () => link.state() === 'up',
    /** Seals and publishes a message to every other instance; false when Redis is down (it is then dropped). */
    async publish(topic: BusTopic, body: unknown): Promise<boolean> {
      const channel = channelOf(topic)
      try {
        await link.send('PUBLISH', [channel, sealForCluster(keys, channel, JSON.stringify({ from: instanceId, body } satisfies Envelope))])
        return true
      } catch {
        return false
      }
    },
    /** Calls `handler` with each message another instance publishes on the topic. */
    subscribe(topic: BusTopic, handler: (body: unknown) => void): Promise<void> {
      const channel = channelOf(topic)
      return link.subscribe(channel, (sealed) => {
        const opened = openFromCluster(keys, channel, sealed)
        const envelope = opened === null ? null : parseEnvelope(opened)
        if (envelope === null) return log.warn('Dropped a cluster message that did not open (another master key?)', { topic })
        if (envelope.from === instanceId) return
        try {
          handler(envelope.body)
        } catch (error) {
          log.error('Applying a cluster message failed', { topic, error: error instanceof Error ? error.name : 'unknown' })
        }
      })
    },
  }
}

export type ClusterBus = ReturnType<typeof createClusterBus>

function parseEnvelope(text: string): Envelope | null {
  try {
    const value: unknown = JSON.parse(text)
    return typeof value === 'object' && value !== null && typeof (value as Envelope).from === 'string' ? (value as Envelope) : null
  } catch {
    return null
  }
}
