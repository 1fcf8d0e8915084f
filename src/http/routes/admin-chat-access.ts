/**
 * Admins reading other users' chats, as Open WebUI's admin pages do (GET /api/v1/chats/list/user/{id},
 * GET /api/v1/chats/{id} of another user), only when ENABLE_ADMIN_CHAT_ACCESS is on: Enclave's
 * default is off, since its chats are private (Open WebUI's is on). Off, the list answers 403 and
 * another user's chat 404, as for anyone. On, every read is written to the audit log with the admin,
 * the owner and the chat id (or the count of chats listed). Reads only: an admin never writes here.
 */
import { Elysia, t } from 'elysia'
import { Numeric } from '../numeric-schemas.ts'
import type { AuthDeps } from '../../auth/auth-deps.ts'
import type { Principal } from '../../auth/principal.ts'
import type { AddressList } from '../../config/network.ts'
import { parseChatId, parseUserId, type ChatId, type UserId } from '../../db/ids.ts'
import { resolveClientAddress } from '../client-address.ts'
import { HttpError } from '../http-error.ts'
import { requireAuth } from '../plugins/require-auth.ts'

const PAGE_SIZE = 60
const seconds = (ms: number) => Math.floor(ms / 1000)

/**
 * Another user's chat an admin may read, audited as read; null when the caller is not an admin,
 * the switch is off, or there is no such chat (the caller then answers 404 as for anyone).
 */
export async function findChatForAdmin(deps: AuthDeps, principal: Principal, raw: string, ip: string | null): Promise<{ owner: UserId; id: ChatId } | null> {
  if (principal.user.role !== 'admin' || !deps.auth.access.adminChatAccess) return null
  const id = parseChatId(raw)
  const owner = id === null ? null : await deps.store.chats.findChatOwner(id)
  if (id === null || owner === null || owner === principal.user.id) return null
  deps.audit.record({ event: 'admin_chat_read', actorId: principal.user.id, targetId: owner, ip, details: { chat_id: id } })
  return { owner, id }
}

/** GET /api/v1/chats/list/user/{id}: an admin's list of another user's chats (titles and ids), audited. */
export const adminChatAccessRoutes = (deps: AuthDeps, trustedProxies: AddressList) => new Elysia({ name: 'admin-chat-access-routes' })
  .use(requireAuth(deps, trustedProxies))
  .get('/api/v1/chats/list/user/:user_id', async ({ principal, params, query, request, server }) => {
    if (!deps.auth.access.adminChatAccess) throw new HttpError(403, 'admin_chat_access_disabled', 'Admins may not open other users\' chats on this server (ENABLE_ADMIN_CHAT_ACCESS).')
    const owner = parseUserId(params.user_id)
    if (owner === null || await deps.store.users.findUserById(owner) === null) throw new HttpError(404, 'user_not_found', 'User not found.')
    const limit = query.limit ?? PAGE_SIZE
    const chats = await deps.store.chats.listChatsForUser(owner, { limit, offset: ((query.page ?? 1) - 1) * limit })
    deps.audit.record({
      event: 'admin_chat_read', actorId: principal.user.id, targetId: owner, ip: resolveClientAddress(request, server, trustedProxies).ip,
      details: { chats_listed: chats.length },
    })
    return chats.map((chat) => ({ id: chat.id, title: chat.title, updated_at: seconds(chat.updatedAt), created_at: seconds(chat.createdAt) }))
  }, {
    auth: 'admin', params: t.Object({ user_id: t.String({ maxLength: 64 }) }),
    query: t.Object({
      page: t.Optional(Numeric({ minimum: 1, maximum: 1_000_000 })), limit: t.Optional(Numeric({ minimum: 1, maximum: 100 })),
      order_by: t.Optional(t.String({ maxLength: 40 })), direction: t.Optional(t.String({ maxLength: 10 })), query: t.Optional(t.String({ maxLength: 500 })),
    }),
  })
