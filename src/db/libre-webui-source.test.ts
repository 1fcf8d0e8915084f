import { afterAll, describe, expect, test } from 'bun:test'
import { Database } from 'bun:sqlite'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { encryptLikeLibre, writeLibreWebUiDatabase } from '../../test/helpers/libre-webui-fixture.ts'
import { parseLibreKey } from '../crypto/libre-webui-cipher.ts'
import { openLibreWebUiDatabase } from './libre-webui-source.ts'

const dir = mkdtempSync(join(tmpdir(), 'libre-source-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))
const keyHex = 'c'.repeat(64)
const key = parseLibreKey(keyHex)

async function source(name: string, change: (db: Database) => void = () => {}): Promise<string> {
  const path = join(dir, `${name}.sqlite`)
  await writeLibreWebUiDatabase(path, keyHex, {
    users: [{ id: 'u1', username: 'ada', email: 'ada@example.com', password: 'pw', role: 'user' }],
    sessions: [{ id: 's1', userId: 'u1', title: 'T', messages: [{ role: 'user', content: '10:30:00', sealing: 'plain' }, { role: 'assistant', content: 'noted' }] }],
  })
  const db = new Database(path)
  change(db)
  db.close()
  return path
}

describe('openLibreWebUiDatabase', () => {
  test('reads users and chats; a legacy plaintext that looks like a time is text', async () => {
    const opened = openLibreWebUiDatabase(await source('good'), key)
    if (!opened.ok) throw new Error(JSON.stringify(opened))
    expect(opened.source.users.map(({ email, name, role }) => ({ email, name, role }))).toEqual([{ email: 'ada@example.com', name: 'ada', role: 'user' }])
    const chats = [...opened.source.chats()]
    const listed = chats.map((chat) => (chat.content.messages?.kind === 'list' ? chat.content.messages.messages.map((message) => message.content) : null))
    expect(listed).toEqual([['10:30:00', 'noted']])
    expect(chats[0]!.content.settings).toEqual({ models: ['llama3.2'] })
    expect(opened.source.chatCount).toBe(1)
    opened.source.close()
  })

  test.each<[string, (db: Database) => void, string]>([
    ['a message with an unknown role', (db) => db.run("UPDATE session_messages SET role = 'tool'"), 'unknown role'],
    ['images that are not a list', (db) => db.run('UPDATE session_messages SET images = ?', [encryptLikeLibre('{"a":1}', keyHex)]), 'not a list'],
    ['statistics that do not parse', (db) => db.run("UPDATE session_messages SET statistics = 'not json'"), 'does not parse'],
    ['a time that is text', (db) => db.run("UPDATE sessions SET created_at = 'yesterday'"), 'is not a time'],
    ['a username over 200 characters', (db) => db.run('UPDATE users SET username = ?', ['x'.repeat(201)]), 'at most 200'],
  ])('refuses %s, naming the row but not its content', async (name, change, detail) => {
    const opened = openLibreWebUiDatabase(await source(name.replaceAll(' ', '-'), change), key)
    expect(opened).toMatchObject({ ok: false, reason: 'malformed' })
    if (!opened.ok && 'detail' in opened) {
      expect(opened.detail).toContain(detail)
      expect(opened.detail).not.toContain('10:30:00')
    }
  })

  test('counts values sealed under another key and opens nothing', async () => {
    const opened = openLibreWebUiDatabase(await source('other-key'), parseLibreKey('d'.repeat(64)))
    expect(opened).toEqual({ ok: false, reason: 'unopened_values', unopened: 3, encrypted: 3 })
  })
})
