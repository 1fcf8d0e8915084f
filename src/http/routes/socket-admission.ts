/**
 * Who may open the chat socket (routes/socket.ts): the upgrade request's credential, from the
 * `enclave, <token>` subprotocol offer (answered with `enclave`), else the Authorization or
 * x-api-key header or the `token` cookie, authenticated through the one auth path for /api/ws
 * (a refused credential gets the answer HTTP gives it, auth-refusal.ts: an API key limited to other
 * routes 403, audited `api_key_denied` as require-auth.ts audits it); pending accounts are refused,
 * and so is a user who holds WEBSOCKET_MAX_SOCKETS_PER_USER sockets here already (429
 * `too_many_sockets`, audited `socket_limit_reached`; socket-quota.ts).
 * Format: Sec-WebSocket-Protocol is a comma-separated list; the first entry other than `enclave`
 * is the token when `enclave` is offered.
 * Threat: cross-site WebSocket hijacking (a browser attaches the `token` cookie to a socket any site
 * opens): an Origin must be this server's own, WEBUI_URL's, or listed in CORS_ALLOW_ORIGIN; a missing
 * Origin passes only when the credential is not a cookie (browsers always send one). Both the app's
 * route and Bun's router (socket-upgrade.ts) admit through this one function.
 */
import type { AuthDeps } from '../../auth/auth-deps.ts'
import { authenticate, findCredential } from '../../auth/authenticate.ts'
import type { Config } from '../../config/load-config.ts'
import type { UserId } from '../../db/ids.ts'
import { authRefusal } from '../auth-refusal.ts'
import { originOfServer, resolveClientAddress } from '../client-address.ts'
import { HttpError } from '../http-error.ts'
import type { SocketQuota } from './socket-quota.ts'
import { SOCKET_PATH, type Admission } from './socket-state.ts'

/** The subprotocol a client offers alongside its token, and the one the server answers. */
export const SOCKET_PROTOCOL = 'enclave'

export type UpgradeServer = Parameters<typeof resolveClientAddress>[1]
export type AdmitUpgrade = (request: Request, server: UpgradeServer) => Promise<{ admission: Admission; answersProtocol: boolean }>

/** The socket's admission for this server's settings. */
export function upgradeAdmission(auth: AuthDeps, config: Config, quota: Pick<SocketQuota, 'isFull' | 'limit'>): AdmitUpgrade {
  const changes = auth.store.accountChanges
  const listedOrigins = new Set(config.cors.allowsAnyOrigin ? [] : config.cors.allowedOrigins)
  if (config.publicUrl !== null) listedOrigins.add(new URL(config.publicUrl).origin)

  /**
   * Admits an upgrade request (see the header): the credential's admission, and whether the answer
   * names SOCKET_PROTOCOL; a refusal is thrown as the HttpError the app answers with.
   */
  async function admitUpgrade(request: Request, server: UpgradeServer): Promise<{ admission: Admission; answersProtocol: boolean }> {
    const offered = offeredProtocols(request.headers)
    const protocolToken = offered.includes(SOCKET_PROTOCOL) ? offered.find((entry) => entry !== SOCKET_PROTOCOL) ?? null : null
    const credential = protocolToken ?? findCredential(request.headers)
    if (credential === null) throw new HttpError(401, 'not_authenticated', 'Not authenticated.')
    const isCookie = protocolToken === null && !request.headers.has('authorization') && !request.headers.has('x-api-key')
    if (!isAllowedOrigin(request, server, isCookie)) throw new HttpError(403, 'cross_site_request', 'This request came from another site and was refused.')
    const before = changes.changeCount()
    const result = await authenticate(auth, credential, SOCKET_PATH)
    if (!result.ok) {
      // note: audited and answered as an HTTP route does (require-auth.ts): a key limited to other routes, or a user held to
      // enrolling a second factor, gets 403 (you may not), not 401 (who are you), on which clients sign in again.
      if (result.reason === 'api_key_not_allowed' || result.reason === 'api_key_endpoint_denied') {
        auth.audit.record({ event: 'api_key_denied', ip: clientIp(request, server), reason: result.reason, details: { path: SOCKET_PATH } })
      }
      throw authRefusal(result.reason)
    }
    if (result.principal.user.role === 'pending') throw new HttpError(403, 'account_pending', 'Your account is awaiting approval by an administrator.')
    const { principal } = result
    const userId = principal.user.id as UserId
    if (quota.isFull(userId)) {
      auth.audit.record({ event: 'socket_limit_reached', actorId: userId, ip: clientIp(request, server), method: principal.via, details: { limit: quota.limit } })
      throw new HttpError(429, 'too_many_sockets', `This account has ${quota.limit} chat connections open already; close a tab and try again.`)
    }
    const held: Admission['held'] = principal.via === 'session' ? { via: 'session', sessionId: principal.sessionId } : { via: 'api_key', apiKeyId: principal.apiKeyId }
    // note: a change announced while the credential was read leaves the generation unknown (NaN), so the socket checks it again on open.
    const generation = changes.changeCount() === before ? changes.generationOf(userId) : Number.NaN
    return { admission: { userId, credential, generation, held }, answersProtocol: offered.includes(SOCKET_PROTOCOL) }
  }

  return admitUpgrade

  function clientIp(request: Request, server: UpgradeServer): string {
    return resolveClientAddress(request, server, config.trustedProxies).ip
  }

  function isAllowedOrigin(request: Request, server: UpgradeServer, isCookie: boolean): boolean {
    const origin = request.headers.get('origin')
    if (origin === null) return !isCookie
    if (listedOrigins.has(origin) || origin === originOfServer(request, server, config.trustedProxies)) return true
    return config.cors.allowsAnyOrigin && !isCookie
  }
}

function offeredProtocols(headers: Headers): string[] {
  return (headers.get('sec-websocket-protocol') ?? '').split(',').map((entry) => entry.trim()).filter((entry) => entry !== '')
}
