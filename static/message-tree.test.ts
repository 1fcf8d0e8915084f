import { describe, expect, test } from 'bun:test'
import { describeUsage, newestLeafFrom, pathTo, siblingIdsOf, type MessageMap } from './message-tree.ts'
import type { StoredMessage } from './types.ts'

const message = (id: string, parentId: string | null, childrenIds: string[], timestamp = 1): StoredMessage =>
  ({ id, parentId, childrenIds, role: parentId === null || id.startsWith('q') ? 'user' : 'assistant', content: id, model: null, timestamp })

// q1 ─ a1 ─ q2 ─ a2
//    ├ a1b   ├ a2b
//    │       └ a2c
// q1b (edited first question) ─ a3
const tree: MessageMap = Object.fromEntries([
  message('q1', null, ['a1', 'a1b'], 1), message('a1', 'q1', ['q2']), message('a1b', 'q1', []),
  message('q2', 'a1', ['a2', 'a2b', 'a2c']), message('a2', 'q2', []), message('a2b', 'q2', []), message('a2c', 'q2', []),
  message('q1b', null, ['a3'], 2), message('a3', 'q1b', []),
].map((entry) => [entry.id, entry]))

describe('the page walks the tree', () => {
  test('pathTo: root to leaf; unknown or null is empty; a cycle ends', () => {
    expect(pathTo(tree, 'a2b').map((entry) => entry.id)).toEqual(['q1', 'a1', 'q2', 'a2b'])
    expect(pathTo(tree, null)).toEqual([])
    expect(pathTo(tree, 'nope')).toEqual([])
    const looped = { x: message('x', 'y', []), y: message('y', 'x', []) }
    expect(pathTo(looped, 'x').map((entry) => entry.id)).toEqual(['y', 'x'])
  })

  test('siblingIdsOf: the parent\'s children, or the roots by time', () => {
    expect(siblingIdsOf(tree, tree.a2b!)).toEqual(['a2', 'a2b', 'a2c'])
    expect(siblingIdsOf(tree, tree.q1b!)).toEqual(['q1', 'q1b'])
  })

  test('newestLeafFrom: follows the newest child down', () => {
    expect(newestLeafFrom(tree, 'q1')).toBe('a1b')
    expect(newestLeafFrom(tree, 'a1')).toBe('a2c')
    expect(newestLeafFrom(tree, 'a3')).toBe('a3')
  })

  test('describeUsage: tokens, speed and time when known', () => {
    expect(describeUsage({ completion_tokens: 12, 'response_token/s': 33.333, total_duration: 2_500_000_000 })).toBe('12 tokens · 33.3 tokens/s · 2.5 s')
    expect(describeUsage({ eval_count: 3 })).toBe('3 tokens')
    expect(describeUsage(undefined)).toBeNull()
    expect(describeUsage({ completion_tokens: 'many' })).toBeNull()
  })
})
