/**
 * Socket frames across instances (WEBSOCKET_MANAGER=redis): every frame the hub or a live stream
 * sends to a user's sockets here is also published on the bus (sealed: deltas and titles are the
 * user's words), and every instance delivers it to its own sockets of that user. So a user's tabs
 * on different instances all see an answer live, wherever it runs.
 *
 * Cancel and resume from a tab on an instance without the answer: this instance remembers which
 * live answers of which user it has seen go by (until their chat:done or chat:error), so a cancel
 * for one of them is sent on to the instance running it, which stops it as if asked there. A
 * resume finds no stream here and answers `stream_not_found`: the client reloads the chat from its
 * last checkpoint, once, as after any lost stream.
 *
 * The same record can count the user's answers running elsewhere against CHAT_MAX_CONCURRENT_ANSWERS,
 * for a socket route without answer slots in Redis (cluster/answer-slots.ts, which is atomic).
 * note: not atomic: two answers started at the same moment on two instances may both pass; and an
 * answer not heard of for REMOTE_STREAM_SILENCE_MS (its instance died) no longer counts.
 */
import type { SocketHub } from '../chat/socket-hub.ts'
import type { UserId } from '../db/ids.ts'
import type { ClusterBus } from './cluster-bus.ts'

/** Remote answers remembered at most, oldest forgotten first (an answer whose end was never heard). */
const MAX_REMOTE_STREAMS = 10_000
/** How long an answer elsewhere counts after its last frame: longer than any pause in a live answer, short enough for a dead instance's. */
const REMOTE_STREAM_SILENCE_MS = 120_000

export type CancelRequest = { userId: UserId; messageId: string }

/** Relays the hub's frames through the bus and delivers the other instances' frames here. */
export function connectSocketFanOut(bus: ClusterBus, hub: SocketHub, now: () => number = Date.now) {
  const remoteStreams = new Map<string, { userId: UserId; lastHeardAt: number }>()
  let onCancel: (request: CancelRequest) => void = () => {}

  hub.relayTo((userId, text) => {
    if (bus.isShared()) void bus.publish('frames', { userId, text })
  })
  const subscribed = Promise.all([
    bus.subscribe('frames', (body) => {
      if (!isUserText(body)) return
      noteRemoteStream(body.userId, body.text)
      hub.deliverLocally(body.userId, body.text)
    }),
    bus.subscribe('cancel', (body) => {
      if (isCancelRequest(body)) onCancel(body)
    }),
  ])

  function noteRemoteStream(userId: UserId, text: string) {
    if (!text.startsWith('{"type":"chat:')) return
    const frame = JSON.parse(text) as { type: string; messageId?: unknown }
    if (typeof frame.messageId !== 'string') return
    if (frame.type === 'chat:done' || frame.type === 'chat:error') remoteStreams.delete(frame.messageId)
    else if (frame.type === 'chat:started' || frame.type === 'chat:delta') {
      if (!remoteStreams.delete(frame.messageId) && remoteStreams.size >= MAX_REMOTE_STREAMS) remoteStreams.delete(remoteStreams.keys().next().value!)
      // note: deleted and set again, so the map stays in the order answers were last heard of.
      remoteStreams.set(frame.messageId, { userId, lastHeardAt: now() })
    }
  }

  return {
    /** Settles once both topics are subscribed (or will be, when Redis comes back). */
    subscribed,
    /** Whether the user's answer with this id is live on another instance, as far as this one has heard. */
    isRemoteStream: (userId: UserId, messageId: string) => remoteStreams.get(messageId)?.userId === userId,
    /** How many of the user's answers are live on other instances, as far as this one has heard lately. */
    countRemoteStreams(userId: UserId): number {
      const cutoff = now() - REMOTE_STREAM_SILENCE_MS
      let count = 0
      for (const [id, stream] of remoteStreams) {
        if (stream.lastHeardAt > cutoff) count += stream.userId === userId ? 1 : 0
        else remoteStreams.delete(id)
      }
      return count
    },
    /** Asks the instance running the user's answer to stop it; false when Redis is down. */
    requestCancel: (request: CancelRequest) => bus.publish('cancel', request),
    /** Sets what stops an answer here when another instance asks (the socket route's cancel). */
    onCancelRequest(handler: (request: CancelRequest) => void): void {
      onCancel = handler
    },
  }
}

export type SocketFanOut = ReturnType<typeof connectSocketFanOut>

function isUserText(body: unknown): body is { userId: UserId; text: string } {
  const value = body as { userId?: unknown; text?: unknown }
  return typeof value === 'object' && value !== null && typeof value.userId === 'string' && typeof value.text === 'string'
}

function isCancelRequest(body: unknown): body is CancelRequest {
  const value = body as { userId?: unknown; messageId?: unknown }
  return typeof value === 'object' && value !== null && typeof value.userId === 'string' && typeof value.messageId === 'string'
}
