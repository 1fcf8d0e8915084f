/**
 * The JSON text of an /api/chat request body, joined from each message's own JSON text, which is
 * kept for messages that cannot change. A turn at 2,000 messages sends the newest ~1,000 of them
 * (as many as the model's window holds, history-bound.ts), the same messages as the turn before
 * plus the new ones; serialising all of them again each turn was most of what the turn's CPU
 * grew by with the chat's length.
 *
 * Format: byte-identical to `JSON.stringify(body)` for the body `{ model, messages, ...rest }`
 * (the property test in chat-request-body.test.ts compares them).
 * Threat: a stale text would send the model a message other than the stored one. A text is kept
 * only for a frozen message (its `images` frozen too, when present): a frozen object's own JSON
 * cannot change, and a message edited, deleted or on another branch is another object (the chat
 * history cache replaces a held message, never changes it). Kept in a WeakMap keyed by the object,
 * so it lives exactly as long as the message does and needs no invalidation of its own.
 */
import type { ChatMessage } from './ollama-client.ts'

const texts = new WeakMap<ChatMessage, string>()

/** Whether nothing reachable from `message` can change: then its JSON text can be kept. */
const isFixed = (message: ChatMessage) =>
  Object.isFrozen(message) && (message.images === undefined || Object.isFrozen(message.images)) && message.tool_calls === undefined

/** The JSON text of one message, kept for a fixed one. */
export function messageJson(message: ChatMessage): string {
  const kept = texts.get(message)
  if (kept !== undefined) return kept
  const text = JSON.stringify(message)
  if (isFixed(message)) texts.set(message, text)
  return text
}

/** `JSON.stringify({ model, messages, ...rest })`, each message's text from messageJson. */
export function chatRequestJson(model: string, messages: readonly ChatMessage[], rest: Record<string, unknown>): string {
  const head = JSON.stringify({ model })
  const tail = JSON.stringify(rest)
  const pieces = new Array<string>(messages.length)
  for (let i = 0; i < messages.length; i++) pieces[i] = messageJson(messages[i]!)
  // note: `rest` never holds `model` or `messages` (the caller builds it), so its keys follow them as in the whole object's text.
  return `${head.slice(0, -1)},"messages":[${pieces.join(',')}]${tail === '{}' ? '}' : `,${tail.slice(1)}`}`
}
