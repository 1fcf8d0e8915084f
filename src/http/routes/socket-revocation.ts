/**
 * Revocation for the chat socket (routes/socket.ts): a revocation (sign-out, a session or API key
 * revoked, the user deleted or made pending, the master key changed) is announced by the store
 * (db/account-changes.ts); each socket of that user whose credential no longer admits it is closed
 * with 4401, and each answer started with such a credential is stopped at Ollama; at once when the
 * notice says what it revoked, after reading the credential again when it does not. A frame compares
 * the user's generation and authenticates again when it moved (`isFrameAdmitted`), awaited before
 * it is served. Deleting a chat (or all, or its user) stops the answers streaming into it.
 * Threat: a socket or an answer outliving its credential; a check that fails counts as a refusal,
 * except an unreachable database (the socket stays, each frame asks again and is refused meanwhile).
 */
import type { AuthDeps } from '../../auth/auth-deps.ts'
import { isRevokedBy, isStillAdmitted } from '../../auth/credential-watch.ts'
import type { LiveStream, LiveStreams } from '../../chat/live-streams.ts'
import type { SocketHub } from '../../chat/socket-hub.ts'
import type { Revocation } from '../../db/account-changes.ts'
import { DatabaseUnavailableError } from '../../db/database-errors.ts'
import type { UserId } from '../../db/ids.ts'
import type { Logger } from '../../log/logger.ts'
import { SOCKET_PATH, type Holder, type Socket, type SocketState } from './socket-state.ts'

const CLOSE_REVOKED = 4401

export type RevocationDeps = {
  auth: AuthDeps; log: Logger; hub: SocketHub; streams: LiveStreams
  /** The open sockets and their state. */
  states: ReadonlyMap<Socket, SocketState>
  /** The credential each answer was started with: revoking it stops the answer. */
  startedWith: WeakMap<LiveStream, Holder>
}

export function socketRevocation({ auth, log, hub, streams, states, startedWith }: RevocationDeps) {
  const changes = auth.store.accountChanges

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

  return { sweepSafely, revokeWhatNoLongerAdmits, stopAnswersInDeletedChats, isFrameAdmitted }
}
