/**
 * `GET /` (the page) answered by Bun's own router, as fixed-answers.ts answers /health: the same
 * answer the app's static-assets route gives (assets.ts `serveIndex`, one gzip cache for both), with
 * the headers the security-headers plugin adds to it (the configured ones, HSTS only over HTTPS as
 * client-address.ts decides it; no CACHE_CONTROL, which only /api/ paths take). It is served from
 * the moment the port opens, while the app is still being built (cli/serve.ts).
 * Threat: a fast path that skips a check. Every request a plugin could refuse or change goes to the
 * app: a Host outside ALLOWED_HOSTS, a request with a body, any method but GET (and HEAD, which Bun
 * answers from the GET handler, without the body). With CORS configured or in single-user mode
 * (plugins that look at every request) there is no fast path. The page needs no settings read
 * (fresh-settings.ts reads them before an app route, and no answer of the page depends on them).
 */
import type { UiPage } from './assets.ts'
import { arrivedOverHttps } from './client-address.ts'
import { fastRouteGate, fastRoutesAllowed, type FixedAnswerRoutes, type FixedAnswerSettings } from './fixed-answers.ts'

/** The fast route for `/`, or none when a plugin would look at every request; `toApp` answers what it leaves. */
export function pageRoutes(settings: FixedAnswerSettings, page: Pick<UiPage, 'serveIndex'>, toApp: (request: Request) => Response | Promise<Response>): FixedAnswerRoutes {
  if (!fastRoutesAllowed(settings)) return {}
  const mayTake = fastRouteGate(settings)
  const everyResponse = Object.entries(settings.securityHeaders.everyResponse)
  const { strictTransportSecurity } = settings.securityHeaders
  return {
    '/': {
      async GET(request, server) {
        if (!mayTake(request)) return toApp(request)
        const response = await page.serveIndex(request)
        const headers = response.headers
        for (const [name, value] of everyResponse) headers.set(name, value)
        if (strictTransportSecurity !== null && arrivedOverHttps(request, server, settings.trustedProxies)) headers.set('strict-transport-security', strictTransportSecurity)
        return response
      },
    },
  }
}
