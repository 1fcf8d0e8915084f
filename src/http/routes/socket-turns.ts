/**
 * The chat turns a socket asks for (routes/socket.ts): `chat:send` and `chat:regenerate` resolve
 * their model for the socket's credential, take an answer slot (over every instance with Redis),
 * resolve attached files and knowledge bases and retrieve from them, then start the turn
 * (chat/chat-turn.ts). Format: the frames of chat/frames.ts; a refusal is an `error` frame.
 * Threat: a turn started on a revoked credential or with what the user may not read: the model is
 * resolved for the credential on every frame, files are the user's own, knowledge bases those they
 * may read, and the credential is checked again (`isFrameAdmitted`) after each wait before the turn starts.
 */
import type { AuthDeps } from '../../auth/auth-deps.ts'
import { admitCredential } from '../../auth/authenticate.ts'
import { checkVision, resolveAttachments } from '../../chat/attachments.ts'
import { startChatTurn, type TurnStart } from '../../chat/chat-turn.ts'
import type { Connections } from '../../chat/connections.ts'
import type { ChatRegenerate, ChatSend } from '../../chat/frames.ts'
import type { LiveStream } from '../../chat/live-streams.ts'
import type { ModelResolver, ModelTarget } from '../../chat/resolve-model.ts'
import type { TurnActivity } from '../../chat/turn-activity.ts'
import { turnOfRegenerate, turnOfSend, type TurnRequest } from '../../chat/turn-place.ts'
import type { AnswerSlots } from '../../cluster/answer-slots.ts'
import type { Config } from '../../config/load-config.ts'
import type { FileId } from '../../db/files.ts'
import { parseChatId } from '../../db/ids.ts'
import type { ChatRetrievalDeps } from '../../knowledge/chat-retrieval.ts'
import type { FileReference } from '../../knowledge/knowledge-access.ts'
import { collectionReferences, retrievalReferencesOf, retrieveForTurn, splitAttached } from '../../knowledge/turn-retrieval.ts'
import type { Logger } from '../../log/logger.ts'
import { answerFailure as failed, send, SOCKET_PATH, type Holder, type Socket, type SocketState } from './socket-state.ts'

export type TurnsDeps = {
  auth: AuthDeps; config: Config; connections: Connections; log: Logger
  models: Pick<ModelResolver, 'resolve'>
  rag: ChatRetrievalDeps | undefined
  answerSlots: AnswerSlots | null
  activity: TurnActivity | undefined
  /** What chat-turn.ts starts a turn with. */
  turnDeps: Parameters<typeof startChatTurn>[0]
  /** The answer slot each answer holds in Redis, given back when it ends. */
  slotOf: WeakMap<LiveStream, string>
  /** The credential each answer was started with: revoking it stops the answer. */
  startedWith: WeakMap<LiveStream, Holder>
  /** Whether the socket's credential still admits a frame (socket-revocation.ts). */
  isFrameAdmitted: (state: SocketState) => boolean | Promise<boolean>
}

export function socketTurns({ auth, config, connections, log, models, rag, answerSlots, activity, turnDeps, slotOf, startedWith, isFrameAdmitted }: TurnsDeps) {
  const answerFailure = (socket: Socket, what: string, type: string, error: unknown) => failed(log, socket, what, type, error)

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

  return { askForAnswer }
}
