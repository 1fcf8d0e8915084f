/**
 * Opens another product's SQLite database (Open WebUI's webui.db, Libre WebUI's data.sqlite) for an
 * import: read-only, checked by SQLite, and refused unless it has every column the importer reads,
 * so a file of another kind or an unknown version is named instead of half-read.
 */
import { Database } from 'bun:sqlite'

export type SourceRefusal = { ok: false; reason: 'not_a_database' | 'unknown_version' | 'malformed'; detail: string }

/** Opens the file read-only and checks it; `requiredColumns` maps each table to the columns read from it. */
export function openSourceDatabase(path: string, requiredColumns: Record<string, string[]>, product: string): { ok: true; db: Database } | SourceRefusal {
  let db: Database
  try {
    db = new Database(path, { readonly: true, strict: true })
    db.query('SELECT count(*) FROM sqlite_master').get()
  } catch {
    return { ok: false, reason: 'not_a_database', detail: `${path} is not a readable SQLite database.` }
  }
  const refuse = (reason: SourceRefusal['reason'], detail: string): SourceRefusal => (db.close(), { ok: false, reason, detail })
  try {
    const quick = db.query<{ quick_check: string }, []>('PRAGMA quick_check').get()
    if (quick?.quick_check !== 'ok') return refuse('malformed', 'The database fails SQLite\'s integrity check.')
    for (const [table, columns] of Object.entries(requiredColumns)) {
      const present = new Set(db.query<{ name: string }, []>(`SELECT name FROM pragma_table_info('${table}')`).all().map((row) => row.name))
      const missing = columns.filter((column) => !present.has(column))
      if (missing.length > 0) return refuse('unknown_version', `Table "${table}" ${present.size === 0 ? 'is missing' : `lacks ${missing.join(', ')}`}: this is not ${product} database of a version this importer knows.`)
    }
  } catch {
    return refuse('malformed', 'The database could not be read.')
  }
  return { ok: true, db }
}
