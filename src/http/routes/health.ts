/**
 * Liveness and version, answered without authentication (Open WebUI's shapes). Probes poll /health
 * often, so its answer is built from parts made once: the JSON body, and a Headers object with the
 * configured every-response headers that each answer copies (far cheaper for the runtime than
 * turning a plain object of them into headers). Whatever the plugins set for this request is
 * carried over, so the answer has exactly the headers any other would have.
 */
import { Elysia } from 'elysia'
import type { Cluster } from '../../cluster/cluster.ts'
import type { RedisState } from '../../cluster/redis-link.ts'
import type { Store } from '../../db/open-store.ts'
import { VERSION } from '../../version.ts'

/**
 * What /health and /health/ready ask: the database's and Redis's states for /health (null each on
 * SQLite and without Redis: the answer stays Open WebUI's `{status: true}`), and whether this
 * instance can serve now, for a load balancer.
 */
export type Readiness = {
  redisStates(): { redis: RedisState; websocketRedis: RedisState | null } | null
  /** PostgreSQL's state as last seen (at most about a second old while probed), or null on SQLite. */
  databaseState(): 'up' | 'down' | null
  /** Null when ready, else a short reason naming what does not answer (no detail, no address). */
  notReadyReason(): Promise<'database_unavailable' | 'redis_unavailable' | null>
}

/** How old the database state /health reports may be before a probe asks the database again (in the background). */
const DATABASE_STATE_MAX_AGE_MS = 1_000

/** Readiness from the store (a query answers) and the cluster (every Redis answers a PING), if any. */
export function readinessOf(store: Pick<Store, 'users' | 'db'>, cluster: Pick<Cluster, 'states' | 'isAnswering'> | null, now: () => number = Date.now): Readiness {
  const onPostgres = store.db === null
  let database: 'up' | 'down' = 'up'
  let checkedAt = Number.NEGATIVE_INFINITY
  let checking: Promise<boolean> | null = null
  /** Asks the database (one query at a time, however many probes ask); true when it answered. */
  const checkDatabase = (): Promise<boolean> => {
    checking ??= store.users.countUsers().then(() => true, () => false).then((answered) => {
      database = answered ? 'up' : 'down'
      checkedAt = now()
      checking = null
      return answered
    })
    return checking
  }
  return {
    redisStates: () => cluster?.states() ?? null,
    databaseState() {
      if (!onPostgres) return null
      // note: /health answers at once with what was last seen; a stale state is refreshed for the next probe.
      if (now() - checkedAt > DATABASE_STATE_MAX_AGE_MS) void checkDatabase()
      return database
    },
    async notReadyReason() {
      if (!(await checkDatabase())) return 'database_unavailable'
      return cluster === null || (await cluster.isAnswering()) ? null : 'redis_unavailable'
    },
  }
}

/** /health's answer without Redis: Open WebUI's. */
const HEALTHY_BODY = JSON.stringify({ status: true })

/** /api/version's answer. */
export const VERSION_BODY = JSON.stringify({ version: VERSION })

/**
 * /health's JSON body now: Open WebUI's `{status: true}`, with PostgreSQL's state on PostgreSQL
 * (`database`) and each Redis's state when Redis is configured.
 */
export function healthBodyOf(readiness: Readiness | null): () => string {
  return () => {
    const states = readiness?.redisStates() ?? null
    const database = readiness?.databaseState() ?? null
    // note: still `status: true` while Redis or PostgreSQL is down: the process lives and recovers by itself; /health/ready is what a balancer asks.
    if (states === null && database === null) return HEALTHY_BODY
    return JSON.stringify({ status: true, ...(database === null ? {} : { database }), ...states })
  }
}

/** Elysia's `set`: header values are strings, numbers, or (Set-Cookie) a list. */
type SetHeaders = { headers: Record<string, string | number | string[]> }

/** `everyResponse`: the security headers every answer carries (see plugins/security-headers.ts). */
export const healthRoutes = (everyResponse: Readonly<Record<string, string>> = {}, readiness: Readiness | null = null) => {
  const healthBody = healthBodyOf(readiness)
  const health = fixedJson(JSON.stringify({ status: true }), everyResponse)
  const version = fixedJson(VERSION_BODY, everyResponse)
  const ready = fixedJson(JSON.stringify({ status: true }), everyResponse)
  return new Elysia()
    .get('/health', ({ set }) => {
      const body = healthBody()
      return body === HEALTHY_BODY ? health(set) : fixedJson(body, everyResponse)(set)
    })
    .get('/health/ready', async ({ set }) => {
      const reason = (await readiness?.notReadyReason()) ?? null
      if (reason === null) return ready(set)
      const answer = fixedJson(JSON.stringify({ status: false, reason }), everyResponse)(set)
      return new Response(answer.body, { status: 503, headers: answer.headers })
    })
    .get('/api/version', ({ set }) => version(set))
}

/** Answers `body` as JSON with the request's headers, starting from a prepared copy of `everyResponse`. */
function fixedJson(body: string, everyResponse: Readonly<Record<string, string>>) {
  const template = new Headers(everyResponse)
  template.set('content-type', 'application/json;charset=utf-8')
  return (set: SetHeaders): Response => {
    const fromPlugins = set.headers
    // note: copied only when a plugin set something beyond the every-response headers; otherwise the
    // Response copies the template itself (it never shares the Headers it is given).
    let headers: Headers | null = null
    for (const name of Object.keys(fromPlugins)) {
      const value = fromPlugins[name]!
      if (everyResponse[name] === value) continue
      headers ??= new Headers(template)
      if (Array.isArray(value)) for (const each of value) headers.append(name, each)
      else headers.set(name, String(value))
    }
    // note: emptied, so the framework hands on this Response as it is instead of merging the headers again.
    set.headers = {}
    return new Response(body, { headers: headers ?? template })
  }
}
