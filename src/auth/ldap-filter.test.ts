import { describe, expect, test } from 'bun:test'
import fc from 'fast-check'
import { AndFilter, EqualityFilter, FilterParser } from 'ldapts'
import { escapeFilterValue, userSearchFilter } from './ldap-filter.ts'

describe('escapeFilterValue', () => {
  test.each([
    ['*', '\\2a'],
    ['admin)(uid=*', 'admin\\29\\28uid=\\2a'],
    ['\\00', '\\5c00'],
    ['\0', '\\00'],
    ['(', '\\28'],
    [')', '\\29'],
    ['a\\b', 'a\\5cb'],
    ['jörg 日本', 'jörg 日本'],
    ['', ''],
  ])('%p becomes %p (RFC 4515 section 3)', (input, expected) => {
    expect(escapeFilterValue(input)).toBe(expected)
  })

  test('any string, escaped into a filter, parses back to an equality match on exactly that string (fast-check)', () => {
    fc.assert(fc.property(fc.string({ unit: 'grapheme', maxLength: 64 }), (value) => {
      const filter = FilterParser.parseString(`(uid=${escapeFilterValue(value)})`)
      expect(filter).toBeInstanceOf(EqualityFilter)
      expect((filter as EqualityFilter).value).toBe(value)
    }), { numRuns: 500 })
  })

  test('ASCII specials in any mix never add a filter term (fast-check)', () => {
    fc.assert(fc.property(fc.string({ unit: fc.constantFrom('*', '(', ')', '\\', '\0', '|', '&', '=', 'a'), maxLength: 40 }), (value) => {
      const filter = FilterParser.parseString(userSearchFilter('uid', value, '(objectClass=person)')) as AndFilter
      expect(filter.filters).toHaveLength(2)
      expect((filter.filters[0] as EqualityFilter).value).toBe(value)
    }), { numRuns: 500 })
  })
})

test('userSearchFilter ANDs the escaped username with the extra filter', () => {
  expect(userSearchFilter('uid', 'a*', null)).toBe('(&(uid=a\\2a))')
  expect(userSearchFilter('sAMAccountName', 'bob', '(objectClass=user)')).toBe('(&(sAMAccountName=bob)(objectClass=user))')
})
