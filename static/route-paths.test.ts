import { describe, expect, test } from 'bun:test'
import { parseRoute } from './route-paths.ts'

describe('parseRoute', () => {
  test.each([
    ['/', { name: 'chat', chatId: null }],
    ['/c/0b8f3c1e-1d2a-4c6b-9f7e-2a1b3c4d5e6f', { name: 'chat', chatId: '0b8f3c1e-1d2a-4c6b-9f7e-2a1b3c4d5e6f' }],
    ['/settings', { name: 'settings', section: null }],
    ['/settings/appearance', { name: 'settings', section: 'appearance' }],
    ['/admin', { name: 'admin', section: null }],
    ['/admin/users', { name: 'admin', section: 'users' }],
    ['/temporary', { name: 'temporary' }],
    ['/auth', { name: 'auth' }],
    // odd rows: anything else is a new chat, never a route built from the path
    ['/c/', { name: 'chat', chatId: null }],
    ['/c/a/b', { name: 'chat', chatId: null }],
    ['/c/<script>', { name: 'chat', chatId: null }],
    [`/c/${'a'.repeat(65)}`, { name: 'chat', chatId: null }],
    ['/settings/', { name: 'chat', chatId: null }],
    ['/settings/Appearance', { name: 'chat', chatId: null }],
    ['/settings/a/b', { name: 'chat', chatId: null }],
    ['/settings/<img>', { name: 'chat', chatId: null }],
    [`/admin/${'a'.repeat(41)}`, { name: 'chat', chatId: null }],
    ['/ADMIN', { name: 'chat', chatId: null }],
    ['/temporary/', { name: 'chat', chatId: null }],
    ['/c/%2e%2e', { name: 'chat', chatId: null }],
  ])('%s', (path, expected) => {
    expect(parseRoute(path)).toEqual(expected as ReturnType<typeof parseRoute>)
  })
})
