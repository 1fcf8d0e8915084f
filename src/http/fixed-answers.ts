/**
 * /health and /api/version answered by Bun's own router (`Bun.serve`'s `routes`), before Elysia:
 * probes poll them often, and Elysia's request pipeline (its hooks, the security-headers plugin
 * filling a header object, routing, merging headers into the Response) cost about 40% of the
 * bare runtime's rate. Each answer here carries exactly the headers the app gives the same request
 * (the configured security headers, CACHE_CONTROL on /api/ paths, HSTS only over HTTPS as
 * client-address.ts decides it) and the same body (routes/health.ts makes both).
 * Threat: a fast path that skips a check. Every request a plugin could refuse or change goes to the
 * app instead: a Host outside ALLOWED_HOSTS, a request with a body, any method but GET (and HEAD,
 * which Bun answers from the GET handler, without the body). With CORS
 * configured or in single-user mode (plugins that look at every request) there is no fast path.
 */
import type { Server } from 'bun'
import type { HostPolicy } from '../config/allowed-hosts.ts'
import type { CorsPolicy } from '../config/cors-origins.ts'
import type { AddressList } from '../config/network.ts'
import type { SecurityHeaderSettings } from '../config/security-header-settings.ts'
import { arrivedOverHttps } from './client-address.ts'
import { hostDecider } from './plugins/host-check.ts'

export type PeerSource = Pick<Server<unknown>, 'requestIP'>

export type FixedAnswerSettings = {
  securityHeaders: SecurityHeaderSettings
  trustedProxies: AddressList
  allowedHosts: HostPolicy
  cors: CorsPolicy
  singleUser: boolean
}

/** A JSON body for each path, made for each request (it may change, as /health's with Redis). */
export type FixedBodies = Readonly<Record<string, () => string>>

/** What `Bun.serve`'s `routes` takes for these paths: a GET handler each; other methods go to the app. */
export type FixedAnswerRoutes = Record<string, { GET: (request: Request, server: PeerSource) => Response | Promise<Response> }>

/** Whether fast routes may be served: not while a plugin looks at every request (CORS, single-user mode). */
export function fastRoutesAllowed({ cors, singleUser }: FixedAnswerSettings): boolean {
  return !(singleUser || cors.allowsAnyOrigin || cors.allowedOrigins.length > 0)
}

/**
 * The headers the app puts on a JSON answer at `path`, prebuilt: the configured security headers,
 * CACHE_CONTROL on /api/ paths, and HSTS only over HTTPS, decided by `arrivedOverHttps` exactly as
 * the security-headers plugin decides it. A Response copies the Headers it is given, never shares them.
 */
export function jsonAnswerHeaders(settings: FixedAnswerSettings, path: string): (request: Request, server: PeerSource) => Headers {
  const { everyResponse, apiCacheControl, strictTransportSecurity } = settings.securityHeaders
  const plain: Record<string, string> = { ...everyResponse, 'content-type': 'application/json;charset=utf-8' }
  if (apiCacheControl !== null && path.startsWith('/api/')) plain['cache-control'] = apiCacheControl
  const overHttp = new Headers(plain)
  if (strictTransportSecurity === null) return () => overHttp
  const overHttps = new Headers({ ...plain, 'strict-transport-security': strictTransportSecurity })
  return (request, server) => (arrivedOverHttps(request, server, settings.trustedProxies) ? overHttps : overHttp)
}

/** Whether a request may take a fast route at all: no body (declared or chunked), and a Host within ALLOWED_HOSTS. */
export function fastRouteGate(settings: FixedAnswerSettings): (request: Request) => boolean {
  const isHostAllowed = hostDecider(settings.allowedHosts)
  return (request) => {
    const headers = request.headers
    return !headers.has('content-length') && !headers.has('transfer-encoding') && isHostAllowed(request)
  }
}

/** The fast routes, or none when a plugin would look at every request; `toApp` answers what they leave. */
export function fixedAnswerRoutes(settings: FixedAnswerSettings, bodies: FixedBodies, toApp: (request: Request) => Response | Promise<Response>): FixedAnswerRoutes {
  if (!fastRoutesAllowed(settings)) return {}
  const mayTake = fastRouteGate(settings)
  const routes: FixedAnswerRoutes = {}
  for (const [path, bodyOf] of Object.entries(bodies)) {
    const headersFor = jsonAnswerHeaders(settings, path)
    routes[path] = {
      GET(request, server) {
        if (!mayTake(request)) return toApp(request)
        return new Response(bodyOf(), { headers: headersFor(request, server) })
      },
    }
  }
  return routes
}
