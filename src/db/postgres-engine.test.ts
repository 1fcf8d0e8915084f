import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describeEngineContract } from '../../test/helpers/engine-contract.ts'
import { findPostgresBin, startPostgres, type PostgresServer } from '../../test/helpers/postgres.ts'
import { DatabaseUnavailableError } from './database-errors.ts'
import { createPostgresEngine, type PostgresPool } from './postgres-engine.ts'

const pool: PostgresPool = { maxConnections: 4, idleTimeoutSeconds: 0, connectionTimeoutSeconds: 5, maxLifetimeSeconds: 0 }
let server: PostgresServer
beforeAll(async () => { server = await startPostgres() }, 60_000)
afterAll(async () => { await server.remove() })

describeEngineContract('PostgreSQL', async () => createPostgresEngine({ url: await server.createDatabase(), pool }))

describe('PostgreSQL engine', () => {
  test('the test server is the newest installed version, and missing binaries are a loud error', () => {
    const root = mkdtempSync(join(tmpdir(), 'enclave-pg-bin-'))
    try {
      expect(() => findPostgresBin(root)).toThrow(/install the Debian package postgresql/)
      for (const version of ['9.6', '13', '15']) mkdirSync(join(root, version, 'bin'), { recursive: true })
      for (const version of ['9.6', '13']) writeFileSync(join(root, version, 'bin', 'postgres'), '')
      expect(findPostgresBin(root)).toBe(join(root, '13', 'bin'))
    } finally {
      rmSync(root, { recursive: true, force: true })
    }
  })

  test('a lost server fails every call with DatabaseUnavailableError, and the engine recovers when it is back', async () => {
    const url = await server.createDatabase()
    const sql = createPostgresEngine({ url, pool })
    await sql.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, secret TEXT)')
    await sql.run('INSERT INTO t (id, secret) VALUES (?, ?)', 1, 'value-one')
    await server.stop()
    const calls: [string, () => Promise<unknown>][] = [
      ['get', () => sql.get('SELECT secret FROM t WHERE secret = ?', 'value-two')],
      ['all', () => sql.all('SELECT secret FROM t WHERE secret = ?', 'value-two')],
      ['run', () => sql.run('INSERT INTO t (id, secret) VALUES (?, ?)', 2, 'value-two')],
      ['exec', () => sql.exec('SELECT 1')],
      ['transaction', () => sql.transaction(() => sql.run('INSERT INTO t (id, secret) VALUES (?, ?)', 3, 'value-two'))],
    ]
    for (const [name, call] of calls) {
      const error = await call().then(() => null, (caught: unknown) => caught)
      expect(error, name).toBeInstanceOf(DatabaseUnavailableError)
      const shown = `${String(error)} ${(error as Error).stack} ${JSON.stringify(error)} ${Bun.inspect(error)}`
      for (const leak of ['value-two', 'SELECT', 'INSERT', server.appPassword]) expect(shown, name).not.toContain(leak)
    }
    await server.restart()
    expect(await sql.all('SELECT id FROM t')).toEqual([{ id: 1 }])
    await sql.transaction(() => sql.run('INSERT INTO t (id) VALUES (?)', 4))
    expect(await sql.all('SELECT id FROM t ORDER BY id')).toEqual([{ id: 1 }, { id: 4 }])
    await sql.close()
  })

  test('a restart between two calls goes unnoticed: connections the server ended are replaced', async () => {
    const sql = createPostgresEngine({ url: await server.createDatabase(), pool })
    await sql.exec('CREATE TABLE t (id INTEGER PRIMARY KEY)')
    await Promise.all([1, 2, 3].map((id) => sql.run('INSERT INTO t (id) VALUES (?)', id)))
    await server.stop()
    await server.restart()
    expect(await sql.run('INSERT INTO t (id) VALUES (?)', 4)).toEqual({ changes: 1 })
    expect((await sql.all('SELECT id FROM t')).length).toBe(4)
    await server.stop()
    await server.restart()
    await sql.transaction(() => sql.run('INSERT INTO t (id) VALUES (?)', 5))
    expect((await sql.all('SELECT id FROM t')).length).toBe(5)
    await sql.close()
  })

  test('a server lost in the middle of a transaction: it fails as unavailable and nothing of it is kept', async () => {
    const sql = createPostgresEngine({ url: await server.createDatabase(), pool })
    await sql.exec('CREATE TABLE t (id INTEGER PRIMARY KEY)')
    const error = await sql.transaction(async () => {
      await sql.run('INSERT INTO t (id) VALUES (?)', 1)
      await server.stop()
      await sql.run('INSERT INTO t (id) VALUES (?)', 2)
    }).then(() => null, (caught: unknown) => caught)
    expect(error).toBeInstanceOf(DatabaseUnavailableError)
    await server.restart()
    expect(await sql.all('SELECT id FROM t')).toEqual([])
    await sql.close()
  })

  test('the password in the URL shows up in no error', async () => {
    const closedPort = server.port === 1 ? 2 : 1
    const sql = createPostgresEngine({ url: `postgresql://enclave:${server.appPassword}@127.0.0.1:${closedPort}/enclave`, pool })
    const error = await sql.get('SELECT 1').then(() => null, (caught: unknown) => caught)
    expect(error).toBeInstanceOf(DatabaseUnavailableError)
    expect(`${String(error)} ${(error as Error).stack} ${JSON.stringify(error)} ${Bun.inspect(error)}`).not.toContain(server.appPassword)
    await sql.close()
  })

  test('transactions of several instances on one database each apply once (conflicts run again)', async () => {
    const url = await server.createDatabase()
    const instances = [1, 2, 3].map(() => createPostgresEngine({ url, pool }))
    await instances[0]!.exec('CREATE TABLE n (v INTEGER NOT NULL); INSERT INTO n (v) VALUES (0)')
    await Promise.all(instances.flatMap((sql) => Array.from({ length: 10 }, () => sql.transaction(async () => {
      const row = await sql.get<{ v: number }>('SELECT v FROM n')
      await sql.run('UPDATE n SET v = ?', row!.v + 1)
    }))))
    expect(await instances[0]!.get('SELECT v FROM n')).toEqual({ v: 30 })
    await Promise.all(instances.map((sql) => sql.close()))
  })

  test('afterCommit runs once per committed transaction, never for an attempt a conflict ran again', async () => {
    const url = await server.createDatabase()
    const instances = [1, 2, 3].map(() => createPostgresEngine({ url, pool }))
    await instances[0]!.exec('CREATE TABLE n (v INTEGER NOT NULL); INSERT INTO n (v) VALUES (0)')
    let attempts = 0
    let committed = 0
    await Promise.all(instances.flatMap((sql) => Array.from({ length: 10 }, () => sql.transaction(async () => {
      attempts++
      const row = await sql.get<{ v: number }>('SELECT v FROM n')
      await sql.run('UPDATE n SET v = ?', row!.v + 1)
      sql.afterCommit(() => committed++)
    }))))
    expect(committed).toBe(30)
    expect(attempts).toBeGreaterThanOrEqual(30)
    await Promise.all(instances.map((sql) => sql.close()))
  })

  test('values outside what a number holds exactly stay bigint; JSON comes back as text', async () => {
    const sql = createPostgresEngine({ url: await server.createDatabase(), pool })
    expect(await sql.get("SELECT 9007199254740993::bigint AS big, '{\"a\":1}'::jsonb AS j")).toEqual({ big: 9007199254740993n, j: '{"a":1}' })
    await sql.close()
  })
})
