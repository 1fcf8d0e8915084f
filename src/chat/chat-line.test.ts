import { afterEach, describe, expect, spyOn, test } from 'bun:test'
import fc from 'fast-check'
import { readChatLine } from './chat-line.ts'
import { toChatChunk } from './ollama-chunks.ts'

/** What the field-by-field path makes of a line: the chunk, or the error's class and message. */
function outcomeOf(read: () => unknown): { value: unknown } | { error: string; message: string } {
  try {
    return { value: read() }
  } catch (error) {
    return error instanceof Error ? { error: error.constructor.name, message: error.message } : { error: 'unknown', message: String(error) }
  }
}
const slowly = (line: string) => outcomeOf(() => toChatChunk(JSON.parse(line)))
const quickly = (line: string) => outcomeOf(() => readChatLine(line))

/** A content line exactly as Ollama writes one (Go's encoding/json, struct field order). */
const ollamaLine = (model: string, createdAt: string, content: string, thinking?: string) =>
  JSON.stringify({ model, created_at: createdAt, message: { role: 'assistant', content, ...(thinking === undefined ? {} : { thinking }) }, done: false })

/** Any text, control characters, quotes, backslashes and lone surrogates included. */
const anyText = fc.string({ unit: 'binary', maxLength: 40 })
const usualLine = ollamaLine('qwen2.5:0.5b', '2026-12-01T04:39:07.035412Z', ' the')

let parse: ReturnType<typeof spyOn> | null = null
afterEach(() => {
  parse?.mockRestore()
  parse = null
})

describe('readChatLine', () => {
  test('a usual content line is read without JSON.parse, to the chunk the field-by-field path gives', () => {
    const expected = toChatChunk(JSON.parse(usualLine))
    parse = spyOn(JSON, 'parse')
    expect(readChatLine(usualLine)).toEqual(expected)
    expect(parse).not.toHaveBeenCalled()
  })

  test('property: any content line Ollama writes, with or without thinking, reads as the field-by-field path reads it', () => {
    fc.assert(fc.property(anyText, anyText, anyText, fc.option(anyText, { nil: undefined }), (model, createdAt, content, thinking) => {
      const line = ollamaLine(model, createdAt, content, thinking)
      expect(quickly(line)).toEqual(slowly(line))
    }), { numRuns: 2_000 })
  })

  test.each([
    ['an escaped slash', String.raw`{"model":"m","created_at":"t","message":{"role":"assistant","content":"a\/b"},"done":false}`],
    ['every short escape', String.raw`{"model":"m","created_at":"t","message":{"role":"assistant","content":"\"\\\/\b\f\n\r\t"},"done":false}`],
    ['unicode escapes, upper and lower case', String.raw`{"model":"m","created_at":"t","message":{"role":"assistant","content":"\u00E9\u00e9\ud83d\ude00"},"done":false}`],
    ['a lone surrogate escape', String.raw`{"model":"m","created_at":"t","message":{"role":"assistant","content":"\ud800"},"done":false}`],
    ['thinking', String.raw`{"model":"m","created_at":"t","message":{"role":"assistant","content":"","thinking":"hm\n"},"done":false}`],
  ])('%s: read as JSON.parse reads it', (_, line) => {
    expect(quickly(line)).toEqual(slowly(line))
    expect('value' in quickly(line)).toBe(true)
  })

  test.each([
    ['an unknown escape', String.raw`{"model":"m","created_at":"t","message":{"role":"assistant","content":"\x41"},"done":false}`],
    ['a short unicode escape', String.raw`{"model":"m","created_at":"t","message":{"role":"assistant","content":"\u00e"},"done":false}`],
    ['a raw control character', '{"model":"m","created_at":"t","message":{"role":"assistant","content":"a\u0001b"},"done":false}'],
    ['a raw tab', '{"model":"m","created_at":"t","message":{"role":"assistant","content":"a\tb"},"done":false}'],
    ['an unescaped quote', '{"model":"m","created_at":"t","message":{"role":"assistant","content":"a"b"},"done":false}'],
    ['a trailing backslash', '{"model":"m","created_at":"t","message":{"role":"assistant","content":"a\\"},"done":false}'],
    ['a line cut short', '{"model":"m","created_at":"t","message":{"role":"assistant","content":"a"},"done":fal'],
    ['a second object after it', '{"model":"m","created_at":"t","message":{"role":"assistant","content":"a"},"done":false}{}'],
    ['an error line', '{"error":"model runner has unexpectedly stopped"}'],
    ['a number for the content', '{"model":"m","created_at":"t","message":{"role":"assistant","content":7},"done":false}'],
    ['another role', '{"model":"m","created_at":"t","message":{"role":"user","content":"a"},"done":false}'],
    ['fields in another order', '{"created_at":"t","model":"m","message":{"role":"assistant","content":"a"},"done":false}'],
    ['an added field', '{"model":"m","created_at":"t","message":{"role":"assistant","content":"a","images":null},"done":false}'],
    ['whitespace between fields', '{"model": "m", "created_at": "t", "message": {"role": "assistant", "content": "a"}, "done": false}'],
    ['a null thinking', '{"model":"m","created_at":"t","message":{"role":"assistant","content":"a","thinking":null},"done":false}'],
    ['the final chunk', '{"model":"m","created_at":"t","message":{"role":"assistant","content":""},"done_reason":"stop","done":true,"eval_count":3}'],
    ['done spelled as a string', '{"model":"m","created_at":"t","message":{"role":"assistant","content":"a"},"done":"false"}'],
    ['a duplicate key', '{"model":"m","created_at":"t","message":{"role":"assistant","content":"a"},"done":false,"done":true}'],
  ])('%s: the same outcome as the field-by-field path', (_, line) => {
    expect(quickly(line)).toEqual(slowly(line))
  })

  test('property: a usual line with one character changed has the same outcome either way', () => {
    const meaningful = fc.constantFrom('"', '\\', '{', '}', ',', ':', '\n', '\u0000', '\u001f', 'u', '0', 'x', ' ', '/', '\ud800')
    fc.assert(fc.property(fc.nat(), meaningful, fc.boolean(), (at, char, isInsert) => {
      const position = at % usualLine.length
      const line = usualLine.slice(0, position) + char + usualLine.slice(isInsert ? position : position + 1)
      expect(quickly(line)).toEqual(slowly(line))
    }), { numRuns: 3_000 })
  })
})
