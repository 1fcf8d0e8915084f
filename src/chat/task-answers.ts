/**
 * Open WebUI's background tasks asked for by its page (POST /api/v1/tasks/{title,tags,follow_up}/completions):
 * a prompt built from a template and the conversation, sent to TASK_MODEL or the chat's model, and
 * the model's whole answer returned as text for the page to read (`{"title": ...}`, `{"tags": [...]}`,
 * `{"follow_ups": [...]}`).
 *
 * Threat: the answer is model output the page parses; it is capped in length here, and the
 * conversation in the prompt is capped by buildTitlePrompt, so a huge chat can't make a huge request.
 */
import { buildTitlePrompt, DEFAULT_TITLE_TEMPLATE, type TitleMessage } from './chat-title.ts'
import type { Connections } from './connections.ts'

export type TaskKind = 'title' | 'tags' | 'follow_up'

const MAX_ANSWER_CHARS = 4_000

export const TASK_TEMPLATES: Record<TaskKind, string> = {
  title: DEFAULT_TITLE_TEMPLATE,
  tags: `Give 1 to 3 broad tags for the main themes of this conversation, then 1 to 3 more specific ones, in the conversation's language. Answer with JSON only, in the form {"tags": ["tag1", "tag2"]}.

<conversation>
{{MESSAGES:END:6}}
</conversation>`,
  follow_up: `Suggest 3 to 5 short questions the user might ask next, written as the user, in the conversation's language. Answer with JSON only, in the form {"follow_ups": ["question 1?", "question 2?"]}.

<conversation>
{{MESSAGES:END:6}}
</conversation>`,
}

/** Runs one task; null when no connection has the model. */
export async function answerTask(connections: Connections, kind: TaskKind, model: string, messages: readonly TitleMessage[], template: string | null, signal: AbortSignal): Promise<string | null> {
  const first = (await connections.clientFor(model))[0]
  if (first === undefined) return null
  const prompt = buildTitlePrompt(template ?? TASK_TEMPLATES[kind], messages)
  let answer = ''
  for await (const chunk of first.client.chat({ model, messages: [{ role: 'user', content: prompt }], signal })) {
    answer += chunk.content
    if (answer.length >= MAX_ANSWER_CHARS || chunk.done) break
  }
  return answer.slice(0, MAX_ANSWER_CHARS)
}
