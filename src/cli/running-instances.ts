/**
 * A command beside the instances that serve the same store (PostgreSQL, several instances): how it
 * learns whether they run, and how its revocations reach them.
 *
 * - Revocations (users reset-password, users reset-mfa): with REDIS_URL, every account change the
 *   command's store announces is published on the cluster bus, sealed, as an instance publishes its
 *   own (cluster/revocation-relay.ts), so the running instances close the user's sockets and stop
 *   their answers at once. Without Redis (or with Redis down), they learn from the shared database:
 *   a credential is read again within PRINCIPAL_CACHE_SECONDS, a socket's within SOCKET_RECHECK_SECONDS
 *   more; an answer already streaming there runs to its end.
 * - Presence (keys rotate, keys rotate-data, which running instances cannot follow): an instance
 *   answering /health on the configured port, an instance listening on the bus (REDIS_URL: Redis
 *   counts the subscribers of the access channel), or another Enclave connection to the PostgreSQL
 *   database (pg_stat_activity, application_name 'enclave'). An idle instance may hold no database
 *   connection, so without Redis this finds instances that serve, not every one that is up.
 *
 * Threat: Redis sees every message; each is sealed under keys derived from the master key, and
 * channel names are fixed words. The Redis URL (its password) goes to the client and nowhere else.
 */
import { createClusterBus, type ClusterBus } from '../cluster/cluster-bus.ts'
import { createRedisLink, type RedisLink } from '../cluster/redis-link.ts'
import type { Config } from '../config/load-config.ts'
import type { Store } from '../db/open-store.ts'
import { createPostgresEngine } from '../db/postgres-engine.ts'
import { silentLogger } from '../log/logger.ts'
import { checkHealth } from './healthcheck.ts'
import { COPY_POOL } from './postgres-failure.ts'

/** How long an instance keeps an admitted credential before reading it again (auth/principal-cache.ts). */
export const PRINCIPAL_CACHE_SECONDS = 10
/** How often an instance checks its sockets' credentials again (http/routes/socket.ts). */
export const SOCKET_RECHECK_SECONDS = 5

/** The command's connection to the instances' bus; null without REDIS_URL. `isUp` false: Redis did not answer. */
export type InstanceLink = { bus: ClusterBus; link: RedisLink; isUp: boolean; close: () => void }

/** Connects to the deployment's Redis with the store's cluster keys (one attempt, a few seconds at most); null without REDIS_URL. */
export async function connectToInstances(config: Pick<Config, 'cluster'>, store: Pick<Store, 'clusterKeys'>): Promise<InstanceLink | null> {
  if (config.cluster === null) return null
  const link = createRedisLink({ url: config.cluster.redisUrl, log: silentLogger, retryMs: 60_000 })
  await link.ready
  const bus = createClusterBus({ link, keys: store.clusterKeys, keyPrefix: config.cluster.keyPrefix, log: silentLogger })
  return { bus, link, isUp: link.state() === 'up', close: () => link.close() }
}

/**
 * Publishes every account change the store announces from now on; `flush()` waits for them all and
 * says whether each reached Redis. Without a link (or Redis down) nothing is published.
 */
export function relayAccountChanges(store: Pick<Store, 'accountChanges'>, instances: InstanceLink | null) {
  const sent: Promise<boolean>[] = []
  const publish = (body: unknown) => {
    sent.push(instances !== null && instances.isUp ? instances.bus.publish('access', body) : Promise.resolve(false))
  }
  const stopChanges = store.accountChanges.subscribe((change) => publish(change))
  const stopRecords = store.accountChanges.onRecordChanged((userId) => publish({ kind: 'record', userId }))
  return {
    /** Waits for every publication; true when there was none or all reached Redis. */
    async flush(): Promise<boolean> {
      stopChanges()
      stopRecords()
      return (await Promise.all(sent)).every(Boolean)
    },
  }
}

/** The sentence that tells the operator how running instances learn of the command's revocation. */
export function describeRelay(config: Pick<Config, 'postgres' | 'cluster'>, relayed: boolean): string {
  // note: on SQLite the server is stopped (the data-dir lock) or is this store's only one.
  if (config.postgres === null) return ''
  if (relayed && config.cluster !== null) return ' Running instances were told over Redis and close those sessions now.'
  const why = config.cluster === null ? 'Without REDIS_URL, running' : 'Redis could not be reached, so running'
  return ` ${why} instances on this database refuse those sessions within ${PRINCIPAL_CACHE_SECONDS} seconds and close their sockets within ${PRINCIPAL_CACHE_SECONDS + SOCKET_RECHECK_SECONDS}; an answer already streaming there runs to its end.`
}

/**
 * What tells that instances serve this store now, one sentence for each sign found (empty: none
 * found). Run before the command opens its store, so every Enclave connection counted is another's.
 */
export async function findRunningInstances(config: Config): Promise<string[]> {
  const signs: string[] = []
  if ((await checkHealth(config, 1000)).ok) signs.push(`a server answers on port ${config.port}`)
  if (config.postgres === null) return signs
  if (config.cluster !== null) {
    const link = createRedisLink({ url: config.cluster.redisUrl, log: silentLogger, retryMs: 60_000 })
    try {
      await link.ready
      const listening = link.state() === 'up' ? await countListeners(link, `${config.cluster.keyPrefix}:cluster:access`) : 0
      if (listening > 0) signs.push(`${listening} instance${listening === 1 ? ' listens' : 's listen'} on Redis at ${link.where}`)
    } finally {
      link.close()
    }
  }
  const probe = createPostgresEngine({ ...config.postgres, pool: { ...COPY_POOL, maxConnections: 1 } })
  try {
    const others = await probe.get<{ n: number }>("SELECT count(*) AS n FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'enclave' AND pid <> pg_backend_pid()")
    const count = Number(others?.n ?? 0)
    if (count > 0) signs.push(`${count} other Enclave connection${count === 1 ? '' : 's'} to the database`)
  } finally {
    await probe.close().catch(() => {})
  }
  return signs
}

async function countListeners(link: RedisLink, channel: string): Promise<number> {
  try {
    const reply = await link.send('PUBSUB', ['NUMSUB', channel])
    return Array.isArray(reply) ? Number(reply[1] ?? 0) : 0
  } catch {
    return 0
  }
}
