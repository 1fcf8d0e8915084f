import { describe, expect, test } from 'bun:test'
import { MAX_JSON_NESTING, nestsDeeperThan } from './json-nesting.ts'

const arrays = (levels: number) => JSON.parse('['.repeat(levels) + ']'.repeat(levels)) as unknown
const objects = (levels: number) => JSON.parse('{"a":'.repeat(levels - 1) + '{}' + '}'.repeat(levels - 1)) as unknown

describe('nestsDeeperThan', () => {
  test.each([
    ['a string', 'x', 0, false],
    ['null', null, 0, false],
    ['[] at 1', [], 1, false],
    ['[] at 0', [], 0, true],
    ['[[1]] at 2', [[1]], 2, false],
    ['[[1]] at 1', [[1]], 1, true],
    ['an object in an array at 2', [{ a: 'b' }], 2, false],
    ['an object in an array at 1', [{ a: 'b' }], 1, true],
    ['the deep branch last', { a: 1, b: [], c: { d: { e: [] } } }, 3, true],
    ['the deep branch first', { c: { d: { e: [] } }, a: 1, b: [] }, 4, false],
  ] as const)('%s', (_, value, max, expected) => {
    expect(nestsDeeperThan(value, max)).toBe(expected)
  })

  test('arrays and objects at the limit pass, one level more does not', () => {
    for (const make of [arrays, objects]) {
      expect(nestsDeeperThan(make(MAX_JSON_NESTING), MAX_JSON_NESTING)).toBe(false)
      expect(nestsDeeperThan(make(MAX_JSON_NESTING + 1), MAX_JSON_NESTING)).toBe(true)
    }
  })

  test('a million levels are measured without recursion', () => {
    expect(nestsDeeperThan(arrays(1_000_000), MAX_JSON_NESTING)).toBe(true)
  })

  test('only arrays and plain objects are entered', () => {
    class Unread { constructor(readonly bytes: Uint8Array) {} }
    expect(nestsDeeperThan({ chat: new Unread(new Uint8Array(10)) }, 1)).toBe(false)
    expect(nestsDeeperThan({ file: new Blob(['x']) }, 1)).toBe(false)
    expect(nestsDeeperThan(Object.assign(Object.create(null), { a: [] }), 1)).toBe(true)
  })
})
