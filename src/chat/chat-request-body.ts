/**
 * The bytes of an /api/chat request body, joined from each message's own JSON in UTF-8, which is
 * kept for messages that cannot change. A turn at 2,000 messages sends the newest ~1,000 of them
 * (as many as the model's window holds, history-bound.ts), the same messages as the turn before
 * plus the new ones; serialising all of them again each turn was most of what the turn's CPU
 * grew by with the chat's length, and encoding the joined ~1.1 MB text to UTF-8 again for fetch
 * was part of the rest.
 *
 * Format: byte-identical to the UTF-8 of `JSON.stringify(body)` for the body
 * `{ model, messages, ...rest }`, which is what fetch sent for that text (the property test in
 * chat-request-body.test.ts compares them). JSON.stringify escapes a lone surrogate, so every text
 * encoded here is well-formed and its UTF-8 is the same whether encoded whole or in pieces.
 * Threat: stale bytes would send the model a message other than the stored one. Bytes are kept
 * only for a frozen message (its `images` frozen too, when present): a frozen object's own JSON
 * cannot change, and a message edited, deleted or on another branch is another object (the chat
 * history cache replaces a held message, never changes it). Kept in a WeakMap keyed by the object,
 * so they live exactly as long as the message does and need no invalidation of their own; each is
 * a buffer of its own (TextEncoder), not a view of a shared pool that one live message would hold.
 */
import type { ChatMessage } from './ollama-client.ts'

// note: memory: the kept bytes are the message's JSON in UTF-8 (~1.05 KB for 1 KB of ASCII content), about what the JSON text kept before took for Latin-1 text and half of it for text outside Latin-1 (two bytes a character).
const kept = new WeakMap<ChatMessage, Uint8Array>()
const encoder = new TextEncoder()
const COMMA_BYTES = encoder.encode(',')

/** Whether nothing reachable from `message` can change: then its JSON can be kept. */
const isFixed = (message: ChatMessage) =>
  Object.isFrozen(message) && (message.images === undefined || Object.isFrozen(message.images)) && message.tool_calls === undefined

/** One message's JSON in UTF-8, kept for a fixed one. The caller must not write to it. */
export function messageBytes(message: ChatMessage): Uint8Array {
  const known = kept.get(message)
  if (known !== undefined) return known
  const bytes = encoder.encode(JSON.stringify(message))
  if (isFixed(message)) kept.set(message, bytes)
  return bytes
}

/** The UTF-8 of `JSON.stringify({ model, messages, ...rest })`, each message's bytes from messageBytes. */
export function chatRequestBody(model: string, messages: readonly ChatMessage[], rest: Record<string, unknown>): Uint8Array<ArrayBuffer> {
  const tail = JSON.stringify(rest)
  // note: `rest` never holds `model` or `messages` (the caller builds it), so its keys follow them as in the whole object's text.
  const opening = encoder.encode(`${JSON.stringify({ model }).slice(0, -1)},"messages":[`)
  const closing = encoder.encode(tail === '{}' ? ']}' : `],${tail.slice(1)}`)
  const parts = new Array<Uint8Array>(2 * messages.length + 1)
  parts[0] = opening
  let length = opening.length + closing.length + Math.max(messages.length - 1, 0)
  for (let i = 0; i < messages.length; i++) {
    const bytes = messageBytes(messages[i]!)
    parts[2 * i + 1] = bytes
    parts[2 * i + 2] = i === messages.length - 1 ? closing : COMMA_BYTES
    length += bytes.length
  }
  if (messages.length === 0) parts[1] = closing
  // note: joined natively, not into a string that fetch encodes again: a 1.1 MB body (1,000 kept 1 KB messages, as a 128K-token window sends) written to a sink in another process cost 0.32-0.34 ms of process CPU over a 12 KB one, the joined string 0.42 ms (400 rounds, same run); at the 262 KB a 32K window sends they are alike (0.059 ms to join against 0.054-0.063 ms for the string, bench/turn-parts.ts), where a `set` loop in JS took 0.073 ms.
  return Buffer.concat(parts, length)
}
