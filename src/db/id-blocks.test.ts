import { afterAll, afterEach, describe, expect, test } from 'bun:test'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startPostgres, type PostgresServer } from '../../test/helpers/postgres.ts'
import { type SqlEngine } from './engine.ts'
import { createSqliteEngine } from './sqlite-engine.ts'
import { createPostgresEngine, type PostgresPool } from './postgres-engine.ts'
import { createEngineIdBlocks, type EngineIdBlocks, type IdAttempt } from './id-blocks.ts'
import type { ChatId, UserId } from './ids.ts'
import { openDatabase } from './open-database.ts'
import { openStore, type SqliteStore as Store } from './open-store.ts'

const dirs: string[] = []
afterEach(() => dirs.splice(0).forEach((dir) => rmSync(dir, { recursive: true, force: true })))

function openIn(dataDir: string): Store {
  return openStore({ dataDir, masterKey: { kind: 'generated', path: join(dataDir, '.encryption_key') }, now: Date.now })
}

async function seed(store: Store): Promise<{ owner: UserId; chat: ChatId }> {
  const created = await store.users.createUser({ email: 'ids@example.com', name: 'Ids', role: 'user' })
  if (!created.ok) throw new Error('user not created')
  return { owner: created.user.id, chat: (await store.chats.createChat(created.user.id, 'ids')).id }
}

test('message ids only grow, even after the newest are deleted and the store reopens', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'enclave-ids-'))
  dirs.push(dataDir)
  let store = openIn(dataDir)
  const { owner, chat } = await seed(store)
  const first: number[] = []
  for (let i = 0; i < 3; i++) first.push((await store.chats.addMessage(owner, chat, { role: 'user', content: 'x' }))!.id)
  expect(first).toEqual([first[0]!, first[0]! + 1, first[0]! + 2])
  store.db.run('DELETE FROM message')
  store.close()

  store = openIn(dataDir)
  const next = (await store.chats.addMessage(owner, chat, { role: 'user', content: 'y' }))!.id
  expect(next).toBeGreaterThan(first[2]!)
  store.close()
})

test('a rolled-back append hands out no id that a later commit reuses', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'enclave-ids-'))
  dirs.push(dataDir)
  const store = openIn(dataDir)
  const { owner, chat } = await seed(store)
  store.db.run(`CREATE TRIGGER refuse_poison BEFORE INSERT ON message WHEN NEW.role = 'system' BEGIN SELECT RAISE(ABORT, 'refused'); END`)
  await expect(store.chats.addMessage(owner, chat, { role: 'system', content: 'poison' })).rejects.toThrow('refused')
  const ids: number[] = []
  for (let i = 0; i < 2; i++) ids.push((await store.chats.addMessage(owner, chat, { role: 'user', content: 'ok' }))!.id)
  expect(ids[1]).toBe(ids[0]! + 1)
  expect((await store.chats.listMessagesInChat(owner, chat)).map((m) => m.content)).toEqual(['ok', 'ok'])
  store.close()
})

const pgPool: PostgresPool = { maxConnections: 2, idleTimeoutSeconds: 0, connectionTimeoutSeconds: 5, maxLifetimeSeconds: 0 }
let pg: PostgresServer | null = null
afterAll(async () => { await pg?.remove() })

const engines: [string, () => Promise<SqlEngine>][] = [
  ['SQLite', async () => {
    const sql = createSqliteEngine(openDatabase(':memory:'))
    await sql.exec('CREATE TABLE meta (name TEXT PRIMARY KEY, value ANY NOT NULL) STRICT; CREATE TABLE message (id INTEGER PRIMARY KEY) STRICT')
    return sql
  }],
  ['PostgreSQL', async () => {
    pg ??= await startPostgres()
    const sql = createPostgresEngine({ url: await pg.createDatabase(), pool: pgPool })
    // note: as the PostgreSQL schema has them (migrations/postgresql/001-init.sql): meta.value holds a number as UTF-8 text.
    await sql.exec('CREATE TABLE meta (name TEXT PRIMARY KEY, value BYTEA NOT NULL); CREATE TABLE message (id BIGINT PRIMARY KEY)')
    return sql
  }],
]

describe.each(engines)('%s: engine id blocks', (_name, open) => {
  const reservedUpTo = async (sql: SqlEngine) => {
    const row = await sql.get<{ value: number | Uint8Array }>("SELECT value FROM meta WHERE name = 'message_id_reserved'")
    return row === null ? 0 : Number(row.value instanceof Uint8Array ? new TextDecoder().decode(row.value) : row.value)
  }

  /** Inserts one row in its own transaction, keeping the block once it commits; returns its id. */
  const insertOne = async (sql: SqlEngine, ids: EngineIdBlocks) => {
    let attempt: IdAttempt | null = null
    const id = await sql.transaction(async () => {
      attempt = ids.attempt()
      const id = await attempt.next()
      await sql.run('INSERT INTO message (id) VALUES (?)', id)
      return id
    })
    attempt!.keep()
    return id
  }

  test('ids grow across transactions and blocks, each below what meta reserves', { timeout: 60_000 }, async () => {
    const sql = await open()
    const ids = createEngineIdBlocks(sql, 'message')
    const got: number[] = []
    for (let i = 0; i < 1_005; i++) got.push(await insertOne(sql, ids))
    expect(got[0]).toBe(1)
    expect(got.at(-1)).toBe(1_005)
    expect(await reservedUpTo(sql)).toBe(2_000)
    // note: a restart (a new allocator) starts above the reservation, never below it.
    expect(await insertOne(sql, createEngineIdBlocks(sql, 'message'))).toBe(2_001)
    await sql.close()
  })

  test('a transaction that fails or runs again never hands out ids of a block it reserved and rolled back', async () => {
    const sql = await open()
    const ids = createEngineIdBlocks(sql, 'message')
    const seen: number[] = []
    // note: the first attempt reserves a block and fails, as PostgreSQL's conflict would make it; the block rolls back with it.
    let attempts = 0
    let kept: IdAttempt | null = null
    for (;;) {
      try {
        await sql.transaction(async () => {
          attempts++
          const attempt = kept = ids.attempt()
          seen.push(await attempt.next(), await attempt.next())
          if (attempts === 1) throw new Error('conflict')
          await sql.run('INSERT INTO message (id) VALUES (?), (?)', seen.at(-2)!, seen.at(-1)!)
        })
        kept!.keep()
        break
      } catch (error) {
        if (attempts >= 2) throw error
      }
    }
    expect(await reservedUpTo(sql)).toBe(1_000)
    // note: only the committed attempt's block serves what follows, from where it stopped.
    expect(await insertOne(sql, ids)).toBe(seen.at(-1)! + 1)
    // note: a block reserved inside a transaction that then rolls back is not kept, so the next reserves again above what is stored.
    const lost = ids.attempt()
    ids.forgetBlock()
    await expect(sql.transaction(async () => { await lost.next(); throw new Error('rolled back') })).rejects.toThrow('rolled back')
    const after = await insertOne(sql, ids)
    expect(after).toBeGreaterThan(seen.at(-1)! + 1)
    expect(after).toBeLessThanOrEqual(await reservedUpTo(sql))
    await sql.close()
  })
})

test('PostgreSQL: two instances reserving at once never hand out one id twice (a conflict runs the transaction again, with a fresh attempt)', { timeout: 60_000 }, async () => {
  pg ??= await startPostgres()
  const url = await pg.createDatabase()
  const first = createPostgresEngine({ url, pool: pgPool })
  const second = createPostgresEngine({ url, pool: pgPool })
  await first.exec('CREATE TABLE meta (name TEXT PRIMARY KEY, value BYTEA NOT NULL); CREATE TABLE message (id BIGINT PRIMARY KEY)')
  const instances = [first, second].map((sql) => ({ sql, ids: createEngineIdBlocks(sql, 'message') }))
  const insertOne = async ({ sql, ids }: (typeof instances)[number]) => {
    let attempt: IdAttempt | null = null
    await sql.transaction(async () => {
      attempt = ids.attempt()
      await sql.run('INSERT INTO message (id) VALUES (?)', await attempt.next())
    })
    attempt!.keep()
  }
  // note: each instance forgets its block every few inserts, so the two keep reserving side by side.
  await Promise.all(instances.map(async (instance) => {
    for (let i = 0; i < 40; i++) {
      if (i % 4 === 0) instance.ids.forgetBlock()
      await insertOne(instance)
    }
  }))
  const stored = await first.all<{ id: number }>('SELECT id FROM message')
  expect(stored.length).toBe(80)
  expect(new Set(stored.map((row) => row.id)).size).toBe(80)
  await first.close()
  await second.close()
})
