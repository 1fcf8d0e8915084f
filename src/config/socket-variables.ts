import { byteSize, integerFrom, rateLimit } from './parsers.ts'
import type { Variable } from './variable.ts'
import type { VariableValues } from './variables.ts'

/** The chat socket's (/api/ws) heartbeat and limits; times in ms. */
export type SocketConfig = Readonly<{
  pingIntervalMs: number
  pingTimeoutMs: number
  maxFrameBytes: number
  /** More than `limit` frames in `windowMs` get `rate_limited`; twice that closes the socket. */
  frameRate: Readonly<{ limit: number; windowMs: number }>
  /** Chat sockets one user may hold open on this instance at once; an upgrade beyond it is refused (429). */
  maxSocketsPerUser: number
}>

const showRate = (rate: unknown) => {
  const { limit, windowMs } = rate as { limit: number; windowMs: number }
  return `${limit}/${windowMs / 1000}s`
}

/** The chat socket. The ping settings keep Open WebUI's names and meanings; the frame limits are ours. */
export const socketVariables = {
  WEBSOCKET_SERVER_PING_INTERVAL: { parse: integerFrom(1, 3600), default: 25, doc: 'Seconds between the pings the server sends each chat socket.' },
  WEBSOCKET_SERVER_PING_TIMEOUT: { parse: integerFrom(1, 3600), default: 20, doc: 'Seconds a chat socket has to answer a ping before it is closed.' },
  WEBSOCKET_MAX_FRAME_SIZE: {
    parse: byteSize, default: 64 * 1024,
    doc: 'Largest frame a client may send on the chat socket; a larger one closes it with 1009. Units are powers of 1024, such as 64kb.',
  },
  WEBSOCKET_RATE_LIMIT: {
    parse: rateLimit, default: { limit: 20, windowMs: 1000 }, show: showRate,
    doc: 'Frames a chat socket may send per duration, e.g. 20/1s; more get a rate_limited error, and twice as many close the socket with 1008.',
  },
  // note: each browser tab holds one socket; 50 is more tabs than a person works in, and bounds what one account or one stolen key holds open (memory, file descriptors).
  WEBSOCKET_MAX_SOCKETS_PER_USER: {
    parse: integerFrom(1, 100_000), default: 50,
    doc: 'Chat sockets one account may hold open at once, counted on each instance (with several instances behind Redis, per instance); one more is refused with 429 too_many_sockets and an audit entry.',
  },
} as const satisfies Record<string, Variable<unknown>>

/** Builds the socket settings from the parsed variables. */
export function socketConfigFrom(values: VariableValues): SocketConfig {
  return {
    pingIntervalMs: values.WEBSOCKET_SERVER_PING_INTERVAL * 1000,
    pingTimeoutMs: values.WEBSOCKET_SERVER_PING_TIMEOUT * 1000,
    maxFrameBytes: values.WEBSOCKET_MAX_FRAME_SIZE,
    frameRate: values.WEBSOCKET_RATE_LIMIT,
    maxSocketsPerUser: values.WEBSOCKET_MAX_SOCKETS_PER_USER,
  }
}
