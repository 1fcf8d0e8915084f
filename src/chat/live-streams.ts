/**
 * Answers in flight, kept for cancel and resume. Each stream has an id (the assistant message's
 * id until it is stored), its deltas by index, the sockets watching it, and an AbortController
 * that stops the request to Ollama. A finished stream stays for `keepFinishedMs`, so a client that
 * reconnects just after the end still gets the whole answer once.
 *
 * Invariant: a watcher gets each delta exactly once and in order. The sockets open when the
 * stream starts watch it from index 0; a socket that joins later watches only after `resume`,
 * which sends the backlog and adds it as a watcher in one synchronous step, so nothing can
 * arrive in between.
 */
import type { ChatId, UserId } from '../db/ids.ts'
import type { ServerFrame } from './frames.ts'
import type { HubSocket } from './socket-hub.ts'

export type LiveStreamId = string & { readonly brand: 'LiveStreamId' }

/**
 * Why an answer was stopped: the user asked (`cancelled`), the credential that started it was
 * revoked (`revoked`), or its chat was deleted (`chat_deleted`, so nothing more of it is stored).
 */
export type StopReason = 'cancelled' | 'revoked' | 'chat_deleted'

/** One answer in flight (or just finished). Read-only outside this module. */
export type LiveStream = {
  readonly id: LiveStreamId
  readonly userId: UserId
  readonly chatId: ChatId
  readonly signal: AbortSignal
  readonly deltas: readonly string[]
}

type Entry = LiveStream & {
  deltas: string[]
  controller: AbortController
  watchers: Set<HubSocket>
  /** The chat:done or chat:error frame, once sent. */
  final: ServerFrame | null
  finishedAt: number | null
}

/**
 * A class because it is state with an identity: one registry per server. Every call costs the same
 * however many answers finished in the last `keepFinishedMs`: live streams are indexed by user, and
 * finished ones are kept in the order they finished, which is the order they expire in.
 */
export class LiveStreams {
  readonly #entries = new Map<LiveStreamId, Entry>()
  readonly #liveByUser = new Map<UserId, Set<Entry>>()
  /** Finished entries, oldest first. */
  readonly #finished = new Set<Entry>()

  /**
   * `now` is unix ms; finished streams are dropped `keepFinishedMs` after they end. `relay` hands
   * each frame on to the user's sockets on other instances (SocketHub.relay), which watch every stream.
   * `ended` is told once when a stream stops being live (finished or discarded).
   */
  constructor(
    private readonly now: () => number, private readonly keepFinishedMs: number,
    private readonly relay: (userId: UserId, text: string) => void = () => {}, private readonly ended: (stream: LiveStream) => void = () => {},
  ) {}

  /** Starts a stream watched by `watchers` (the user's sockets open now). */
  start(userId: UserId, chatId: ChatId, watchers: Iterable<HubSocket>): LiveStream {
    this.#sweep()
    const controller = new AbortController()
    const entry: Entry = {
      id: `live-${crypto.randomUUID()}` as LiveStreamId, userId, chatId, signal: controller.signal, deltas: [], controller,
      watchers: new Set(watchers), final: null, finishedAt: null,
    }
    this.#entries.set(entry.id, entry)
    const live = this.#liveByUser.get(userId)
    if (live === undefined) this.#liveByUser.set(userId, new Set([entry]))
    else live.add(entry)
    return entry
  }

  /** The user's stream with this id, live or recently finished; null when unknown, expired or someone else's. */
  findStreamForUser(userId: UserId, id: string): LiveStream | null {
    this.#sweep()
    const entry = this.#entries.get(id as LiveStreamId)
    return entry === undefined || entry.userId !== userId ? null : entry
  }

  /** How many of the user's answers are still streaming. */
  countLiveStreamsOfUser(userId: UserId): number {
    return this.#liveByUser.get(userId)?.size ?? 0
  }

  /** The user's answers still streaming, as a copy (every user's when `userId` is null). */
  listLiveStreams(userId: UserId | null): LiveStream[] {
    if (userId !== null) return [...(this.#liveByUser.get(userId) ?? [])]
    return [...this.#liveByUser.values()].flatMap((live) => [...live])
  }

  /** Sends a frame about the stream to its watchers (no-op once finished). */
  send(stream: LiveStream, frame: ServerFrame): void {
    const entry = this.#entry(stream)
    if (entry.final !== null) return
    const text = JSON.stringify(frame)
    for (const socket of entry.watchers) socket.send(text)
    this.relay(entry.userId, text)
  }

  /** Records the next piece of the answer and sends it as `chat:delta`; returns its index. */
  appendDelta(stream: LiveStream, content: string): number {
    const entry = this.#entry(stream)
    const index = entry.deltas.push(content) - 1
    this.send(stream, { type: 'chat:delta', chatId: entry.chatId, messageId: entry.id, index, content })
    return index
  }

  /** Sends the final frame (chat:done or chat:error) and keeps the stream for resume a while longer. */
  finish(stream: LiveStream, frame: ServerFrame): void {
    const entry = this.#entry(stream)
    // note: ended before the final frame goes out, so whoever hears of the end finds the answer's slot free.
    if (entry.final === null) this.#endLife(entry)
    this.send(stream, frame)
    if (entry.final !== null) return
    entry.final = frame
    entry.finishedAt = this.now()
    this.#finished.add(entry)
  }

  /** Aborts the request behind the stream; the producer then stores what it has, unless the chat was deleted. */
  cancel(stream: LiveStream, reason: StopReason = 'cancelled'): void {
    this.#entry(stream).controller.abort(reason)
  }

  /** Why the stream was stopped by `cancel`; null while it runs, or when it was stopped otherwise. */
  stopReasonOf(stream: LiveStream): StopReason | null {
    const reason: unknown = stream.signal.aborted ? stream.signal.reason : null
    return reason === 'cancelled' || reason === 'revoked' || reason === 'chat_deleted' ? reason : null
  }

  /** Sends `socket` the deltas from `fromIndex` on, then the final frame or, while live, the rest as it comes. */
  resume(stream: LiveStream, socket: HubSocket, fromIndex: number): void {
    const entry = this.#entry(stream)
    entry.watchers.delete(socket) // note: a watcher asking again gets the backlog it asked for, then each live delta once
    entry.deltas.slice(fromIndex).forEach((content, offset) => {
      socket.send(JSON.stringify({ type: 'chat:delta', chatId: entry.chatId, messageId: entry.id, index: fromIndex + offset, content }))
    })
    if (entry.final !== null) socket.send(JSON.stringify(entry.final))
    else entry.watchers.add(socket)
  }

  /** Aborts the request behind a stream nobody was told of yet and forgets the stream, sending nothing. */
  discard(stream: LiveStream): void {
    const entry = this.#entry(stream)
    entry.controller.abort()
    this.#endLife(entry)
    this.#entries.delete(entry.id)
    this.#finished.delete(entry)
  }

  /** Stops sending to a socket that closed. */
  unwatch(socket: HubSocket): void {
    // note: a finished stream sends nothing more, so only live ones need looking at.
    for (const live of this.#liveByUser.values()) for (const entry of live) entry.watchers.delete(socket)
  }

  #entry(stream: LiveStream): Entry {
    return stream as Entry
  }

  /** Takes a stream off its user's live ones. */
  #endLife(entry: Entry): void {
    const live = this.#liveByUser.get(entry.userId)
    if (live === undefined || !live.delete(entry)) return
    if (live.size === 0) this.#liveByUser.delete(entry.userId)
    this.ended(entry)
  }

  /** Drops finished streams past `keepFinishedMs`, oldest first, stopping at the first one still kept. */
  #sweep(): void {
    const cutoff = this.now() - this.keepFinishedMs
    for (const entry of this.#finished) {
      if (entry.finishedAt! > cutoff) break
      this.#finished.delete(entry)
      this.#entries.delete(entry.id)
    }
  }
}
