/**
 * One instance's connection to Redis, through Bun's built-in client: a client for commands and one
 * for subscriptions (a subscribed connection takes no other commands). Threat: Redis going away
 * must not take the instance with it. So commands fail at once while Redis is down (no offline
 * queue that would hold a sign-in for minutes), callers fall back to what one instance can do
 * alone, the loss is logged once as a warning, and the link keeps trying to come back every
 * `retryMs`, subscribing again to every channel, and logs once that Redis is back.
 *
 * The URL may hold a password: only its host and port reach the log.
 */
// note: the type only; the class is read from `Bun` when a link opens, so a start without Redis does not load its client.
import type { RedisClient } from 'bun'
import type { Logger } from '../log/logger.ts'

export type RedisState = 'connecting' | 'up' | 'down'

/** Thrown by `send` while Redis is unreachable, so a caller can fall back; carries no URL. */
export class RedisUnavailableError extends Error {
  constructor(options?: { cause?: unknown }) {
    super('Redis is unreachable.', options)
    this.name = 'RedisUnavailableError'
  }
}

type Listener = (message: string, channel: string) => void
export type RedisLinkOptions = { url: string; log: Logger; retryMs?: number; connectTimeoutMs?: number }

/** Connects to Redis (in the background: `ready` settles after the first attempt) and keeps the connection up. */
export function createRedisLink({ url, log, retryMs = 1_000, connectTimeoutMs = 2_000 }: RedisLinkOptions) {
  const where = describeRedisUrl(url)
  const subscriptions = new Map<string, Listener>()
  const stateListeners = new Set<(state: RedisState) => void>()
  let commands: RedisClient | null = null
  let subscriber: RedisClient | null = null
  let state: RedisState = 'connecting'
  let retry: ReturnType<typeof setTimeout> | null = null
  let closed = false

  const newClient = () => new Bun.RedisClient(url, { autoReconnect: false, enableOfflineQueue: false, connectionTimeout: connectTimeoutMs })

  function setState(next: RedisState, reason?: string) {
    if (state === next) return
    const was = state
    state = next
    if (next === 'down') log.warn(`Redis at ${where} is unreachable: each instance serves its own sockets and limits are kept in memory until it is back.`, { reason: reason ?? null })
    if (next === 'up' && was === 'down') log.info(`Redis at ${where} is reachable again: instances share sockets, revocations and limits again.`)
    for (const listener of stateListeners) listener(next)
  }

  function dropClients() {
    for (const client of [commands, subscriber]) {
      if (client === null) continue
      client.onclose = null
      client.close()
    }
    commands = subscriber = null
  }

  /** One attempt: both clients connected and every channel subscribed, or down and a retry scheduled. */
  async function connect(): Promise<void> {
    retry = null
    if (closed) return
    dropClients()
    const nextCommands = newClient()
    const nextSubscriber = newClient()
    commands = nextCommands
    subscriber = nextSubscriber
    try {
      await Promise.all([nextCommands.connect(), nextSubscriber.connect()])
      for (const [channel, listener] of subscriptions) await nextSubscriber.subscribe(channel, listener)
      if (closed || commands !== nextCommands) return
      const lost = (error: Error) => { if (commands === nextCommands) lose(error.message) }
      nextCommands.onclose = lost
      nextSubscriber.onclose = lost
      setState('up')
    } catch (error) {
      if (commands === nextCommands) lose(error instanceof Error ? error.message : 'connection failed')
    }
  }

  function lose(reason: string) {
    dropClients()
    if (closed) return
    setState('down', reason.replace(url, where))
    retry ??= setTimeout(() => void connect(), retryMs)
  }

  const ready = connect()

  return {
    /** Settles once the first attempt to connect is over (up or down). */
    ready,
    /** Where Redis is, as host:port (no password), for messages. */
    where,
    state: (): RedisState => state,
    /** Calls `listener` on every change of state (up, down). */
    onStateChange(listener: (state: RedisState) => void): () => void {
      stateListeners.add(listener)
      return () => void stateListeners.delete(listener)
    },
    /** Runs one raw command; throws RedisUnavailableError while Redis is down, Redis's own error for a refused command. */
    async send(command: string, args: string[]): Promise<unknown> {
      if (state !== 'up' || commands === null) throw new RedisUnavailableError()
      try {
        return await commands.send(command, args)
      } catch (error) {
        if (commands?.connected === true) throw error
        lose(error instanceof Error ? error.message : 'command failed')
        throw new RedisUnavailableError({ cause: error })
      }
    },
    /** Subscribes to a channel now and after every reconnection; one listener per channel. */
    async subscribe(channel: string, listener: Listener): Promise<void> {
      subscriptions.set(channel, listener)
      if (state !== 'up' || subscriber === null) return
      try {
        await subscriber.subscribe(channel, listener)
      } catch {
        // note: the link was lost meanwhile: connect() subscribes every channel again before it is up.
      }
    },
    /** Whether Redis answers a PING now. */
    async isAnswering(): Promise<boolean> {
      try {
        return (await this.send('PING', [])) === 'PONG'
      } catch {
        return false
      }
    },
    /** Stops retrying and closes both connections. */
    close(): void {
      closed = true
      if (retry !== null) clearTimeout(retry)
      dropClients()
    },
  }
}

export type RedisLink = ReturnType<typeof createRedisLink>

/** host:port of a Redis URL, for messages: never its password. */
export function describeRedisUrl(url: string): string {
  try {
    const parsed = new URL(url)
    return parsed.host === '' ? parsed.pathname : parsed.host
  } catch {
    return 'redis'
  }
}
