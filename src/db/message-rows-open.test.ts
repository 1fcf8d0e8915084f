/**
 * Opening message rows through the reused copy of their sealed values (message-rows.ts
 * copyOfSealed): every message read back equals the one written and what openField opens from the
 * row itself, at any length (past the copy's 64 KB too), and a wrong key or a moved row still refuses.
 */
import { Database } from 'bun:sqlite'
import { expect, test } from 'bun:test'
import fc from 'fast-check'
import { openField } from '../crypto/field-cipher.ts'
import type { Message } from './chat-tree.ts'
import type { KeyRing } from './data-keys.ts'
import { createSqliteEngine } from './sqlite-engine.ts'
import { FieldOpenError } from './field-open-error.ts'
import type { ChatId, MessageId } from './ids.ts'
import { createMessageRows, messageRowId } from './message-rows.ts'

const CHAT = 'c0ffee00-0000-4000-8000-000000000001' as ChatId
const ringOf = (version: number): KeyRing => {
  const key = { version, key: crypto.getRandomValues(new Uint8Array(32)) }
  return { current: key, byVersion: (asked) => (asked === version ? key : null) }
}

function engine() {
  const sql = createSqliteEngine(new Database(':memory:'))
  sql.db.run('CREATE TABLE message (id INTEGER PRIMARY KEY, chat_seq INTEGER, uid TEXT, parent_id INTEGER, role TEXT, status TEXT, content BLOB, digest BLOB, created_at INTEGER)')
  return sql
}

/** The former open: openField on the row's own bytes, decoded, split at the first line feed. */
function referenceOpen(row: { id: number; content: Uint8Array }, ring: KeyRing): { content: string; fields: unknown } {
  const text = new TextDecoder().decode(openField(ring.current, row.content, { table: 'message', column: 'content', rowId: messageRowId(CHAT, row.id) })!)
  const split = text.indexOf('\n')
  return { content: text.slice(split + 1), fields: split === 0 ? {} : JSON.parse(text.slice(0, split)) }
}

const json = fc.option(fc.jsonValue({ maxDepth: 2 }), { nil: null })
const messageArb = fc.record({
  content: fc.oneof(fc.string({ unit: 'binary', maxLength: 3000 }), fc.nat({ max: 3 }).map((n) => 'ü'.repeat(30_000 + n * 7_000))),
  model: fc.option(fc.string(), { nil: null }), usage: json, sources: json, extra: json,
  status: fc.constantFrom(null, 'done', 'error'), parent: fc.nat(),
})

test('property: a chat read through the reused copy equals what was written and the former open of each row', async () => {
  await fc.assert(fc.asyncProperty(fc.array(messageArb, { minLength: 1, maxLength: 12 }), async (drawn) => {
    const sql = engine()
    const rows = createMessageRows(sql)
    const ring = ringOf(7)
    const messages: Message[] = drawn.map((m, i) => ({
      id: (i + 1) as MessageId, uid: `u${i}`, chatId: CHAT, parentId: i === 0 ? null : ((m.parent % i) + 1) as MessageId, role: i % 2 ? 'assistant' : 'user',
      model: m.model, content: m.content, images: null, artifacts: null, stats: null, status: m.status as Message['status'],
      error: null, usage: m.usage as Message['usage'], sources: m.sources as Message['sources'], files: null, extra: m.extra as Message['extra'], createdAt: 1000 + i,
    }))
    await rows.insertMany(1, messages, ring)
    const read = await rows.list(1, CHAT, ring)
    expect(read).toEqual(JSON.parse(JSON.stringify(messages)))
    const raw = sql.db.query<{ id: number; content: Uint8Array }, []>('SELECT id, content FROM message ORDER BY id').all()
    expect(read.map((message) => message.content)).toEqual(raw.map((row) => referenceOpen(row, ring).content))
    expect(await rows.contentsOf(1, CHAT, ring)).toEqual(raw.map((row) => referenceOpen(row, ring).content))
  }), { numRuns: 60 })
})

test('a wrong key or a row read as another chat\'s is refused, and a good read after it still opens', async () => {
  const sql = engine()
  const rows = createMessageRows(sql)
  const ring = ringOf(3)
  const message = (id: number, content: string): Message => ({
    id: id as MessageId, uid: String(id), chatId: CHAT, parentId: null, role: 'user', model: null, content, images: null, artifacts: null,
    stats: null, status: null, error: null, usage: null, sources: null, files: null, extra: null, createdAt: 1,
  })
  await rows.insertMany(1, [message(1, 'short'), message(2, 'x'.repeat(70_000))], ring)
  await expect(rows.list(1, CHAT, ringOf(3))).rejects.toBeInstanceOf(FieldOpenError)
  await expect(rows.list(1, CHAT, ringOf(4))).rejects.toBeInstanceOf(FieldOpenError)
  await expect(rows.list(1, 'c0ffee00-0000-4000-8000-000000000002' as ChatId, ring)).rejects.toBeInstanceOf(FieldOpenError)
  expect((await rows.list(1, CHAT, ring)).map((found) => found.content)).toEqual(['short', 'x'.repeat(70_000)])
})
