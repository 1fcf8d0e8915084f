/**
 * Open WebUI's task routes, so Stop works from its page and Conduit: an answer asked for with a
 * `chat_id` runs as a task (chat/answer-tasks.ts) its user can list per chat and stop, and
 * POST /api/chat/completed takes the finished chat back. Every route names the caller as owner:
 * another user's task or chat is answered 404, like an unknown one.
 */
import { Elysia, t } from 'elysia'
import type { AuthDeps } from '../../auth/auth-deps.ts'
import type { AnswerTasks } from '../../chat/answer-tasks.ts'
import type { AddressList } from '../../config/network.ts'
import { CHAT_LIMITS } from '../../db/chat-tree.ts'
import { parseChatId, type ChatId, type UserId } from '../../db/ids.ts'
import { HttpError } from '../http-error.ts'
import { requireAuth } from '../plugins/require-auth.ts'

const TaskParams = t.Object({ task_id: t.String({ maxLength: 64 }) })
const ChatParams = t.Object({ chat_id: t.String({ maxLength: 64 }) })
/** Open WebUI's form: the finished conversation (the path to the answer) with its ids. */
const CompletedBody = t.Object({
  model: t.String({ maxLength: CHAT_LIMITS.modelChars }),
  messages: t.Array(t.Object({
    id: t.Optional(t.String({ maxLength: 128 })), role: t.Optional(t.String({ maxLength: 20 })), content: t.Optional(t.Unknown()),
  }, { additionalProperties: true }), { maxItems: CHAT_LIMITS.messages }),
  chat_id: t.Optional(t.Nullable(t.String({ maxLength: 64 }))),
  session_id: t.Optional(t.Nullable(t.String({ maxLength: 200 }))),
  id: t.Optional(t.Nullable(t.String({ maxLength: 128 }))),
}, { additionalProperties: true })

const chatNotFound = () => new HttpError(404, 'chat_not_found', 'Chat not found.')

export const taskRoutes = (deps: AuthDeps, trustedProxies: AddressList, tasks: AnswerTasks) => {
  const { chats } = deps.store
  const findOwnChatId = async (owner: UserId, raw: string): Promise<ChatId> => {
    const id = parseChatId(raw)
    if (id === null || (await chats.findChatForUser(owner, id)) === null) throw chatNotFound()
    return id
  }

  /** Rewrites the messages of the finished chat whose text differs from what is stored on the path to the last of them. */
  const mergeFinishedChat = async (owner: UserId, chatId: ChatId, messages: readonly { id?: string; content?: unknown }[]) => {
    const lastUid = messages.findLast((message) => typeof message.id === 'string')?.id
    const leafId = lastUid === undefined ? null : await chats.findMessageIdByUid(owner, chatId, lastUid)
    if (leafId === null) return
    const given = new Map(messages.flatMap((message) => (typeof message.id === 'string' && typeof message.content === 'string' ? [[message.id, message.content] as const] : [])))
    for (const stored of (await chats.listPathTo(owner, chatId, leafId)) ?? []) {
      const content = given.get(stored.uid)
      if (content !== undefined && content !== stored.content && content.length <= CHAT_LIMITS.contentChars) {
        await chats.replaceMessageContentForUser(owner, chatId, stored.id, { content })
      }
    }
  }

  return new Elysia({ name: 'task-routes' })
    .use(requireAuth(deps, trustedProxies))
    .post('/api/tasks/stop/:task_id', ({ principal, params }) => {
      if (!tasks.stop(principal.user.id, params.task_id)) throw new HttpError(404, 'task_not_found', 'Task not found.')
      return { status: true, message: `Task ${params.task_id} successfully stopped.` }
    }, { auth: 'active', params: TaskParams })

    .get('/api/tasks/chat/:chat_id', async ({ principal, params }) =>
      ({ task_ids: tasks.listTaskIds(principal.user.id, await findOwnChatId(principal.user.id, params.chat_id)) }),
    { auth: 'active', params: ChatParams })

    .post('/api/tasks/chat/:chat_id/stop', async ({ principal, params }) => {
      const owner = principal.user.id
      const stopped = tasks.listTaskIds(owner, await findOwnChatId(owner, params.chat_id)).filter((id) => tasks.stop(owner, id))
      return { status: true, message: `${stopped.length} task(s) stopped.`, task_ids: stopped }
    }, { auth: 'active', params: ChatParams })

    // note: Open WebUI answers with the form as its outlet filters left it; Enclave has none, so it is the form as sent.
    .post('/api/chat/completed', async ({ principal, body }) => {
      const owner = principal.user.id
      if (body.chat_id != null && body.chat_id !== 'local' && !body.chat_id.startsWith('local:')) await mergeFinishedChat(owner, await findOwnChatId(owner, body.chat_id), body.messages)
      return body
    }, { auth: 'active', body: CompletedBody })
}
