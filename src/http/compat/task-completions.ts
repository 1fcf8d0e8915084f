/**
 * Open WebUI's task routes for its page: POST /api/v1/tasks/{title,tags,follow_up}/completions answer
 * as an OpenAI chat completion whose content the page parses (chat/task-answers.ts), and
 * GET /api/v1/tasks/config tells an admin how tasks run. Task settings are environment variables
 * (ENABLE_TITLE_GENERATION, TASK_MODEL, TITLE_GENERATION_PROMPT_TEMPLATE), so there is no update route.
 *
 * Threat: any active user may run a task, as any chat answer, on a model they may use (the model
 * named is checked by auth/model-access.ts, then TASK_MODEL answers when set); the conversation is
 * the caller's own text, capped in size by the body schema and the prompt builder.
 */
import { Elysia, t } from 'elysia'
import type { AuthDeps } from '../../auth/auth-deps.ts'
import type { Principal } from '../../auth/principal.ts'
import type { Connections } from '../../chat/connections.ts'
import type { ModelResolver } from '../../chat/resolve-model.ts'
import { answerTask, type TaskKind } from '../../chat/task-answers.ts'
import type { ChatConfig } from '../../config/chat-variables.ts'
import type { AddressList } from '../../config/network.ts'
import { CHAT_LIMITS } from '../../db/chat-tree.ts'
import { HttpError } from '../http-error.ts'
import { requireAuth } from '../plugins/require-auth.ts'

const TASK_TIMEOUT_MS = 60_000
const TaskBody = t.Object({
  model: t.String({ minLength: 1, maxLength: CHAT_LIMITS.modelChars }),
  messages: t.Array(t.Object({ role: t.String({ maxLength: 20 }), content: t.Unknown() }, { additionalProperties: true }), { maxItems: CHAT_LIMITS.messages }),
  chat_id: t.Optional(t.Nullable(t.String({ maxLength: 64 }))),
}, { additionalProperties: true })

const textOf = (content: unknown): string =>
  typeof content === 'string' ? content : Array.isArray(content) ? content.map((part) => (typeof part?.text === 'string' ? part.text : '')).join(' ') : ''

export const taskCompletionRoutes = (deps: AuthDeps, trustedProxies: AddressList, connections: Connections, chat: ChatConfig, models: Pick<ModelResolver, 'resolve'> | null = null) => {
  const run = (kind: TaskKind) => async ({ body, principal }: { body: typeof TaskBody.static; principal: Principal }) => {
    // note: the model asked for must be one the caller may use (resolve-model.ts, auth/model-access.ts); a
    // workspace preset runs its task on its base model; TASK_MODEL, the admin's choice, then answers in its place.
    const target = models === null ? (await deps.models.mayUseOllamaModel(principal, body.model) ? { model: body.model } : null) : await models.resolve(principal, body.model)
    if (target === null) throw new HttpError(404, 'model_not_found', 'Model not found.')
    const model = chat.titles?.taskModel ?? target.model
    const messages = body.messages.map((message) => ({ role: message.role, content: textOf(message.content) }))
    const content = await answerTask(connections, kind, model, messages, kind === 'title' ? chat.titles?.template ?? null : null, AbortSignal.timeout(TASK_TIMEOUT_MS))
    if (content === null) throw new HttpError(404, 'model_not_found', 'Model not found.')
    return {
      id: `chatcmpl-${crypto.randomUUID()}`, object: 'chat.completion', created: Math.floor(deps.now() / 1000), model: chat.titles?.taskModel ?? body.model,
      choices: [{ index: 0, message: { role: 'assistant', content }, finish_reason: 'stop' }],
    }
  }
  return new Elysia({ name: 'task-completion-routes' })
    .use(requireAuth(deps, trustedProxies))
    .get('/api/v1/tasks/config', () => ({
      TASK_MODEL: chat.titles?.taskModel ?? '', TASK_MODEL_EXTERNAL: '',
      ENABLE_TITLE_GENERATION: chat.titles !== null, TITLE_GENERATION_PROMPT_TEMPLATE: chat.titles?.template ?? '',
      ENABLE_TAGS_GENERATION: true, TAGS_GENERATION_PROMPT_TEMPLATE: '', ENABLE_FOLLOW_UP_GENERATION: true, FOLLOW_UP_GENERATION_PROMPT_TEMPLATE: '',
      ENABLE_AUTOCOMPLETE_GENERATION: false, AUTOCOMPLETE_GENERATION_INPUT_MAX_LENGTH: -1,
      ENABLE_SEARCH_QUERY_GENERATION: false, ENABLE_RETRIEVAL_QUERY_GENERATION: false, QUERY_GENERATION_PROMPT_TEMPLATE: '',
      IMAGE_PROMPT_GENERATION_PROMPT_TEMPLATE: '', TOOLS_FUNCTION_CALLING_PROMPT_TEMPLATE: '',
    }), { auth: 'admin' })
    .post('/api/v1/tasks/title/completions', run('title'), { auth: 'active', body: TaskBody })
    .post('/api/v1/tasks/tags/completions', run('tags'), { auth: 'active', body: TaskBody })
    .post('/api/v1/tasks/follow_up/completions', run('follow_up'), { auth: 'active', body: TaskBody })
}
