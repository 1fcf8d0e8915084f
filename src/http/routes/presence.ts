/**
 * Who is online, as Open WebUI's page asks it: GET /api/usage (the user menu's "active users") and
 * GET /api/v1/users/{id}/active. Online means at least one socket open (chat/socket-hub.ts).
 *
 * Threat: the list of who is online is an admin's to see; anyone else learns only about themselves
 * from /api/usage, and /{id}/active answers 404 for an unknown id like the other user routes.
 */
import { Elysia, t } from 'elysia'
import type { AuthDeps } from '../../auth/auth-deps.ts'
import type { SocketHub } from '../../chat/socket-hub.ts'
import type { AddressList } from '../../config/network.ts'
import { parseUserId } from '../../db/ids.ts'
import { HttpError } from '../http-error.ts'
import { requireAuth } from '../plugins/require-auth.ts'

export const presenceRoutes = (deps: AuthDeps, trustedProxies: AddressList, hub: SocketHub) => new Elysia({ name: 'presence-routes' })
  .use(requireAuth(deps, trustedProxies))
  // note: Open WebUI also lists the models answering right now; Enclave does not track that (always []).
  .get('/api/usage', ({ principal }) => {
    const online = hub.connectedUserIds()
    const user_ids = principal.user.role === 'admin' ? online : online.filter((id) => id === principal.user.id)
    return { model_ids: [], user_ids }
  }, { auth: 'active' })
  .get('/api/v1/users/:id/active', async ({ params }) => {
    const id = parseUserId(params.id)
    if (id === null || await deps.store.users.findUserById(id) === null) throw new HttpError(404, 'user_not_found', 'User not found.')
    return { active: hub.socketsOf(id).length > 0 }
  }, { auth: 'active', params: t.Object({ id: t.String({ maxLength: 64 }) }) })
