/**
 * Checks a copied store on its target engine (copy-store.ts): each table holds as many rows as were
 * copied, and a random sample of every sealed column opens under its owner's data key, itself
 * unwrapped under the master key, as `enclave keys verify` opens them (verify-fields.ts). A value
 * moved to another row, cut, or changed in transit would not open (its AAD binds table, column
 * and row id).
 *
 * Threat: the report holds table and column names and counts, never a value or a row id's data.
 */
import { openField, sealedKeyVersion, type VersionedKey } from '../crypto/field-cipher.ts'
import type { CopyReport } from './copy-store.ts'
import { countRows } from './copy-store.ts'
import type { SqlEngine } from './engine.ts'
import { sealedPlaces, type SealedPlace } from './sealed-columns.ts'

export type CopyCheck = {
  /** Tables whose row count on the target differs from the rows copied. */
  countMismatches: string[]
  /** Sealed values opened on the target. */
  openedValues: number
  /** `table.column` of each sealed column with a sampled value that did not open, and how many. */
  unopened: { place: string; values: number }[]
}

const MASTER_KEY_VERSION = 1

/** Compares the target's row counts with the copy's and opens up to `samplePerTable` rows of each sealed table. */
export async function checkCopiedStore(target: SqlEngine, copied: CopyReport, masterKey: Uint8Array | null, samplePerTable = 64): Promise<CopyCheck> {
  const counts = await countRows(target)
  const countMismatches = [...copied.rows].filter(([table, rows]) => counts.get(table) !== rows).map(([table]) => table)
  if (masterKey === null) return { countMismatches, openedValues: 0, unopened: [] }
  const rings = new Map<string, Map<number, VersionedKey> | null>()
  const ringOf = async (owner: string) => {
    if (!rings.has(owner)) rings.set(owner, await loadRing(target, masterKey, owner))
    return rings.get(owner)!
  }
  let openedValues = 0
  const failures = new Map<string, number>()
  for (const place of sealedPlaces) {
    const rows = await target.all<Record<string, unknown>>(
      `SELECT ${rowIdSql(place, target.dialect)} AS row_id, ${place.owner} AS owner_id, ${place.columns.map((column) => `t.${column}`).join(', ')}
       FROM ${place.from.replace(/^user t/, '"user" t')} ORDER BY random() LIMIT ${samplePerTable}`)
    for (const row of rows) {
      const ring = await ringOf(String(row.owner_id))
      for (const column of place.columns) {
        const sealed = row[column]
        if (sealed === null || sealed === undefined) continue
        const version = sealed instanceof Uint8Array ? sealedKeyVersion(sealed) : null
        const key = version === null ? null : ring?.get(version) ?? null
        if (key !== null && openField(key, sealed as Uint8Array, { table: place.table, column, rowId: String(row.row_id) }) !== null) {
          openedValues++
        } else {
          const name = `${place.table}.${column}`
          failures.set(name, (failures.get(name) ?? 0) + 1)
        }
      }
    }
  }
  return { countMismatches, openedValues, unopened: [...failures].map(([place, values]) => ({ place, values })) }
}

/** True when the check found nothing wrong. */
export const isCopyIntact = (check: CopyCheck) => check.countMismatches.length === 0 && check.unopened.length === 0

/** The row id SQL of a sealed place on this engine (SQLite's hex() is encode() on PostgreSQL). */
function rowIdSql(place: SealedPlace, dialect: SqlEngine['dialect']): string {
  if (dialect === 'sqlite') return place.rowId
  return place.rowId.replace(/^lower\(hex\((.+)\)\)$/, "encode($1, 'hex')")
}

/** The owner's data keys by version, or null when one does not unwrap (every value of theirs then fails). */
async function loadRing(sql: SqlEngine, masterKey: Uint8Array, owner: string): Promise<Map<number, VersionedKey> | null> {
  const master: VersionedKey = { version: MASTER_KEY_VERSION, key: masterKey }
  const rows = await sql.all<{ version: number; wrapped: Uint8Array }>('SELECT version, wrapped FROM data_key WHERE owner_id = ?', owner)
  const ring = new Map<number, VersionedKey>()
  for (const row of rows) {
    const key = openField(master, row.wrapped, { table: 'data_key', column: 'wrapped', rowId: `${owner}/${row.version}` })
    if (key === null || key.length !== 32) return null
    ring.set(Number(row.version), { version: Number(row.version), key: new Uint8Array(key) })
  }
  return ring
}
