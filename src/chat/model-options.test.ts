import { describe, expect, test } from 'bun:test'
import { ollamaOptionsOf, withOllamaOptions } from './model-options.ts'

describe('ollamaOptionsOf', () => {
  test.each<[string, Record<string, unknown> | null, Record<string, unknown>]>([
    ['null', null, {}],
    ['valid options, as given', { temperature: 0.7, top_k: 40, stop: ['###'], seed: 1 }, { temperature: 0.7, top_k: 40, stop: ['###'], seed: 1 }],
    ["Open WebUI's max_tokens as num_predict", { max_tokens: 128 }, { num_predict: 128 }],
    ['num_predict wins over max_tokens', { num_predict: 5, max_tokens: 128 }, { num_predict: 5 }],
    ['a client\'s own keys left out', { function_calling: 'native', system: 'x', stream_response: true }, {}],
    ['wrong types and ranges left out', { temperature: '0.5', num_ctx: 1e12, top_p: 2, stop: 'x', seed: 1.5, mirostat: null }, {}],
    ['resource settings left out', { num_gpu: 99, num_thread: 512, use_mmap: false }, {}],
  ])('%s', (_, params, expected) => {
    expect(ollamaOptionsOf(params)).toEqual(expected)
  })
})

test('withOllamaOptions replaces the Ollama options and keeps a client\'s own keys', () => {
  expect(withOllamaOptions({ temperature: 1, max_tokens: 9, function_calling: 'native' }, { top_k: 3 })).toEqual({ function_calling: 'native', top_k: 3 })
  expect(withOllamaOptions(null, { seed: 2 })).toEqual({ seed: 2 })
})
