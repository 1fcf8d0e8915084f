import { expect, test } from 'bun:test'
import { subjectOf } from './ldap-login.ts'

const guid = Buffer.from('00112233445566778899aabbccddeeff', 'hex')

test.each([
  ['entryUUID (OpenLDAP), lower-cased', { dn: 'uid=a,dc=x', entryUUID: 'ABCDEF01-2345-6789-ABCD-EF0123456789' }, 'uuid:abcdef01-2345-6789-abcd-ef0123456789'],
  ['entryUUID under another spelling', { dn: 'uid=a,dc=x', entryuuid: 'abc' }, 'uuid:abc'],
  ['objectGUID (Active Directory) as hex', { dn: 'CN=A,DC=x', objectGUID: guid }, 'guid:00112233445566778899aabbccddeeff'],
  ['entryUUID before objectGUID', { dn: 'CN=A,DC=x', objectGUID: guid, entryUUID: 'u' }, 'uuid:u'],
  ['a malformed objectGUID falls back to the DN', { dn: 'CN=A, DC=x', objectGUID: Buffer.from('short') }, 'dn:cn=a,dc=x'],
  ['neither: the normalised DN', { dn: 'UID=A , OU=People,DC=X' }, 'dn:uid=a,ou=people,dc=x'],
])('the link to the entry: %s', (_, entry, subject) => {
  expect(subjectOf(entry)).toBe(subject)
})
