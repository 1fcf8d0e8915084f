/**
 * The compiled binary behind the same `app.handle(request)` the in-process suites use: a request
 * built by `req()` (http://localhost/...) is sent over HTTP to a running `dist/enclave serve`, so a
 * scenario written against startTestApp runs unchanged against what ships.
 */
import { afterAll } from 'bun:test'
import { startBinary, tempDirsRemovedAfterAll, type RunningBinary } from './binary.ts'

/** What the scenario helpers (accounts.ts) need of an app: one request in, one response out. */
export type RequestHandler = { handle: (request: Request) => Promise<Response> }

export type BinaryApp = {
  app: RequestHandler
  /** The directory the binary runs in; its data is in `data/` beneath. */
  cwd: string
  server: () => RunningBinary
  /** Stops the server and starts it again on the same directory with `env` (e.g. a setting switched). */
  restart: (env?: Record<string, string>) => Promise<void>
}

/** Sends `request` to the server at `baseUrl`, keeping method, path, query, headers and body. */
export async function forwardRequest(baseUrl: string, request: Request): Promise<Response> {
  const url = new URL(request.url)
  const hasBody = request.method !== 'GET' && request.method !== 'HEAD'
  return fetch(`${baseUrl}${url.pathname}${url.search}`, {
    method: request.method,
    headers: request.headers,
    body: hasBody ? await request.arrayBuffer() : undefined,
    redirect: 'manual',
  })
}

/**
 * Starts the binary in a fresh temp directory with `env`, stopped after the file's tests. Call at
 * the top level of a test file (it registers afterAll hooks).
 */
export function binaryAppStarter(): (env?: Record<string, string>) => Promise<BinaryApp> {
  const tempDir = tempDirsRemovedAfterAll()
  const running = new Set<RunningBinary>()
  afterAll(async () => {
    for (const server of running) await server.stop()
  })
  const start = async (cwd: string, env: Record<string, string>) => {
    const server = await startBinary({ cwd, env })
    running.add(server)
    return server
  }
  return async (env = {}) => {
    const cwd = tempDir()
    let server = await start(cwd, env)
    return {
      app: { handle: (request) => forwardRequest(server.url, request) },
      cwd,
      server: () => server,
      restart: async (nextEnv = env) => {
        running.delete(server)
        await server.stop()
        server = await start(cwd, nextEnv)
      },
    }
  }
}
