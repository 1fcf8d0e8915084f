/**
 * Newline-delimited JSON (https://github.com/ndjson/ndjson-spec), as Ollama streams it: bytes in,
 * one line or one parsed value out. Lines split on the byte 0x0A, which never occurs inside a
 * multi-byte UTF-8 character, so a character cut across two chunks is decoded whole. A line may
 * end in CRLF; blank lines are skipped; the last line needs no newline. A line longer than
 * `maxLineBytes` throws instead of growing the buffer without bound.
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
// note: ignoreBOM keeps a U+FEFF where it was, so a line reads the same wherever the chunks split.
const decoder = new TextDecoder('utf-8', { ignoreBOM: true })

/** Yields each non-blank line, without its line ending. Stopping early cancels the source. */
export async function* readNdjsonLines(source: ByteSource, limits?: NdjsonLimits): AsyncGenerator<string> {
  for await (const [, line] of readNumberedLines(source, limits)) yield line
}

/** Yields each line parsed as JSON; a line that is not JSON throws `NdjsonError('invalid_json')`. */
export async function* readNdjsonValues(source: ByteSource, limits?: NdjsonLimits): AsyncGenerator<unknown> {
  for await (const [lineNumber, line] of readNumberedLines(source, limits)) {
    let value: unknown
    try {
      value = JSON.parse(line)
    } catch {
      throw new NdjsonError('invalid_json', lineNumber, 'not valid JSON')
    }
    yield value
  }
}

/** Yields [line number counting from 1, blank lines included; text] for each non-blank line. */
async function* readNumberedLines(source: ByteSource, limits: NdjsonLimits = { maxLineBytes: DEFAULT_MAX_LINE_BYTES }): AsyncGenerator<[number, string]> {
  let pending: Uint8Array[] = []
  let pendingBytes = 0
  let lineNumber = 1
  const tooLong = () => new NdjsonError('line_too_long', lineNumber, `longer than ${limits.maxLineBytes} bytes`)

  for await (const chunk of iterateBytes(source)) {
    let start = 0
    for (let end = chunk.indexOf(NEWLINE); end !== -1; end = chunk.indexOf(NEWLINE, start)) {
      if (pendingBytes + end - start > limits.maxLineBytes) throw tooLong()
      const line = decodeLine(concat(pending, pendingBytes, chunk.subarray(start, end)))
      pending = []
      pendingBytes = 0
      start = end + 1
      if (line.trim() !== '') yield [lineNumber, line]
      lineNumber++
    }
    if (start < chunk.length) {
      pendingBytes += chunk.length - start
      if (pendingBytes > limits.maxLineBytes) throw tooLong()
      pending.push(chunk.slice(start)) // a copy: some sources reuse their buffers
    }
  }
  const last = decodeLine(concat(pending, pendingBytes, new Uint8Array(0)))
  if (last.trim() !== '') yield [lineNumber, last]
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
