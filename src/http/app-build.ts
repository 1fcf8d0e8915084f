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
import type { App, PreparedApp } from './create-app.ts'
import { appBuilt } from './listen.ts'

/** How long a slice of the build runs before the event loop gets its turn. */
const SLICE_MS = 1

/** What the build asks of the chat sockets (chat/turn-activity.ts): whether one has opened. */
export type OpenedSockets = { readonly socketsOpened: number }

/**
 * Builds the app in slices, readies it for `server` and hands it over; a build that throws fails what waits for it.
 * Once a chat socket has opened (`sockets`), every step is a slice of its own.
 */
export async function buildAfterListen(prepared: PreparedApp, server: Server<unknown>, sockets?: OpenedSockets): Promise<App> {
  try {
    // note: the build begins one turn after the listen, not in it: the event loop first takes what came in as the
    // port opened (and the start's rest, cli/serve.ts, runs before it). With the global plugins as steps of their own
    // (create-app.ts), the first 200 of each fast path came 1.1-1.5 ms sooner (/health 21.9 against 23.4 ms p50, CPU 22.9
    // against 24.0; 15 interleaved starts, docs/performance.md), and an app route's first 200 no later.
    await new Promise((resolve) => setImmediate(resolve))
    const steps = prepared.build()
    let sliceBegan = performance.now()
    let step = steps.next()
    while (step.done !== true) {
      // note: a socket opened mid-build (Bun's router upgrades it at once) is a client that reconnected, and its first
      // question comes right behind the opening: it waited for the slice under way and the next, 1.2-3.2 ms of its
      // first token (server and client timestamps, five starts, FIRST_TURN_ORDER=at-once); one step is ~0.05-1 ms.
      if (!prepared.asked() && (performance.now() - sliceBegan >= SLICE_MS || (sockets?.socketsOpened ?? 0) > 0)) {
        // note: an immediate, not a timer: Bun reads its sockets (without waiting) before running it, so
        // what came in is answered, and the process keeps its core. Bun.sleep(0) gave the core away at
        // each slice: under load an app route's first answer came ~50 ms later (wall; CPU the same).
        await new Promise((resolve) => setImmediate(resolve))
        sliceBegan = performance.now()
      }
      step = steps.next()
    }
    appBuilt(step.value, server)
    prepared.built(step.value)
    return step.value
  } catch (error) {
    prepared.failed(error)
    throw error
  }
}
