/**
 * The bare runtime the footprint is compared against: a compiled Bun program that answers 200 "ok"
 * on 127.0.0.1 at the port given as its one argument, with nothing else loaded.
 */
Bun.serve({ hostname: '127.0.0.1', port: Number(process.argv[2]), fetch: () => new Response('ok') })
