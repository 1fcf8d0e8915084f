import { describe, expect, test } from 'bun:test'
import fc from 'fast-check'
import { DEFAULT_MAX_LINE_BYTES, NdjsonError, readNdjsonBatches, readNdjsonLines, readNdjsonValues, type ByteSource } from './ndjson.ts'

const encode = (text: string) => new TextEncoder().encode(text)

/** Cuts bytes at the given offsets (any order, repeats allowed), so chunks may be empty. */
function splitAt(bytes: Uint8Array, cuts: number[]): Uint8Array[] {
  const points = [0, ...cuts.map((cut) => cut % (bytes.length + 1)).sort((a, b) => a - b), bytes.length]
  return points.slice(1).map((end, i) => bytes.slice(points[i], end))
}

async function* chunksOf(chunks: Uint8Array[]): AsyncGenerator<Uint8Array> {
  for (const chunk of chunks) yield chunk
}

function streamOf(chunks: Uint8Array[]): ReadableStream<Uint8Array> {
  return new ReadableStream({
    start(controller) {
      for (const chunk of chunks) controller.enqueue(chunk)
      controller.close()
    },
  })
}

async function collect<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const items: T[] = []
  for await (const item of iterable) items.push(item)
  return items
}

/** What the lines must be: the whole input decoded at once, split on LF, CR dropped, blanks skipped. */
function referenceLines(bytes: Uint8Array): string[] {
  return new TextDecoder('utf-8', { ignoreBOM: true }).decode(bytes).split('\n')
    .map((line) => (line.endsWith('\r') ? line.slice(0, -1) : line))
    .filter((line) => line.trim() !== '')
}

async function failureOf(promise: Promise<unknown>): Promise<NdjsonError> {
  const error = await promise.then(() => null, (caught: unknown) => caught)
  if (!(error instanceof NdjsonError)) throw new Error(`expected an NdjsonError, got ${String(error)}`)
  return error
}

const textLinesArb = fc.record({
  lines: fc.array(fc.string({ unit: 'binary', maxLength: 40 }).map((line) => line.replace(/[\r\n]/g, ' ')), { maxLength: 12 }),
  ending: fc.constantFrom('\n', '\r\n'),
  hasFinalNewline: fc.boolean(),
})

describe('split invariance (fast-check)', () => {
  test('any text lines, cut at any byte positions, read as the reference lines', async () => {
    await fc.assert(fc.asyncProperty(textLinesArb, fc.array(fc.nat(), { maxLength: 16 }), async ({ lines, ending, hasFinalNewline }, cuts) => {
      const bytes = encode(lines.join(ending) + (hasFinalNewline ? ending : ''))
      expect(await collect(readNdjsonLines(chunksOf(splitAt(bytes, cuts))))).toEqual(referenceLines(bytes))
    }))
  })

  test('any bytes at all read the same in one chunk or cut anywhere, from a stream or an iterable', async () => {
    await fc.assert(fc.asyncProperty(fc.uint8Array({ maxLength: 300 }), fc.array(fc.nat(), { maxLength: 16 }), async (bytes, cuts) => {
      const whole = await collect(readNdjsonLines(chunksOf([bytes])))
      expect(await collect(readNdjsonLines(chunksOf(splitAt(bytes, cuts))))).toEqual(whole)
      expect(await collect(readNdjsonLines(streamOf(splitAt(bytes, cuts))))).toEqual(whole)
    }))
  })

  test('batches, flattened, are the values, however the bytes are cut; none is empty', async () => {
    await fc.assert(fc.asyncProperty(fc.array(fc.jsonValue(), { maxLength: 8 }), fc.array(fc.nat(), { maxLength: 16 }), async (values, cuts) => {
      const bytes = encode(values.map((value) => JSON.stringify(value) + '\n\n').join(''))
      const batches = await collect(readNdjsonBatches(streamOf(splitAt(bytes, cuts))))
      expect(batches.every((batch) => batch.length > 0)).toBe(true)
      expect(batches.flat()).toEqual(JSON.parse(JSON.stringify(values)))
    }))
  })

  test('a byte-at-a-time stream of JSON values parses to the same values', async () => {
    await fc.assert(fc.asyncProperty(fc.array(fc.jsonValue(), { maxLength: 8 }), async (values) => {
      const bytes = encode(values.map((value) => JSON.stringify(value) + '\n').join(''))
      const oneByteChunks = Array.from(bytes, (byte) => Uint8Array.of(byte))
      expect(await collect(readNdjsonValues(streamOf(oneByteChunks)))).toEqual(JSON.parse(JSON.stringify(values)))
    }))
  })
})

describe('lines', () => {
  test.each([
    ['empty input', '', []],
    ['only newlines', '\n\r\n\n', []],
    ['LF endings', 'a\nb\n', ['a', 'b']],
    ['CRLF endings', 'a\r\nb\r\n', ['a', 'b']],
    ['final line without newline', 'a\nb', ['a', 'b']],
    ['final line ending in CR', 'a\r', ['a']],
    ['blank and whitespace lines skipped', 'a\n\n  \t\nb', ['a', 'b']],
    ['CR inside a line kept', 'a\rb\n', ['a\rb']],
    ['unicode', 'héllo 🛡️\n漢字\n', ['héllo 🛡️', '漢字']],
  ])('%s', async (_, text, lines) => {
    expect(await collect(readNdjsonLines(chunksOf([encode(text)])))).toEqual(lines)
  })

  test('a four-byte character cut inside itself decodes whole', async () => {
    const bytes = encode('🛡\n')
    const chunks = [bytes.slice(0, 1), bytes.slice(1, 3), bytes.slice(3)]
    expect(await collect(readNdjsonLines(chunksOf(chunks)))).toEqual(['🛡'])
  })

  test('invalid UTF-8 becomes U+FFFD rather than failing', async () => {
    expect(await collect(readNdjsonLines(chunksOf([Uint8Array.of(0x61, 0xff, 0x0a)])))).toEqual(['a\uFFFD'])
  })
})

describe('maximum line length', () => {
  test('a line of exactly the maximum passes; one byte more throws with its line number', async () => {
    const limits = { maxLineBytes: 8 }
    expect(await collect(readNdjsonLines(chunksOf([encode('12345678\n')]), limits))).toEqual(['12345678'])
    const error = await failureOf(collect(readNdjsonLines(chunksOf([encode('ok\n\n123456789\n')]), limits)))
    expect(error.reason).toBe('line_too_long')
    expect(error.lineNumber).toBe(3)
  })

  test('throws as soon as the buffered part of an unfinished line is too long, without waiting for its end', async () => {
    let chunksRead = 0
    async function* endless(): AsyncGenerator<Uint8Array> {
      for (;;) {
        chunksRead++
        yield new Uint8Array(64 * 1024).fill(0x61)
      }
    }
    const error = await failureOf(collect(readNdjsonLines(endless())))
    expect(error.reason).toBe('line_too_long')
    expect(chunksRead).toBe(DEFAULT_MAX_LINE_BYTES / (64 * 1024) + 1)
  })

  test('the error message does not contain the line', async () => {
    const error = await failureOf(collect(readNdjsonLines(chunksOf([encode('SECRET-PROMPT '.repeat(10))]), { maxLineBytes: 16 })))
    expect(error.message).not.toContain('SECRET')
  })
})

describe('values', () => {
  test('parses each line; a line that is not JSON throws with its line number and not its text', async () => {
    const source = chunksOf([encode('{"done":false}\n\n{"done": tru SECRET\n')])
    const seen: unknown[] = []
    const error = await failureOf((async () => {
      for await (const value of readNdjsonValues(source)) seen.push(value)
    })())
    expect(seen).toEqual([{ done: false }])
    expect(error.reason).toBe('invalid_json')
    expect(error.lineNumber).toBe(3)
    expect(error.message).not.toContain('SECRET')
  })
})

describe('batches', () => {
  test('the values a read completed come together; the stream\'s first line comes alone', async () => {
    const reads = [encode('{"n":1}\n{"n":2}\n{"n":3}\n{"n"'), encode(':4}\n\n{"n":5}\n'), encode('{"n":6}')]
    expect(await collect(readNdjsonBatches(chunksOf(reads)))).toEqual([[{ n: 1 }], [{ n: 2 }, { n: 3 }], [{ n: 4 }, { n: 5 }], [{ n: 6 }]])
  })

  test('a line that is not JSON: the values before it in the same read come first, then the error with its number', async () => {
    const seen: unknown[][] = []
    const error = await failureOf((async () => {
      for await (const batch of readNdjsonBatches(chunksOf([encode('{"n":1}\n{"n":2}\n\n{"n":3}\nnope SECRET\n{"n":5}\n')]))) seen.push(batch)
    })())
    expect(seen).toEqual([[{ n: 1 }], [{ n: 2 }, { n: 3 }]])
    expect([error.reason, error.lineNumber]).toEqual(['invalid_json', 5])
    expect(error.message).not.toContain('SECRET')
  })

  test('a line too long: the lines before it in the same read come first, then the error with its number', async () => {
    const seen: unknown[][] = []
    const error = await failureOf((async () => {
      for await (const batch of readNdjsonBatches(chunksOf([encode('1\n2\n3\n123456789\n4\n')]), { maxLineBytes: 8 })) seen.push(batch)
    })())
    expect(seen).toEqual([[1], [2, 3]])
    expect([error.reason, error.lineNumber]).toEqual(['line_too_long', 4])
  })

  test('line numbers count blank lines and carry across reads', async () => {
    const error = await failureOf(collect(readNdjsonBatches(chunksOf([encode('{}\n\n'), encode('\r\n{}\n'), encode('  \n{bad\n')]))))
    expect([error.reason, error.lineNumber]).toEqual(['invalid_json', 6])
  })

  test('a reader of its own: a SyntaxError from it is invalid_json with the line number, any other error comes out as it is, after the values before it', async () => {
    const parse = (text: string) => {
      if (text === 'odd') throw new RangeError('an odd line')
      return JSON.parse(text) as unknown
    }
    const reads = () => chunksOf([encode('1\n2\n3\nodd\n{bad\n')])
    const seen: unknown[][] = []
    const error = await (async () => {
      for await (const batch of readNdjsonBatches(reads(), undefined, { parse })) seen.push(batch)
    })().then(() => null, (caught: unknown) => caught)
    expect([seen, error instanceof RangeError]).toEqual([[[1], [2, 3]], true])
    const invalid = await failureOf(collect(readNdjsonBatches(chunksOf([encode('1\n{bad\n')]), undefined, { parse })))
    expect([invalid.reason, invalid.lineNumber]).toEqual(['invalid_json', 2])
  })

  test('a fast path: its matches count as lines (numbers, CRLF, the last line without LF), other lines are parsed, blanks skipped', async () => {
    const reader = { parse: (line: string) => `parsed ${line}`, fastPath: { pattern: /ok(\d)\r?(?:\n|$)/y, read: (match: RegExpExecArray) => `fast ${match[1]}` } }
    const reads = [encode('ok1\n'), encode('ok2\r\n\n  \nother\nok3 trailing\nok4'), encode('\nok5')]
    expect((await collect(readNdjsonBatches(chunksOf(reads), undefined, reader))).flat()).toEqual(['fast 1', 'fast 2', 'parsed other', 'parsed ok3 trailing', 'fast 4', 'fast 5'])
    const failing = { ...reader, parse: (line: string) => (line === 'bad' ? JSON.parse(line) as string : line) }
    const error = await failureOf(collect(readNdjsonBatches(chunksOf([encode('ok1\nok2\n\nbad\n')]), undefined, failing)))
    expect([error.reason, error.lineNumber]).toEqual(['invalid_json', 4])
  })

  test('a fast path pattern that is not sticky is refused before anything is read', async () => {
    const reader = { parse: (line: string) => line, fastPath: { pattern: /ok\n/, read: () => 'fast' } }
    await expect(collect(readNdjsonBatches(chunksOf([encode('ok\n')]), undefined, reader))).rejects.toThrow('sticky')
  })

  test('lines of whitespace other than ASCII (no-break space, BOM) are blank, as before', async () => {
    expect(await collect(readNdjsonLines(chunksOf([encode('\u00a0\n\ufeff \n{}\n')])))).toEqual(['{}'])
  })
})

describe('the source', () => {
  test('stopping early cancels a stream source', async () => {
    let cancelled = false
    const source: ByteSource = new ReadableStream<Uint8Array>({
      pull(controller) { controller.enqueue(encode('{"n":1}\n')) },
      cancel() { cancelled = true },
    })
    for await (const value of readNdjsonValues(source)) {
      expect(value).toEqual({ n: 1 })
      break
    }
    expect(cancelled).toBe(true)
  })

  test('an error from the source reaches the reader unchanged', async () => {
    const source = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(encode('{"n":1}\n{"n"'))
        controller.error(new Error('connection reset'))
      },
    })
    await expect(collect(readNdjsonValues(source))).rejects.toThrow('connection reset')
  })
})
