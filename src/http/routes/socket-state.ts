/**
 * The chat socket's state and limits (routes/socket.ts and the files beside it): the socket as Bun
 * hands it, what the upgrade admitted (user, credential, the session or key it is, and the user's
 * account generation then), the per-socket frame queue, rate window and ping deadline.
 * Format: a frame sent is one JSON text (chat/frames.ts ServerFrame).
 * Threat: a failed frame telling the client more than that it failed: answerFailure says only
 * `internal_error` (or `database_unavailable`) and logs the error's name, never its message.
 */
import type { SocketConfig } from '../../config/socket-variables.ts'
import type { WatchedCredential } from '../../auth/credential-watch.ts'
import type { ServerFrame } from '../../chat/frames.ts'
import { DatabaseUnavailableError } from '../../db/database-errors.ts'
import type { UserId } from '../../db/ids.ts'
import type { Logger } from '../../log/logger.ts'

/** The socket's limits: the configured ones (WEBSOCKET_*) and fixed ones; times in ms. */
export type SocketLimits = SocketConfig & {
  recheckIntervalMs: number
  /** How long a finished answer stays available to `chat:resume`. */
  keepFinishedMs: number
  /** How often an answer in progress is saved. */
  checkpointIntervalMs: number
}

export const DEFAULT_SOCKET_LIMITS: SocketLimits = {
  recheckIntervalMs: 5_000, pingIntervalMs: 25_000, pingTimeoutMs: 20_000, maxFrameBytes: 64 * 1024,
  frameRate: { limit: 20, windowMs: 1_000 }, maxSocketsPerUser: 50, keepFinishedMs: 60_000, checkpointIntervalMs: 1_000,
}

export const SOCKET_PATH = '/api/ws'

/** The part of Bun's ServerWebSocket used here; its identity keys the per-socket state. */
export type Socket = { send(text: string): unknown; close(code?: number, reason?: string): void; ping(): unknown; terminate(): void }
/** `generation` is the user's account generation when the credential was last found good (NaN: to check). `held`: which session or key the credential is. */
export type Admission = { userId: UserId; credential: string; generation: number; held: WatchedCredential['held'] }
/** A credential something was started with: the socket's, or an answer's. */
export type Holder = Pick<Admission, 'userId' | 'credential' | 'held'>
export type SocketState = Admission & {
  /** Set when the socket is closed for a revoked credential: frames still in flight are dropped. */
  isRevoked: boolean
  /** The frames of this socket in arrival order: each waits for the one before it. */
  queue: Promise<void>
  windowStart: number; framesInWindow: number; pongDeadline: ReturnType<typeof setTimeout> | null
}

export function send(socket: Socket, frame: ServerFrame): void {
  socket.send(JSON.stringify(frame))
}

/** Answers a frame whose handling failed; the socket lives on. An unreachable database is said so, as HTTP answers 503. */
export function answerFailure(log: Logger, socket: Socket, what: string, type: string, error: unknown) {
    if (error instanceof DatabaseUnavailableError) {
      log.warn('database unavailable', { code: error.code, path: SOCKET_PATH })
      return send(socket, { type: 'error', code: 'database_unavailable', message: 'The database is unavailable right now. Nothing was saved; try again in a moment.' })
    }
    log.error(what, { type, error: error instanceof Error ? error.name : 'unknown' })
    send(socket, { type: 'error', code: 'internal_error', message: 'Something went wrong on the server.' })
  }
