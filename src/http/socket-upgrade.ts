/**
 * The chat socket's upgrade (`GET /api/ws`) taken by Bun's own router before Elysia, as
 * session-user.ts answers `GET /api/v1/auths/`: the same admission (routes/socket-admission.ts
 * `admitUpgrade`: credential, Origin, account state) and the same socket handling after it, but
 * the socket's data is its own state alone. Through Elysia's route each idle socket kept the
 * route's request context (the request, its headers parsed into an object, `set`, the store),
 * six closures and an error-handler list, and each upgrade ran the app's request pipeline.
 * Threat: a fast path that skips a check. Only a plain upgrade comes here (GET, no body, a Host
 * within ALLOWED_HOSTS, a credential offered); everything else goes to the app. Settings older than
 * their second are read again first, as the app's fresh-settings hook would (settings that could not
 * be read: the app's). A refusal of the admission (an HttpError: 401, 403, 429) is answered here
 * with the app's own answer for it (`HttpError.toResponse`, as httpErrors renders it, with the
 * headers jsonAnswerHeaders gives an /api/ path as the security-headers plugin does; the equivalence
 * tests, test/ws/socket-upgrade-equivalence.test.ts and test/binary/socket-upgrade.test.ts, compare
 * the status, every header and the body), so a credential is checked, and a refusal audited, once; a read that failed (the
 * database away) goes to the app. A credential is admitted here whether or not the principal cache
 * remembers it: after a restart every page reconnects its socket before the cache knows anyone,
 * and those sockets stay. With CORS configured or in single-user mode (plugins
 * that look at every request) there is no fast path at all. The 101 answer carries the headers the
 * app's security-headers plugin gives it (CACHE_CONTROL, HSTS only over HTTPS) and the protocol.
 */
import type { Server } from 'bun'
import { findCredential } from '../auth/authenticate.ts'
import { arrivedOverHttps } from './client-address.ts'
import { fastRouteGate, fastRoutesAllowed, jsonAnswerHeaders, type FixedAnswerSettings } from './fixed-answers.ts'
import { HttpError } from './http-error.ts'
import { refreshSettings, type KeepsSettings } from './plugins/fresh-settings.ts'
import { SOCKET_PROTOCOL, type SocketEntry } from './routes/socket.ts'

export const SOCKET_UPGRADE_PATH = '/api/ws'

type UpgradeServer = Pick<Server<unknown>, 'requestIP' | 'upgrade'>
export type SocketUpgradeRoutes = Record<string, { GET: (request: Request, server: UpgradeServer) => Response | undefined | Promise<Response | undefined> }>

/** The credential the request offers: the token after `enclave` in Sec-WebSocket-Protocol, else a header or the cookie (as admitUpgrade reads it). */
function offeredCredential(request: Request): string | null {
  const offered = (request.headers.get('sec-websocket-protocol') ?? '').split(',').map((entry) => entry.trim()).filter((entry) => entry !== '')
  if (offered.includes(SOCKET_PROTOCOL)) {
    const token = offered.find((entry) => entry !== SOCKET_PROTOCOL)
    if (token !== undefined) return token
  }
  return findCredential(request.headers)
}

/** The fast upgrade route, or none when a plugin would look at every request; `toApp` answers what it leaves. */
export function socketUpgradeRoutes(
  settings: FixedAnswerSettings,
  deps: { keepers: readonly KeepsSettings[]; entry: SocketEntry },
  toApp: (request: Request) => Response | Promise<Response>,
): SocketUpgradeRoutes {
  if (!fastRoutesAllowed(settings)) return {}
  const { keepers, entry } = deps
  const mayTake = fastRouteGate(settings)
  const settingsAreFresh = () => {
    for (const keeper of keepers) if (keeper.isFresh?.() !== true) return false
    return true
  }
  const { everyResponse, apiCacheControl, strictTransportSecurity } = settings.securityHeaders
  const plain: Record<string, string> = { ...everyResponse, ...(apiCacheControl === null ? {} : { 'cache-control': apiCacheControl }) }
  const refusalHeadersFor = jsonAnswerHeaders(settings, SOCKET_UPGRADE_PATH)
  const headersFor = (request: Request, server: UpgradeServer, answersProtocol: boolean): Record<string, string> => {
    const overHttps = strictTransportSecurity !== null && arrivedOverHttps(request, server, settings.trustedProxies)
    return { ...plain, ...(overHttps ? { 'strict-transport-security': strictTransportSecurity } : {}), ...(answersProtocol ? { 'sec-websocket-protocol': SOCKET_PROTOCOL } : {}) }
  }
  return {
    [SOCKET_UPGRADE_PATH]: {
      async GET(request, server) {
        // note: `Upgrade: websocket` exactly, as the app's router matches its socket route (Elysia's compose: `=== 'websocket'`);
        // any other spelling is the app's to answer (404), though Bun's upgrade would take it.
        if (!mayTake(request) || request.headers.get('upgrade') !== 'websocket') return toApp(request)
        if (offeredCredential(request) === null) return toApp(request)
        // note: settings older than their second are read again first, as the app's fresh-settings hook does and
        // session-user.ts here: a start's first upgrade meets them so (the auth settings are not read during a start),
        // and handed to the app it waited for the app's build and the WAL's start (listen + 10 ms → socket open at
        // listen + 34 ms in a traced start, its first frame after the app's warm-up). Settings that could not be read are the app's.
        if (!settingsAreFresh()) {
          await refreshSettings(keepers)
          if (!settingsAreFresh()) return toApp(request)
        }
        let admitted: Awaited<ReturnType<SocketEntry['admitUpgrade']>>
        try {
          admitted = await entry.admitUpgrade(request, server)
        } catch (error) {
          // note: a refusal is answered here as the app answers it (httpErrors: `toResponse`), rather than the app checking the
          // credential again: a flood of made-up `sk-…` keys cost two key lookups each. A read that failed (the database away) is the app's to answer.
          if (!(error instanceof HttpError)) return toApp(request)
          const refusal = error.toResponse()
          refusalHeadersFor(request, server).forEach((value, name) => refusal.headers.set(name, value))
          return refusal
        }
        if (server.upgrade(request, { headers: headersFor(request, server, admitted.answersProtocol), data: entry.dataFor(admitted.admission) })) return undefined
        return toApp(request)
      },
    },
  }
}
