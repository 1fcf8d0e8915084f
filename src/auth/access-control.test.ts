import { describe, expect, test } from 'bun:test'
import { hasAccess, type Accessor } from './access-control.ts'

const user = (id: string, groupIds: string[] = [], role: Accessor['role'] = 'user'): Accessor => ({ id, role, groupIds })
const strict = { bypassAdmin: false }

describe('hasAccess', () => {
  test('null is public for reading, owner-only for writing', () => {
    expect(hasAccess(user('u1'), { ownerId: 'u2', access: null }, 'read', strict)).toBe(true)
    expect(hasAccess(user('u1'), { ownerId: 'u2', access: null }, 'write', strict)).toBe(false)
    expect(hasAccess(user('u2'), { ownerId: 'u2', access: null }, 'write', strict)).toBe(true)
  })

  test('an empty grant is private to the owner', () => {
    const access = { read: { group_ids: [], user_ids: [] }, write: { group_ids: [], user_ids: [] } }
    expect(hasAccess(user('u1'), { ownerId: 'u2', access }, 'read', strict)).toBe(false)
    expect(hasAccess(user('u1'), { ownerId: null, access }, 'read', strict)).toBe(false)
  })

  test('grants by user and by group; write implies read', () => {
    const access = { read: { group_ids: ['g1'], user_ids: ['u3'] }, write: { group_ids: ['g2'], user_ids: [] } }
    expect(hasAccess(user('u1', ['g1']), { ownerId: null, access }, 'read', strict)).toBe(true)
    expect(hasAccess(user('u1', ['g1']), { ownerId: null, access }, 'write', strict)).toBe(false)
    expect(hasAccess(user('u3'), { ownerId: null, access }, 'read', strict)).toBe(true)
    expect(hasAccess(user('u4', ['g2']), { ownerId: null, access }, 'read', strict)).toBe(true)
    expect(hasAccess(user('u4', ['g2']), { ownerId: null, access }, 'write', strict)).toBe(true)
    expect(hasAccess(user('u5', ['g9']), { ownerId: null, access }, 'read', strict)).toBe(false)
  })

  test('admins pass only with the bypass; pending users never pass', () => {
    const access = { read: { group_ids: [], user_ids: [] } }
    expect(hasAccess(user('a', [], 'admin'), { ownerId: null, access }, 'write', { bypassAdmin: true })).toBe(true)
    expect(hasAccess(user('a', [], 'admin'), { ownerId: null, access }, 'read', strict)).toBe(false)
    expect(hasAccess(user('p', [], 'pending'), { ownerId: null, access: null }, 'read', strict)).toBe(false)
  })
})
