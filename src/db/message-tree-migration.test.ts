import { afterEach, expect, test } from 'bun:test'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { LINEAR_CHAT_VERSIONS, writeLinearChatDatabase, type OldChat } from '../../test/helpers/linear-chat-database.ts'
import type { MasterKeySource } from '../config/load-config.ts'
import { readMasterKeyMaterial } from '../crypto/master-key.ts'
import { generateKey } from '../crypto/random.ts'
import { createDataKeyRepo } from './data-keys.ts'
import { createSqliteEngine } from './sqlite-engine.ts'
import { migrate, readSchemaVersion } from './migrate.ts'
import { migrations } from './migrations.ts'
import { closeDatabase, openDatabase } from './open-database.ts'
import { DATABASE_FILE, openStore } from './open-store.ts'
import { keyForNewDatabase } from './unlock.ts'
import { verifySealedFields } from './verify-fields.ts'

// A database written by Enclave before chats were trees (any schema from 1 to 5: linear chats,
// message fields sealed with the message id alone as AAD; test/helpers/linear-chat-database.ts)
// opens after the upgrade with every chat a single branch, the integer ids as the messages' ids,
// the last message selected, and every field re-sealed with the chat's id in its AAD.

const dirs: string[] = []
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true })
})

/** A new data directory holding a database at schema `version` under a new raw master key. */
function oldDataDir(version = 5) {
  const dataDir = mkdtempSync(join(tmpdir(), 'enclave-tree-'))
  dirs.push(dataDir)
  const masterKey: MasterKeySource = { kind: 'env', value: Buffer.from(generateKey()).toString('hex') }
  return { dataDir, masterKey, ...writeLinearChatDatabase(join(dataDir, DATABASE_FILE), masterKey, version) }
}

test.each(LINEAR_CHAT_VERSIONS)('schema %i: linear chats become single-branch trees, ids kept, the last message selected, re-sealed with the chat id', async (version) => {
  const { dataDir, masterKey, chats } = oldDataDir(version)

  const store = openStore({ dataDir, masterKey, now: Date.now })
  try {
    expect(readSchemaVersion(store.db)).toBe(migrations.length)
    for (const old of chats) {
      const tree = (await store.chats.readChatTree(old.owner, old.id))!
      expect(tree.chat.title).toBe(old.title)
      expect(tree.messages.map((message) => ({ uid: message.uid, role: message.role, content: message.content, model: message.model }))).toEqual(
        old.messages.map((message) => ({ uid: String(message.id), role: message.role, content: message.content, model: message.model })))
      expect(tree.messages.map((message) => message.parentId as number | null)).toEqual([null, ...old.messages.slice(0, -1).map((message) => message.id)])
      expect(tree.chat.currentId as number).toBe(old.messages.at(-1)!.id)
      expect((await store.chats.listCurrentPath(old.owner, old.id)).map((message) => message.id as number)).toEqual(old.messages.map((message) => message.id))
      expect(tree.messages.map((message) => message.status)).toEqual(old.messages.map((message) => (message.role === 'assistant' ? 'done' : null)))
    }
    expect((await verifySealedFields(store.sql, store.dataKeys)).failures).toEqual([])
    expect(store.db.query("SELECT count(*) AS n FROM meta WHERE name = 'message_legacy_aad_up_to'").get()).toEqual({ n: 0 })
    expect(store.db.query('SELECT count(*) AS n FROM message_legacy').get()).toEqual({ n: 0 })
    // an answer added after the upgrade continues the branch
    const [first] = chats
    const added = (await store.chats.addMessage(first!.owner, first!.id, { role: 'user', content: 'after the upgrade' }))!
    expect(added.parentId as number).toBe(first!.messages.at(-1)!.id)
    expect((await store.chats.searchChatsForUser(first!.owner, 'old-content 0/3', { limit: 10, offset: 0 })).map((chat) => chat.id)).toContain(first!.id)
  } finally {
    store.close()
  }
  expect(readFileSync(join(dataDir, DATABASE_FILE)).includes(Buffer.from('OLD-CONTENT'))).toBe(false)

  // a second start finds nothing left to re-seal and reads the same
  const again = openStore({ dataDir, masterKey, now: Date.now })
  try {
    expect((await again.chats.listMessagesInChat(chats[1]!.owner, chats[1]!.id)).map((message) => message.content)).toEqual(chats[1]!.messages.map((message) => message.content))
  } finally {
    again.close()
  }
})

test('between the migration and the next start (a restored backup), verify still opens the old messages', async () => {
  const { dataDir, masterKey, messageIds } = oldDataDir()
  const db = openDatabase(join(dataDir, DATABASE_FILE))
  try {
    migrate(db)
    const { key } = keyForNewDatabase(readMasterKeyMaterial(masterKey)!)
    const sql = createSqliteEngine(db)
    const report = await verifySealedFields(sql, createDataKeyRepo(sql, key, Date.now))
    expect(report.failures).toEqual([])
    // every content, and every answer's model, waiting in message_legacy
    expect(report.checkedValues).toBeGreaterThanOrEqual(messageIds.length * 1.5)
  } finally {
    closeDatabase(db)
  }
})

test("between the migration and the next start, verify names an old message's altered model", async () => {
  const { dataDir, masterKey } = oldDataDir()
  const db = openDatabase(join(dataDir, DATABASE_FILE))
  try {
    migrate(db)
    const row = db.query<{ id: number; model: Uint8Array }, []>('SELECT id, model FROM message_legacy WHERE model IS NOT NULL LIMIT 1').get()!
    const altered = new Uint8Array(row.model)
    altered[20]! ^= 1
    db.query('UPDATE message_legacy SET model = ? WHERE id = ?').run(altered, row.id)
    const { key } = keyForNewDatabase(readMasterKeyMaterial(masterKey)!)
    const sql = createSqliteEngine(db)
    expect((await verifySealedFields(sql, createDataKeyRepo(sql, key, Date.now))).failures).toEqual([{ table: 'message_legacy', column: 'model', rowId: String(row.id) }])
  } finally {
    closeDatabase(db)
  }
})

test('after the upgrade, an old message moved to another chat of its owner does not open', async () => {
  const { dataDir, masterKey, chats } = oldDataDir()
  const store = openStore({ dataDir, masterKey, now: Date.now })
  try {
    const [from, to] = chats as [OldChat, OldChat]
    store.db.query('UPDATE message SET chat_seq = (SELECT seq FROM chat WHERE id = ?) WHERE id = ?').run(to.id, from.messages[0]!.id)
    expect(async () => await store.chats.listMessagesInChat(to.owner, to.id)).toThrow(`message.content`)
  } finally {
    store.close()
  }
})
