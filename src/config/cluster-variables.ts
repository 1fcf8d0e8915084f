import type { ConfigProblem } from './config-error.ts'
import { nonEmptyText, oneOf, type Parser } from './parsers.ts'
import type { Variable } from './variable.ts'
import type { VariableValues } from './variables.ts'

/**
 * Several instances sharing one user base through Redis (docs/several-instances.md), or null when
 * REDIS_URL is unset: one instance, everything in memory, as before.
 */
export type ClusterConfig = Readonly<{
  /** Revocations, shared limits and one-time state; may hold a password, never logged. */
  redisUrl: string
  /** The first part of every key and channel name, so several deployments can share one Redis. */
  keyPrefix: string
  /** Where socket frames go between instances (WEBSOCKET_MANAGER=redis); null: each instance serves its own sockets only. */
  socketRedisUrl: string | null
}> | null

const REDIS_SCHEMES = ['redis:', 'rediss:', 'redis+tls:', 'redis+unix:', 'redis+tls+unix:', 'valkey:', 'valkeys:']

/** A Redis URL Bun's client takes: redis://[:password@]host:port/db, rediss:// for TLS, redis+unix:// for a socket. */
export const redisUrl: Parser<string> = (raw) => {
  const expected = 'a Redis URL such as redis://127.0.0.1:6379/0 (rediss:// for TLS)'
  try {
    return REDIS_SCHEMES.includes(new URL(raw.trim()).protocol) ? raw.trim() : { expected }
  } catch {
    return { expected }
  }
}

/** Open WebUI's names, meanings and defaults (backend/open_webui/env.py). */
export const clusterVariables = {
  REDIS_URL: {
    parse: redisUrl, default: null, secret: true,
    doc: 'Redis shared by several instances: revocations reach every instance, and sign-in limits, the first-admin gate and one-time sign-in state hold across them. Unset: one instance, all in memory.',
  },
  REDIS_KEY_PREFIX: { parse: nonEmptyText, default: 'open-webui', doc: 'First part of every Redis key and channel name Enclave uses, so deployments can share one Redis.' },
  WEBSOCKET_MANAGER: {
    parse: oneOf(['local', 'redis'] as const), default: 'local',
    doc: 'redis: chat socket frames (live answers, cancel, chat updates) reach a user\'s tabs on every instance through WEBSOCKET_REDIS_URL; local: each instance serves its own sockets.',
  },
  WEBSOCKET_REDIS_URL: { parse: redisUrl, default: null, secret: true, doc: 'Redis for the socket traffic when WEBSOCKET_MANAGER=redis; unset uses REDIS_URL.' },
} as const satisfies Record<string, Variable<unknown>>

/** Says what is missing when the socket traffic is to go through Redis without one named. */
export function checkClusterSettings(values: VariableValues): ConfigProblem[] {
  if (values.WEBSOCKET_MANAGER !== 'redis' || values.WEBSOCKET_REDIS_URL !== null || values.REDIS_URL !== null) return []
  return [{ variable: 'WEBSOCKET_MANAGER', value: 'redis', expected: 'WEBSOCKET_REDIS_URL or REDIS_URL to be set too' }]
}

/** Builds the cluster settings from the parsed variables; null without any Redis. */
export function clusterConfigFrom(values: VariableValues): ClusterConfig {
  const socketRedisUrl = values.WEBSOCKET_MANAGER === 'redis' ? values.WEBSOCKET_REDIS_URL ?? values.REDIS_URL : null
  const redisUrl = values.REDIS_URL ?? socketRedisUrl
  if (redisUrl === null) return null
  return { redisUrl, keyPrefix: values.REDIS_KEY_PREFIX, socketRedisUrl }
}
