/**
 * The chat socket (/api/ws), authenticated by the session cookie. It reconnects with a growing
 * delay after a drop and tells `onOpen` so live answers can be resumed; a close with 4401 means the
 * session was revoked, which ends the session here too. Frames sent while it is not open wait
 * (a few at most) and go out when it opens.
 */
import type { ServerFrame } from './types.ts'

export type ChatSocket = { send(frame: object): boolean; close(): void }

const CLOSE_REVOKED = 4401
const MAX_QUEUED_FRAMES = 10

export function openChatSocket(handlers: { onFrame(frame: ServerFrame): void; onOpen(): void; onRevoked(): void; onStatus(open: boolean): void }): ChatSocket {
  let socket: WebSocket | null = null
  let attempts = 0
  let stopped = false
  let retryTimer: ReturnType<typeof setTimeout> | null = null
  const queued: string[] = []

  const connect = () => {
    const url = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/api/ws`
    const current = new WebSocket(url)
    socket = current
    current.addEventListener('open', () => {
      attempts = 0
      handlers.onStatus(true)
      handlers.onOpen()
      for (const frame of queued.splice(0)) current.send(frame)
    })
    current.addEventListener('message', (event) => {
      if (typeof event.data !== 'string') return
      try {
        handlers.onFrame(JSON.parse(event.data) as ServerFrame)
      } catch {
        // note: a frame that is not JSON is ignored; the server never sends one.
      }
    })
    current.addEventListener('close', (event) => {
      if (socket === current) socket = null
      handlers.onStatus(false)
      if (stopped) return
      if (event.code === CLOSE_REVOKED) return handlers.onRevoked()
      const delay = Math.min(10_000, 250 * 2 ** attempts)
      attempts += 1
      retryTimer = setTimeout(connect, delay)
    })
  }
  connect()

  return {
    send(frame) {
      const text = JSON.stringify(frame)
      if (socket !== null && socket.readyState === WebSocket.OPEN) socket.send(text)
      else if (queued.length < MAX_QUEUED_FRAMES) queued.push(text)
      else return false
      return true
    },
    close() {
      stopped = true
      if (retryTimer !== null) clearTimeout(retryTimer)
      socket?.close()
    },
  }
}
