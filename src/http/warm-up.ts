/**
 * Warms the app once it is built: Elysia composes its request handler and each route's handler,
 * and the engine compiles them, at the first request, which then waited 11-15 ms for it. Sending
 * the first requests of a page load (GET /health, GET /api/config) through `app.handle` in-process,
 * right after the app's build, which follows the listen (cli/serve.ts), does that before a client
 * usually asks; it ran before the listen, which held every first answer back by it, /health's
 * (Bun's router) too. Threat: none
 * added; the requests never reach the network, carry no credentials, and both routes only read.
 */

/** Paths whose handlers a start composes as it listens: what a health probe and the sign-in page ask first. */
export const WARM_PATHS = ['/health', '/api/config'] as const

/** Sends one anonymous GET per path through the app and reads each answer to its end. */
export async function warmUp(app: { handle(request: Request): Response | Promise<Response> }, paths: readonly string[] = WARM_PATHS): Promise<void> {
  // note: a loopback Host, which every host policy answers (config/allowed-hosts.ts).
  for (const path of paths) await (await app.handle(new Request(`http://localhost${path}`))).arrayBuffer()
}

/**
 * Composes the chat socket's route the same way: an upgrade request with no valid credential, which
 * the route refuses (401) after its handler is built. Nothing is upgraded in-process.
 */
export async function warmUpSocket(app: { handle(request: Request): Response | Promise<Response> }): Promise<void> {
  const headers = { upgrade: 'websocket', connection: 'upgrade', 'sec-websocket-version': '13', 'sec-websocket-key': 'd2FybS11cC1yZXF1ZXN0', 'sec-websocket-protocol': 'enclave, warm-up' }
  await (await app.handle(new Request('http://localhost/api/ws', { headers }))).arrayBuffer()
}
