/**
 * Repositories write SQLite's placeholders (`?`, `?NNN`); PostgreSQL takes `$1..$n`. This turns one
 * into the other with SQLite's numbering (a bare `?` is one more than the largest number so far),
 * leaving alone what sits in quoted strings, quoted names, comments and dollar-quoted bodies.
 */

const cache = new Map<string, string>()
/** Distinct SQL texts kept; repositories use a fixed set, so this bounds only generated SQL. */
const MAX_CACHED = 4096

/** The PostgreSQL spelling of `sql`, computed once per text. */
export function toPostgresPlaceholders(sql: string): string {
  let found = cache.get(sql)
  if (found === undefined) {
    found = translate(sql)
    if (cache.size >= MAX_CACHED) cache.clear()
    cache.set(sql, found)
  }
  return found
}

function translate(sql: string): string {
  let out = ''
  let largest = 0
  let i = 0
  while (i < sql.length) {
    const char = sql[i]!
    const skipTo = endOfSkipped(sql, i)
    if (skipTo > i) {
      out += sql.slice(i, skipTo)
      i = skipTo
    } else if (char === '?') {
      let j = i + 1
      while (j < sql.length && sql[j]! >= '0' && sql[j]! <= '9') j++
      const number = j > i + 1 ? Number(sql.slice(i + 1, j)) : largest + 1
      largest = Math.max(largest, number)
      out += `$${number}`
      i = j
    } else {
      out += char
      i++
    }
  }
  return out
}

/** Where a literal, quoted name, comment or dollar-quoted body starting at `i` ends; `i` when none starts there. */
function endOfSkipped(sql: string, i: number): number {
  const char = sql[i]
  if (char === "'" || char === '"') {
    let j = i + 1
    while (j < sql.length) {
      if (sql[j] === char) {
        if (sql[j + 1] === char) j += 2
        else return j + 1
      } else j++
    }
    return sql.length
  }
  if (char === '-' && sql[i + 1] === '-') {
    const end = sql.indexOf('\n', i)
    return end === -1 ? sql.length : end
  }
  if (char === '/' && sql[i + 1] === '*') {
    const end = sql.indexOf('*/', i + 2)
    return end === -1 ? sql.length : end + 2
  }
  if (char === '$') {
    const tag = /^\$([A-Za-z_][A-Za-z0-9_]*)?\$/.exec(sql.slice(i, i + 64))
    if (tag !== null) {
      const end = sql.indexOf(tag[0], i + tag[0].length)
      return end === -1 ? sql.length : end + tag[0].length
    }
  }
  return i
}
