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
