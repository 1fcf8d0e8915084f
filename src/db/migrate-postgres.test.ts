import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { startPostgres, type PostgresServer } from '../../test/helpers/postgres.ts'
import { type SqlEngine } from './engine.ts'
import { createSqliteEngine } from './sqlite-engine.ts'
import { migratePostgres, readPostgresSchemaVersion } from './migrate-postgres.ts'
import { SchemaTooNewError } from './migrate.ts'
import { LATEST_SCHEMA_VERSION, migrations } from './migrations.ts'
import { openDatabase } from './open-database.ts'
import { createPostgresEngine, type PostgresPool } from './postgres-engine.ts'

const pool: PostgresPool = { maxConnections: 4, idleTimeoutSeconds: 0, connectionTimeoutSeconds: 10, maxLifetimeSeconds: 0 }
let server: PostgresServer
beforeAll(async () => { server = await startPostgres() }, 60_000)
afterAll(async () => { await server.remove() })

const freshEngine = async () => createPostgresEngine({ url: await server.createDatabase(), pool })
const recorded = (sql: SqlEngine) => sql.all<{ version: number; name: string }>('SELECT version, name FROM schema_migration ORDER BY version')

describe('PostgreSQL migrations', () => {
  test('every step has its PostgreSQL version', () => {
    for (const migration of migrations) expect(migration.postgresql, migration.name).toBeString()
  })

  test('an empty database goes to the latest version; running again does nothing', async () => {
    const sql = await freshEngine()
    expect(await readPostgresSchemaVersion(sql)).toBe(0)
    expect(await migratePostgres(sql)).toBe(LATEST_SCHEMA_VERSION)
    const first = await recorded(sql)
    expect(first.map((row) => row.name)).toEqual(migrations.map((migration) => migration.name))
    expect(await migratePostgres(sql)).toBe(LATEST_SCHEMA_VERSION)
    expect(await recorded(sql)).toEqual(first)
    await sql.close()
  })

  test('three instances starting together run each step once', async () => {
    const url = await server.createDatabase()
    const instances = [1, 2, 3].map(() => createPostgresEngine({ url, pool }))
    expect(await Promise.all(instances.map((sql) => migratePostgres(sql)))).toEqual([LATEST_SCHEMA_VERSION, LATEST_SCHEMA_VERSION, LATEST_SCHEMA_VERSION])
    expect((await recorded(instances[0]!)).length).toBe(LATEST_SCHEMA_VERSION)
    await Promise.all(instances.map((sql) => sql.close()))
  })

  test('a database from a newer Enclave is refused', async () => {
    const sql = await freshEngine()
    await migratePostgres(sql)
    await sql.run("INSERT INTO schema_migration (version, name, applied_at) VALUES (?, 'later', 0)", LATEST_SCHEMA_VERSION + 1)
    await expect(migratePostgres(sql)).rejects.toBeInstanceOf(SchemaTooNewError)
    await sql.close()
  })

  test('a failing step leaves the database at the last good version', async () => {
    const sql = await freshEngine()
    const steps = [
      { version: 1, name: 'good', sql: '', postgresql: 'CREATE TABLE good (x INTEGER)' },
      { version: 2, name: 'bad', sql: '', postgresql: 'CREATE TABLE half_done (x INTEGER); THIS IS NOT SQL' },
    ]
    await expect(migratePostgres(sql, steps)).rejects.toThrow()
    expect(await readPostgresSchemaVersion(sql)).toBe(1)
    expect(await sql.get("SELECT to_regclass('half_done') AS found")).toEqual({ found: null })
    await sql.close()
  })

  test('rows of schema 5 are carried into the message tree as on SQLite', async () => {
    const sql = await freshEngine()
    await migratePostgres(sql, migrations, 5)
    await sql.run(`INSERT INTO "user" (id, email_index, email, name, role, created_at, updated_at) VALUES ('u1', ?, ?, ?, 'admin', 1, 1)`, new Uint8Array([1]), new Uint8Array([2]), new Uint8Array([3]))
    await sql.run("INSERT INTO chat (id, user_id, title, created_at, updated_at) VALUES ('c1', 'u1', ?, 1, 1)", new Uint8Array([4]))
    const chat = await sql.get<{ seq: number }>("SELECT seq FROM chat WHERE id = 'c1'")
    for (const [id, role] of [[10, 'user'], [11, 'assistant'], [12, 'user']] as const) {
      await sql.run('INSERT INTO message (id, chat_seq, role, content, model, created_at) VALUES (?, ?, ?, ?, ?, ?)', id, chat!.seq, role, new Uint8Array([id]), role === 'assistant' ? new Uint8Array([9]) : null, id)
    }
    expect(await migratePostgres(sql)).toBe(LATEST_SCHEMA_VERSION)
    expect(await sql.all('SELECT id, uid, parent_id, status FROM message ORDER BY id')).toEqual([
      { id: 10, uid: '10', parent_id: null, status: null },
      { id: 11, uid: '11', parent_id: 10, status: 'done' },
      { id: 12, uid: '12', parent_id: 11, status: null },
    ])
    expect(await sql.all('SELECT id, model FROM message_legacy')).toEqual([{ id: 11, model: new Uint8Array([9]) }])
    expect(await sql.get("SELECT current_id FROM chat WHERE id = 'c1'")).toEqual({ current_id: 12 })
    const mark = await sql.get<{ value: Uint8Array }>("SELECT value FROM meta WHERE name = 'message_legacy_aad_up_to'")
    expect(new TextDecoder().decode(mark!.value)).toBe('12')
    expect(await sql.get('SELECT pending FROM model_grant_upgrade')).toEqual({ pending: 1 })
    await sql.close()
  })

  test('a file deleted takes its documents and knowledge links with it, as the SQLite trigger does', async () => {
    const sql = await freshEngine()
    await migratePostgres(sql)
    const blob = new Uint8Array([1])
    await sql.run(`INSERT INTO "user" (id, email_index, email, name, role, created_at, updated_at) VALUES ('u1', ?, ?, ?, 'user', 1, 1)`, blob, blob, blob)
    await sql.run("INSERT INTO file (id, user_id, name, content_type, file_key, size, created_at, updated_at) VALUES ('f1', 'u1', ?, ?, ?, 3, 1, 1)", blob, blob, blob)
    await sql.run("INSERT INTO rag_document (id, user_id, file_id, name, model, dimensions, chunk_count, created_at) VALUES ('d1', 'u1', 'f1', ?, 'm', 3, 1, 1)", blob)
    await sql.run("INSERT INTO rag_chunk (document_id, position, content) VALUES ('d1', 0, ?)", blob)
    await sql.run("INSERT INTO knowledge (id, user_id, name, created_at, updated_at) VALUES ('k1', 'u1', ?, 1, 1)", blob)
    await sql.run("INSERT INTO knowledge_file (knowledge_id, file_id, created_at) VALUES ('k1', 'f1', 1)")
    await sql.run("DELETE FROM file WHERE id = 'f1'")
    expect(await sql.get('SELECT (SELECT count(*) FROM rag_document) + (SELECT count(*) FROM rag_chunk) + (SELECT count(*) FROM knowledge_file) AS n')).toEqual({ n: 0 })
    await sql.close()
  })

  test('every table has the same columns (names, nullability) and indexes on both engines', async () => {
    const sqlite = createSqliteEngine(openDatabase(':memory:'))
    for (const migration of migrations) await sqlite.exec(migration.sql)
    const sqliteTables = await sqlite.all<{ name: string }>("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")
    const sqliteSchema: Record<string, string[]> = {}
    for (const { name } of sqliteTables) {
      const columns = await sqlite.all<{ name: string; notnull: number; pk: number }>(`SELECT name, "notnull", pk FROM pragma_table_info('${name}') ORDER BY name`)
      // note: a primary key column is NOT NULL on PostgreSQL whatever it says; SQLite's STRICT tables refuse NULL keys too.
      sqliteSchema[name] = columns.map((column) => `${column.name} ${column.notnull === 1 || column.pk > 0 ? 'not null' : 'null'}`)
    }
    const sqliteIndexes = (await sqlite.all<{ name: string }>("SELECT name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL ORDER BY name")).map((row) => row.name)

    const postgres = await freshEngine()
    await migratePostgres(postgres)
    const columns = await postgres.all<{ table_name: string; column_name: string; is_nullable: string }>(`
      SELECT table_name, column_name, is_nullable FROM information_schema.columns
      WHERE table_schema = current_schema() AND table_name <> 'schema_migration' ORDER BY table_name, column_name`)
    const postgresSchema: Record<string, string[]> = {}
    for (const column of columns) (postgresSchema[column.table_name] ??= []).push(`${column.column_name} ${column.is_nullable === 'YES' ? 'null' : 'not null'}`)
    const postgresIndexes = (await postgres.all<{ indexname: string }>(`
      SELECT indexname FROM pg_indexes WHERE schemaname = current_schema()
      AND indexname NOT LIKE '%\\_pkey' AND indexname NOT LIKE '%\\_key' ORDER BY indexname`)).map((row) => row.indexname)

    expect(Object.keys(sqliteSchema).length).toBeGreaterThan(25)
    expect(sqliteIndexes.length).toBeGreaterThan(15)
    expect(postgresSchema).toEqual(sqliteSchema)
    expect(postgresIndexes).toEqual(sqliteIndexes)
    await sqlite.close()
    await postgres.close()
  })
})
