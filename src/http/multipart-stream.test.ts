import { describe, expect, test } from 'bun:test'
import fc from 'fast-check'
import { MultipartError, multipartBoundary, readMultipart, readPartText } from './multipart-stream.ts'

const boundary = '----enclaveBoundary7MA4YWxkTrZu0gW'

function body(parts: { name: string; filename?: string; bytes: Uint8Array }[]): Buffer {
  const pieces: Buffer[] = [Buffer.from('preamble to ignore\r\n')]
  for (const part of parts) {
    const disposition = `form-data; name="${part.name}"${part.filename === undefined ? '' : `; filename="${part.filename}"`}`
    pieces.push(Buffer.from(`--${boundary}\r\nContent-Disposition: ${disposition}\r\nContent-Type: application/octet-stream\r\n\r\n`), Buffer.from(part.bytes), Buffer.from('\r\n'))
  }
  pieces.push(Buffer.from(`--${boundary}--\r\nepilogue`))
  return Buffer.concat(pieces)
}

/** A stream of `bytes` cut at the given offsets. */
function streamOf(bytes: Uint8Array, cuts: number[]): ReadableStream<Uint8Array> {
  const points = [...new Set(cuts.map((cut) => cut % (bytes.length + 1)))].sort((a, b) => a - b)
  const pieces: Uint8Array[] = []
  let from = 0
  for (const point of [...points, bytes.length]) {
    if (point > from) pieces.push(bytes.slice(from, point))
    from = Math.max(from, point)
  }
  return new ReadableStream({
    pull(controller) {
      const next = pieces.shift()
      if (next === undefined) controller.close()
      else controller.enqueue(next)
    },
  })
}

/** As streamOf, each chunk a copy of its own, read only when asked for (as a request body's are); `delivered` gets each chunk handed out. */
function ownedStreamOf(bytes: Uint8Array, cuts: number[], delivered: Uint8Array[]): ReadableStream<Uint8Array> {
  const source = streamOf(bytes, cuts).getReader()
  return new ReadableStream({
    async pull(controller) {
      const next = await source.read()
      if (next.done) return controller.close()
      const own = new Uint8Array(next.value)
      delivered.push(own)
      controller.enqueue(own)
    },
  }, { highWaterMark: 0 })
}

async function collect(stream: ReadableStream<Uint8Array>, max = 10 ** 9, options: { releaseChunks?: boolean } = {}) {
  const parts: { name: string; filename: string | null; bytes: Buffer }[] = []
  for await (const part of readMultipart(stream, boundary, max, options)) {
    const pieces: Buffer[] = []
    for await (const piece of part.body) pieces.push(Buffer.from(piece))
    parts.push({ name: part.name, filename: part.filename, bytes: Buffer.concat(pieces) })
  }
  return parts
}

// Bytes that look like the delimiter's start, CR LF runs and the boundary itself, mixed with random ones.
const trickyBytes = fc.array(fc.oneof(
  fc.uint8Array({ maxLength: 200 }),
  fc.constantFrom(Buffer.from('\r\n'), Buffer.from('\r\n--'), Buffer.from(`\r\n--${boundary.slice(0, 20)}`), Buffer.from(`--${boundary}`), Buffer.from('\r')),
), { maxLength: 30 }).map((chunks) => Buffer.concat(chunks))

describe('readMultipart', () => {
  test('yields every part byte for byte, however the body is cut', async () => {
    await fc.assert(fc.asyncProperty(trickyBytes, trickyBytes, fc.array(fc.nat(), { maxLength: 40 }), async (file, field, cuts) => {
      // note: a client picks a boundary its content does not hold (RFC 7578 §4.1); content that holds it is another body.
      fc.pre(!file.includes(`\r\n--${boundary}`) && !field.includes(`\r\n--${boundary}`))
      const bytes = body([{ name: 'file', filename: 'a.bin', bytes: file }, { name: 'metadata', bytes: field }])
      const parts = await collect(streamOf(bytes, cuts))
      expect(parts.map((part) => [part.name, part.filename])).toEqual([['file', 'a.bin'], ['metadata', null]])
      expect(parts[0]!.bytes.equals(file)).toBe(true)
      expect(parts[1]!.bytes.equals(field)).toBe(true)
    }), { numRuns: 300 })
  })

  test('with releaseChunks, the same parts byte for byte, and each chunk read is freed once the next is read', async () => {
    await fc.assert(fc.asyncProperty(trickyBytes, fc.integer({ min: 0, max: 200_000 }), fc.array(fc.nat(), { maxLength: 12 }), async (tricky, size, cuts) => {
      const noise = new Uint8Array(size)
      for (let at = 0; at < size; at += 65536) crypto.getRandomValues(noise.subarray(at, Math.min(size, at + 65536)))
      const file = Buffer.concat([tricky, noise, tricky])
      fc.pre(!file.includes(`\r\n--${boundary}`))
      const bytes = body([{ name: 'file', filename: 'a.bin', bytes: file }, { name: 'metadata', bytes: Buffer.from('{"a":1}') }])
      const delivered: Uint8Array[] = []
      const parts = await collect(ownedStreamOf(bytes, cuts.map((cut) => cut * 7919), delivered), 10 ** 9, { releaseChunks: true })
      expect(parts.map((part) => [part.name, part.filename])).toEqual([['file', 'a.bin'], ['metadata', null]])
      expect(parts[0]!.bytes.equals(file)).toBe(true)
      expect(parts[1]!.bytes.toString()).toBe('{"a":1}')
      // note: chunks of 16 KB or more qualify (releaseChunkBuffer); the last one read is the reader's until it stops.
      for (const chunk of delivered.slice(0, -1)) if (chunk.buffer.byteLength >= 16 * 1024 || chunk.byteLength === 0) expect(chunk.byteLength).toBe(0)
    }), { numRuns: 60 })
  })

  test('a part left unread is skipped; names in filename* are decoded', async () => {
    const raw = Buffer.concat([
      Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="skip"\r\n\r\nnot read\r\n`),
      Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="x"; filename*=UTF-8''R%C3%A9union%20%E2%9C%88.txt\r\n\r\nhello\r\n--${boundary}--`),
    ])
    const names: (string | null)[] = []
    for await (const part of readMultipart(streamOf(raw, [7, 50, 99]), boundary, 10_000)) {
      if (part.name === 'file') expect(await readPartText(part, 100)).toBe('hello')
      names.push(part.filename)
    }
    expect(names).toEqual([null, 'Réunion ✈.txt'])
  })

  test.each([
    ['no boundary at all', 'just some text without any delimiter'],
    ['a part without Content-Disposition', `--${boundary}\r\nContent-Type: text/plain\r\n\r\nx\r\n--${boundary}--`],
    ['a Content-Disposition that is not form-data', `--${boundary}\r\nContent-Disposition: attachment; name="f"\r\n\r\nx\r\n--${boundary}--`],
    ['a quote left open in a name', `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="evil\r\nX: 1"\r\n\r\nx\r\n--${boundary}--`],
    ['the end inside a part', `--${boundary}\r\nContent-Disposition: form-data; name="f"\r\n\r\nnever closed`],
    ['headers too long', `--${boundary}\r\nContent-Disposition: form-data; name="f"\r\nX: ${'a'.repeat(20_000)}\r\n\r\nx\r\n--${boundary}--`],
    ['too many parts', `${`--${boundary}\r\nContent-Disposition: form-data; name="f"\r\n\r\nx\r\n`.repeat(40)}--${boundary}--`],
  ])('refuses %s as malformed', async (_, raw) => {
    const error = await collect(streamOf(Buffer.from(raw), [3, 17])).catch((caught: unknown) => caught)
    expect(error).toBeInstanceOf(MultipartError)
    expect((error as MultipartError).reason).toBe('malformed')
  })

  test('a body over the limit stops with too_large as soon as it passes it', async () => {
    const raw = body([{ name: 'file', filename: 'big', bytes: new Uint8Array(100_000) }])
    const error = await collect(streamOf(raw, [1000, 2000, 50_000]), 10_000).catch((caught: unknown) => caught)
    expect((error as MultipartError).reason).toBe('too_large')
  })

  test.each([
    ['multipart/form-data; boundary=abc', 'abc'],
    ['multipart/form-data; boundary="a b:c"', 'a b:c'],
    ['Multipart/Form-Data; charset=utf-8; boundary=xyz', 'xyz'],
    ['application/json', null],
    ['multipart/form-data', null],
    [`multipart/form-data; boundary=${'a'.repeat(71)}`, null],
  ])('multipartBoundary(%p) is %p', (header, expected) => {
    expect(multipartBoundary(header)).toBe(expected)
  })
})
