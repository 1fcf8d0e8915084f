/**
 * Builds the app after its port opened (cli/serve.ts): the steps of `prepareApp`'s build (one route
 * plugin each, ~20 ms in all for 248 routes) run in slices of about a millisecond, and between
 * slices the event loop answers what came in meanwhile: the fast routes (the page, /health,
 * /api/version, a signed-in /api/v1/auths/, socket upgrades) at once. Once a request has waited for
 * the app itself, the rest is built in one go, so that request waits no longer than it would have.
 * Threat: none added; the app is the one createApp builds (the same steps, in the same order), and
 * what reaches it before it is built waits for it and gets its answer.
 */
import type { Server } from 'bun'
import type { App, PreparedApp } from './prepare-app.ts'
import { appBuilt } from './listen.ts'

/** How long a slice of the build runs before the event loop gets its turn. */
const SLICE_MS = 1

/**
 * What the build asks of the chat sockets (chat/turn-activity.ts): whether one has opened, whether a turn runs, and
 * when none does.
 */
export type OpenedSockets = {
  readonly socketsOpened: number; readonly begun: number; readonly running: number; readonly firstTurn: Promise<void>; standAside(): Promise<void>
}

/** How long the build waits for the first question of a socket opened during it. */
const FIRST_QUESTION_WAIT_MS = 3

/**
 * Waits, while a user's turn runs and no request waits for the app, until none runs.
 * note: the build's steps and the route files' import (one block of 1.3-2 ms) otherwise ran between a reconnected
 * client's question and Ollama's first answer, and held that answer's relay back; a request that needs the app ends the wait.
 */
async function standAsideForTurns(prepared: PreparedApp, sockets: OpenedSockets | undefined, waits: { forQuestion: boolean }): Promise<void> {
  if (sockets === undefined || sockets.socketsOpened === 0 || prepared.asked()) return
  if (sockets.begun === 0 && !waits.forQuestion) {
    waits.forQuestion = true
    await Promise.race([sockets.firstTurn, prepared.whenAsked, Bun.sleep(FIRST_QUESTION_WAIT_MS)])
  }
  if (sockets.running === 0 || prepared.asked()) return
  await Promise.race([sockets.standAside(), prepared.whenAsked])
}

/**
 * Resolves once the event loop has read its sockets after the current turn.
 * note: two immediates, not one: Bun runs the immediates queued in a turn before it next reads its sockets, and those
 * queued by an immediate after, so with one the build's first slice (~1 ms) ran ahead of a request that came in as the
 * port opened (timestamps, 9 starts: the request sent 0.2-1.1 ms after the listen, the build begun 1.9-2.5 ms after it,
 * the request's handler 3.3-4.0 ms after it; with two, the handler 1.9-2.6 ms after it, before the build).
 */
function afterFirstPoll(): Promise<void> {
  return new Promise((resolve) => setImmediate(() => setImmediate(resolve)))
}

/**
 * Builds the app in slices, readies it for `server` and hands it over; a build that throws fails what waits for it.
 * Once a chat socket has opened (`sockets`), every step is a slice of its own.
 */
export async function buildAfterListen(prepared: PreparedApp, server: Server<unknown>, sockets?: OpenedSockets): Promise<App> {
  try {
    // note: the build begins after the event loop's first look at its sockets, not in the listen's turn: what came in
    // as the port opened is answered first (and the start's rest, cli/serve.ts, runs before it). With the global plugins
    // as steps of their own (prepare-app.ts), the first 200 of each fast path came 1.1-1.5 ms sooner (/health 21.9 against
    // 23.4 ms p50, CPU 22.9 against 24.0; 15 interleaved starts, docs/performance.md), and an app route's first 200 no later.
    await afterFirstPoll()
    const waits = { forQuestion: false }
    // note: a chat turn is readied first, ahead of the route files' import (one block of 1.3-2 ms that cannot yield): a
    // client that reconnected sends its first question right behind its socket's opening, which now comes that early.
    await stepThrough(prepared.readyTurn(), prepared, sockets, waits)
    if (!prepared.asked()) await new Promise((resolve) => setImmediate(resolve))
    await standAsideForTurns(prepared, sockets, waits)
    // note: the route files, their schemas and the compat layers are loaded here, after the listen (a chunk of their
    // own in the binary): before it they held every first answer back (~0.5-1 ms of a start), and only the build needs them.
    const app = await stepThrough(prepared.build(await import('./app-routes.ts')), prepared, sockets, waits)
    appBuilt(app, server)
    prepared.built(app)
    return app
  } catch (error) {
    prepared.failed(error)
    throw error
  }
}

/** Runs `steps` in slices of about SLICE_MS (a step each once a chat socket has opened), the event loop's turn between them. */
async function stepThrough<T>(steps: Generator<void, T, void>, prepared: PreparedApp, sockets: OpenedSockets | undefined, waits: { forQuestion: boolean }): Promise<T> {
  let sliceBegan = performance.now()
  let step = steps.next()
  while (step.done !== true) {
    // note: a socket opened mid-build (Bun's router upgrades it at once) is a client that reconnected, and its first
    // question comes right behind the opening: it waited for the slice under way and the next, 1.2-3.2 ms of its
    // first token (server and client timestamps, five starts, FIRST_TURN_ORDER=at-once); most steps take 0.05-1 ms.
    if (!prepared.asked() && (performance.now() - sliceBegan >= SLICE_MS || (sockets?.socketsOpened ?? 0) > 0)) {
      // note: an immediate, not a timer: Bun reads its sockets (without waiting) before running it, so
      // what came in is answered, and the process keeps its core. Bun.sleep(0) gave the core away at
      // each slice: under load an app route's first answer came ~50 ms later (wall; CPU the same).
      await new Promise((resolve) => setImmediate(resolve))
      await standAsideForTurns(prepared, sockets, waits)
      sliceBegan = performance.now()
    }
    step = steps.next()
  }
  return step.value
}
