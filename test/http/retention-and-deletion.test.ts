import { afterEach, beforeEach, describe, expect, test } from 'bun:test'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { bearer, signUp, PASSWORD } from '../helpers/accounts.ts'
import { makeRoot, startKeyedApp, writeKeyFile, type KeyedApp } from '../helpers/keyed-test-app.ts'
import { req } from '../helpers/test-app.ts'
import type { UserId } from '../../src/db/ids.ts'
import { WalNotErasedError } from '../../src/db/wal-erasure.ts'

const DAY = 24 * 60 * 60 * 1000
let root = ''
let remove = () => {}
let keyPath = ''
let running: KeyedApp | null = null
beforeEach(() => {
  ({ root, remove } = makeRoot())
  keyPath = writeKeyFile(root, 'master.key').path
})
afterEach(async () => {
  await running?.close()
  running = null
  remove()
})

const newChat = async (app: KeyedApp['app'], token: string, title: string) =>
  (await (await app.handle(req('POST', '/api/v1/chats/new', { chat: { title, messages: [{ role: 'user', content: `${title} text` }] } }, bearer(token)))).json()).id as string

describe('CHAT_RETENTION_DAYS', () => {
  test('deletes chats not updated for that long, keeps pinned and recent ones, counts them in the audit log', async () => {
    running = startKeyedApp(root, keyPath, { CHAT_RETENTION_DAYS: '30' })
    const { app, store } = running
    const ada = await signUp(app, 'ada@example.com')
    const old = await newChat(app, ada.token, 'old')
    const pinned = await newChat(app, ada.token, 'old but pinned')
    const recent = await newChat(app, ada.token, 'recent')
    await app.handle(req('POST', `/api/v1/chats/${pinned}/pin`, undefined, bearer(ada.token)))
    store.db.run('UPDATE chat SET updated_at = ? WHERE id IN (?, ?)', [Date.now() - 31 * DAY, old, pinned])
    store.db.run('UPDATE chat SET updated_at = ? WHERE id = ?', [Date.now() - 29 * DAY, recent])
    // the search index was warm before the deletion; it must not keep the deleted chat
    expect((await (await app.handle(req('GET', '/api/v1/chats/search?text=old', undefined, bearer(ada.token)))).json()).length).toBe(2)
    expect(await running.lifecycle.retention.runOnce()).toBe(1)
    const left = await (await app.handle(req('GET', '/api/v1/chats/?include_pinned=true', undefined, bearer(ada.token)))).json()
    expect(left.map((chat: { title: string }) => chat.title).sort()).toEqual(['old but pinned', 'recent'])
    expect((await (await app.handle(req('GET', '/api/v1/chats/search?text=old', undefined, bearer(ada.token)))).json()).map((chat: { id: string }) => chat.id)).toEqual([pinned])
    expect(store.db.query('SELECT count(*) AS n FROM message WHERE chat_seq NOT IN (SELECT seq FROM chat)').get()).toEqual({ n: 0 })
    expect(running.audit.entries.at(-1)).toMatchObject({ event: 'chats_expired', details: { count: 1, retention_days: 30 } })
    expect(await running.lifecycle.retention.runOnce()).toBe(0)
  })

  test('off by default: nothing is deleted', async () => {
    running = startKeyedApp(root, keyPath)
    const ada = await signUp(running.app, 'ada@example.com')
    const old = await newChat(running.app, ada.token, 'ancient')
    running.store.db.run('UPDATE chat SET updated_at = 0 WHERE id = ?', [old])
    expect(await running.lifecycle.retention.runOnce()).toBe(0)
  })

  test.each(['0', '-1', 'abc', '36501', '1.5'])('CHAT_RETENTION_DAYS=%s is refused at start', (value) => {
    expect(() => startKeyedApp(root, keyPath, { CHAT_RETENTION_DAYS: value })).toThrow('CHAT_RETENTION_DAYS')
  })
})

describe('deleting a user', () => {
  test('destroys their data key; none of their ciphertext or key material remains in the database file', async () => {
    running = startKeyedApp(root, keyPath)
    const { app, store } = running
    const admin = await signUp(app, 'admin@example.com')
    const bob = await signUp(app, 'bob@example.com', PASSWORD, 'Bob')
    await store.users.setUserRole(bob.id as UserId, 'user')
    await newChat(app, bob.token, 'bob private')
    const captured = [
      ...store.db.query<{ b: Uint8Array }, [string]>('SELECT wrapped AS b FROM data_key WHERE owner_id = ?').all(bob.id),
      ...store.db.query<{ b: Uint8Array }, [string]>('SELECT title AS b FROM chat WHERE user_id = ?').all(bob.id),
      ...store.db.query<{ b: Uint8Array }, [string]>('SELECT m.content AS b FROM message m JOIN chat c ON c.seq = m.chat_seq WHERE c.user_id = ?').all(bob.id),
      ...store.db.query<{ b: Uint8Array }, [string]>('SELECT email AS b FROM user WHERE id = ?').all(bob.id),
      ...store.db.query<{ b: Uint8Array }, [string]>('SELECT password_hash AS b FROM credential WHERE user_id = ?').all(bob.id),
    ].map((row) => Buffer.from(row.b).subarray(5, 37))
    expect(captured.length).toBe(5)
    expect(store.db.query<{ secure_delete: number }, []>('PRAGMA secure_delete').get()!.secure_delete).toBe(1)
    expect((await app.handle(req('DELETE', `/api/v1/users/${bob.id}`, undefined, bearer(admin.token)))).status).toBe(200)
    expect(store.db.query('SELECT count(*) AS n FROM data_key WHERE owner_id = ?').get(bob.id)).toEqual({ n: 0 })
    expect(() => store.dataKeys.keysForOwner(bob.id)).toThrow()
    // while the server still runs: neither the database file nor its WAL holds them
    const live = Buffer.concat([readFileSync(join(root, 'data', 'enclave.db')), readFileSync(join(root, 'data', 'enclave.db-wal'))])
    for (const bytes of captured) expect(live.indexOf(bytes)).toBe(-1)
    await running.close()
    running = null
    const raw = readFileSync(join(root, 'data', 'enclave.db'))
    for (const bytes of captured) expect(raw.indexOf(bytes)).toBe(-1)
  })

  test('a deletion whose erasure from the WAL did not finish is audited as such and not answered as a success', async () => {
    running = startKeyedApp(root, keyPath)
    const { app, store } = running
    const admin = await signUp(app, 'admin@example.com')
    const bob = await signUp(app, 'bob@example.com', PASSWORD, 'Bob')
    const deleteUser = store.users.deleteUser
    store.users.deleteUser = async (id) => {
      await deleteUser(id)
      throw new WalNotErasedError(1, -1)
    }
    const response = await app.handle(req('DELETE', `/api/v1/users/${bob.id}`, undefined, bearer(admin.token)))
    expect(response.status).toBe(500)
    expect(await response.json()).toMatchObject({ code: 'erasure_incomplete' })
    expect(await store.users.findUserById(bob.id as UserId)).toBeNull()
    expect(running.audit.entries.at(-1)).toMatchObject({ event: 'user_deleted', targetId: bob.id, details: { wal_erased: false } })
  })
})
