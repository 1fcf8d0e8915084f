/**
 * One line of Ollama's /api/chat stream to a checked chunk. Nearly every line of an answer has the
 * one shape Ollama writes for a piece of text, in this field order:
 *   {"model":"…","created_at":"…","message":{"role":"assistant","content":"…"},"done":false}
 * (with `"thinking":"…"` after `content` for a thinking model). A line of exactly that shape is read
 * by one match, without building the object and checking it field by field; every other line (the
 * final one with its statistics, an error, fields in another order, added fields or whitespace)
 * goes through `JSON.parse` and `toChatChunk`. Both ways give the same chunk for the same line.
 */
import { toChatChunk, type ChatChunk } from './ollama-chunks.ts'

/**
 * The body of a JSON string as RFC 8259 allows it: no quote, backslash or control character
 * unescaped, and only the defined escapes. Unrolled (runs of plain characters between escapes).
 */
const STRING_BODY = String.raw`([^"\\\u0000-\u001f]*(?:\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4})[^"\\\u0000-\u001f]*)*)`
const CONTENT_LINE = new RegExp(
  String.raw`^\{"model":"${STRING_BODY}","created_at":"${STRING_BODY}","message":\{"role":"assistant","content":"${STRING_BODY}"` +
  String.raw`(?:,"thinking":"${STRING_BODY}")?\},"done":false\}$`,
)
const BACKSLASH = '\\'

/** Reads one line; a line that is not JSON throws `SyntaxError`, a chunk that is wrong throws `OllamaError`. */
export function readChatLine(text: string): ChatChunk {
  const match = CONTENT_LINE.exec(text)
  if (match === null) return toChatChunk(JSON.parse(text))
  const [, model, createdAt, content, thinking] = match as unknown as [string, string, string, string, string | undefined]
  return { done: false, model: unescape(model), createdAt: unescape(createdAt), content: unescape(content), thinking: thinking === undefined ? null : unescape(thinking) }
}

/** The text of a JSON string body that the pattern above accepted. */
function unescape(body: string): string {
  return body.includes(BACKSLASH) ? JSON.parse(`"${body}"`) as string : body
}
