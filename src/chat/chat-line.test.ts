import { afterEach, describe, expect, spyOn, test } from 'bun:test'
import fc from 'fast-check'
import { CHAT_LINES } from './chat-line.ts'
import { readNdjsonBatches, type LineReader } from './ndjson.ts'
import type { ChatChunk } from './ollama-chunks.ts'

/** The same lines without the fast path: every line through JSON.parse and the field-by-field check. */
const FIELD_BY_FIELD: LineReader<ChatChunk> = { parse: CHAT_LINES.parse }

/** What a reader makes of a text sent in one read: the chunks before any failure, and the failure's class, message and line. */
async function outcomeOf(text: string, reader: LineReader<ChatChunk>) {
  const chunks: ChatChunk[] = []
  async function* oneRead() {
    yield new TextEncoder().encode(text)
  }
  try {
    for await (const batch of readNdjsonBatches(oneRead(), undefined, reader)) chunks.push(...batch)
    return { chunks, failure: null }
  } catch (error) {
    const { name, message } = error as Error
    return { chunks, failure: { name, message, lineNumber: (error as { lineNumber?: number }).lineNumber ?? null } }
  }
}

/** Reads `text` both ways and expects the same chunks and the same failure. */
async function expectSameEitherWay(text: string) {
  expect(await outcomeOf(text, CHAT_LINES)).toEqual(await outcomeOf(text, FIELD_BY_FIELD))
}

/** A content line exactly as Ollama writes one (Go's encoding/json, struct field order). */
const ollamaLine = (model: string, createdAt: string, content: string, thinking?: string) =>
  JSON.stringify({ model, created_at: createdAt, message: { role: 'assistant', content, ...(thinking === undefined ? {} : { thinking }) }, done: false })
const finalLine = '{"model":"m","created_at":"t","message":{"role":"assistant","content":""},"done_reason":"stop","done":true,"eval_count":3}'

/** Any text, control characters, quotes, backslashes and lone surrogates included. */
const anyText = fc.string({ unit: 'binary', maxLength: 30 })
const usualLine = ollamaLine('qwen2.5:0.5b', '2026-12-01T04:39:07.035412Z', ' the')

let parse: ReturnType<typeof spyOn> | null = null
afterEach(() => {
  parse?.mockRestore()
  parse = null
})

describe('CHAT_LINES', () => {
  test('usual content lines are read without JSON.parse, to the chunks the field-by-field path gives', async () => {
    const text = [usualLine, usualLine, usualLine].join('\n')
    const expected = await outcomeOf(text, FIELD_BY_FIELD)
    parse = spyOn(JSON, 'parse')
    expect(await outcomeOf(text, CHAT_LINES)).toEqual(expected)
    expect(parse).not.toHaveBeenCalled()
  })

  test('property: any content lines Ollama writes, with or without thinking, between other lines, read as the field-by-field path reads them', async () => {
    const contentLine = fc.tuple(anyText, anyText, anyText, fc.option(anyText, { nil: undefined })).map(([model, at, content, thinking]) => ollamaLine(model, at, content, thinking))
    const otherLine = fc.constantFrom('', '  ', finalLine, '{"error":"model runner has unexpectedly stopped"}', '{"model":"m"}', 'not json')
    const lineEnding = fc.constantFrom('\n', '\r\n')
    await fc.assert(fc.asyncProperty(fc.array(fc.tuple(fc.oneof({ weight: 4, arbitrary: contentLine }, { weight: 1, arbitrary: otherLine }), lineEnding), { maxLength: 12 }), async (lines) => {
      await expectSameEitherWay(lines.map(([line, ending]) => line + ending).join(''))
    }), { numRuns: 1_000 })
  })

  test.each([
    ['an escaped slash', String.raw`{"model":"m","created_at":"t","message":{"role":"assistant","content":"a\/b"},"done":false}`],
    ['every short escape', String.raw`{"model":"m","created_at":"t","message":{"role":"assistant","content":"\"\\\/\b\f\n\r\t"},"done":false}`],
    ['unicode escapes, upper and lower case', String.raw`{"model":"m","created_at":"t","message":{"role":"assistant","content":"\u00E9\u00e9\ud83d\ude00"},"done":false}`],
    ['a lone surrogate escape', String.raw`{"model":"m","created_at":"t","message":{"role":"assistant","content":"\ud800"},"done":false}`],
    ['thinking', String.raw`{"model":"m","created_at":"t","message":{"role":"assistant","content":"","thinking":"hm\n"},"done":false}`],
  ])('%s: read as JSON.parse reads it', async (_, line) => {
    await expectSameEitherWay(line)
    expect((await outcomeOf(line, CHAT_LINES)).chunks).toHaveLength(1)
  })

  test.each([
    ['an unknown escape', String.raw`{"model":"m","created_at":"t","message":{"role":"assistant","content":"\x41"},"done":false}`],
    ['a short unicode escape', String.raw`{"model":"m","created_at":"t","message":{"role":"assistant","content":"\u00e"},"done":false}`],
    ['a raw control character', '{"model":"m","created_at":"t","message":{"role":"assistant","content":"a\u0001b"},"done":false}'],
    ['a raw tab', '{"model":"m","created_at":"t","message":{"role":"assistant","content":"a\tb"},"done":false}'],
    ['a raw carriage return inside', '{"model":"m","created_at":"t","message":{"role":"assistant","content":"a\rb"},"done":false}'],
    ['an unescaped quote', '{"model":"m","created_at":"t","message":{"role":"assistant","content":"a"b"},"done":false}'],
    ['a trailing backslash', '{"model":"m","created_at":"t","message":{"role":"assistant","content":"a\\"},"done":false}'],
    ['a line cut short', '{"model":"m","created_at":"t","message":{"role":"assistant","content":"a"},"done":fal'],
    ['a second object after it', '{"model":"m","created_at":"t","message":{"role":"assistant","content":"a"},"done":false}{}'],
    ['two carriage returns before the LF', '{"model":"m","created_at":"t","message":{"role":"assistant","content":"a"},"done":false}\r\r\n'],
    ['an error line', '{"error":"model runner has unexpectedly stopped"}'],
    ['a number for the content', '{"model":"m","created_at":"t","message":{"role":"assistant","content":7},"done":false}'],
    ['another role', '{"model":"m","created_at":"t","message":{"role":"user","content":"a"},"done":false}'],
    ['fields in another order', '{"created_at":"t","model":"m","message":{"role":"assistant","content":"a"},"done":false}'],
    ['an added field', '{"model":"m","created_at":"t","message":{"role":"assistant","content":"a","images":null},"done":false}'],
    ['whitespace between fields', '{"model": "m", "created_at": "t", "message": {"role": "assistant", "content": "a"}, "done": false}'],
    ['whitespace before the line', ' {"model":"m","created_at":"t","message":{"role":"assistant","content":"a"},"done":false}'],
    ['a null thinking', '{"model":"m","created_at":"t","message":{"role":"assistant","content":"a","thinking":null},"done":false}'],
    ['the final chunk', finalLine],
    ['done spelled as a string', '{"model":"m","created_at":"t","message":{"role":"assistant","content":"a"},"done":"false"}'],
    ['a duplicate key', '{"model":"m","created_at":"t","message":{"role":"assistant","content":"a"},"done":false,"done":true}'],
  ])('%s: the same outcome as the field-by-field path, alone and after a usual line', async (_, line) => {
    await expectSameEitherWay(line)
    await expectSameEitherWay(`${usualLine}\n${line}\n${usualLine}`)
  })

  test('property: usual lines with one character changed have the same outcome either way, line numbers included', async () => {
    const meaningful = fc.constantFrom('"', '\\', '{', '}', ',', ':', '\n', '\r', '\u0000', '\u001f', 'u', '0', 'x', ' ', '/', '\ud800')
    const text = [usualLine, usualLine, usualLine].join('\n')
    await fc.assert(fc.asyncProperty(fc.nat(), meaningful, fc.boolean(), async (at, char, isInsert) => {
      const position = at % text.length
      await expectSameEitherWay(text.slice(0, position) + char + text.slice(isInsert ? position : position + 1))
    }), { numRuns: 2_000 })
  })
})
