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
 */
import type { SocketHub } from '../chat/socket-hub.ts'
import type { UserId } from '../db/ids.ts'
import type { ClusterBus } from './cluster-bus.ts'

/** Remote answers remembered at most, oldest forgotten first (an answer whose end was never heard). */
const MAX_REMOTE_STREAMS = 10_000

export type CancelRequest = { userId: UserId; messageId: string }

/** Relays the hub's frames through the bus and delivers the other instances' frames here. */
export function connectSocketFanOut(bus: ClusterBus, hub: SocketHub) {
  const remoteStreams = new Map<string, UserId>()
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
      if (!remoteStreams.has(frame.messageId) && remoteStreams.size >= MAX_REMOTE_STREAMS) remoteStreams.delete(remoteStreams.keys().next().value!)
      remoteStreams.set(frame.messageId, userId)
    }
  }

  return {
    /** Settles once both topics are subscribed (or will be, when Redis comes back). */
    subscribed,
    /** Whether the user's answer with this id is live on another instance, as far as this one has heard. */
    isRemoteStream: (userId: UserId, messageId: string) => remoteStreams.get(messageId) === userId,
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
