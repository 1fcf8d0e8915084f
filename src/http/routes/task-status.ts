/**
 * Which answers are running, as Open WebUI's page and Conduit ask it: GET /api/tasks (the caller's
 * task ids) and POST /api/v1/tasks/active/chats (which of the given chats have an answer running,
 * Conduit's bulk check). Tasks are kept per user in chat/answer-tasks.ts.
 *
 * Threat: a caller learns only about their own tasks; another user's chat id is never reported active.
 */
import { Elysia, t } from 'elysia'
import type { AuthDeps } from '../../auth/auth-deps.ts'
import type { AnswerTasks } from '../../chat/answer-tasks.ts'
import type { AddressList } from '../../config/network.ts'
import { requireAuth } from '../plugins/require-auth.ts'

const ActiveChatsBody = t.Object({ chat_ids: t.Array(t.String({ maxLength: 64 }), { maxItems: 1000 }) })

export const taskStatusRoutes = (deps: AuthDeps, trustedProxies: AddressList, tasks: AnswerTasks) => new Elysia({ name: 'task-status-routes' })
  .use(requireAuth(deps, trustedProxies))
  .get('/api/tasks', ({ principal }) => ({ tasks: tasks.listTaskIdsOfUser(principal.user.id) }), { auth: 'active' })
  .post('/api/v1/tasks/active/chats', ({ principal, body }) => ({ active_chat_ids: tasks.findActiveChats(principal.user.id, body.chat_ids) }),
    { auth: 'active', body: ActiveChatsBody })
