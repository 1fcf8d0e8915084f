/**
 * Exports in Open WebUI's shape: `GET /api/v1/chats/all`, the signed-in user's own chats with their
 * messages, and `GET /api/v1/chats/all/db`, every user's, which exists only when ENABLE_ADMIN_EXPORT
 * is true and is audited: it hands decrypted data for everyone to one administrator.
 */
import { Elysia } from 'elysia'
import type { AuthDeps } from '../../auth/auth-deps.ts'
import type { Config } from '../../config/load-config.ts'
import type { UserId } from '../../db/ids.ts'
import { resolveClientAddress } from '../client-address.ts'
import { HttpError } from '../http-error.ts'
import { requireAuth } from '../plugins/require-auth.ts'
import { describeChat } from './chats.ts'

const PAGE = 500

export const chatExportRoutes = (deps: AuthDeps, config: Config) => {
  const { chats, users } = deps.store
  /** Every chat of the owner, opened, newest first. */
  const exportChatsOf = async (owner: UserId) => {
    const all = []
    for (let offset = 0; ; offset += PAGE) {
      const page = await chats.listChatsForUser(owner, { limit: PAGE, offset })
      for (const chat of page) {
        const tree = await chats.readChatTree(owner, chat.id)
        if (tree !== null) all.push(describeChat(tree))
      }
      if (page.length < PAGE) return all
    }
  }
  const ipOf = (request: Request, server: Parameters<typeof resolveClientAddress>[1]) => resolveClientAddress(request, server, config.trustedProxies).ip

  return new Elysia({ prefix: '/api/v1/chats' })
    .use(requireAuth(deps, config.trustedProxies))
    .get('/all', async ({ principal, request, server }) => {
      const exported = await exportChatsOf(principal.user.id)
      deps.audit.record({ event: 'chats_exported', actorId: principal.user.id, ip: ipOf(request, server), details: { count: exported.length } })
      return exported
    }, { auth: 'active' })

    .get('/all/db', async ({ principal, request, server }) => {
      if (!config.values.ENABLE_ADMIN_EXPORT) throw new HttpError(404, 'not_found', 'Not found.')
      const exported = []
      for (let offset = 0; ; offset += PAGE) {
        const page = await users.listUsers({ limit: PAGE, offset })
        for (const user of page) exported.push(...await exportChatsOf(user.id))
        if (page.length < PAGE) break
      }
      deps.audit.record({ event: 'admin_export', actorId: principal.user.id, ip: ipOf(request, server), details: { count: exported.length } })
      return exported
    }, { auth: 'admin' })
}
