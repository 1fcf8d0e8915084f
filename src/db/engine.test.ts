import { describe, expect, test } from 'bun:test'
import { createSqliteEngine } from './engine.ts'
import { openDatabase } from './open-database.ts'

function engine() {
  const sql = createSqliteEngine(openDatabase(':memory:'))
  return sql
}

describe('SQLite engine', () => {
  test('binds values and returns rows, null for none', async () => {
    const sql = engine()
    await sql.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT NOT NULL, body BLOB)')
    expect(await sql.run('INSERT INTO t (id, name, body) VALUES (?, ?, ?)', 1, 'a', new Uint8Array([1, 2]))).toEqual({ changes: 1 })
    expect(await sql.get<{ name: string }>('SELECT name FROM t WHERE id = ?', 1)).toEqual({ name: 'a' })
    expect(await sql.get('SELECT name FROM t WHERE id = ?', 2)).toBeNull()
    const rows = await sql.all<{ body: Uint8Array }>('SELECT body FROM t')
    expect([...rows[0]!.body]).toEqual([1, 2])
  })

  test('an error rejects the promise and names no value', async () => {
    const sql = engine()
    await expect(sql.get('SELECT * FROM missing WHERE x = ?', 'secret-value')).rejects.toThrow(/no such table/)
  })

  test('a failing transaction leaves nothing behind', async () => {
    const sql = engine()
    await sql.exec('CREATE TABLE t (id INTEGER PRIMARY KEY)')
    await expect(sql.transaction(async () => {
      await sql.run('INSERT INTO t (id) VALUES (?)', 1)
      throw new Error('stop')
    })).rejects.toThrow('stop')
    expect(await sql.all('SELECT id FROM t')).toEqual([])
  })

  test('a write from another context waits for an open transaction and is not rolled back with it', async () => {
    const sql = engine()
    await sql.exec('CREATE TABLE t (id INTEGER PRIMARY KEY)')
    let release!: () => void
    const gate = new Promise<void>((resolve) => { release = resolve })
    const failing = sql.transaction(async () => {
      await sql.run('INSERT INTO t (id) VALUES (?)', 1)
      await gate
      throw new Error('stop')
    })
    const outside = sql.run('INSERT INTO t (id) VALUES (?)', 2)
    release()
    await expect(failing).rejects.toThrow('stop')
    await outside
    expect(await sql.all('SELECT id FROM t')).toEqual([{ id: 2 }])
  })

  test('nested transactions join the open one', async () => {
    const sql = engine()
    await sql.exec('CREATE TABLE t (id INTEGER PRIMARY KEY)')
    await sql.transaction(async () => {
      await sql.run('INSERT INTO t (id) VALUES (?)', 1)
      await sql.transaction(async () => { await sql.run('INSERT INTO t (id) VALUES (?)', 2) })
    })
    expect((await sql.all('SELECT id FROM t')).length).toBe(2)
  })

  test('concurrent transactions run one after the other', async () => {
    const sql = engine()
    await sql.exec('CREATE TABLE n (v INTEGER NOT NULL)')
    await sql.run('INSERT INTO n (v) VALUES (0)')
    await Promise.all(Array.from({ length: 20 }, () => sql.transaction(async () => {
      const row = await sql.get<{ v: number }>('SELECT v FROM n')
      await Promise.resolve()
      await sql.run('UPDATE n SET v = ?', row!.v + 1)
    })))
    expect(await sql.get('SELECT v FROM n')).toEqual({ v: 20 })
  })
})
