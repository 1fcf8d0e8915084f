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
  const exportChatsOf = (owner: UserId) => {
    const all = []
    for (let offset = 0; ; offset += PAGE) {
      const page = chats.listChatsForUser(owner, { limit: PAGE, offset })
      all.push(...page.flatMap((chat) => { const tree = chats.readChatTree(owner, chat.id); return tree === null ? [] : [describeChat(tree)] }))
      if (page.length < PAGE) return all
    }
  }
  const ipOf = (request: Request, server: Parameters<typeof resolveClientAddress>[1]) => resolveClientAddress(request, server, config.trustedProxies).ip

  return new Elysia({ prefix: '/api/v1/chats' })
    .use(requireAuth(deps, config.trustedProxies))
    .get('/all', ({ principal, request, server }) => {
      const exported = exportChatsOf(principal.user.id)
      deps.audit.record({ event: 'chats_exported', actorId: principal.user.id, ip: ipOf(request, server), details: { count: exported.length } })
      return exported
    }, { auth: 'active' })

    .get('/all/db', async ({ principal, request, server }) => {
      if (!config.values.ENABLE_ADMIN_EXPORT) throw new HttpError(404, 'not_found', 'Not found.')
      const exported = []
      for (let offset = 0; ; offset += PAGE) {
        const page = await users.listUsers({ limit: PAGE, offset })
        for (const user of page) exported.push(...exportChatsOf(user.id))
        if (page.length < PAGE) break
      }
      deps.audit.record({ event: 'admin_export', actorId: principal.user.id, ip: ipOf(request, server), details: { count: exported.length } })
      return exported
    }, { auth: 'admin' })
}
