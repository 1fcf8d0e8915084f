import { describe, expect, test } from 'bun:test'
import fc from 'fast-check'
import { TypeCompiler } from '@sinclair/typebox/compiler'
import { ChatSendFrame, compileSendCheck, parseClientFrame } from './frames.ts'

const MODEL = 'qwen2.5:0.5b'

describe('parseClientFrame', () => {
  test.each<[string, object]>([
    ['chat:send, the least', { type: 'chat:send', model: MODEL, content: 'hi' }],
    ['chat:send with empty content', { type: 'chat:send', model: MODEL, content: '' }],
    ['chat:send with everything', {
      type: 'chat:send', chatId: 'c'.repeat(64), model: 'm'.repeat(200), content: 'x'.repeat(1_000_000),
      images: Array.from({ length: 16 }, () => 'aGk='), options: { temperature: 0.2, stop: ['\n'] },
    }],
    ['chat:send in unicode', { type: 'chat:send', model: 'llama3.2:1b', content: 'Grüße, 世界 🌍' }],
    ['chat:send with bare file ids and Open WebUI\'s files entries (their other fields ignored)', {
      type: 'chat:send', model: MODEL, content: 'hi', files: [
        'f'.repeat(36),
        { type: 'file', id: 'a'.repeat(36), name: 'report.pdf', url: '/api/v1/files/x', status: 'uploaded', size: 12, file: { meta: {} } },
        { type: 'collection', id: 'b'.repeat(36), name: 'Papers', description: '', files: [] },
        { type: 'image', id: 'c'.repeat(36) },
        { id: 'd'.repeat(36) },
      ],
    }],
    ['chat:send as an edit of the first message', { type: 'chat:send', chatId: 'c', parentId: null, model: MODEL, content: 'hi' }],
    ['chat:send with settings', { type: 'chat:send', parentId: 'a-uuid.1:2', model: MODEL, content: 'hi', system: 's'.repeat(100_000), options: { num_ctx: 1_048_576, seed: -1, top_k: 0 } }],
    ['chat:regenerate', { type: 'chat:regenerate', chatId: 'c', parentId: '12', model: MODEL }],
    ['chat:select', { type: 'chat:select', chatId: 'c', messageId: 'm'.repeat(128) }],
    ['chat:cancel', { type: 'chat:cancel', messageId: 'live-1' }],
    ['chat:resume from 0', { type: 'chat:resume', messageId: 'live-1', index: 0 }],
    ['chat:resume from far on', { type: 'chat:resume', messageId: 'm'.repeat(64), index: 1_000_000 }],
  ])('accepts %s, as given', (_, frame) => {
    expect(parseClientFrame(frame)).toEqual({ ok: true, frame: frame as never })
  })

  test.each<[string, unknown, string]>([
    ['raw text (not JSON)', '{"type": "chat:send", ', 'invalid_json'],
    ['an empty string', '', 'invalid_json'],
    ['bytes', new Uint8Array([123, 125]), 'invalid_json'],
    ['an ArrayBuffer', new ArrayBuffer(2), 'invalid_json'],
    ['null', null, 'invalid_frame'],
    ['a number', 42, 'invalid_frame'],
    ['a boolean', true, 'invalid_frame'],
    ['an array', [{ type: 'chat:cancel', messageId: 'x' }], 'invalid_frame'],
    ['an object without type', { model: MODEL, content: 'hi' }, 'unknown_type'],
    ['a type that is not a string', { type: 1 }, 'unknown_type'],
    ['an unknown type', { type: 'chat:delete' }, 'unknown_type'],
    ['a server frame type', { type: 'chat:delta', messageId: 'x', index: 0, content: 'x' }, 'unknown_type'],
    ['a type in another case', { type: 'CHAT:SEND', model: MODEL, content: 'hi' }, 'unknown_type'],
    ['a prototype key as type', { type: 'constructor' }, 'unknown_type'],
    ['__proto__ as type', { type: '__proto__' }, 'unknown_type'],
    ['toString as type', { type: 'toString' }, 'unknown_type'],
    ['chat:send without content', { type: 'chat:send', model: MODEL }, 'invalid_frame'],
    ['chat:send with a files entry of an unknown type', { type: 'chat:send', model: MODEL, content: 'hi', files: [{ type: 'web', id: 'https://example.com' }] }, 'invalid_frame'],
    ['chat:send with a files entry without an id', { type: 'chat:send', model: MODEL, content: 'hi', files: [{ type: 'collection', name: 'x' }] }, 'invalid_frame'],
    ['chat:send with a files entry that is a number', { type: 'chat:send', model: MODEL, content: 'hi', files: [42] }, 'invalid_frame'],
    ['chat:send without model', { type: 'chat:send', content: 'hi' }, 'invalid_frame'],
    ['chat:send with an empty model', { type: 'chat:send', model: '', content: 'hi' }, 'invalid_frame'],
    ['chat:send with a model too long', { type: 'chat:send', model: 'm'.repeat(201), content: 'hi' }, 'invalid_frame'],
    ['chat:send with content too long', { type: 'chat:send', model: MODEL, content: 'x'.repeat(1_000_001) }, 'invalid_frame'],
    ['chat:send with a chatId too long', { type: 'chat:send', chatId: 'c'.repeat(65), model: MODEL, content: 'hi' }, 'invalid_frame'],
    ['chat:send with a numeric chatId', { type: 'chat:send', chatId: 1, model: MODEL, content: 'hi' }, 'invalid_frame'],
    ['chat:send with numeric content', { type: 'chat:send', model: MODEL, content: 5 }, 'invalid_frame'],
    ['chat:send with 17 images', { type: 'chat:send', model: MODEL, content: 'hi', images: Array.from({ length: 17 }, () => 'x') }, 'invalid_frame'],
    ['chat:send with a non-string image', { type: 'chat:send', model: MODEL, content: 'hi', images: [1] }, 'invalid_frame'],
    ['chat:send with options as an array', { type: 'chat:send', model: MODEL, content: 'hi', options: [1] }, 'invalid_frame'],
    ['chat:send with a system prompt too long', { type: 'chat:send', model: MODEL, content: 'hi', system: 's'.repeat(100_001) }, 'invalid_frame'],
    ['chat:send with a parentId too long', { type: 'chat:send', model: MODEL, content: 'hi', parentId: 'p'.repeat(129) }, 'invalid_frame'],
    ['chat:send with an empty parentId', { type: 'chat:send', model: MODEL, content: 'hi', parentId: '' }, 'invalid_frame'],
    ['chat:send with a parentId holding a slash', { type: 'chat:send', model: MODEL, content: 'hi', parentId: 'a/b' }, 'invalid_frame'],
    ['chat:send with an unknown option', { type: 'chat:send', model: MODEL, content: 'hi', options: { num_thread: 64 } }, 'invalid_frame'],
    ['chat:send with a fractional top_k', { type: 'chat:send', model: MODEL, content: 'hi', options: { top_k: 1.5 } }, 'invalid_frame'],
    ['chat:send with a numeric-string seed', { type: 'chat:send', model: MODEL, content: 'hi', options: { seed: '42' } }, 'invalid_frame'],
    ['chat:send with a negative temperature', { type: 'chat:send', model: MODEL, content: 'hi', options: { temperature: -1 } }, 'invalid_frame'],
    ['chat:send with 17 stop words', { type: 'chat:send', model: MODEL, content: 'hi', options: { stop: Array.from({ length: 17 }, () => 'x') } }, 'invalid_frame'],
    ['chat:regenerate without parentId', { type: 'chat:regenerate', chatId: 'c', model: MODEL }, 'invalid_frame'],
    ['chat:regenerate without chatId', { type: 'chat:regenerate', parentId: '1', model: MODEL }, 'invalid_frame'],
    ['chat:select with a null messageId', { type: 'chat:select', chatId: 'c', messageId: null }, 'invalid_frame'],
    ['chat:cancel without messageId', { type: 'chat:cancel' }, 'invalid_frame'],
    ['chat:cancel with a messageId too long', { type: 'chat:cancel', messageId: 'm'.repeat(65) }, 'invalid_frame'],
    ['chat:cancel with a numeric messageId', { type: 'chat:cancel', messageId: 3 }, 'invalid_frame'],
    ['chat:resume without index', { type: 'chat:resume', messageId: 'live-1' }, 'invalid_frame'],
    ['chat:resume with a negative index', { type: 'chat:resume', messageId: 'live-1', index: -1 }, 'invalid_frame'],
    ['chat:resume with a fractional index', { type: 'chat:resume', messageId: 'live-1', index: 1.5 }, 'invalid_frame'],
    ['chat:resume with a word as index', { type: 'chat:resume', messageId: 'live-1', index: 'one' }, 'invalid_frame'],
    ['chat:resume with an infinite index', { type: 'chat:resume', messageId: 'live-1', index: Infinity }, 'invalid_frame'],
  ])('refuses %s', (_, value, code) => {
    const check = parseClientFrame(value)
    expect(check).toMatchObject({ ok: false, code })
    expect(check.ok ? '' : check.message).not.toBe('')
  })

  // A digit string must not pass as an index: in LiveStreams.resume it would concatenate ("10", "11").
  test('refuses chat:resume with a numeric string as index', () => {
    expect(parseClientFrame(JSON.parse('{"type": "chat:resume", "messageId": "live-1", "index": "1"}'))).toMatchObject({ ok: false, code: 'invalid_frame' })
  })

  test('property: any JSON value is judged without throwing, and what passes has a known type', () => {
    fc.assert(fc.property(fc.jsonValue(), (value) => {
      const check = parseClientFrame(value)
      if (check.ok) expect(['chat:send', 'chat:cancel', 'chat:resume']).toContain(check.frame.type)
      else expect(['invalid_json', 'unknown_type', 'invalid_frame']).toContain(check.code)
    }), { numRuns: 2_000 })
  })

  test('property: objects with a known type and arbitrary fields never throw either', () => {
    const type = fc.constantFrom('chat:send', 'chat:cancel', 'chat:resume')
    fc.assert(fc.property(type, fc.dictionary(fc.string(), fc.jsonValue()), (kind, fields) => {
      const check = parseClientFrame({ ...fields, type: kind })
      expect(check.ok || check.code === 'invalid_frame').toBe(true)
    }), { numRuns: 2_000 })
  })

  test('property: every well-formed frame passes', () => {
    const id = fc.string({ maxLength: 64 })
    const frame = fc.oneof(
      fc.record({ type: fc.constant('chat:send'), model: fc.string({ minLength: 1, maxLength: 200 }), content: fc.string() }),
      fc.record({ type: fc.constant('chat:cancel'), messageId: id }),
      fc.record({ type: fc.constant('chat:resume'), messageId: id, index: fc.nat() }),
    )
    fc.assert(fc.property(frame, (value) => {
      expect(parseClientFrame(value)).toEqual({ ok: true, frame: value })
    }))
  })

  test('the chat:send check compiled ahead passes its own sample frame, so running it once on it takes the path a frame takes', () => {
    compileSendCheck()
    const sample = { type: 'chat:send', chatId: 'sample', parentId: null, model: 'sample:latest', content: 'A sample question.', options: { temperature: 0.7 } }
    expect(parseClientFrame(sample)).toEqual({ ok: true, frame: sample as never })
  })

  test('property: the chat:send check compiled ahead (during the app\'s build) judges as one compiled for the frame', () => {
    compileSendCheck()
    compileSendCheck()
    const fresh = TypeCompiler.Compile(ChatSendFrame)
    const fields = fc.record({
      model: fc.oneof(fc.string({ maxLength: 300 }), fc.jsonValue()), content: fc.oneof(fc.string(), fc.jsonValue()),
      chatId: fc.oneof(fc.string({ maxLength: 80 }), fc.constant(null)), parentId: fc.oneof(fc.string({ maxLength: 140 }), fc.constant(null), fc.integer()),
      options: fc.oneof(fc.dictionary(fc.constantFrom('temperature', 'seed', 'num_ctx', 'stop', 'top_k', 'other'), fc.jsonValue()), fc.jsonValue()),
      extra: fc.jsonValue(),
    }, { requiredKeys: [] })
    fc.assert(fc.property(fields, (value) => {
      const frame = { ...value, type: 'chat:send' }
      expect(parseClientFrame(frame).ok).toBe(fresh.Check(frame))
    }), { numRuns: 2_000 })
  })
})
