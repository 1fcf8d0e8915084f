import { describe, expect, test } from 'bun:test'
import fc from 'fast-check'
import { closestName, editDistance } from './closest-name.ts'

describe('closestName', () => {
  test.each([
    ['OLAMA_BASE_URL', 'OLLAMA_BASE_URL'],
    ['OLLAMA_BASE_ULR', 'OLLAMA_BASE_URL'],
    ['webui_name', 'WEBUI_NAME'],
    ['NOTHING_LIKE_IT', null],
    ['', null],
  ])('%p -> %p', (input, expected) => {
    expect(closestName(input, ['OLLAMA_BASE_URL', 'OLLAMA_BASE_URLS', 'WEBUI_NAME', 'PORT'], 2)).toBe(expected)
  })

  test('the nearest wins over an earlier, farther one', () => {
    expect(closestName('OLLAMA_BASE_URLS', ['OLLAMA_BASE_URL', 'OLLAMA_BASE_URLS'], 2)).toBe('OLLAMA_BASE_URLS')
  })

  test('distance is symmetric, zero only for equal names, and a swap costs one (fast-check)', () => {
    fc.assert(fc.property(fc.string({ maxLength: 20 }), fc.string({ maxLength: 20 }), (a, b) => {
      expect(editDistance(a, b)).toBe(editDistance(b, a))
      expect(editDistance(a, b) === 0).toBe(a === b)
    }))
    expect(editDistance('serve', 'sevre')).toBe(1)
  })

  test('a huge input stays cheap', () => {
    const started = performance.now()
    closestName('x'.repeat(1_000_000), ['--port', '--host'], 2)
    expect(performance.now() - started).toBeLessThan(200)
  })
})

test('a bounded distance is the full one when within the bound, and the bound plus one beyond it (fast-check)', () => {
  fc.assert(fc.property(fc.string({ maxLength: 24 }), fc.string({ maxLength: 24 }), fc.integer({ min: 0, max: 4 }), (a, b, bound) => {
    const full = editDistance(a, b)
    expect(editDistance(a, b, bound)).toBe(full <= bound ? full : bound + 1)
  }), { numRuns: 2_000 })
  fc.assert(fc.property(fc.stringMatching(/^[AB_]{0,12}$/), fc.stringMatching(/^[AB_]{0,12}$/), fc.integer({ min: 0, max: 3 }), (a, b, bound) => {
    const full = editDistance(a, b)
    expect(editDistance(a, b, bound)).toBe(full <= bound ? full : bound + 1)
  }), { numRuns: 2_000 })
})

test('matching a long environment against the known names stays cheap', () => {
  const names = Array.from({ length: 200 }, (_, i) => `SOME_SETTING_NAMED_${i}_${'X'.repeat(i % 30)}`)
  const environment = Array.from({ length: 100 }, (_, i) => `UNRELATED_VARIABLE_${i}_${'Y'.repeat(i % 25)}`)
  const started = performance.now()
  for (const name of environment) closestName(name, names, 2)
  // note: 20,000 comparisons; at full cost each (before the bound) this took well over 100 ms.
  expect(performance.now() - started).toBeLessThan(100)
})
