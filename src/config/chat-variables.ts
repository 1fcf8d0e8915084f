import { boolean, integerFrom, nonEmptyText } from './parsers.ts'
import type { Variable } from './variable.ts'
import type { VariableValues } from './variables.ts'

/** How chats use the model beyond answering: titles, and how many answers a user may run at once. */
export type ChatConfig = Readonly<{
  /** Null when titles are not generated (the first line of the first message stays the title). */
  titles: Readonly<{ template: string | null; taskModel: string | null }> | null
  maxConcurrentAnswersPerUser: number
}>

/** Chat tasks. Title generation keeps Open WebUI's names and meanings; the answer limit is ours. */
export const chatVariables = {
  ENABLE_TITLE_GENERATION: { parse: boolean, default: true, doc: 'After the first answer in a new chat, ask the model for a short title (over the socket; over /api/chat/completions when the request asks for `background_tasks.title_generation`, as Open WebUI\'s page does). Off: the first message is the title.' },
  TITLE_GENERATION_PROMPT_TEMPLATE: {
    parse: nonEmptyText, default: null,
    doc: 'Prompt that asks for a title. {{MESSAGES:END:N}} stands for the last N messages, {{prompt}} for the first user message ({{prompt:start:N}}, {{prompt:end:N}}, {{prompt:middletruncate:N}} for parts of it). The answer may be a JSON object {"title": ...} or plain text. Unset uses a built-in prompt.',
  },
  TASK_MODEL: { parse: nonEmptyText, default: null, doc: 'Model that writes titles and tags; unset uses the model of the chat.' },
  ENABLE_COMMUNITY_SHARING: {
    parse: boolean, default: false,
    doc: 'Let users share a chat as a link any signed-in user can open (a snapshot, revocable). Off answers 403 to share requests; Open WebUI defaults to true. The starting value of the admin config\'s setting of that name: once an admin saves the admin config, the saved value holds.',
  },
  CHAT_MAX_CONCURRENT_ANSWERS: {
    parse: integerFrom(1, 100), default: 3,
    doc: 'Answers one user may have streaming at once; a further chat:send gets a too_many_answers error until one ends. Also how many title and tag requests after /api/chat/completions answers one user may have running at once (past that, the title is the first message).',
  },
} as const satisfies Record<string, Variable<unknown>>

/** Builds the chat settings from the parsed variables. */
export function chatConfigFrom(values: VariableValues): ChatConfig {
  return {
    titles: values.ENABLE_TITLE_GENERATION ? { template: values.TITLE_GENERATION_PROMPT_TEMPLATE, taskModel: values.TASK_MODEL } : null,
    maxConcurrentAnswersPerUser: values.CHAT_MAX_CONCURRENT_ANSWERS,
  }
}
