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

/** Yields each non-blank line, without its line ending. Stopping early cancels the source. */
export async function* readNdjsonLines(source: ByteSource, limits?: NdjsonLimits): AsyncGenerator<string> {
  for await (const { texts } of readLineRuns(source, limits)) for (const text of texts) if (!isBlank(text)) yield text
}

/** Yields each line parsed as JSON; a line that is not JSON throws `NdjsonError('invalid_json')`. */
export async function* readNdjsonValues(source: ByteSource, limits?: NdjsonLimits): AsyncGenerator<unknown> {
  for await (const batch of readNdjsonBatches(source, limits)) yield* batch
}

/**
 * Yields the lines parsed as JSON (or by `parse`), a batch for each read of the source that
 * completed at least one line: what arrived together is handed over together, without a promise
 * per line. The first line comes in a batch of its own. A failing line first yields the values
 * before it, then throws: a `SyntaxError` from `parse` as `NdjsonError('invalid_json')`, any other
 * error as it is.
 */
export async function* readNdjsonBatches<T = unknown>(source: ByteSource, limits?: NdjsonLimits, parse: (text: string) => T = JSON.parse): AsyncGenerator<T[]> {
  for await (const { firstNumber, texts } of readLineRuns(source, limits)) {
    const values: T[] = []
    for (let i = 0; i < texts.length; i++) {
      const text = texts[i]!
      if (isBlank(text)) continue
      try {
        values.push(parse(text))
      } catch (error) {
        if (values.length > 0) yield values
        throw error instanceof SyntaxError ? new NdjsonError('invalid_json', firstNumber + i, 'not valid JSON') : error
      }
    }
    if (values.length > 0) yield values
  }
}

/** Consecutive lines without their line endings, blank ones included; the first is line `firstNumber` (from 1). */
type LineRun = { firstNumber: number; texts: string[] }

/**
 * Yields the lines each read completed (the stream's first line in a run of its own), or throws
 * `line_too_long` after yielding the lines before the long one.
 */
async function* readLineRuns(source: ByteSource, limits: NdjsonLimits = { maxLineBytes: DEFAULT_MAX_LINE_BYTES }): AsyncGenerator<LineRun> {
  let pending: Uint8Array[] = []
  let pendingBytes = 0
  let lineNumber = 1
  const tooLong = (number: number) => new NdjsonError('line_too_long', number, `longer than ${limits.maxLineBytes} bytes`)

  for await (const chunk of iterateBytes(source)) {
    const lastNewline = chunk.lastIndexOf(NEWLINE)
    const complete = lastNewline === -1 ? null : concat(pending, pendingBytes, chunk.subarray(0, lastNewline + 1))
    const rest = lastNewline === -1 ? chunk : chunk.subarray(lastNewline + 1)
    if (complete !== null) {
      pending = []
      pendingBytes = 0
      // note: the first line goes alone, so the first token is out before the rest of its read is parsed.
      const firstEnd = lineNumber === 1 ? complete.indexOf(NEWLINE) + 1 : 0
      for (const part of firstEnd > 0 && firstEnd < complete.length ? [complete.subarray(0, firstEnd), complete.subarray(firstEnd)] : [complete]) {
        const { texts, longLine } = splitLines(part, lineNumber, limits.maxLineBytes)
        if (texts.length > 0) yield { firstNumber: lineNumber, texts }
        if (longLine !== null) throw tooLong(longLine)
        lineNumber += texts.length
      }
    }
    if (rest.length > 0) {
      pendingBytes += rest.length
      if (pendingBytes > limits.maxLineBytes) throw tooLong(lineNumber)
      pending.push(rest.slice()) // a copy: some sources reuse their buffers
    }
  }
  const last = decodeLine(concat(pending, pendingBytes, new Uint8Array(0)))
  if (!isBlank(last)) yield { firstNumber: lineNumber, texts: [last] }
}

/**
 * Splits bytes that end in a newline into lines without their endings, decoded in one go. A line
 * longer than `maxLineBytes` (its LF excluded) ends the split: the lines before it are returned,
 * and its number as `longLine`.
 */
function splitLines(bytes: Uint8Array, firstNumber: number, maxLineBytes: number): { texts: string[]; longLine: number | null } {
  let keptBytes = bytes.length
  let longLine: number | null = null
  if (bytes.length - 1 > maxLineBytes) {
    for (let start = 0, number = firstNumber; start < bytes.length; number++) {
      const end = bytes.indexOf(NEWLINE, start)
      if (end - start > maxLineBytes) {
        keptBytes = start
        longLine = number
        break
      }
      start = end + 1
    }
  }
  // note: LF never occurs inside a multi-byte character, so decoding all lines at once reads them as one at a time would.
  const texts = keptBytes === 0 ? [] : decoder.decode(bytes.subarray(0, keptBytes - 1)).split('\n')
  for (let i = 0; i < texts.length; i++) if (texts[i]!.endsWith('\r')) texts[i] = texts[i]!.slice(0, -1)
  return { texts, longLine }
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

function decodeLine(bytes: Uint8Array): string {
  const end = bytes.length > 0 && bytes[bytes.length - 1] === CARRIAGE_RETURN ? bytes.length - 1 : bytes.length
  return decoder.decode(bytes.subarray(0, end))
}
