/**
 * Exports in Open WebUI's shape: `GET /api/v1/chats/all`, the signed-in user's own chats with their
 * messages (a JSON array, or NDJSON streamed a chat a line when the Accept header asks for
 * `application/x-ndjson`), and `GET /api/v1/chats/all/db`, every user's, which exists only when ENABLE_ADMIN_EXPORT
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

/** Whether the request asks for NDJSON (Open WebUI's getAllChats sends `Accept: application/x-ndjson`). */
const wantsNdjson = (request: Request) => (request.headers.get('accept') ?? '').toLowerCase().includes('application/x-ndjson')

export const chatExportRoutes = (deps: AuthDeps, config: Config) => {
  const { chats, users } = deps.store
  /** Every chat of the owner, opened, newest first, read a page at a time. */
  async function* chatsOf(owner: UserId) {
    for (let offset = 0; ; offset += PAGE) {
      const page = await chats.listChatsForUser(owner, { limit: PAGE, offset })
      for (const chat of page) {
        const tree = await chats.readChatTree(owner, chat.id)
        if (tree !== null) yield describeChat(tree)
      }
      if (page.length < PAGE) return
    }
  }
  const exportChatsOf = async (owner: UserId) => Array.fromAsync(chatsOf(owner))
  const ipOf = (request: Request, server: Parameters<typeof resolveClientAddress>[1]) => resolveClientAddress(request, server, config.trustedProxies).ip

  /**
   * The owner's chats as NDJSON, one chat a line, each read and sent as the client takes it (an
   * export of many chats is never held whole); the export is audited with the count sent once it
   * ends, or is cut off.
   */
  const streamChatsOf = (owner: UserId, audit: (count: number) => void) => {
    const encoder = new TextEncoder()
    const source = chatsOf(owner)
    let count = 0
    let isAudited = false
    const auditOnce = () => {
      if (!isAudited) audit(count)
      isAudited = true
    }
    const body = new ReadableStream<Uint8Array>({
      async pull(controller) {
        try {
          const step = await source.next()
          if (step.done) {
            auditOnce()
            controller.close()
            return
          }
          count++
          controller.enqueue(encoder.encode(JSON.stringify(step.value) + '\n'))
        } catch (error) {
          auditOnce()
          controller.error(error)
        }
      },
      async cancel() {
        auditOnce()
        await source.return(undefined)
      },
    }, { highWaterMark: 0 })
    return new Response(body, { headers: { 'content-type': 'application/x-ndjson' } })
  }

  return new Elysia({ prefix: '/api/v1/chats' })
    .use(requireAuth(deps, config.trustedProxies))
    // note: current Open WebUI answers NDJSON here (routers/chats.py get_user_chats,
    // generate_chat_export_ndjson) and its page's getAllChats (src/lib/apis/chats/index.ts) asks for
    // it and parses each line as one chat; a JSON array would be read as one "chat" holding them all,
    // and the export file would import nothing. Older pages, Enclave's own and other callers get JSON.
    .get('/all', async ({ principal, request, server }) => {
      const record = (count: number) => deps.audit.record({ event: 'chats_exported', actorId: principal.user.id, ip: ipOf(request, server), details: { count } })
      if (wantsNdjson(request)) return streamChatsOf(principal.user.id, record)
      const exported = await exportChatsOf(principal.user.id)
      record(exported.length)
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
