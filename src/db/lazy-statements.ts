/**
 * Statements prepared at their first use rather than when a repository is made: the synchronous
 * repositories prepare every statement they might run in their constructors (about 6 ms of a
 * start, for statements most starts never run). `withLazyStatements(db)` is the database with one
 * difference: `query(sql)` hands back a stand-in that calls the real `db.query(sql)` (bun:sqlite's
 * cached statement) the first time it is used, and forwards to it from then on. Everything else is
 * the database itself. A statement with an SQL error now fails where it is first run, not at start;
 * the tests run each repository's statements.
 */
import type { Database, Statement } from 'bun:sqlite'

type Params = Parameters<Statement['get']>

class LazyStatement {
  #statement: Statement | null = null
  readonly #db: Database
  readonly #sql: string

  constructor(db: Database, sql: string) {
    this.#db = db
    this.#sql = sql
  }

  get prepared(): Statement {
    return (this.#statement ??= this.#db.query(this.#sql))
  }

  get(...params: Params) { return this.prepared.get(...params) }
  all(...params: Params) { return this.prepared.all(...params) }
  run(...params: Params) { return this.prepared.run(...params) }
  values(...params: Params) { return this.prepared.values(...params) }
  iterate(...params: Params) { return this.prepared.iterate(...params) }
  as(Class: new (...args: never[]) => unknown) { return this.prepared.as(Class as never) }
  finalize() { return this.prepared.finalize() }
  toString() { return this.prepared.toString() }
  get columnNames() { return this.prepared.columnNames }
  get paramsCount() { return this.prepared.paramsCount }
  get declaredTypes() { return this.prepared.declaredTypes }
  get columnTypes() { return this.prepared.columnTypes }
  get native() { return this.prepared.native }
  [Symbol.iterator]() { return this.prepared[Symbol.iterator]() }
}

/** The database, with `query` preparing each statement when first used. */
export function withLazyStatements(db: Database): Database {
  const query = (sql: string) => new LazyStatement(db, sql) as unknown as Statement
  // note: the database's own methods are bound once each, so they run on the real object.
  const bound = new Map<PropertyKey, unknown>()
  return new Proxy(db, {
    get(target, name) {
      if (name === 'query') return query
      const value: unknown = Reflect.get(target, name, target)
      if (typeof value !== 'function') return value
      let method = bound.get(name)
      if (method === undefined) bound.set(name, (method = (value as (...args: unknown[]) => unknown).bind(target)))
      return method
    },
  })
}
