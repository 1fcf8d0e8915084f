import { expect, test } from 'bun:test'
import { hasAllTags, readSearchTerms } from './chat-search-terms.ts'

test.each([
  ['plain text', 'lisbon trip', { text: 'lisbon trip', tagIds: [] }],
  ['one tag', 'tag:Travel', { text: '', tagIds: ['travel'] }],
  ['tags and text', 'tag:work  budget tag:Q3 plan', { text: 'budget plan', tagIds: ['work', 'q3'] }],
  ['upper-case prefix', 'TAG:Work', { text: '', tagIds: ['work'] }],
  ['bare prefix is text', 'tag:', { text: 'tag:', tagIds: [] }],
  ['empty', '   ', { text: '', tagIds: [] }],
])('search terms: %s', (_, raw, expected) => {
  expect(readSearchTerms(raw)).toEqual(expected)
})

test('a chat passes when it carries every tag asked for; none asks for no tag', () => {
  expect(hasAllTags(new Set(['work', 'q3']), ['work', 'q3'])).toBe(true)
  expect(hasAllTags(new Set(['work']), ['work', 'q3'])).toBe(false)
  expect(hasAllTags(undefined, ['work'])).toBe(false)
  expect(hasAllTags(undefined, ['none'])).toBe(true)
  expect(hasAllTags(new Set(['work']), ['none'])).toBe(false)
  expect(hasAllTags(undefined, [])).toBe(true)
})
