import { expect, test } from 'bun:test'
import { groupsFromAttribute, isInAnyGroup, normaliseDn } from './ldap-groups.ts'

test('one group comes as a string, several as an array (ldapts), nothing as undefined', () => {
  expect(groupsFromAttribute('cn=admins,ou=groups,dc=example,dc=org')).toEqual([{ dn: 'cn=admins,ou=groups,dc=example,dc=org', cn: 'admins' }])
  expect(groupsFromAttribute(['CN=Staff,OU=G,DC=x', 'ou=odd,dc=x']).map((group) => group.cn)).toEqual(['Staff', null])
  expect(groupsFromAttribute(undefined)).toEqual([])
  expect(groupsFromAttribute([42, '', ' '])).toEqual([])
})

test('an escaped comma stays inside the CN, and hex escapes are UTF-8', () => {
  expect(groupsFromAttribute('cn=Smith\\, Jones,ou=groups,dc=x')[0]!.cn).toBe('Smith, Jones')
  expect(groupsFromAttribute('cn=J\\C3\\B6rg\\2B co,ou=groups,dc=x')[0]!.cn).toBe('Jörg+ co')
})

test.each([
  ['a CN, case-insensitively', ['ADMINS'], true],
  ['a DN with other spacing and case', ['CN=admins, OU=groups, DC=example, DC=org'], true],
  ['another CN', ['staff'], false],
  ['a DN of a same-named group elsewhere', ['cn=admins,ou=other,dc=example,dc=org'], false],
  ['one of several', ['staff', 'admins'], true],
  ['an empty list', [], false],
])('isInAnyGroup matches %s', (_, list, expected) => {
  expect(isInAnyGroup(groupsFromAttribute(['cn=admins,ou=groups,dc=example,dc=org', 'cn=users,ou=groups,dc=example,dc=org']), list)).toBe(expected)
})

test('normaliseDn lower-cases and drops spaces around separators', () => {
  expect(normaliseDn('UID=Alice , OU=People,DC=Example')).toBe('uid=alice,ou=people,dc=example')
})
