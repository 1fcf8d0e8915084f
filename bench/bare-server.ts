/**
 * The bare runtime the footprint is compared against: a compiled Bun program that answers 200 "ok"
 * on 127.0.0.1 at the port given as its one argument, and upgrades a WebSocket request (answering
 * the `enclave` subprotocol, as Enclave does) to a socket that does nothing, with nothing else loaded.
 */
Bun.serve({
  hostname: '127.0.0.1',
  port: Number(process.argv[2]),
  fetch: (request, server) => (request.headers.get('upgrade') === 'websocket' && server.upgrade(request, { headers: { 'sec-websocket-protocol': 'enclave' } }) ? undefined : new Response('ok')),
  websocket: { message() {} },
})
