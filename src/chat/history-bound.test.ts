import { expect, test } from 'bun:test'
import fc from 'fast-check'
import { boundHistory } from './history-bound.ts'
import { contextWindowOf, type ChatMessage } from './ollama-client.ts'

const say = (role: ChatMessage['role'], chars: number): ChatMessage => ({ role, content: 'x'.repeat(chars) })

test.each([
  ['unknown window: everything', [say('system', 10), say('user', 8_000), say('user', 10)], null, 3],
  ['everything fits', [say('system', 10), say('user', 80), say('assistant', 80), say('user', 10)], 4096, 4],
  ['oldest left out first; system and last kept', [say('system', 80), say('user', 8_000), say('assistant', 80), say('user', 80)], 100, 3],
  ['a last message larger than the window still goes', [say('user', 80), say('user', 80_000)], 16, 1],
  ['one message', [say('user', 80_000)], 1, 1],
  ['empty', [], 16, 0],
] as const)('boundHistory: %s', (_, messages, window, kept) => {
  const sent = boundHistory(messages, window)
  expect(sent).toHaveLength(kept)
  if (messages.length > 0) expect(sent.at(-1)).toBe(messages.at(-1)!)
  if (messages[0]?.role === 'system') expect(sent[0]).toBe(messages[0])
})

test('boundHistory sends the leading system messages and a suffix of the rest, within the window when it can (property)', () => {
  const message = fc.record({ role: fc.constantFrom('system' as const, 'user' as const, 'assistant' as const), content: fc.string({ maxLength: 400 }) })
  fc.assert(fc.property(fc.array(message, { maxLength: 40 }), fc.integer({ min: 1, max: 2_000 }), (messages, window) => {
    const sent = boundHistory(messages, window)
    let system = 0
    while (system < messages.length - 1 && messages[system]!.role === 'system') system++
    expect(sent.slice(0, system)).toEqual(messages.slice(0, system))
    const rest = sent.slice(system)
    expect(rest).toEqual(messages.slice(messages.length - rest.length))
    if (messages.length > 0) expect(rest.length).toBeGreaterThanOrEqual(1)
    const tokens = (list: readonly ChatMessage[]) => list.reduce((sum, m) => sum + 4 + Math.floor(m.content.length / 8), 0)
    // note: a message is left out only when the window could not hold it as well.
    if (sent.length < messages.length) expect(tokens(sent) + 4 + Math.floor(messages[messages.length - rest.length - 1]!.content.length / 8)).toBeGreaterThan(window)
  }))
})

test.each([
  ['the Modelfile sets num_ctx', { parameters: 'stop "<|eot_id|>"\nnum_ctx                        8192', model_info: { 'general.architecture': 'llama', 'llama.context_length': 131072 } }, 8192],
  ['the trained length', { model_info: { 'general.architecture': 'qwen2', 'qwen2.context_length': 32768 } }, 32768],
  ['neither', { model_info: { 'general.architecture': 'qwen2' } }, null],
  ['no model_info', {}, null],
  ['a hostile length', { model_info: { 'general.architecture': 'x', 'x.context_length': -5 } }, null],
  ['a string length', { model_info: { 'general.architecture': 'x', 'x.context_length': '4096' } }, null],
  ['num_ctx not a number', { parameters: 'num_ctx lots' }, null],
] as const)('contextWindowOf: %s', (_, answer, window) => {
  expect(contextWindowOf(answer as Record<string, unknown>)).toBe(window)
})
