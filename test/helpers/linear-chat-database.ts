/**
 * A database as Enclave wrote it before chats were trees (schemas 1 to 5, the ones with chats):
 * linear chats as raw rows, message fields sealed with the message id alone as AAD, chat titles
 * with the chat id. The chat and message tables did not change from schema 1, where they began,
 * to 5, so one writer serves every version. For the migration tests, unit and binary.
 */
import { expect } from 'bun:test'
import type { MasterKeySource } from '../../src/config/load-config.ts'
import { sealField } from '../../src/crypto/field-cipher.ts'
import { readMasterKeyMaterial } from '../../src/crypto/master-key.ts'
import { blindIndex } from '../../src/crypto/blind-index.ts'
import { createDataKeyRepo, SYSTEM_OWNER } from '../../src/db/data-keys.ts'
import { createSqliteEngine } from '../../src/db/sqlite-engine.ts'
import { newChatId, newUserId, type ChatId, type UserId } from '../../src/db/ids.ts'
import { writeKeyCheck } from '../../src/db/key-check.ts'
import { migrate, readSchemaVersion } from '../../src/db/migrate.ts'
import { migrations } from '../../src/db/migrations.ts'
import { closeDatabase, openDatabase } from '../../src/db/open-database.ts'
import { keyForNewDatabase } from '../../src/db/unlock.ts'
import { sealedTable } from '../../src/db/sealed-table.ts'
import { EMAIL_INDEX_OWNER, normaliseEmail } from '../../src/db/users.ts'

export type OldChat = { id: ChatId; owner: UserId; email: string; title: string; messages: { id: number; role: 'user' | 'assistant'; content: string; model: string | null }[] }

/** Every schema version before chats were trees that had chats. */
export const LINEAR_CHAT_VERSIONS = [1, 2, 3, 4, 5]

/**
 * Writes the database file at schema `version`: two users (ada and bob, with `passwordHash` when
 * given; schema 2 on) with three chats of four messages each, whose text carries OLD-TITLE / OLD-CONTENT.
 */
export function writeLinearChatDatabase(path: string, masterKey: MasterKeySource, version: number, passwordHash?: string): { chats: OldChat[]; messageIds: number[]; fingerprint: string } {
  const db = openDatabase(path)
  migrate(db, migrations, version)
  const { key, keyCheck } = keyForNewDatabase(readMasterKeyMaterial(masterKey)!)
  writeKeyCheck(db, keyCheck)
  const dataKeys = createDataKeyRepo(createSqliteEngine(db), key, Date.now)
  dataKeys.createKeyForOwner(SYSTEM_OWNER)
  dataKeys.createKeyForOwner(EMAIL_INDEX_OWNER)
  // note: users written as the user repository writes them, synchronously (the repository is on the async engine).
  const userTable = sealedTable('user', { email: 'text', name: 'text', preferences: 'json' })
  // note: schema 1 had no credential table; passwords came with schema 2.
  // note: written as the credential repository writes it, synchronously (the repository is on the async engine).
  const credentialTable = sealedTable('credential', { password_hash: 'text' })
  const chats: OldChat[] = []
  let nextId = 1
  for (const email of ['ada@example.com', 'bob@example.com']) {
    const owner = newUserId()
    const sealedUser = userTable.seal(owner, { email, name: email, preferences: {} }, dataKeys.createKeyForOwner(owner))
    db.query('INSERT INTO user (id, email_index, email, name, preferences, role, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)')
      .run(owner, blindIndex(dataKeys.keysForOwner(EMAIL_INDEX_OWNER).current.key, 'user.email', normaliseEmail(email)), sealedUser.email!, sealedUser.name!, sealedUser.preferences, 'user', 1000, 1000)
    if (passwordHash !== undefined) {
      db.query('INSERT INTO credential (user_id, password_hash, updated_at) VALUES (?, ?, ?)')
        .run(owner, credentialTable.sealColumn('password_hash', owner, passwordHash, dataKeys.keysForOwner(owner))!, Date.now())
    }
    const ring = dataKeys.keysForOwner(owner)
    for (let c = 0; c < 3; c++) {
      const chat: OldChat = { id: newChatId(), owner, email, title: `OLD-TITLE ${email} ${c}`, messages: [] }
      const { lastInsertRowid } = db.query('INSERT INTO chat (id, user_id, title, created_at, updated_at) VALUES (?, ?, ?, ?, ?)')
        .run(chat.id, owner, sealField(ring.current, chat.title, { table: 'chat', column: 'title', rowId: chat.id }), 1000, 2000 + c)
      for (let m = 0; m < 4; m++) {
        const message = { id: nextId, role: m % 2 === 0 ? 'user' as const : 'assistant' as const, content: `OLD-CONTENT ${c}/${m} ${'é'.repeat(m)}`, model: m % 2 === 0 ? null : 'llama3' }
        // note: interleaved ids across chats, as concurrent chats produce.
        nextId += 1 + (m % 2)
        const seal = (column: string, value: string | null) => (value === null ? null : sealField(ring.current, value, { table: 'message', column, rowId: String(message.id) }))
        db.query('INSERT INTO message (id, chat_seq, parent_id, role, model, content, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)')
          .run(message.id, Number(lastInsertRowid), null, message.role, seal('model', message.model), seal('content', message.content)!, 1000 + m)
        chat.messages.push(message)
      }
      chats.push(chat)
    }
  }
  expect(readSchemaVersion(db)).toBe(version)
  closeDatabase(db)
  return { chats, messageIds: chats.flatMap((chat) => chat.messages.map((message) => message.id)), fingerprint: keyCheck.fingerprint }
}
