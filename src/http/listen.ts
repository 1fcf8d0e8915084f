/**
 * Opens the port for the app: `Bun.serve` with the app's one handler (`app.fetch`), Elysia's socket
 * handler and the fast routes the app was given (`serve.routes`, fixed-answers.ts, session-user.ts),
 * with the settings Elysia's own `listen` passes. What its `listen` did besides, after the port
 * opened, is left out: it composed the app's request handler a second time (the first is composed
 * here, before the port opens), swapped it into the server with two `server.reload` calls and asked
 * for a collection (`Bun.gc(false)`), all before the first answer could go out.
 * Threat: none added; the same server settings, routes and handler as Elysia's listen
 * (listen.test.ts serves an app both ways and compares the answers).
 */
import type { Server } from 'bun'
import type { AnyElysia } from 'elysia'
import { isProduction } from 'elysia/error'
import { websocket } from 'elysia/ws'

export type ListenOptions = { hostname: string; port: number; maxRequestBodySize: number; reusePort: boolean }

/**
 * Serves `app` on the port and sets `app.server`, which Elysia reads for socket upgrades and the
 * client address; returns the server.
 * note: Elysia's listen (1.4) merges its static-response routes and, with systemRouter on, a route
 * wrapper per path into `routes`; the app is built with systemRouter off and has onRequest hooks
 * (no static-response routes then), so its routes are the fast routes alone, as given.
 */
export function listen(app: AnyElysia, options: ListenOptions): Server<unknown> {
  // note: the app's request handler is composed here, before the port opens, as Elysia's listen does.
  app.compile()
  const server = serveWith(app.config, options, app.fetch)
  app.server = server
  return server
}

/** The settings of the app that the server takes: its fast routes and its socket settings (Elysia's config). */
export type ServedSettings = Pick<AnyElysia['config'], 'serve' | 'websocket'>

/**
 * Opens the port before the app is built (cli/serve.ts): the same server settings as `listen` (the
 * app's `serve` and `websocket` settings, `settings` here, which the app is then built with), and
 * `fetch` for what the fast routes do not answer; `appBuilt` then sets `app.server` and composes
 * the app's handler, which `fetch` hands requests to from then on.
 */
export function listenAhead(settings: ServedSettings, options: ListenOptions, fetch: (request: Request) => Response | Promise<Response>): Server<unknown> {
  return serveWith(settings, options, fetch)
}

/** Readies an app built after `listenAhead` opened `server` for it: `app.server` set, its handler composed. */
export function appBuilt(app: AnyElysia, server: Server<unknown>): void {
  app.server = server
  app.compile()
}

function serveWith(settings: ServedSettings, options: ListenOptions, fetch: (request: Request) => Response | Promise<Response>): Server<unknown> {
  const serve = settings.serve ?? {}
  return Bun.serve({
    development: !isProduction,
    idleTimeout: 30,
    ...serve,
    ...options,
    routes: serve.routes ?? {},
    websocket: { ...settings.websocket, ...websocket },
    fetch,
  } as Parameters<typeof Bun.serve>[0])
}
