/**
 * How the lines of Ollama's /api/chat stream are read into checked chunks. Nearly every line of an
 * answer has the one shape Ollama writes for a piece of text, in this field order:
 *   {"model":"…","created_at":"…","message":{"role":"assistant","content":"…"},"done":false}
 * (with `"thinking":"…"` after `content` for a thinking model). Lines of exactly that shape are
 * read by one strict match each, straight from the decoded text of a read, without cutting the
 * text into lines or building and checking an object field by field. Every other line (the final
 * one with its statistics, an error, fields in another order, added fields or whitespace) goes
 * through `JSON.parse` and `toChatChunk`. Both ways give the same chunk for the same line.
 */
import type { LineReader } from './ndjson.ts'
import { toChatChunk, type ChatChunk } from './ollama-chunks.ts'

/**
 * The body of a JSON string as RFC 8259 allows it: no quote, backslash or control character
 * unescaped, and only the defined escapes. Unrolled (runs of plain characters between escapes).
 * Only the content and thinking bodies are captured; `model` and `created_at` are checked, not kept.
 */
const STRING_BODY = String.raw`[^"\\\u0000-\u001f]*(?:\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4})[^"\\\u0000-\u001f]*)*`
/** One whole content line and its line ending (or the end of the text); sticky, so it matches only where a line starts. */
const CONTENT_LINE = new RegExp(
  String.raw`\{"model":"${STRING_BODY}","created_at":"${STRING_BODY}","message":\{"role":"assistant","content":"(${STRING_BODY})"` +
  String.raw`(?:,"thinking":"(${STRING_BODY})")?\},"done":false\}\r?(?:\n|$)`,
  'y',
)
const BACKSLASH = '\\'

/** Reads /api/chat lines: a line that is not JSON throws `SyntaxError`, a chunk that is wrong throws `OllamaError`. */
export const CHAT_LINES: LineReader<ChatChunk> = {
  parse: (line) => toChatChunk(JSON.parse(line)),
  fastPath: {
    pattern: CONTENT_LINE,
    read: ([, content, thinking]) => ({ done: false, content: unescape(content!), thinking: thinking === undefined ? null : unescape(thinking) }),
  },
}

/** The text of a JSON string body that the pattern above accepted. */
function unescape(body: string): string {
  return body.includes(BACKSLASH) ? JSON.parse(`"${body}"`) as string : body
}
