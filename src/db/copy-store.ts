/**
 * Copies a whole store from one engine to the other (SQLite ↔ PostgreSQL), table by table: what
 * `enclave migrate-db` and backup/restore on PostgreSQL run. Both databases are at the latest
 * schema when it starts (the callers migrate them). Every table of the schema is copied in
 * foreign-key order, in pages by primary key, inside ONE target transaction that first empties
 * the target's tables, so the target ends with the source's rows or, on any failure, as it was
 * (store-transfer.ts checks the copy inside that transaction too). A PostgreSQL
 * source is read in one REPEATABLE READ READ ONLY transaction: one committed state, however long
 * the copy takes. A SQLite source must be a private snapshot nobody writes.
 *
 * Types: blobs (BLOB ↔ BYTEA), integers and 0/1 flags are the same values on both engines; only
 * `meta.value` differs (ANY on SQLite: blobs, text and integers; BYTEA on PostgreSQL, with text and
 * integers as their UTF-8 text, as id-blocks.ts writes them): META_TEXT and isMetaInteger name the
 * entries that are not blobs on SQLite. Identity columns (chat.seq) are advanced past the copied
 * ids on PostgreSQL.
 *
 * Threat: none of its own: it moves ciphertext, blind indexes and plain columns as they are, and
 * never puts a value in an error or a report (only table names and counts).
 */
import { Database } from 'bun:sqlite'
import type { SqlEngine, SqlValue } from './engine.ts'
import { migrate } from './migrate.ts'

/** One table of the schema: its columns, and the columns that order its rows (its primary key). */
export type StoreTable = { readonly name: string; readonly columns: readonly string[]; readonly orderBy: readonly string[] }

/** Rows read from the source and written to the target, by table. */
export type CopyReport = { readonly rows: ReadonlyMap<string, number> }

/** `meta` entries that are text on SQLite (the key check's fingerprint and scrypt parameters). */
const META_TEXT = new Set(['key_fingerprint', 'kdf_params'])
/** `meta` entries that are integers on SQLite: id block reservations and schema 6's upgrade mark. */
const isMetaInteger = (name: string) => name.endsWith('_id_reserved') || name === 'message_legacy_aad_up_to'

const PAGE_ROWS = 256
const utf8Encoder = new TextEncoder()
const utf8Decoder = new TextDecoder()

let tables: readonly StoreTable[] | null = null

/** Every table of the latest schema, parents before children (as SQLite's migrations define them). */
export function storeTables(): readonly StoreTable[] {
  if (tables !== null) return tables
  const db = new Database(':memory:', { strict: true })
  try {
    migrate(db)
    const names = db.query<{ name: string }, []>("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name").all().map((row) => row.name)
    const parents = new Map(names.map((name) => [name, db.query<{ table: string }, []>(`PRAGMA foreign_key_list("${name}")`).all().map((row) => row.table).filter((parent) => parent !== name)]))
    const ordered: string[] = []
    const visit = (name: string) => {
      if (ordered.includes(name)) return
      for (const parent of parents.get(name) ?? []) visit(parent)
      ordered.push(name)
    }
    names.forEach(visit)
    tables = ordered.map((name) => {
      const info = db.query<{ name: string; pk: number }, []>(`PRAGMA table_info("${name}")`).all()
      const key = info.filter((column) => column.pk > 0).sort((a, b) => a.pk - b.pk).map((column) => column.name)
      const columns = info.map((column) => column.name)
      return { name, columns, orderBy: key.length > 0 ? key : columns }
    })
    return tables
  } finally {
    db.close()
  }
}

const quote = (name: string) => `"${name}"`

/** A `meta.value` as the target engine keeps it. */
function metaValueFor(dialect: SqlEngine['dialect'], name: string, value: unknown): SqlValue {
  if (dialect === 'postgresql') return value instanceof Uint8Array ? value : utf8Encoder.encode(String(value))
  if (!(value instanceof Uint8Array)) return value as SqlValue
  if (META_TEXT.has(name)) return utf8Decoder.decode(value)
  if (isMetaInteger(name)) return Number(utf8Decoder.decode(value))
  return value
}

/** The meta entries as SQLite keeps them, whichever engine holds them. */
export async function readMeta(sql: SqlEngine): Promise<Map<string, SqlValue>> {
  const rows = await sql.all<{ name: string; value: unknown }>('SELECT name, value FROM meta')
  return new Map(rows.map((row) => [row.name, metaValueFor('sqlite', row.name, row.value)]))
}

/** Counts each table's rows. */
export async function countRows(sql: SqlEngine): Promise<Map<string, number>> {
  const counts = new Map<string, number>()
  for (const table of storeTables()) {
    const row = await sql.get<{ n: number | string }>(`SELECT count(*) AS n FROM ${quote(table.name)}`)
    counts.set(table.name, Number(row?.n ?? 0))
  }
  return counts
}

/** Empties every table of the store, children first; call inside the target's transaction. */
async function emptyTables(target: SqlEngine): Promise<void> {
  for (const table of [...storeTables()].reverse()) await target.run(`DELETE FROM ${quote(table.name)}`)
}

/**
 * Replaces the target's rows with the source's, in one target transaction. Both are at the latest
 * schema; the caller has refused a target that holds a store it should not replace.
 */
export async function copyStore(source: SqlEngine, target: SqlEngine): Promise<CopyReport> {
  const copy = () => target.transaction(async () => {
    const rows = new Map<string, number>()
    await emptyTables(target)
    for (const table of storeTables()) rows.set(table.name, await copyTable(source, target, table))
    if (target.dialect === 'postgresql') await advanceIdentities(target)
    return { rows }
  })
  if (source.dialect === 'sqlite') return copy()
  return source.transaction(async () => {
    // note: allowed as the transaction's first statement; one snapshot for every read after it.
    await source.exec('SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY')
    return copy()
  })
}

async function copyTable(source: SqlEngine, target: SqlEngine, table: StoreTable): Promise<number> {
  const columns = table.columns.map(quote).join(', ')
  const key = table.orderBy.map(quote).join(', ')
  // note: keyset pages (after the last key read), so each page costs the same however far the copy is.
  const from = `SELECT ${columns} FROM ${quote(table.name)}`
  const firstPage = `${from} ORDER BY ${key} LIMIT ${PAGE_ROWS}`
  const nextPage = `${from} WHERE (${key}) > (${table.orderBy.map(() => '?').join(', ')}) ORDER BY ${key} LIMIT ${PAGE_ROWS}`
  const rowPlaceholders = `(${table.columns.map(() => '?').join(', ')})`
  const metaValue = table.name === 'meta' ? table.columns.indexOf('value') : -1
  let copied = 0
  let last: SqlValue[] | null = null
  for (;;) {
    const rows: Record<string, unknown>[] = last === null ? await source.all(firstPage) : await source.all(nextPage, ...last)
    if (rows.length === 0) return copied
    const values: SqlValue[] = []
    for (const row of rows) {
      table.columns.forEach((column, index) => {
        const value = row[column] ?? null
        values.push(index === metaValue ? metaValueFor(target.dialect, String(row.name), value) : (value as SqlValue))
      })
    }
    await target.run(`INSERT INTO ${quote(table.name)} (${columns}) VALUES ${rows.map(() => rowPlaceholders).join(', ')}`, ...values)
    copied += rows.length
    if (rows.length < PAGE_ROWS) return copied
    const end = rows.at(-1)!
    last = table.orderBy.map((column) => (end[column] ?? null) as SqlValue)
  }
}

/** Moves each identity column's sequence past the highest id copied, so new rows take fresh ids. */
async function advanceIdentities(target: SqlEngine): Promise<void> {
  const identities = await target.all<{ table_name: string; column_name: string }>(
    "SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = current_schema() AND is_identity = 'YES'")
  for (const { table_name: table, column_name: column } of identities) {
    await target.get(`SELECT setval(pg_get_serial_sequence(?, ?), coalesce((SELECT max(${quote(column)}) FROM ${quote(table)}), 0) + 1, false)`, quote(table), column)
  }
}
