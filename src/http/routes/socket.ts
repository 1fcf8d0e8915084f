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
 * Refusals happen before the socket opens, as plain HTTP 401/403 answers. Without CORS or single-user
 * mode, Bun's router takes the upgrade before this route (socket-upgrade.ts) with the same admission
 * (`admitUpgrade`) and the same handling after it (`socketEntry`); refusals come here.
 */
import { Elysia } from 'elysia'
import type { AuthDeps } from '../../auth/auth-deps.ts'
import { admitCredential, authenticate, findCredential } from '../../auth/authenticate.ts'
import { isRevokedBy, isStillAdmitted, type WatchedCredential } from '../../auth/credential-watch.ts'
import { selectBranch } from '../../chat/branch-select.ts'
import { startChatTurn, type TurnStart } from '../../chat/chat-turn.ts'
import { baseTarget, type ModelResolver, type ModelTarget } from '../../chat/resolve-model.ts'
import type { DirectConnections } from '../../chat/direct-connections.ts'
import type { Connections } from '../../chat/connections.ts'
import { checkVision, resolveAttachments } from '../../chat/attachments.ts'
import { parseClientFrame, type ChatRegenerate, type ChatSend, type ClientFrame, type ServerFrame } from '../../chat/frames.ts'
import { LiveStreams, type LiveStream } from '../../chat/live-streams.ts'
import type { TurnActivity } from '../../chat/turn-activity.ts'
import type { SocketHub } from '../../chat/socket-hub.ts'
import type { AnswerSlots } from '../../cluster/answer-slots.ts'
import type { SocketFanOut } from '../../cluster/socket-fan-out.ts'
import { turnOfRegenerate, turnOfSend, type TurnRequest } from '../../chat/turn-place.ts'
import type { Config } from '../../config/load-config.ts'
import type { SocketConfig } from '../../config/socket-variables.ts'
import type { AccountChange, Revocation } from '../../db/account-changes.ts'
import { DatabaseUnavailableError } from '../../db/database-errors.ts'
import type { FileId } from '../../db/files.ts'
import { parseChatId, type UserId } from '../../db/ids.ts'
import type { ChatRetrievalDeps } from '../../knowledge/chat-retrieval.ts'
import type { FileReference } from '../../knowledge/knowledge-access.ts'
import { collectionReferences, retrievalReferencesOf, retrieveForTurn, splitAttached } from '../../knowledge/turn-retrieval.ts'
import type { Logger } from '../../log/logger.ts'
import { originOfServer, type resolveClientAddress } from '../client-address.ts'
import { messageAsElysiaParses } from '../socket-message.ts'
import { HttpError } from '../http-error.ts'

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
  frameRate: { limit: 20, windowMs: 1_000 }, keepFinishedMs: 60_000, checkpointIntervalMs: 1_000,
}

/** Without create-app's resolver: every name is a base model, no preset is applied, decided by the model access check alone. */
const baseModelsOnly = (auth: AuthDeps): Pick<ModelResolver, 'resolve'> => ({ resolve: async (asker, requested) => (await auth.models.mayUse(asker, requested) ? baseTarget(requested) : null) })

export type SocketDeps = {
  auth: AuthDeps; connections: Connections; config: Config; log: Logger; hub: SocketHub
  /** Resolves a turn's model (create-app.ts builds the one every path shares); without it, base models only, no preset. */
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

/** The subprotocol a client offers alongside its token, and the one the server answers. */
export const SOCKET_PROTOCOL = 'enclave'
const SOCKET_PATH = '/api/ws'
const CLOSE_REVOKED = 4401

/** The part of Bun's ServerWebSocket used here; its identity keys the per-socket state. */
type Socket = { send(text: string): unknown; close(code?: number, reason?: string): void; ping(): unknown; terminate(): void }
/** `generation` is the user's account generation when the credential was last found good (NaN: to check). `held`: which session or key the credential is. */
type Admission = { userId: UserId; credential: string; generation: number; held: WatchedCredential['held'] }
/** A credential something was started with: the socket's, or an answer's. */
type Holder = Pick<Admission, 'userId' | 'credential' | 'held'>
/** What the fast upgrade route (socket-upgrade.ts) is given of this route. */
export type SocketEntry = {
  admitUpgrade(request: Request, server: Parameters<typeof resolveClientAddress>[1]): Promise<{ admission: Admission; answersProtocol: boolean }>
  dataFor(admission: Admission): object
}
type SocketState = Admission & {
  /** Set when the socket is closed for a revoked credential: frames still in flight are dropped. */
  isRevoked: boolean
  /** The frames of this socket in arrival order: each waits for the one before it. */
  queue: Promise<void>
  windowStart: number; framesInWindow: number; pongDeadline: ReturnType<typeof setTimeout> | null
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
  const listedOrigins = new Set(config.cors.allowsAnyOrigin ? [] : config.cors.allowedOrigins)
  if (config.publicUrl !== null) listedOrigins.add(new URL(config.publicUrl).origin)
  let timers: ReturnType<typeof setInterval>[] = []

  changes.subscribe((change: AccountChange) => sweepSafely(change.kind, () => {
    if (change.kind === 'access') return revokeWhatNoLongerAdmits(change.userId, change.userId === null ? undefined : change.revoked)
    return stopAnswersInDeletedChats(change.userId)
  }))

  /** Runs a sweep; a failure is logged, never thrown into the write or the timer that started it. */
  function sweepSafely(cause: string, sweep: () => void | Promise<void>) {
    const failed = (error: unknown) => log.error('socket revocation failed', { cause, error: error instanceof Error ? error.name : 'unknown' })
    try {
      const swept = sweep()
      if (swept instanceof Promise) swept.catch(failed)
    } catch (error) {
      failed(error)
    }
  }

  /**
   * Closes the sockets (of the user; null: everyone's) whose credential no longer admits an active
   * account, and stops the answers started with such a credential or streaming into a deleted chat.
   * What the notice's `revoked` decides is done at once; the other credentials are read again (once
   * each), and what they no longer admit is closed and stopped when the answer is in.
   */
  function revokeWhatNoLongerAdmits(userId: UserId | null, revoked?: Revocation): Promise<void> | undefined {
    const verdicts = new Map<string, boolean | Promise<boolean>>()
    /** Whether the holder's credential still admits an active account: from the notice when it says, else read again. */
    const admits = (holder: Holder): boolean | Promise<boolean> => {
      const decided = isRevokedBy({ needs: 'active', held: holder.held }, revoked)
      if (decided !== null) return !decided
      const key = `${holder.userId}\0${holder.credential}`
      let verdict = verdicts.get(key)
      if (verdict === undefined) {
        verdict = isStillAdmitted(auth, { userId: holder.userId, credential: holder.credential, path: SOCKET_PATH, needs: 'active' })
        verdicts.set(key, verdict)
      }
      return verdict
    }
    const pending: Promise<void>[] = []
    let unavailable: DatabaseUnavailableError | null = null
    /** Acts on the verdict; a check that fails counts as a refusal, except an unreachable database: then `whenUnknown`. */
    const then = (verdict: boolean | Promise<boolean>, act: (admitted: boolean) => void, whenUnknown: () => void) => {
      if (typeof verdict === 'boolean') return act(verdict)
      pending.push(verdict.then(act, (error: unknown) => {
        if (!(error instanceof DatabaseUnavailableError)) return act(false)
        unavailable = error
        whenUnknown()
      }))
    }
    for (const [socket, state] of states) {
      if (userId !== null && state.userId !== userId) continue
      const generation = changes.generationOf(state.userId)
      // note: a socket whose check found the database unavailable stays open, its generation unchanged: each frame asks again, and is refused until one answers.
      then(admits(state), (admitted) => {
        if (!admitted) closeRevoked(socket, state)
        else if (!state.isRevoked) state.generation = generation
      }, () => {})
    }
    for (const stream of streams.listLiveStreams(userId)) {
      const holder = startedWith.get(stream)
      const stop = () => streams.cancel(stream, 'revoked')
      // note: an answer whose credential can't be checked is stopped: it may have been revoked.
      if (holder !== undefined) then(admits(holder), (admitted) => { if (!admitted) stop() }, stop)
    }
    pending.push(stopAnswersInDeletedChats(userId))
    return Promise.all(pending).then(() => {
      if (unavailable !== null) throw unavailable
    })
  }

  /** Stops the answers (of the user; null: everyone's) streaming into a chat deleted since. */
  async function stopAnswersInDeletedChats(userId: UserId | null) {
    try {
      for (const stream of streams.listLiveStreams(userId)) if (await isChatGone(stream)) streams.cancel(stream, 'chat_deleted')
    } catch (error) {
      log.error('stopping answers in deleted chats failed', { error: error instanceof Error ? error.name : 'unknown' })
    }
  }

  // note: only a turn whose question is stored (startedWith is set then) has a chat row; one still starting is not gone.
  const isChatGone = async (stream: LiveStream) => startedWith.has(stream) && (await auth.store.chats.findChatForUser(stream.userId, stream.chatId)) === null

  /** Closes the socket with 4401 and, at once, stops sending it anything. */
  function closeRevoked(socket: Socket, state: SocketState) {
    state.isRevoked = true
    hub.leave(state.userId, socket)
    streams.unwatch(socket)
    socket.close(CLOSE_REVOKED, 'Credential revoked')
  }

  /** Drops a frame unless the socket's credential still admits it: checked again (awaited) only when the user's generation moved. */
  function isFrameAdmitted(state: SocketState): boolean | Promise<boolean> {
    if (state.isRevoked) return false
    if (changes.generationOf(state.userId) === state.generation) return true
    const swept = revokeWhatNoLongerAdmits(state.userId)
    return swept === undefined ? !state.isRevoked : swept.then(() => !state.isRevoked)
  }

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

  /**
   * What the socket's credential may send for the model (resolve-model.ts, auth/model-access.ts), an API key's model list included; null when nothing.
   * note: admitCredential, not authenticate: the second-factor enrolment rule was met at the upgrade.
   */
  async function resolveModel(state: SocketState, model: string): Promise<ModelTarget | null> {
    const result = await admitCredential(auth, state.credential, SOCKET_PATH)
    return result.ok && result.principal.user.id === state.userId ? models.resolve(result.principal, model) : null
  }

  /**
   * Starts a turn once the user has a free answer slot over every instance (with Redis; without, at
   * once, in the same step); resolves to the chat it went to, or null (the client was told why).
   */
  async function startTurn(socket: Socket, state: SocketState, request: TurnRequest, target: ModelTarget): Promise<string | null> {
    // note: what fails here is answered by the frame's handler (serveFrame, or the attachments' own).
    if (answerSlots === null) return await startTurnNow(socket, state, request, target, null)
    const slotId = crypto.randomUUID()
    const limit = config.chat.maxConcurrentAnswersPerUser
    if (await answerSlots.reserve(state.userId, slotId, limit) === 'full') {
      send(socket, { type: 'error', code: 'too_many_answers', message: `At most ${limit} answers may stream at once; wait for one to end or stop it.` })
      return null
    }
    // note: the credential may have been revoked while Redis answered.
    if (await isFrameAdmitted(state)) return await startTurnNow(socket, state, request, target, slotId)
    answerSlots.release(state.userId, slotId)
    return null
  }

  async function startTurnNow(socket: Socket, state: SocketState, request: TurnRequest, target: ModelTarget, slotId: string | null): Promise<string | null> {
    let started: TurnStart
    try {
      started = await startChatTurn(turnDeps, state.userId, request, target)
    } catch (error) {
      if (slotId !== null) answerSlots?.release(state.userId, slotId)
      throw error
    }
    if (!started.ok) {
      if (slotId !== null) answerSlots?.release(state.userId, slotId)
      send(socket, { type: 'error', code: started.code, message: started.message })
      return null
    }
    if (slotId !== null) slotOf.set(started.stream, slotId)
    if (activity !== undefined) {
      activity.begin()
      const end = () => activity.end()
      started.done.then(end, end)
    }
    startedWith.set(started.stream, { userId: state.userId, credential: state.credential, held: state.held })
    return started.stream.chatId
  }

  /**
   * Resolves the attached files (the user's own only) and knowledge bases (those they may read),
   * finds the passages that answer the question, and checks the model reads images; then starts the turn.
   */
  async function sendWithAttachments(socket: Socket, state: SocketState, frame: ChatSend, target: ModelTarget) {
    try {
      const entries = frame.files ?? []
      if (entries.length > config.files.maxFilesPerMessage) {
        return send(socket, { type: 'error', code: 'too_many_files', message: `A message may carry at most ${config.files.maxFilesPerMessage} files (RAG_FILE_MAX_COUNT).` })
      }
      const { fileIds, knowledgeIds } = splitAttached(entries)
      const attached = await resolveAttachments(auth.store.files, state.userId, fileIds, { maxFilesPerMessage: config.files.maxFilesPerMessage, maxImageBytes: config.files.maxInlineImageBytes })
      if (!attached.ok) return send(socket, { type: 'error', code: attached.code, message: attached.message })
      const user = await auth.store.users.findUserById(state.userId)
      if (user === null) return
      if (knowledgeIds.length > 0 && rag === undefined) return send(socket, { type: 'error', code: 'retrieval_unavailable', message: 'Knowledge bases are not available on this server.' })
      const collections = rag === undefined ? [] : await collectionReferences(rag, user, knowledgeIds)
      if (collections === null) return send(socket, { type: 'error', code: 'file_not_found', message: 'A knowledge base of the message was not found.' })
      const references = [...attached.references, ...collections]
      const retrieved = rag === undefined ? { ok: true as const, retrieval: undefined } : await retrieveForTurn(rag, user, retrievalReferencesOf(references), frame.content)
      if (!retrieved.ok) return send(socket, { type: 'error', code: retrieved.code, message: retrieved.message })
      const images = [...(frame.images ?? []), ...attached.images]
      // note: the model that reads the images is the base model a preset stands for; a user's own endpoint answers for itself.
      if (images.length > 0 && !target.direct) {
        const vision = await checkVision(connections, target.model)
        if (!vision.ok) return send(socket, { type: 'error', code: vision.code, message: vision.message })
      }
      if (!await isFrameAdmitted(state)) return
      const request = turnOfSend(frame)
      const ask = { content: frame.content, images: images.length > 0 ? images : null, files: references.length > 0 ? references : null }
      const chatId = await startTurn(socket, state, { ...request, ask, ...(retrieved.retrieval === undefined ? {} : { retrieval: retrieved.retrieval }) }, target)
      // note: what uses a file is recorded, so deleting one user of it (a chat, a knowledge base) can tell whether others remain.
      if (chatId !== null) for (const reference of attached.references) await auth.store.files.addUse(state.userId, reference.id as FileId, 'chat', chatId)
    } catch (error) {
      answerFailure(socket, 'attaching files failed', frame.type, error)
    }
  }

  /** The stored question a regenerate answers again, when its documents or knowledge bases call for retrieval; null otherwise. */
  async function questionWithDocuments(state: SocketState, frame: ChatRegenerate) {
    if (rag === undefined) return null
    const chatId = parseChatId(frame.chatId)
    const messageId = chatId === null ? null : await auth.store.chats.findMessageIdByUid(state.userId, chatId, frame.parentId)
    const question = chatId === null || messageId === null ? undefined : (await auth.store.chats.listPathTo(state.userId, chatId, messageId))?.at(-1)
    const references = retrievalReferencesOf(question?.files)
    return question === undefined || question.role !== 'user' || references.length === 0 ? null : { content: question.content, references }
  }

  /** Asks again with the question's documents and knowledge bases searched again (a grant lost since refuses it). */
  async function regenerateWithDocuments(socket: Socket, state: SocketState, frame: ChatRegenerate, target: ModelTarget, question: { content: string; references: FileReference[] }) {
    try {
      const user = await auth.store.users.findUserById(state.userId)
      if (user === null) return
      const retrieved = await retrieveForTurn(rag!, user, question.references, question.content)
      if (!retrieved.ok) return send(socket, { type: 'error', code: retrieved.code, message: retrieved.message })
      if (!await isFrameAdmitted(state)) return
      await startTurn(socket, state, { ...turnOfRegenerate(frame), ...(retrieved.retrieval === undefined ? {} : { retrieval: retrieved.retrieval }) }, target)
    } catch (error) {
      answerFailure(socket, 'retrieval for a regenerate failed', frame.type, error)
    }
  }

  /** Resolves the model of a send or regenerate and starts its turn (with its documents when it names some). */
  async function askForAnswer(socket: Socket, state: SocketState, frame: ChatSend | ChatRegenerate) {
    // note: asked on every send, so a grant or group change is in effect for the next frame; answers already running finish.
    const target = await resolveModel(state, frame.model)
    if (state.isRevoked) return
    if (target === null) return send(socket, { type: 'error', code: 'model_not_found', message: 'Model not found.' })
    if (frame.type === 'chat:regenerate') {
      const question = await questionWithDocuments(state, frame)
      if (question !== null) return void regenerateWithDocuments(socket, state, frame, target, question)
      await startTurn(socket, state, turnOfRegenerate(frame), target)
      return
    }
    if ((frame.files?.length ?? 0) > 0 || (frame.images?.length ?? 0) > 0) return void sendWithAttachments(socket, state, frame, target)
    await startTurn(socket, state, turnOfSend(frame), target)
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
      const checked = parseClientFrame(message)
      if (!checked.ok) return send(socket, { type: 'error', code: checked.code, message: checked.message })
      type = checked.frame.type
      await handleFrame(socket, state, checked.frame)
    } catch (error) {
      answerFailure(socket, 'socket frame failed', type, error)
    }
  }

  /** Answers a frame whose handling failed; the socket lives on. An unreachable database is said so, as HTTP answers 503. */
  function answerFailure(socket: Socket, what: string, type: string, error: unknown) {
    if (error instanceof DatabaseUnavailableError) {
      log.warn('database unavailable', { code: error.code, path: SOCKET_PATH })
      return send(socket, { type: 'error', code: 'database_unavailable', message: 'The database is unavailable right now. Nothing was saved; try again in a moment.' })
    }
    log.error(what, { type, error: error instanceof Error ? error.name : 'unknown' })
    send(socket, { type: 'error', code: 'internal_error', message: 'Something went wrong on the server.' })
  }

  /**
   * Admits an upgrade request (see the header): the credential's admission, and whether the answer
   * names SOCKET_PROTOCOL; a refusal is thrown as the HttpError the app answers with.
   */
  async function admitUpgrade(request: Request, server: Parameters<typeof resolveClientAddress>[1]): Promise<{ admission: Admission; answersProtocol: boolean }> {
    const offered = offeredProtocols(request.headers)
    const protocolToken = offered.includes(SOCKET_PROTOCOL) ? offered.find((entry) => entry !== SOCKET_PROTOCOL) ?? null : null
    const credential = protocolToken ?? findCredential(request.headers)
    if (credential === null) throw new HttpError(401, 'not_authenticated', 'Not authenticated.')
    const isCookie = protocolToken === null && !request.headers.has('authorization') && !request.headers.has('x-api-key')
    if (!isAllowedOrigin(request, server, isCookie)) throw new HttpError(403, 'cross_site_request', 'This request came from another site and was refused.')
    const before = changes.changeCount()
    const result = await authenticate(auth, credential, SOCKET_PATH)
    if (!result.ok) throw new HttpError(401, 'not_authenticated', 'Not authenticated.')
    if (result.principal.user.role === 'pending') throw new HttpError(403, 'account_pending', 'Your account is awaiting approval by an administrator.')
    const { principal } = result
    const userId = principal.user.id as UserId
    const held: Admission['held'] = principal.via === 'session' ? { via: 'session', sessionId: principal.sessionId } : { via: 'api_key', apiKeyId: principal.apiKeyId }
    // note: a change announced while the credential was read leaves the generation unknown (NaN), so the socket checks it again on open.
    const generation = changes.changeCount() === before ? changes.generationOf(userId) : Number.NaN
    return { admission: { userId, credential, generation, held }, answersProtocol: offered.includes(SOCKET_PROTOCOL) }
  }

  const stateOf = (admission: Admission): SocketState => ({ ...admission, isRevoked: false, queue: Promise.resolve(), windowStart: auth.now(), framesInWindow: 0, pongDeadline: null })

  function openSocket(socket: Socket, state: SocketState) {
    states.set(socket, state)
    hub.join(state.userId, socket)
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
    if (frameBytes(message) > limits.maxFrameBytes) return socket.close(1009, 'Frame too large')
    const rate = rateOf(state)
    if (rate === 'abuse') return socket.close(1008, 'Too many frames')
    // note: the admin's settings read again behind this frame when older than a second, for the next one (runtime-auth.ts).
    auth.runtime.fresh().catch(() => {})
    // note: queued behind the frames before it, so that each is answered in arrival order.
    state.queue = state.queue.then(() => serveFrame(socket, state, message, rate))
  }

  function closeSocket(socket: Socket) {
    const state = states.get(socket)
    states.delete(socket)
    streams.unwatch(socket)
    if (state !== undefined) {
      if (state.pongDeadline !== null) clearTimeout(state.pongDeadline)
      hub.leave(state.userId, socket)
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

  function isAllowedOrigin(request: Request, server: Parameters<typeof resolveClientAddress>[1], isCookie: boolean): boolean {
    const origin = request.headers.get('origin')
    if (origin === null) return !isCookie
    if (listedOrigins.has(origin) || origin === originOfServer(request, server, config.trustedProxies)) return true
    return config.cors.allowsAnyOrigin && !isCookie
  }
}

function send(socket: Socket, frame: ServerFrame): void {
  socket.send(JSON.stringify(frame))
}

function offeredProtocols(headers: Headers): string[] {
  return (headers.get('sec-websocket-protocol') ?? '').split(',').map((entry) => entry.trim()).filter((entry) => entry !== '')
}

/**
 * The frame's size in bytes. note: Elysia hands over JSON already parsed, so an object is measured
 * re-serialised (whitespace dropped); Bun's own maxPayloadLength bounds the raw frame before that.
 */
function frameBytes(message: unknown): number {
  if (typeof message === 'string') return Buffer.byteLength(message)
  if (message instanceof Uint8Array || message instanceof ArrayBuffer) return message.byteLength
  return Buffer.byteLength(JSON.stringify(message) ?? '')
}

