import { expect, test } from 'bun:test'
import fc from 'fast-check'
import { chunkText } from './chunk-text.ts'

test('short text is one chunk', () => {
  expect(chunkText('  A heron.  ', 100, 10)).toEqual([{ text: 'A heron.', start: 2 }])
})

test('cuts fall on paragraph breaks, then words, with the overlap shared', () => {
  const text = 'First paragraph about herons.\n\nSecond paragraph about kingfishers and more words here.'
  const chunks = chunkText(text, 50, 10)
  expect(chunks[0]!.text).toBe('First paragraph about herons.')
  expect(chunks.every((chunk) => chunk.text.length <= 50)).toBe(true)
  expect(chunks.map((chunk) => chunk.text).join(' ')).toContain('kingfishers')
})

test('whitespace only yields no chunk', () => {
  expect(chunkText(' \n\n\t ', 10, 2)).toEqual([])
})

test('every chunk is within the size, points at its text, and the chunks cover the document', () => {
  fc.assert(fc.property(fc.string({ maxLength: 2000 }), fc.integer({ min: 5, max: 300 }), fc.integer({ min: 0, max: 299 }), (text, size, rawOverlap) => {
    const overlap = rawOverlap % size
    const chunks = chunkText(text, size, overlap)
    let covered = 0
    for (const chunk of chunks) {
      expect(chunk.text.length).toBeLessThanOrEqual(size)
      expect(text.slice(chunk.start, chunk.start + chunk.text.length)).toBe(chunk.text)
      // note: nothing but whitespace is skipped between chunks
      expect(text.slice(covered, chunk.start).trim()).toBe('')
      covered = Math.max(covered, chunk.start + chunk.text.length)
    }
    expect(text.slice(covered).trim()).toBe('')
  }), { numRuns: 300 })
})

test('a long text without any break is cut in linear time', () => {
  const chunks = chunkText('q'.repeat(2_000_000), 1000, 100)
  expect(chunks).toHaveLength(Math.ceil((2_000_000 - 100) / 900))
  expect(chunks.every((chunk) => chunk.text.length === 1000 || chunk === chunks.at(-1))).toBe(true)
})
