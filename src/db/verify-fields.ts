/**
 * `enclave keys verify`: opens every sealed value of the database under its owner's data key and
 * names each one that fails (table, column, row id), without changing anything. A data key that
 * does not unwrap fails too, and with it every value of its owner. Runs on either engine, reading
 * each table page by page in its primary key's order.
 */
import { openField, sealedKeyVersion } from '../crypto/field-cipher.ts'
import type { DataKeyRepo, KeyRing } from './data-keys.ts'
import type { SqlEngine, SqlValue } from './engine.ts'
import { afterKey, rowIdOf, sealedPlaces, type SealedPlace } from './sealed-columns.ts'

export type FieldFailure = { table: string; column: string; rowId: string }
export type VerifyReport = { checkedValues: number; failures: FieldFailure[] }

const PAGE_ROWS = 500
/** The meta row message-aad-upgrade.ts keeps while messages sealed before schema 6 wait to be re-sealed. */
const LEGACY_MARK = 'message_legacy_aad_up_to'
const LEGACY_FIELDS = ['model', 'images', 'artifacts', 'stats'] as const

/** Opens every sealed value; reports at most `maxFailures` failures (the count of checked values is exact). */
export async function verifySealedFields(sql: SqlEngine, dataKeys: DataKeyRepo, maxFailures = 1000): Promise<VerifyReport> {
  const failures: FieldFailure[] = (await dataKeys.findUnopenableKeys()).map((rowId) => ({ table: 'data_key', column: 'wrapped', rowId }))
  const rings = new Map<string, KeyRing | null>()
  const ringOf = async (owner: string): Promise<KeyRing | null> => {
    if (!rings.has(owner)) rings.set(owner, await dataKeys.ringFor(owner).catch(() => null))
    return rings.get(owner)!
  }
  // note: a restored backup from before schema 6 holds messages sealed without their chat id until the store next starts.
  const legacyUpTo = await readLegacyMark(sql)
  const legacyRowId = (table: string, rowId: string) => {
    const id = table === 'message' && legacyUpTo !== null ? Number(rowId.slice(rowId.lastIndexOf('/') + 1)) : NaN
    return id <= legacyUpTo! ? String(id) : null
  }
  let checkedValues = 0
  const check = (table: string, column: string, rowId: string, sealed: unknown, ring: KeyRing | null, aadRowIds: string[], reportAs = table) => {
    if (sealed === null) return
    checkedValues++
    const version = sealed instanceof Uint8Array ? sealedKeyVersion(sealed) : null
    const key = version === null || ring === null ? null : ring.byVersion(version)
    const opened = key === null ? null : aadRowIds.some((aadRowId) => openField(key, sealed as Uint8Array, { table, column, rowId: aadRowId }) !== null)
    if (opened !== true && failures.length < maxFailures) failures.push({ table: reportAs, column, rowId })
  }
  for (const place of sealedPlaces) {
    for await (const row of pagesOf(sql, place, `${rowIdOf(place, sql.dialect)} AS row_id, ${place.owner} AS owner_id, ${place.columns.map((column) => `t.${column}`).join(', ')}`)) {
      const rowId = String(row.row_id)
      const ring = await ringOf(String(row.owner_id))
      const legacy = legacyRowId(place.table, rowId)
      for (const column of place.columns) check(place.table, column, rowId, row[column], ring, legacy === null ? [rowId] : [rowId, legacy])
    }
  }
  // note: their other old fields wait in message_legacy, sealed under the message's id alone.
  const legacyPlace: SealedPlace = {
    table: 'message_legacy', columns: LEGACY_FIELDS, from: 'message_legacy t JOIN message m ON m.id = t.id JOIN chat c ON c.seq = m.chat_seq',
    rowId: 't.id', owner: 'c.user_id', key: ['t.id'], ownedBy: 'c.user_id = ?',
  }
  for await (const row of pagesOf(sql, legacyPlace, `t.id AS row_id, c.user_id AS owner_id, ${LEGACY_FIELDS.map((column) => `t.${column}`).join(', ')}`)) {
    const ring = await ringOf(String(row.owner_id))
    for (const column of LEGACY_FIELDS) check('message', column, String(row.row_id), row[column], ring, [String(row.row_id)], 'message_legacy')
  }
  return { checkedValues, failures }
}

/** The rows of a place, `columns` selected, page by page in the order of its primary key. */
export async function* pagesOf(sql: SqlEngine, place: SealedPlace, columns: string, where = 'TRUE', params: SqlValue[] = []): AsyncGenerator<Record<string, unknown>> {
  const keyNames = place.key.map((_, i) => `k${i}`)
  const select = (after: string) =>
    `SELECT ${place.key.map((column, i) => `${column} AS ${keyNames[i]}`).join(', ')}, ${columns} FROM ${place.from}
     WHERE ${where}${after} ORDER BY ${place.key.join(', ')} LIMIT ?`
  let cursor: SqlValue[] | null = null
  for (;;) {
    const rows: Record<string, unknown>[] = cursor === null
      ? await sql.all(select(''), ...params, PAGE_ROWS)
      : await sql.all(select(` AND ${afterKey(place)}`), ...params, ...cursor, PAGE_ROWS)
    yield* rows
    if (rows.length < PAGE_ROWS) return
    const last = rows.at(-1)!
    cursor = keyNames.map((name) => last[name] as SqlValue)
  }
}

/** The highest message id still sealed the old way, or null (message-aad-upgrade.ts keeps it; meta values are UTF-8 text in BYTEA on PostgreSQL). */
async function readLegacyMark(sql: SqlEngine): Promise<number | null> {
  const row = await sql.get<{ value: unknown }>('SELECT value FROM meta WHERE name = ?', LEGACY_MARK)
  if (row === null) return null
  return row.value instanceof Uint8Array ? Number(new TextDecoder().decode(row.value)) : Number(row.value)
}
