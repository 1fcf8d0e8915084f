/**
 * What `enclave keys status` reports: how many data keys exist per version, and how many sealed
 * values per key version in each encrypted column. Reads only headers (bytes 1-4 of each value),
 * never decrypts, so it runs in one pass of plain SQL.
 */
import type { SqlEngine } from './engine.ts'
import { FIELD_FORMAT_VERSION } from '../crypto/field-cipher.ts'
import { sealedPlaces } from './sealed-columns.ts'

export type KeyInventory = {
  /** Data keys per version: how many owners have a key of that version. */
  dataKeysByVersion: { version: number; count: number }[]
  owners: number
  /** Sealed values per key version across every encrypted column; 'unknown' counts values in no known format. */
  valuesByVersion: { version: number | 'unknown'; count: number }[]
  /** The same, per table.column. */
  valuesByColumn: { place: string; version: number | 'unknown'; count: number }[]
}

/** Counts data keys and sealed values per key version. */
export async function readKeyInventory(sql: SqlEngine): Promise<KeyInventory> {
  const dataKeysByVersion = (await sql.all<{ version: number; count: number }>('SELECT version, count(*) AS count FROM data_key GROUP BY version ORDER BY version'))
    .map((row) => ({ version: row.version, count: Number(row.count) }))
  const owners = Number((await sql.get<{ n: number }>('SELECT count(DISTINCT owner_id) AS n FROM data_key'))!.n)
  const valuesByColumn: KeyInventory['valuesByColumn'] = []
  const totals = new Map<number | 'unknown', number>()
  for (const place of sealedPlaces) {
    for (const column of place.columns) {
      const rows = await sql.all<{ header: Uint8Array | null; count: number }>(
        `SELECT substr(${column}, 1, 5) AS header, count(*) AS count FROM "${place.table}" WHERE ${column} IS NOT NULL GROUP BY header`)
      const byVersion = new Map<number | 'unknown', number>()
      for (const row of rows) {
        const version = headerVersion(row.header)
        byVersion.set(version, (byVersion.get(version) ?? 0) + Number(row.count))
      }
      for (const [version, count] of byVersion) {
        valuesByColumn.push({ place: `${place.table}.${column}`, version, count })
        totals.set(version, (totals.get(version) ?? 0) + count)
      }
    }
  }
  const valuesByVersion = [...totals].map(([version, count]) => ({ version, count }))
    .sort((a, b) => (a.version === 'unknown' ? 1 : b.version === 'unknown' ? -1 : a.version - b.version))
  return { dataKeysByVersion, owners, valuesByVersion, valuesByColumn }
}

function headerVersion(header: Uint8Array | null): number | 'unknown' {
  if (!(header instanceof Uint8Array) || header.length < 5 || header[0] !== FIELD_FORMAT_VERSION) return 'unknown'
  return ((header[1]! << 24) | (header[2]! << 16) | (header[3]! << 8) | header[4]!) >>> 0
}
