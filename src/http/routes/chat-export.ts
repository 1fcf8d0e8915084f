/**
 * Exports in Open WebUI's shape: `GET /api/v1/chats/all`, the signed-in user's own chats with their
 * messages (a JSON array, or NDJSON streamed a chat a line when the Accept header asks for
 * `application/x-ndjson`), and `GET /api/v1/chats/all/db`, every user's, which exists only when ENABLE_ADMIN_EXPORT
 * is true and is audited: it hands decrypted data for everyone to one administrator. The owner's chat
 * ids are listed first and the chats read one by one from that list, so a chat updated while a slow
 * client reads the export is neither skipped nor sent twice. An NDJSON export that fails after its
 * 200 went out (a chat that cannot be decrypted) is cut short, logged as an error (no content) and
 * audited as truncated, since the client was already told it had begun well.
 */
import { Elysia } from 'elysia'
import type { AuthDeps } from '../../auth/auth-deps.ts'
import type { Config } from '../../config/load-config.ts'
import { FieldOpenError } from '../../db/field-open-error.ts'
import type { UserId } from '../../db/ids.ts'
import type { Logger } from '../../log/logger.ts'
import { resolveClientAddress } from '../client-address.ts'
import { HttpError } from '../http-error.ts'
import { requireAuth } from '../plugins/require-auth.ts'
import { describeChat } from './chats.ts'

const PAGE = 500

/** Whether the request asks for NDJSON (Open WebUI's getAllChats sends `Accept: application/x-ndjson`). */
const wantsNdjson = (request: Request) => (request.headers.get('accept') ?? '').toLowerCase().includes('application/x-ndjson')

/** What the log says of an export that failed midway: where, never what the chats hold. */
const failureFields = (error: unknown) => error instanceof FieldOpenError
  ? { table: error.table, column: error.column, row: error.rowId }
  : { error: error instanceof Error ? error.name : 'unknown' }

export const chatExportRoutes = (deps: AuthDeps, config: Config, log: Logger) => {
  const { chats, users } = deps.store
  /**
   * Every chat of the owner, opened, newest first as they were when the export began. note: offset
   * pages over a list ordered by update time shifted under a slow reader (a chat answered meanwhile
   * moved to the front: one skipped, another sent twice), so the ids are taken once and each chat
   * read by id; one deleted meanwhile is left out.
   */
  async function* chatsOf(owner: UserId) {
    for (const chatId of await chats.listChatIdsForUser(owner)) {
      const tree = await chats.readChatTree(owner, chatId)
      if (tree !== null) yield describeChat(tree)
    }
  }
  const exportChatsOf = async (owner: UserId) => Array.fromAsync(chatsOf(owner))
  const ipOf = (request: Request, server: Parameters<typeof resolveClientAddress>[1]) => resolveClientAddress(request, server, config.trustedProxies).ip

  /**
   * The owner's chats as NDJSON, one chat a line, each read and sent as the client takes it (an
   * export of many chats is never held whole); the export is audited with the count sent once it
   * ends, or is cut off.
   */
  const streamChatsOf = (owner: UserId, audit: (count: number, truncated: boolean) => void) => {
    const encoder = new TextEncoder()
    const source = chatsOf(owner)
    let count = 0
    let isAudited = false
    const auditOnce = (truncated: boolean) => {
      if (!isAudited) audit(count, truncated)
      isAudited = true
    }
    const body = new ReadableStream<Uint8Array>({
      async pull(controller) {
        try {
          const step = await source.next()
          if (step.done) {
            auditOnce(false)
            controller.close()
            return
          }
          count++
          controller.enqueue(encoder.encode(JSON.stringify(step.value) + '\n'))
        } catch (error) {
          log.error('chat export failed midway', { path: '/api/v1/chats/all', sent: count, ...failureFields(error) })
          auditOnce(true)
          controller.error(error)
        }
      },
      async cancel() {
        auditOnce(true)
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
      const record = (count: number, truncated = false) =>
        deps.audit.record({ event: 'chats_exported', actorId: principal.user.id, ip: ipOf(request, server), details: truncated ? { count, truncated } : { count } })
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
