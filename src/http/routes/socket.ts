/**
 * The chat socket, /api/ws. Threat: a socket outlives the request that opened it, and a browser
 * attaches the `token` cookie to a socket any site opens (cross-site WebSocket hijacking). So:
 * - the upgrade is authenticated through the one auth path (`authenticate`), with the token from
 *   the `token` cookie, an Authorization / x-api-key header, or the `Sec-WebSocket-Protocol`
 *   offer `enclave, <token>` (answered with `enclave`); pending accounts are refused;
 * - an Origin must be this server's own, WEBUI_URL's, or listed in CORS_ALLOW_ORIGIN; a missing
 *   Origin passes only when the credential is not a cookie (browsers always send one);
 * - a revocation (sign-out, a session or API key revoked, the user deleted or made pending, the
 *   master key changed) is announced by the store (db/account-changes.ts): each socket of that user
 *   whose credential no longer admits it is closed with 4401, and each answer started with such a
 *   credential is stopped at Ollama; at once when the notice says what it revoked, after reading the
 *   credential again when it does not. Frames of a socket are handled one after the other, in
 *   arrival order (a chain of promises per socket); each compares the user's generation and
 *   authenticates again when it moved, awaited before the frame is served, so no frame is served on
 *   a revoked credential. Every `recheckIntervalMs` all credentials are checked again, for what
 *   nothing announces (expiry);
 * - a frame that finds the database unavailable is answered `database_unavailable` (as HTTP answers 503);
 * - deleting a chat (or all, or its user) stops the answers streaming into it;
 * - every `pingIntervalMs` each socket is pinged, and one that has not answered within
 *   `pingTimeoutMs` is dropped (a half-open connection would otherwise hold its state forever);
 * - frames over `maxFrameBytes` close the socket with 1009, and more than `frameRate.limit`
 *   frames in a `frameRate.windowMs` window get a `rate_limited` error, twice that closes it with 1008.
 * - a user holds at most `maxSocketsPerUser` sockets on this instance (socket-quota.ts): one more
 *   upgrade is refused (429), and one admitted alongside others past the limit is closed at open with 1008.
 * Refusals happen before the socket opens, as plain HTTP 401/403/429 answers. Without CORS or single-user
 * mode, Bun's router takes the upgrade before this route (socket-upgrade.ts) with the same admission
 * (`admitUpgrade`) and the same handling after it (`socketEntry`); it answers a refusal as this route's app does.
 * This file puts the socket together and serves its frames; beside it: socket-admission.ts (who may
 * open it), socket-revocation.ts (closing it), socket-turns.ts (the turns it asks for), socket-state.ts.
 * Format: one JSON text per frame (chat/frames.ts).
 */
import { Elysia } from 'elysia'
import type { AuthDeps } from '../../auth/auth-deps.ts'
import { selectBranch } from '../../chat/branch-select.ts'
import { baseTarget, type ModelResolver } from '../../chat/resolve-model.ts'
import type { DirectConnections } from '../../chat/direct-connections.ts'
import type { Connections } from '../../chat/connections.ts'
import { parseClientFrame, type ClientFrame } from '../../chat/frames.ts'
import { LiveStreams, type LiveStream } from '../../chat/live-streams.ts'
import type { TurnActivity } from '../../chat/turn-activity.ts'
import type { SocketHub } from '../../chat/socket-hub.ts'
import type { AnswerSlots } from '../../cluster/answer-slots.ts'
import type { SocketFanOut } from '../../cluster/socket-fan-out.ts'
import type { Config } from '../../config/load-config.ts'
import type { AccountChange } from '../../db/account-changes.ts'
import { MAX_JSON_NESTING, nestsDeeperThan } from '../../db/json-nesting.ts'
import type { ChatRetrievalDeps } from '../../knowledge/chat-retrieval.ts'
import type { Logger } from '../../log/logger.ts'
import { messageAsElysiaParses } from '../socket-message.ts'
import { SOCKET_PROTOCOL, upgradeAdmission, type AdmitUpgrade } from './socket-admission.ts'
import { socketQuota } from './socket-quota.ts'
import { socketRevocation } from './socket-revocation.ts'
import { answerFailure as failed, DEFAULT_SOCKET_LIMITS, send, SOCKET_PATH, type Admission, type Holder, type Socket, type SocketLimits, type SocketState } from './socket-state.ts'
import { socketTurns } from './socket-turns.ts'

export { DEFAULT_SOCKET_LIMITS, SOCKET_PROTOCOL, type SocketLimits }

/** The close code of a socket opened past its user's limit (an upgrade admitted alongside others). */
const CLOSE_TOO_MANY_SOCKETS = 1008

/** Without prepare-app's resolver: every name is a base model, no preset is applied, decided by the model access check alone. */
const baseModelsOnly = (auth: AuthDeps): Pick<ModelResolver, 'resolve'> => ({ resolve: async (asker, requested) => (await auth.models.mayUseOllamaModel(asker, requested) ? baseTarget(requested) : null) })

export type SocketDeps = {
  auth: AuthDeps; connections: Connections; config: Config; log: Logger; hub: SocketHub
  /** Resolves a turn's model (prepare-app.ts builds the one every path shares); without it, base models only, no preset. */
  models?: Pick<ModelResolver, 'resolve'>
  /** The users' own endpoints (direct-connections.ts); absent: none. */
  direct?: Pick<DirectConnections, 'findModel' | 'clientFor'>
  /** Retrieval for the documents and knowledge bases a message names (knowledge/turn-retrieval.ts); absent: documents are only referenced, knowledge bases refused. */
  rag?: ChatRetrievalDeps
  /** The other instances' sockets (cluster/socket-fan-out.ts); absent or null: this instance's only. */
  fanOut?: SocketFanOut | null
  /** The per-user answer cap held over every instance in Redis (cluster/answer-slots.ts); absent or null: counted here alone. */
  answerSlots?: AnswerSlots | null
  /** Counts the turns in progress, from the frame to the answer's end, so the turn warm-up stands aside for them (serve.ts); absent: not counted. */
  activity?: TurnActivity
}

/** What the fast upgrade route (socket-upgrade.ts) is given of this route. */
export type SocketEntry = {
  admitUpgrade: AdmitUpgrade
  dataFor(admission: Admission): object
}

export const socketRoutes = ({ auth, connections, config, log, hub, models = baseModelsOnly(auth), direct, rag, fanOut = null, answerSlots = null, activity }: SocketDeps, limits: SocketLimits = DEFAULT_SOCKET_LIMITS) => {
  /** The answer slot each answer holds in Redis, given back when it ends. */
  const slotOf = new WeakMap<LiveStream, string>()
  const streams = new LiveStreams(auth.now, limits.keepFinishedMs, (userId, text) => hub.relay(userId, text), (stream) => {
    const slotId = slotOf.get(stream)
    if (slotId !== undefined) answerSlots?.release(stream.userId, slotId)
  })
  // note: another instance's tab cancelling an answer running here stops it as a tab here would.
  fanOut?.onCancelRequest(({ userId, messageId }) => {
    const stream = streams.findStreamForUser(userId, messageId)
    if (stream !== null) streams.cancel(stream)
  })
  const turnDeps = {
    chats: auth.store.chats, connections, ...(direct === undefined ? {} : { direct }), streams, hub, log, checkpointIntervalMs: limits.checkpointIntervalMs,
    titles: config.chat.titles, maxConcurrentAnswers: config.chat.maxConcurrentAnswersPerUser, contextWindows: connections.contextWindows,
    // note: with answer slots in Redis, the other instances' answers are counted there, atomically; while Redis is down, each instance counts its own.
    ...(fanOut === null || answerSlots !== null ? {} : { countRemoteAnswers: fanOut.countRemoteStreams }),
  }
  const admissions = new WeakMap<Request, Admission>()
  const states = new Map<Socket, SocketState>()
  /** The credential each answer was started with: revoking it stops the answer. */
  const startedWith = new WeakMap<LiveStream, Holder>()
  const changes = auth.store.accountChanges
  const quota = socketQuota(limits.maxSocketsPerUser)
  const admitUpgrade = upgradeAdmission(auth, config, quota)
  const { sweepSafely, revokeWhatNoLongerAdmits, stopAnswersInDeletedChats, isFrameAdmitted } = socketRevocation({ auth, log, hub, streams, states, startedWith })
  const { askForAnswer } = socketTurns({ auth, config, connections, log, models, rag, answerSlots, activity, turnDeps, slotOf, startedWith, isFrameAdmitted })
  const answerFailure = (socket: Socket, what: string, type: string, error: unknown) => failed(log, socket, what, type, error)
  let timers: ReturnType<typeof setInterval>[] = []

  changes.subscribe((change: AccountChange) => sweepSafely(change.kind, () => {
    if (change.kind === 'access') return revokeWhatNoLongerAdmits(change.userId, change.userId === null ? undefined : change.revoked)
    return stopAnswersInDeletedChats(change.userId)
  }))

  /** Pings every socket not already owing a pong, and drops it unless the pong comes within `pingTimeoutMs`. */
  function pingSockets() {
    for (const [socket, state] of states) {
      if (state.pongDeadline !== null) continue
      state.pongDeadline = setTimeout(() => socket.terminate(), limits.pingTimeoutMs)
      socket.ping()
    }
  }

  /** Counts a frame in the current rate window; says what to do about it. */
  function rateOf(state: SocketState): 'ok' | 'over' | 'abuse' {
    const now = auth.now()
    const { limit, windowMs } = limits.frameRate
    if (now - state.windowStart >= windowMs) Object.assign(state, { windowStart: now, framesInWindow: 0 })
    state.framesInWindow += 1
    if (state.framesInWindow > 2 * limit) return 'abuse'
    return state.framesInWindow > limit ? 'over' : 'ok'
  }
  async function handleFrame(socket: Socket, state: SocketState, frame: ClientFrame) {
    switch (frame.type) {
      case 'chat:send':
      case 'chat:regenerate': {
        // note: counted from here, not only once its answer streams: a warm-up turn run meanwhile held its first token back 12-28 ms (bench/first-turn.ts).
        activity?.begin()
        try {
          await askForAnswer(socket, state, frame)
        } finally {
          activity?.end()
        }
        return
      }
      case 'chat:select': {
        const selected = await selectBranch(auth.store.chats, hub, state.userId, frame.chatId, frame.messageId)
        if (selected !== 'ok') send(socket, { type: 'error', code: selected, message: selected === 'chat_not_found' ? 'Chat not found.' : 'No such message in this chat.' })
        return
      }
      case 'chat:cancel':
      case 'chat:resume': {
        const stream = streams.findStreamForUser(state.userId, frame.messageId)
        // note: an answer running on another instance is stopped there; its chat:done comes back through the fan-out.
        if (stream === null && frame.type === 'chat:cancel' && fanOut?.isRemoteStream(state.userId, frame.messageId) === true) return void fanOut.requestCancel({ userId: state.userId, messageId: frame.messageId })
        if (stream === null) return send(socket, { type: 'error', code: 'stream_not_found', message: 'No such answer in progress.' })
        if (frame.type === 'chat:cancel') streams.cancel(stream)
        else streams.resume(stream, socket, frame.index)
        return
      }
    }
  }

  /** Serves one frame once those before it were: refused after a revocation; never rejects. */
  async function serveFrame(socket: Socket, state: SocketState, message: unknown, rate: 'ok' | 'over') {
    let type = 'unknown'
    try {
      if (!await isFrameAdmitted(state)) return
      if (rate === 'over') return send(socket, { type: 'error', code: 'rate_limited', message: `At most ${limits.frameRate.limit} frames per ${limits.frameRate.windowMs / 1000} s.` })
      const checked = message === TOO_DEEP
        ? { ok: false as const, code: 'invalid_frame' as const, message: `A frame may nest at most ${MAX_JSON_NESTING} levels of arrays and objects.` }
        : parseClientFrame(message)
      if (!checked.ok) return send(socket, { type: 'error', code: checked.code, message: checked.message })
      type = checked.frame.type
      await handleFrame(socket, state, checked.frame)
    } catch (error) {
      answerFailure(socket, 'socket frame failed', type, error)
    }
  }

  const stateOf = (admission: Admission): SocketState => ({ ...admission, isRevoked: false, queue: Promise.resolve(), windowStart: auth.now(), framesInWindow: 0, pongDeadline: null })

  function openSocket(socket: Socket, state: SocketState) {
    // note: upgrades admitted at the same moment all passed the quota's check; those past the limit are closed here, uncounted.
    if (!quota.take(state.userId)) {
      auth.audit.record({ event: 'socket_limit_reached', actorId: state.userId, method: state.held.via, details: { limit: quota.limit, at_open: true } })
      return socket.close(CLOSE_TOO_MANY_SOCKETS, 'Too many sockets')
    }
    states.set(socket, state)
    hub.join(state.userId, socket)
    activity?.socketOpened()
    // note: a revocation between the upgrade and now found no socket to close; this check closes it (the first frames wait for it).
    const admitted = isFrameAdmitted(state)
    if (admitted instanceof Promise) state.queue = admitted.then(() => {}, () => {})
    if (timers.length === 0) timers = [setInterval(() => sweepSafely('recheck', () => revokeWhatNoLongerAdmits(null)), limits.recheckIntervalMs), setInterval(pingSockets, limits.pingIntervalMs)]
  }

  function pongSocket(socket: Socket) {
    const state = states.get(socket)
    if (state === undefined || state.pongDeadline === null) return
    clearTimeout(state.pongDeadline)
    state.pongDeadline = null
  }

  function receive(socket: Socket, message: unknown) {
    const state = states.get(socket)
    if (state === undefined || state.isRevoked) return
    // note: measured before anything recurses over the frame (frameBytes' JSON.stringify overflows the
    // stack from about 100,000 levels, which a frame under a raised WEBSOCKET_MAX_FRAME_SIZE can hold);
    // a frame too deep is answered as one in no expected shape, and never re-serialised (Bun's
    // maxPayloadLength bounded its raw size already).
    const isTooDeep = nestsDeeperThan(message, MAX_JSON_NESTING)
    if (!isTooDeep && frameBytes(message) > limits.maxFrameBytes) return socket.close(1009, 'Frame too large')
    const rate = rateOf(state)
    if (rate === 'abuse') return socket.close(1008, 'Too many frames')
    // note: the admin's settings read again behind this frame when older than a second, for the next one (runtime-auth.ts).
    auth.runtime.fresh().catch(() => {})
    // note: queued behind the frames before it, so that each is answered in arrival order.
    state.queue = state.queue.then(() => serveFrame(socket, state, isTooDeep ? TOO_DEEP : message, rate))
  }

  function closeSocket(socket: Socket) {
    const state = states.get(socket)
    states.delete(socket)
    streams.unwatch(socket)
    if (state !== undefined) {
      if (state.pongDeadline !== null) clearTimeout(state.pongDeadline)
      hub.leave(state.userId, socket)
      quota.release(state.userId)
    }
    if (states.size === 0) {
      for (const timer of timers) clearInterval(timer)
      timers = []
    }
  }

  /**
   * What Elysia's socket handler calls on a socket the fast route upgraded (socket-upgrade.ts): it
   * calls `ws.data.open(ws)` and so on, with Bun's own socket. The socket's state is its data, with
   * these on its prototype: one object per socket, where Elysia's route keeps its request context,
   * six closures and the parsed headers.
   */
  const fastHandlers = {
    open(this: SocketState, socket: Socket) { openSocket(socket, this) },
    message(this: SocketState, socket: Socket, message: unknown) { receive(socket, messageAsElysiaParses(message)) },
    close(this: SocketState, socket: Socket) { closeSocket(socket) },
    pong(this: SocketState, socket: Socket) { pongSocket(socket) },
  }

  const routes = new Elysia({ name: 'socket-routes' }).ws(SOCKET_PATH, {
    async upgrade({ request, server, set }) {
      const { admission, answersProtocol } = await admitUpgrade(request, server)
      admissions.set(request, admission)
      if (answersProtocol) set.headers['sec-websocket-protocol'] = SOCKET_PROTOCOL
    },

    open(ws) {
      const admission = admissions.get(ws.data.request)
      if (admission === undefined) return ws.raw.close(1011, 'Not admitted')
      openSocket(ws.raw, stateOf(admission))
    },

    pong(ws) {
      // note: Elysia calls this hook with Bun's own ServerWebSocket, not its wrapper (adapter/bun: `data.pong`).
      pongSocket((ws as unknown as { raw?: Socket }).raw ?? (ws as unknown as Socket))
    },

    message(ws, message: unknown) {
      receive(ws.raw, message)
    },

    close(ws) {
      closeSocket(ws.raw)
    },
  })

  return Object.assign(routes, {
    /** For the fast route (socket-upgrade.ts): admits an upgrade (throws the app's refusal), and makes the socket's data. */
    socketEntry: {
      admitUpgrade,
      dataFor: (admission: Admission): SocketState => Object.assign(Object.create(fastHandlers) as SocketState, stateOf(admission)),
    } satisfies SocketEntry,
  })
}

/** Stands for a frame nested deeper than MAX_JSON_NESTING, which nothing may walk over recursively. */
const TOO_DEEP = Symbol('frame too deep')

/**
 * The frame's size in bytes. note: Elysia hands over JSON already parsed, so an object is measured
 * re-serialised (whitespace dropped); Bun's own maxPayloadLength bounds the raw frame before that.
 */
function frameBytes(message: unknown): number {
  if (typeof message === 'string') return Buffer.byteLength(message)
  if (message instanceof Uint8Array || message instanceof ArrayBuffer) return message.byteLength
  return Buffer.byteLength(JSON.stringify(message) ?? '')
}
