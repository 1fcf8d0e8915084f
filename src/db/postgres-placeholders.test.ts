import { expect, test } from 'bun:test'
import { toPostgresPlaceholders } from './postgres-placeholders.ts'

test.each([
  ['plain', 'SELECT * FROM t WHERE a = ? AND b = ?', 'SELECT * FROM t WHERE a = $1 AND b = $2'],
  ['numbered, as SQLite numbers them', 'UPDATE t SET x = ?1 WHERE y = ?2 AND (x IS NULL OR x < ?1) AND z = ?', 'UPDATE t SET x = $1 WHERE y = $2 AND (x IS NULL OR x < $1) AND z = $3'],
  ['in a string', "SELECT '?', 'it''s ?' FROM t WHERE a = ?", "SELECT '?', 'it''s ?' FROM t WHERE a = $1"],
  ['in a quoted name', 'SELECT "odd?name" FROM t WHERE a = ?', 'SELECT "odd?name" FROM t WHERE a = $1'],
  ['in comments', 'SELECT 1 -- why?\n/* or ? */ WHERE a = ?', 'SELECT 1 -- why?\n/* or ? */ WHERE a = $1'],
  ['in a dollar-quoted body', 'SELECT $tag$ ? $tag$, $$?$$ WHERE a = ?', 'SELECT $tag$ ? $tag$, $$?$$ WHERE a = $1'],
  ['none', 'SELECT 1', 'SELECT 1'],
  ['an unclosed string', "SELECT '?", "SELECT '?"],
])('placeholders: %s', (_, sqlite, postgres) => {
  expect(toPostgresPlaceholders(sqlite)).toBe(postgres)
  expect(toPostgresPlaceholders(sqlite)).toBe(postgres)
})
