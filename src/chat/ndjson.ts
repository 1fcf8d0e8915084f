/**
 * Newline-delimited JSON (https://github.com/ndjson/ndjson-spec), as Ollama streams it: bytes in,
 * one line or one parsed value out, or the values each read completed as one batch. Lines split on
 * the byte 0x0A, which never occurs inside a multi-byte UTF-8 character, so a character cut across
 * two chunks is decoded whole. A line may end in CRLF; blank lines are skipped; the last line needs
 * no newline. A line longer than `maxLineBytes` throws instead of growing the buffer without bound.
 */
/** Where bytes come from: a fetch body, or any async iterable of chunks. */
export type ByteSource = ReadableStream<Uint8Array> | AsyncIterable<Uint8Array>

/** The longest line accepted, in bytes, line ending excluded. */
export type NdjsonLimits = { maxLineBytes: number }

/** 1 MiB: far above any Ollama chunk, far below a memory problem. */
export const DEFAULT_MAX_LINE_BYTES = 1024 * 1024

/** A stream that is not NDJSON. Names the line, never its content (it may be a prompt). */
export class NdjsonError extends Error {
  constructor(readonly reason: 'line_too_long' | 'invalid_json', readonly lineNumber: number, detail: string) {
    super(`NDJSON line ${lineNumber}: ${detail}`)
    this.name = 'NdjsonError'
  }
}

const NEWLINE = 0x0a
const CARRIAGE_RETURN = 0x0d
const OPENING_BRACE = 0x7b
// note: ignoreBOM keeps a U+FEFF where it was, so a line reads the same wherever the chunks split.
const decoder = new TextDecoder('utf-8', { ignoreBOM: true })

/**
 * How to read the lines of a block: `parse` reads any line (without its line ending). `fastPath`,
 * when given, is tried first at the start of each line: a sticky pattern that matches one whole
 * line with its LF (or up to the end of the text), and the value for such a match; `read` must
 * give what `parse` gives for the same line.
 */
export type LineReader<T> = { parse: (line: string) => T; fastPath?: { pattern: RegExp; read: (match: RegExpExecArray) => T } }

const JSON_LINES: LineReader<unknown> = { parse: JSON.parse }

/** Yields each non-blank line, without its line ending. Stopping early cancels the source. */
export async function* readNdjsonLines(source: ByteSource, limits?: NdjsonLimits): AsyncGenerator<string> {
  for await (const batch of readNdjsonBatches(source, limits, { parse: (line) => line })) yield* batch
}

/** Yields each line parsed as JSON; a line that is not JSON throws `NdjsonError('invalid_json')`. */
export async function* readNdjsonValues(source: ByteSource, limits?: NdjsonLimits): AsyncGenerator<unknown> {
  for await (const batch of readNdjsonBatches(source, limits)) yield* batch
}

/**
 * Yields the lines parsed as JSON (or read by `reader`), a batch for each read of the source that
 * completed at least one line: what arrived together is handed over together, without a promise
 * per line. The first line comes in a batch of its own. A failing line first yields the values
 * before it, then throws: a `SyntaxError` from the reader as `NdjsonError('invalid_json')`, any
 * other error as it is.
 */
export async function* readNdjsonBatches<T = unknown>(source: ByteSource, limits: NdjsonLimits = { maxLineBytes: DEFAULT_MAX_LINE_BYTES }, reader: LineReader<T> = JSON_LINES as LineReader<T>): AsyncGenerator<T[]> {
  if (reader.fastPath !== undefined && !reader.fastPath.pattern.sticky) throw new TypeError('a fast path pattern must be sticky (flag y)')
  let lineNumber = 1
  for await (const piece of readPieces(source, limits.maxLineBytes)) {
    if (piece === TOO_LONG) throw new NdjsonError('line_too_long', lineNumber, `longer than ${limits.maxLineBytes} bytes`)
    const { values, failure, lineCount } = readLines(piece, lineNumber, reader)
    if (values.length > 0) yield values
    if (failure !== null) throw failure
    lineNumber += lineCount
  }
}

/**
 * Reads the lines of `text` in order, blank ones skipped, until one fails: the values before it,
 * its error or null, and how many lines were read (blank ones included). The first is line `firstNumber`.
 */
function readLines<T>(text: string, firstNumber: number, { parse, fastPath }: LineReader<T>): { values: T[]; failure: unknown; lineCount: number } {
  const values: T[] = []
  let number = firstNumber
  for (let start = 0; start <= text.length; number++) {
    if (fastPath !== undefined) {
      fastPath.pattern.lastIndex = start
      const match = fastPath.pattern.exec(text)
      if (match !== null) {
        const end = fastPath.pattern.lastIndex
        start = text.charCodeAt(end - 1) === NEWLINE ? end : text.length + 1 // note: a match that took the text's end leaves no line after it
        values.push(fastPath.read(match))
        continue
      }
    }
    const newline = text.indexOf('\n', start)
    const end = newline === -1 ? text.length : newline
    const line = end > start && text.charCodeAt(end - 1) === CARRIAGE_RETURN ? text.slice(start, end - 1) : text.slice(start, end)
    start = end + 1
    if (isBlank(line)) continue
    try {
      values.push(parse(line))
    } catch (error) {
      const failure = error instanceof SyntaxError ? new NdjsonError('invalid_json', number, 'not valid JSON') : error
      return { values, failure, lineCount: number - firstNumber + 1 }
    }
  }
  return { values, failure: null, lineCount: number - firstNumber }
}

/** In place of a text: the next line is longer than the limit. */
const TOO_LONG = Symbol('line too long')

/**
 * Yields, for each read, the lines it completed, decoded as one text: joined by their own line
 * endings, the last one's left off. The stream's first line comes alone; a line longer than
 * `maxLineBytes` (line ending excluded) ends the stream with `TOO_LONG` after the lines before it.
 */
async function* readPieces(source: ByteSource, maxLineBytes: number): AsyncGenerator<string | typeof TOO_LONG> {
  let pending: Uint8Array[] = []
  let pendingBytes = 0
  let isFirstLine = true

  for await (const chunk of iterateBytes(source)) {
    const lastNewline = chunk.lastIndexOf(NEWLINE)
    const complete = lastNewline === -1 ? null : concat(pending, pendingBytes, chunk.subarray(0, lastNewline + 1))
    const rest = lastNewline === -1 ? chunk : chunk.subarray(lastNewline + 1)
    if (complete !== null) {
      pending = []
      pendingBytes = 0
      // note: the first line goes alone, so the first token is out before the rest of its read is parsed.
      const firstEnd = isFirstLine ? complete.indexOf(NEWLINE) + 1 : 0
      isFirstLine = false
      for (const part of firstEnd > 0 && firstEnd < complete.length ? [complete.subarray(0, firstEnd), complete.subarray(firstEnd)] : [complete]) {
        const keptBytes = bytesBeforeLongLine(part, maxLineBytes)
        if (keptBytes > 0) yield decoder.decode(part.subarray(0, keptBytes - 1))
        if (keptBytes < part.length) return yield TOO_LONG
      }
    }
    if (rest.length > 0) {
      pendingBytes += rest.length
      if (pendingBytes > maxLineBytes) return yield TOO_LONG
      pending.push(rest.slice()) // a copy: some sources reuse their buffers
    }
  }
  const last = concat(pending, pendingBytes, new Uint8Array(0))
  if (last.length > 0) yield decoder.decode(last)
}

/**
 * How many bytes of `bytes` (lines that each end in LF) come before the first line longer than
 * `maxLineBytes`, LF excluded; all of them when there is none. Only a text that long is searched.
 */
function bytesBeforeLongLine(bytes: Uint8Array, maxLineBytes: number): number {
  if (bytes.length - 1 <= maxLineBytes) return bytes.length
  for (let start = 0; start < bytes.length;) {
    const end = bytes.indexOf(NEWLINE, start)
    if (end - start > maxLineBytes) return start
    start = end + 1
  }
  return bytes.length
}

/** Whether a line holds nothing but whitespace; a line that starts with `{` (almost every one) is answered without trimming. */
function isBlank(text: string): boolean {
  return text.length === 0 || (text.charCodeAt(0) !== OPENING_BRACE && text.trim() === '')
}

async function* iterateBytes(source: ByteSource): AsyncGenerator<Uint8Array> {
  if (!('getReader' in source)) return yield* source
  const reader = source.getReader()
  let isFinished = false
  try {
    for (;;) {
      const { done, value } = await reader.read()
      if (done) break
      yield value
    }
    isFinished = true
  } finally {
    if (isFinished) reader.releaseLock()
    else await reader.cancel().catch(() => {}) // the reader stopped early or failed: let the sender stop too
  }
}

function concat(parts: Uint8Array[], partsBytes: number, tail: Uint8Array): Uint8Array {
  if (parts.length === 0) return tail
  const joined = new Uint8Array(partsBytes + tail.length)
  let offset = 0
  for (const part of parts) {
    joined.set(part, offset)
    offset += part.length
  }
  joined.set(tail, offset)
  return joined
}
