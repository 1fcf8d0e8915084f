/**
 * Whether users' chat turns are in progress on this instance, so background work that competes with
 * them for the one JavaScript thread (the turn warm-up after a start, turn-warm-up.ts) can stand
 * aside: a turn counts from its frame's arrival until its answer has ended (or failed to start).
 * It also counts the sockets opened: the app's build after a start (http/app-build.ts) yields at
 * every step once one has, as a client that reconnects sends its first question right behind its
 * socket's opening, waits a moment for that first turn (`firstTurn`), and stands aside while turns run.
 * Format: counters and the waiters for the turns' count to reach zero; nothing about the turn or the socket is kept.
 * Threat: none; it holds no user data, only how many turns run.
 */
export class TurnActivity {
  #running = 0
  #begun = 0
  #socketsOpened = 0
  #waiters: (() => void)[] = []

  /** A turn began; each `begin` is followed by exactly one `end`. */
  begin(): void {
    this.#running++
    this.#begun++
    if (this.#begun === 1) this.#firstBegun.resolve()
  }

  #firstBegun = Promise.withResolvers<void>()

  /** Settles when the first turn since the start begins. */
  get firstTurn(): Promise<void> {
    return this.#firstBegun.promise
  }

  end(): void {
    if (this.#running > 0) this.#running--
    if (this.#running > 0) return
    const waiters = this.#waiters
    this.#waiters = []
    for (const wake of waiters) wake()
  }

  /** A chat socket opened. */
  socketOpened(): void {
    this.#socketsOpened++
  }

  /** How many chat sockets opened since the start. */
  get socketsOpened(): number {
    return this.#socketsOpened
  }

  /** How many turns began since the start. */
  get begun(): number {
    return this.#begun
  }

  /** How many turns are in progress. */
  get running(): number {
    return this.#running
  }

  /**
   * Resolves once the event loop has gone round (so a frame or an answer that arrived meanwhile is
   * taken first) and no turn is in progress.
   */
  async standAside(): Promise<void> {
    await new Promise<void>((resolve) => setImmediate(resolve))
    while (this.#running > 0) {
      await new Promise<void>((resolve) => this.#waiters.push(resolve))
      await new Promise<void>((resolve) => setImmediate(resolve))
    }
  }
}
