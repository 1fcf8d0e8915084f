/**
 * Chat titles written by the model, as Open WebUI does after the first exchange: a prompt built
 * from TITLE_GENERATION_PROMPT_TEMPLATE (or ours) and the conversation, sent to TASK_MODEL or the
 * chat's own model, and an answer read as `{"title": ...}` or as plain text.
 *
 * Threat: the answer is model output, so it is cut to one short line of printable text before it
 * becomes a title; the conversation in the prompt is capped, so a huge chat can't make a huge request.
 */
import type { Connections } from './connections.ts'

export const DEFAULT_TITLE_TEMPLATE = `Write a short title, 3 to 5 words, that names the topic of this conversation. Use the conversation's language. Answer with JSON only, in the form {"title": "..."}.

<conversation>
{{MESSAGES:END:2}}
</conversation>`

export const MAX_TITLE_LENGTH = 80
const MAX_MESSAGE_CHARS = 2_000

export type TitleMessage = { role: string; content: string }

/** Fills the template's placeholders from the conversation (oldest message first). */
export function buildTitlePrompt(template: string, messages: readonly TitleMessage[]): string {
  const firstPrompt = messages.find((message) => message.role === 'user')?.content ?? ''
  return template
    .replace(/\{\{MESSAGES(?::(START|END|MIDDLETRUNCATE):(\d+))?\}\}/g, (_, mode: string | undefined, count: string | undefined) =>
      formatMessages(pickMessages(messages, mode, Number(count ?? 0))))
    .replace(/\{\{prompt(?::(start|end|middletruncate):(\d+))?\}\}/g, (_, mode: string | undefined, count: string | undefined) =>
      cutText(firstPrompt, mode, Number(count ?? 0)))
}

/** Reads a title from the model's answer; null when it holds nothing usable. */
export function parseTitleAnswer(answer: string): string | null {
  const json = /\{[\s\S]*\}/.exec(answer)?.[0]
  let title = answer
  if (json !== undefined) {
    try {
      const parsed: unknown = JSON.parse(json)
      if (typeof parsed === 'object' && parsed !== null && typeof (parsed as { title?: unknown }).title === 'string') title = (parsed as { title: string }).title
    } catch {
      // not JSON after all: the plain text is the title
    }
  }
  const line = (title.split(/\r?\n/).find((candidate) => candidate.trim() !== '') ?? '').replace(/\p{Cc}|\p{Cf}/gu, ' ')
  const cleaned = line.replace(/\s+/g, ' ').trim().replace(/^["'`*#\s]+|["'`*\s]+$/g, '').trim()
  if (cleaned === '') return null
  return [...cleaned].slice(0, MAX_TITLE_LENGTH).join('').trim()
}

/** Asks the model for a title; null when it can't be had (no connection has the model, Ollama fails, an empty answer). */
export async function generateTitle(connections: Connections, model: string, prompt: string, signal: AbortSignal): Promise<string | null> {
  const candidates = await connections.clientFor(model)
  const first = candidates[0]
  if (first === undefined) return null
  let answer = ''
  for await (const chunk of first.client.chat({ model, messages: [{ role: 'user', content: prompt }], signal })) {
    answer += chunk.content
    if (answer.length > 4 * MAX_TITLE_LENGTH * 4) break // note: a title is short; leaving the loop closes the request
    if (chunk.done) break
  }
  return parseTitleAnswer(answer)
}

function pickMessages(messages: readonly TitleMessage[], mode: string | undefined, count: number): readonly TitleMessage[] {
  if (mode === undefined) return messages
  if (mode === 'START') return messages.slice(0, count)
  if (mode === 'END') return messages.slice(-count || messages.length)
  if (messages.length <= count) return messages
  const head = Math.ceil(count / 2)
  return [...messages.slice(0, head), ...messages.slice(messages.length - (count - head))]
}

function formatMessages(messages: readonly TitleMessage[]): string {
  return messages.map((message) => `${message.role.toUpperCase()}: ${cutText(message.content, 'middletruncate', MAX_MESSAGE_CHARS)}`).join('\n')
}

function cutText(text: string, mode: string | undefined, count: number): string {
  const chars = [...text]
  if (mode === undefined || chars.length <= count) return text
  if (mode === 'start') return chars.slice(0, count).join('')
  if (mode === 'end') return chars.slice(-count).join('')
  const head = Math.ceil(count / 2)
  return `${chars.slice(0, head).join('')}…${chars.slice(chars.length - (count - head)).join('')}`
}
