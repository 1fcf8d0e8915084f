/**
 * The floor under a chat append: the statements `chats.addMessage` runs (the chat row with the
 * client-id check, the message INSERT, the chat row's `updated_at`/`current_id`), run straight on
 * bun:sqlite in the store's own schema with a blob of a sealed 1 KB message's size (the chat row's
 * UPDATE without `updated_at` in the millisecond the row holds, as the repository), so no sealing,
 * digest, promise or engine is paid; against the raw one-row transaction of the bench rows
 * (bench/message-inserts.ts), in the same process. Prints one JSON line: process CPU per append
 * one at a time into one chat and 16 a commit (16 chats of 4 users), and per raw row.
 * `bun bench/append-sql-floor.ts [tree]` (the statement texts are this tree's, kept in step by hand
 * with src/db/chat-rows.ts and src/db/message-rows.ts).
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import type { openStore as OpenStore } from '../src/db/open-store.ts'
import type { openDatabase as OpenDatabase } from '../src/db/open-database.ts'
import { median } from './measure.ts'

const root = resolve(process.argv[2] ?? join(import.meta.dir, '..'))
const { openStore } = await import(`${root}/src/db/open-store.ts`) as { openStore: typeof OpenStore }
const { openDatabase } = await import(`${root}/src/db/open-database.ts`) as { openDatabase: typeof OpenDatabase }
const BLOCKS = 9
const ROWS = 496
const CHATS = 16

const dataDir = mkdtempSync(join(tmpdir(), 'enclave-append-floor-'))
const store = openStore({ dataDir, masterKey: { kind: 'generated', path: join(dataDir, 'master.key') }, now: Date.now })
const raw = openDatabase(join(dataDir, 'raw.db'))
try {
  const chats: { owner: string; id: string }[] = []
  for (let u = 0; u < CHATS / 4; u++) {
    const made = await store.users.createUser({ email: `floor${u}@example.com`, name: `Floor ${u}`, role: 'user' })
    if (!made.ok) throw new Error(made.reason)
    for (let c = 0; c < 4; c++) chats.push({ owner: made.user.id, id: (await store.chats.createChat(made.user.id, `floor ${c}`)).id })
  }
  const db = store.db
  const find = db.query<{ seq: number; current_id: number | null; updated_at: number }, [string, string, string]>(
    'SELECT seq, current_id, updated_at, 1 AS has_parent, CASE WHEN EXISTS (SELECT 1 FROM message WHERE message.chat_seq = chat.seq AND message.uid = ?) THEN 1 ELSE 0 END AS uid_taken FROM chat WHERE id = ? AND user_id = ?')
  const insert = db.query('INSERT INTO message (id, chat_seq, uid, parent_id, role, status, content, digest, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)')
  const touch = db.query('UPDATE chat SET updated_at = ?, current_id = ? WHERE seq = ?')
  // note: in the millisecond the row already holds, the chat row's UPDATE leaves updated_at out (chat-rows.ts, touchAppended).
  const touchSameMs = db.query<void, [number, number, number]>('UPDATE chat SET current_id = ? WHERE seq = ? AND updated_at = ?')
  const begin = db.query('BEGIN IMMEDIATE')
  const commit = db.query('COMMIT')
  // note: a 1 KB message sealed: 1,024 bytes, a line feed and the field cipher's 33; its digest 20.
  const sealed = crypto.getRandomValues(new Uint8Array(1024 + 1 + 33))
  const digest = crypto.getRandomValues(new Uint8Array(20))
  raw.run('CREATE TABLE row (id INTEGER PRIMARY KEY, chat INTEGER NOT NULL, content BLOB NOT NULL) STRICT')
  const rawInsert = raw.query<void, [number, Uint8Array]>('INSERT INTO row (chat, content) VALUES (?, ?)')
  const rawBlob = crypto.getRandomValues(new Uint8Array(1024 + 33))
  let id = 1_000_000_000
  const append = (chat: { owner: string; id: string }) => {
    const row = find.get(String(id), chat.id, chat.owner)!
    insert.run(id, row.seq, String(id), row.current_id, 'user', null, sealed, digest, Date.now())
    const at = Date.now()
    if (at !== row.updated_at || touchSameMs.run(id, row.seq, at).changes !== 1) touch.run(at, id, row.seq)
    id++
  }
  const cpuUs = () => {
    const used = process.cpuUsage()
    return used.user + used.system
  }
  const one: number[] = []
  const batched: number[] = []
  const rawRows: number[] = []
  for (let block = 0; block < BLOCKS; block++) {
    let start = cpuUs()
    for (let i = 0; i < ROWS; i++) raw.transaction(() => rawInsert.run(1, rawBlob)).immediate()
    const rawPerRow = (cpuUs() - start) / ROWS
    start = cpuUs()
    for (let i = 0; i < ROWS; i++) {
      begin.run()
      append(chats[0]!)
      commit.run()
    }
    const onePerAppend = (cpuUs() - start) / ROWS
    start = cpuUs()
    for (let round = 0; round < ROWS / CHATS; round++) {
      begin.run()
      for (const chat of chats) append(chat)
      commit.run()
    }
    const batchedPerAppend = (cpuUs() - start) / ROWS
    if (block === 0) continue // note: the first block warms up
    rawRows.push(rawPerRow)
    one.push(onePerAppend)
    batched.push(batchedPerAppend)
  }
  const round = (value: number) => Math.round(value * 10) / 10
  console.log(JSON.stringify({ tree: root, cpuUsPerAppendOneChat: round(median(one)), cpuUsPerAppend16ACommit: round(median(batched)), cpuUsPerRawRow: round(median(rawRows)) }))
} finally {
  raw.close()
  store.close()
  rmSync(dataDir, { recursive: true, force: true })
}
