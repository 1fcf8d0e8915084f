import { afterEach, expect, test } from 'bun:test'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { ChatId, UserId } from './ids.ts'
import { openStore, type Store } from './open-store.ts'

const dirs: string[] = []
afterEach(() => dirs.splice(0).forEach((dir) => rmSync(dir, { recursive: true, force: true })))

function openIn(dataDir: string): Store {
  return openStore({ dataDir, masterKey: { kind: 'generated', path: join(dataDir, '.encryption_key') }, now: Date.now })
}

function seed(store: Store): { owner: UserId; chat: ChatId } {
  const created = store.users.createUser({ email: 'ids@example.com', name: 'Ids', role: 'user' })
  if (!created.ok) throw new Error('user not created')
  return { owner: created.user.id, chat: store.chats.createChat(created.user.id, 'ids').id }
}

test('message ids only grow, even after the newest are deleted and the store reopens', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'enclave-ids-'))
  dirs.push(dataDir)
  let store = openIn(dataDir)
  const { owner, chat } = seed(store)
  const first: number[] = [1, 2, 3].map(() => store.chats.addMessage(owner, chat, { role: 'user', content: 'x' })!.id)
  expect(first).toEqual([first[0]!, first[0]! + 1, first[0]! + 2])
  store.db.run('DELETE FROM message')
  store.close()

  store = openIn(dataDir)
  const next = store.chats.addMessage(owner, chat, { role: 'user', content: 'y' })!.id
  expect(next).toBeGreaterThan(first[2]!)
  store.close()
})

test('a rolled-back append hands out no id that a later commit reuses', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'enclave-ids-'))
  dirs.push(dataDir)
  const store = openIn(dataDir)
  const { owner, chat } = seed(store)
  store.db.run(`CREATE TRIGGER refuse_poison BEFORE INSERT ON message WHEN NEW.role = 'system' BEGIN SELECT RAISE(ABORT, 'refused'); END`)
  expect(() => store.chats.addMessage(owner, chat, { role: 'system', content: 'poison' })).toThrow('refused')
  const ids: number[] = [1, 2].map(() => store.chats.addMessage(owner, chat, { role: 'user', content: 'ok' })!.id)
  expect(ids[1]).toBe(ids[0]! + 1)
  expect(store.chats.listMessagesInChat(owner, chat).map((m) => m.content)).toEqual(['ok', 'ok'])
  store.close()
})
