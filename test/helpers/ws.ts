/**
 * A real WebSocket client for the socket tests: `connect` opens one (or rejects when the upgrade is
 * refused), keeps every frame it receives, and `nextFrame` waits for the next one matching a
 * predicate, failing after a timeout instead of hanging the test.
 */
export type Frame = { type: string; [field: string]: unknown }

export type ConnectOptions = { token?: string; cookie?: string; origin?: string | null; protocols?: string[]; tls?: { ca: string } }

export type TestSocket = Awaited<ReturnType<typeof connect>>

/** Opens a socket to `url` with the token offered as a subprotocol, or a cookie; rejects if it doesn't open. */
export function connect(url: string, { token, cookie, origin = null, protocols, tls }: ConnectOptions = {}) {
  const headers: Record<string, string> = {}
  if (cookie !== undefined) headers.cookie = `token=${cookie}`
  if (origin !== null) headers.origin = origin
  const offered = protocols ?? (token === undefined ? [] : ['enclave', token])
  // note: Bun's WebSocket takes headers, which browsers can't set; tests use them for Cookie and Origin.
  const ws = new WebSocket(url, { headers, protocols: offered, ...(tls === undefined ? {} : { tls }) } as unknown as string[])
  const frames: Frame[] = []
  let seen = 0
  const waiters = new Set<() => void>()
  const closed = new Promise<{ code: number; reason: string }>((resolve) => {
    ws.addEventListener('close', (event) => {
      resolve({ code: event.code, reason: event.reason })
      for (const wake of waiters) wake()
    })
  })
  ws.addEventListener('message', (event) => {
    frames.push(JSON.parse(String(event.data)) as Frame)
    for (const wake of waiters) wake()
  })

  const socket = {
    ws,
    frames,
    closed,
    /** Sends a frame: an object as JSON, a string as it is. */
    send(frame: object | string) {
      ws.send(typeof frame === 'string' ? frame : JSON.stringify(frame))
    },
    /** The next frame not yet taken that matches, waiting up to `timeoutMs`. */
    nextFrame(predicate: (frame: Frame) => boolean = () => true, timeoutMs = 2_000): Promise<Frame> {
      return new Promise((resolve, reject) => {
        const check = () => {
          for (let i = seen; i < frames.length; i++) {
            if (predicate(frames[i]!)) {
              seen = i + 1
              done()
              return resolve(frames[i]!)
            }
          }
          if (ws.readyState === WebSocket.CLOSED) {
            done()
            reject(new Error(`socket closed while waiting; frames: ${JSON.stringify(frames.slice(seen))}`))
          }
        }
        const timer = setTimeout(() => {
          done()
          reject(new Error(`no matching frame within ${timeoutMs} ms; frames: ${JSON.stringify(frames.slice(seen))}`))
        }, timeoutMs)
        const done = () => {
          clearTimeout(timer)
          waiters.delete(check)
        }
        waiters.add(check)
        check()
      })
    },
    close() {
      ws.close()
      return closed
    },
  }

  return new Promise<typeof socket>((resolve, reject) => {
    ws.addEventListener('open', () => resolve(socket), { once: true })
    ws.addEventListener('error', () => reject(new Error('the socket did not open')), { once: true })
    void closed.then(({ code }) => reject(new Error(`the socket closed before opening (${code})`)))
  })
}

/** Frames of one type with a given field value, e.g. all deltas of one answer. */
export const ofType = (type: string, messageId?: unknown) => (frame: Frame) =>
  frame.type === type && (messageId === undefined || frame.messageId === messageId)

/** Opens sockets as users to the URL `url()` gives, and closes every one of them at the end. */
export function socketPool(url: () => string) {
  const open: TestSocket[] = []
  return {
    async socketOf(user: { token: string }): Promise<TestSocket> {
      const socket = await connect(url(), { token: user.token })
      open.push(socket)
      return socket
    },
    /** Keeps a socket opened elsewhere, to be closed at the end too. */
    keep(socket: TestSocket): void {
      open.push(socket)
    },
    closeAll(): void {
      for (const socket of open) socket.ws.close()
    },
  }
}
