/**
 * POST /api/v1/auths/single-user: in single-user mode, gives this machine's browser a session for
 * the one account, an admin, with no sign-in. The single-user guard has already refused foreign
 * host names, proxies and other sites; here the request must also carry this server's own Origin,
 * which a browser always sends on a POST from its page (a script-less form or a tool sends none).
 * Off single-user mode, the route does not exist (404).
 */
import { Elysia } from 'elysia'
import type { AuthDeps } from '../../auth/auth-deps.ts'
import { findSingleUser } from '../../auth/single-user.ts'
import type { AddressList } from '../../config/network.ts'
import { resolveClientAddress } from '../client-address.ts'
import { HttpError } from '../http-error.ts'
import { isLoopbackHostHeader } from '../request-origin.ts'
import { answerWithSession } from '../session-answer.ts'

export const singleUserRoutes = (deps: AuthDeps, trustedProxies: AddressList) =>
  new Elysia().post('/api/v1/auths/single-user', async ({ request, server, set }) => {
    if (!deps.auth.singleUser) throw new HttpError(404, 'not_found', 'Not found.')
    const host = request.headers.get('host')
    if (!isLoopbackHostHeader(host) || request.headers.get('origin')?.toLowerCase() !== `http://${host!.toLowerCase()}`) {
      throw new HttpError(403, 'cross_site_request', 'Open this server\'s own page on this machine to use it.')
    }
    const user = await findSingleUser(deps.store)
    if (user === null) throw new HttpError(409, 'not_single_user', 'This server has more than one account; restart it without SINGLE_USER_MODE.')
    const client = resolveClientAddress(request, server, trustedProxies)
    deps.audit.record({ event: 'signin_succeeded', actorId: user.id, ip: client.ip, method: 'single_user' })
    return answerWithSession(deps, user, request, client, set)
  })
