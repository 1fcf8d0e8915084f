import { Database } from 'bun:sqlite'
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { cpSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startPostgres, type PostgresServer } from '../../test/helpers/postgres.ts'
import { seedFullDataDir } from '../../test/helpers/seed-full-store.ts'
import { generatedKey } from '../../test/helpers/seed-store.ts'
import { readMasterKeyMaterial } from '../crypto/master-key.ts'
import { countRows, storeTables } from './copy-store.ts'
import { createSqliteEngine } from './sqlite-engine.ts'
import { migrate } from './migrate.ts'
import { migratePostgres } from './migrate-postgres.ts'
import { openDatabase } from './open-database.ts'
import { DATABASE_FILE, openStore } from './open-store.ts'
import { createPostgresEngine, type PostgresPool } from './postgres-engine.ts'
import { bringSqliteForward, CopyCheckError, copyAndCheckStore, isPostgresWithoutStore, readEngineKeyCheck, snapshotSqliteDatabase } from './store-transfer.ts'
import { checkCopiedStore } from './verify-copy.ts'

const pool: PostgresPool = { maxConnections: 4, idleTimeoutSeconds: 0, connectionTimeoutSeconds: 10, maxLifetimeSeconds: 0 }
let server: PostgresServer
const dirs: string[] = []
beforeAll(async () => { server = await startPostgres() }, 60_000)
afterAll(async () => {
  await server.remove()
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true })
})

const tempDir = () => {
  const dir = mkdtempSync(join(tmpdir(), 'enclave-copy-'))
  dirs.push(dir)
  return dir
}

/** Every row of every table, ordered by key, as SQLite returns it. */
function dumpSqlite(path: string) {
  const db = new Database(path, { readonly: true, strict: true })
  try {
    return Object.fromEntries(storeTables().map((table) => [table.name,
      db.query(`SELECT * FROM "${table.name}" ORDER BY ${table.orderBy.map((column) => `"${column}"`).join(', ')}`).all()]))
  } finally {
    db.close()
  }
}

/** A seeded data directory, and a migrated private snapshot of its database as a SQLite engine. */
async function seededSource(marker: string) {
  const dataDir = join(tempDir(), 'data')
  const seed = await seedFullDataDir(dataDir, marker)
  const material = readMasterKeyMaterial(generatedKey(dataDir))
  if (material?.kind !== 'raw') throw new Error('expected a raw key')
  const snapshot = join(tempDir(), 'snapshot.db')
  const live = new Database(join(dataDir, DATABASE_FILE), { readonly: true, strict: true })
  snapshotSqliteDatabase(live, snapshot)
  live.close()
  bringSqliteForward(snapshot, material.key)
  return { dataDir, seed, key: material.key, snapshot }
}

describe('copying a store between engines', () => {
  test('SQLite → PostgreSQL → SQLite gives back every row of every table, and the store opens with its chats', async () => {
    const { dataDir, seed, key, snapshot } = await seededSource('copy-marker')
    const source = createSqliteEngine(openDatabase(snapshot))
    const pg = createPostgresEngine({ url: await server.createDatabase(), pool })
    expect(await isPostgresWithoutStore(pg)).toBe(true)
    await migratePostgres(pg)
    expect(await isPostgresWithoutStore(pg)).toBe(true)
    const there = await copyAndCheckStore(source, pg, key)
    expect(there.check.openedValues).toBeGreaterThan(20)
    expect(await countRows(pg)).toEqual(await countRows(source))
    expect((await readEngineKeyCheck(pg))?.fingerprint).toBe((await readEngineKeyCheck(source))!.fingerprint)
    expect(await isPostgresWithoutStore(pg)).toBe(false)

    const backDir = join(tempDir(), 'data')
    cpSync(dataDir, backDir, { recursive: true })
    rmSync(join(backDir, DATABASE_FILE))
    const backDb = openDatabase(join(backDir, DATABASE_FILE))
    migrate(backDb)
    const back = createSqliteEngine(backDb)
    const returned = await copyAndCheckStore(pg, back, key)
    expect([...returned.report.rows]).toEqual([...there.report.rows])
    await back.exec('PRAGMA wal_checkpoint(TRUNCATE)')
    await back.close()
    await source.close()
    expect(dumpSqlite(join(backDir, DATABASE_FILE))).toEqual(dumpSqlite(snapshot))

    // a new chat on PostgreSQL takes a seq past the copied ones
    const highest = await pg.get<{ seq: number }>('SELECT max(seq) AS seq FROM chat')
    const inserted = await pg.get<{ seq: number }>("INSERT INTO chat (id, user_id, title, created_at, updated_at) SELECT 'new-chat', user_id, title, 1, 1 FROM chat LIMIT 1 RETURNING seq")
    expect(inserted!.seq).toBeGreaterThan(highest!.seq)
    await pg.close()

    const original = openStore({ dataDir, masterKey: generatedKey(dataDir), now: Date.now })
    const reopened = openStore({ dataDir: backDir, masterKey: generatedKey(backDir), now: Date.now })
    try {
      for (const [index, chatId] of seed.chatIds.entries()) {
        const owner = seed.userIds[Math.floor(index / 2)]!
        expect(await reopened.chats.readChatTree(owner, chatId as never)).toEqual(await original.chats.readChatTree(owner, chatId as never))
      }
      expect(await reopened.chats.listMessagesInChat(seed.userIds[0]!, seed.chatIds[0]! as never)).toHaveLength(4)
      const bytes = await reopened.files.readBytes(seed.userIds[0]!, seed.fileId as never, 1000)
      expect(new TextDecoder().decode(bytes!)).toBe('copy-marker file body')
    } finally {
      original.close()
      reopened.close()
    }
  }, 60_000)

  test('a value moved to another row, or a lost row, fails the check', async () => {
    const { key, snapshot } = await seededSource('check-marker')
    const source = createSqliteEngine(openDatabase(snapshot))
    const pg = createPostgresEngine({ url: await server.createDatabase(), pool })
    await migratePostgres(pg)
    const { report } = await copyAndCheckStore(source, pg, key)
    await pg.run('UPDATE chat SET title = (SELECT title FROM chat ORDER BY seq DESC LIMIT 1) WHERE seq = (SELECT min(seq) FROM chat)')
    await pg.run('DELETE FROM folder')
    const check = await checkCopiedStore(pg, report, key, 1000)
    expect(check.countMismatches).toEqual(['folder'])
    expect(check.unopened).toEqual([{ place: 'chat.title', values: 1 }])
    expect(new CopyCheckError(check).message).not.toContain('check-marker')
    await pg.close()
    await source.close()
  }, 60_000)

  test('a wrong master key opens nothing on the target', async () => {
    const { snapshot } = await seededSource('key-marker')
    const source = createSqliteEngine(openDatabase(snapshot))
    const pg = createPostgresEngine({ url: await server.createDatabase(), pool })
    await migratePostgres(pg)
    const error = await copyAndCheckStore(source, pg, new Uint8Array(32).fill(7)).catch((caught: unknown) => caught)
    expect(error).toBeInstanceOf(CopyCheckError)
    await pg.close()
    await source.close()
  }, 60_000)
})

test('a copy that fails its check is rolled back: the target stays empty', async () => {
  const { snapshot } = await seededSource('rollback-marker')
  const source = createSqliteEngine(openDatabase(snapshot))
  const pg = createPostgresEngine({ url: await server.createDatabase(), pool })
  await migratePostgres(pg)
  const migrated = await countRows(pg)
  await expect(copyAndCheckStore(source, pg, new Uint8Array(32).fill(9))).rejects.toBeInstanceOf(CopyCheckError)
  expect(await isPostgresWithoutStore(pg)).toBe(true)
  expect(await countRows(pg)).toEqual(migrated)
  await pg.close()
  await source.close()
}, 60_000)

test('tables longer than a page, with single and composite keys, go there and back whole', async () => {
  const { key, snapshot } = await seededSource('paging-marker')
  const db = openDatabase(snapshot)
  const insertKey = db.query('INSERT INTO data_key (owner_id, version, wrapped, created_at) VALUES (?, ?, ?, ?)')
  const insertMeta = db.query('INSERT INTO meta (name, value) VALUES (?, ?)')
  db.transaction(() => {
    for (let i = 0; i < 400; i++) {
      for (const version of [1, 2]) insertKey.run(`pad-${i}`, version, crypto.getRandomValues(new Uint8Array(60)), i)
      insertMeta.run(`pad_${i}`, crypto.getRandomValues(new Uint8Array(8)))
    }
  })()
  db.close()
  const source = createSqliteEngine(openDatabase(snapshot))
  const pg = createPostgresEngine({ url: await server.createDatabase(), pool })
  await migratePostgres(pg)
  const there = await copyAndCheckStore(source, pg, key)
  expect(there.report.rows.get('data_key')).toBeGreaterThan(800)
  const backPath = join(tempDir(), 'back.db')
  const backDb = openDatabase(backPath)
  migrate(backDb)
  const back = createSqliteEngine(backDb)
  await copyAndCheckStore(pg, back, key)
  await back.exec('PRAGMA wal_checkpoint(TRUNCATE)')
  await back.close()
  await source.close()
  await pg.close()
  expect(dumpSqlite(backPath)).toEqual(dumpSqlite(snapshot))
}, 60_000)

test('a PostgreSQL source is read as one committed state while another connection keeps writing', async () => {
  const { key, snapshot } = await seededSource('snapshot-marker')
  const source = createSqliteEngine(openDatabase(snapshot))
  const url = await server.createDatabase()
  const pg = createPostgresEngine({ url, pool })
  await migratePostgres(pg)
  await copyAndCheckStore(source, pg, key)
  await source.close()
  // each write adds a data key row and a meta row together: a consistent copy holds as many of each
  const writer = createPostgresEngine({ url, pool })
  let done = false
  let written = 0
  const writing = (async () => {
    for (let i = 0; i < 2000 && !done; i++) {
      await writer.transaction(async () => {
        await writer.run('INSERT INTO data_key (owner_id, version, wrapped, created_at) VALUES (?, 1, ?, 0)', `pair-${i}`, new Uint8Array(8))
        await writer.run('INSERT INTO meta (name, value) VALUES (?, ?)', `pair_${i}`, new Uint8Array(8))
      })
      written++
    }
  })()
  while (written < 5) await Bun.sleep(5)
  const backDb = openDatabase(join(tempDir(), 'back.db'))
  migrate(backDb)
  const back = createSqliteEngine(backDb)
  await copyAndCheckStore(pg, back, key)
  done = true
  await writing
  const keys = await back.get<{ n: number }>("SELECT count(*) AS n FROM data_key WHERE owner_id LIKE 'pair-%'")
  const metas = await back.get<{ n: number }>("SELECT count(*) AS n FROM meta WHERE name LIKE 'pair_%'")
  expect(keys!.n).toBeGreaterThan(0)
  expect(metas!.n).toBe(keys!.n)
  await back.close()
  await writer.close()
  await pg.close()
}, 60_000)
