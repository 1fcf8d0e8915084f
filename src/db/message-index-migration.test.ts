import { expect, test } from 'bun:test'
import type { MessageId } from './ids.ts'
import { migrate } from './migrate.ts'
import { migrations } from './migrations.ts'
import { createMessageRows } from './message-rows.ts'
import { openDatabase } from './open-database.ts'
import { createSqliteEngine } from './sqlite-engine.ts'

// Schema 14 drops message_by_chat (chat_seq, id): a store written at schema 13 keeps every message,
// reads each chat's rows in the same id order along message_uid_in_chat, and still refuses a client
// id used twice in a chat.

/** A schema-13 database with chats whose messages interleave (ids from one sequence) and whose client ids do not follow their ids. */
function schema13Store() {
  const db = openDatabase(':memory:')
  migrate(db, migrations, 13)
  db.run("INSERT INTO user (id, email_index, email, name, role, created_at, updated_at) VALUES ('u1', x'01', x'02', x'03', 'user', 1, 1)")
  const seqs = [1, 2, 3]
  for (const seq of seqs) db.run('INSERT INTO chat (seq, id, user_id, title, created_at, updated_at) VALUES (?, ?, ?, x\'00\', 1, 1)', [seq, `chat-${seq}`, 'u1'])
  const insert = db.query('INSERT INTO message (id, chat_seq, uid, parent_id, role, status, content, digest, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)')
  let random = 7
  const next = () => (random = (random * 48271) % 2147483647)
  const last = new Map<number, number | null>(seqs.map((seq) => [seq, null]))
  for (let id = 10; id < 400; id++) {
    const seq = seqs[next() % seqs.length]!
    // note: client ids as Open WebUI's (random), numbers as text (sorting apart from the ids) and long ones.
    const uid = id % 3 === 0 ? crypto.randomUUID() : id % 3 === 1 ? String(1_000_000 - id) : `${'x'.repeat(next() % 100)}${id}`
    insert.run(id, seq, uid, last.get(seq)!, id % 2 === 0 ? 'user' : 'assistant', id % 5 === 0 ? 'done' : null, new Uint8Array([id & 255]), null, 1_700_000_000 + id)
    last.set(seq, id)
  }
  return { db, seqs }
}

const ordered = (db: ReturnType<typeof openDatabase>, seq: number) =>
  db.query('SELECT id, uid, parent_id, role, status, created_at, digest FROM message WHERE chat_seq = ? ORDER BY id').all(seq) as { id: number; uid: string; parent_id: number | null }[]

test('schema 14 keeps every message and reads each chat in id order without message_by_chat', async () => {
  const { db, seqs } = schema13Store()
  const before = seqs.map((seq) => ordered(db, seq))
  expect(before.every((rows) => rows.length > 50)).toBe(true)
  migrate(db, migrations, 14)
  expect(db.query("SELECT name FROM sqlite_schema WHERE type = 'index' AND tbl_name = 'message' AND sql IS NOT NULL ORDER BY name").all()).toEqual([{ name: 'message_uid_in_chat' }])
  const rows = createMessageRows(createSqliteEngine(db))
  for (const [i, seq] of seqs.entries()) {
    expect(ordered(db, seq)).toEqual(before[i]!)
    expect((await rows.shapes(seq)).map((shape) => ({ id: shape.id as number, uid: shape.uid, parent_id: shape.parentId as number | null })))
      .toEqual(before[i]!.map(({ id, uid, parent_id }) => ({ id, uid, parent_id })))
    expect((await rows.listStored(seq)).map((stored) => stored.id as number)).toEqual(before[i]!.map((row) => row.id))
    for (const { id, uid } of before[i]!.slice(0, 20)) expect(await rows.idOfUid(seq, uid)).toBe(id as MessageId)
  }
  // note: the ordered read takes its ids from message_uid_in_chat and sorts nothing.
  const plan = db.query('EXPLAIN QUERY PLAN SELECT id FROM message WHERE id IN (SELECT id FROM message WHERE chat_seq = ?) ORDER BY id').all(1) as { detail: string }[]
  expect(plan.map((step) => step.detail).join('\n')).not.toContain('TEMP B-TREE')
  const taken = before[0]![0]!.uid
  expect(() => db.run("INSERT INTO message (id, chat_seq, uid, role, content, created_at) VALUES (1000, ?, ?, 'user', x'00', 1)", [seqs[0]!, taken])).toThrow(/UNIQUE/)
  db.run("INSERT INTO message (id, chat_seq, uid, role, content, created_at) VALUES (1000, ?, ?, 'user', x'00', 1)", [seqs[1]!, taken])
  db.run('DELETE FROM chat WHERE seq = ?', [seqs[0]!])
  expect(db.query('SELECT count(*) AS n FROM message WHERE chat_seq = ?').get(seqs[0]!)).toEqual({ n: 0 })
  db.close()
})
