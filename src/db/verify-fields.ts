/**
 * `enclave keys verify`: opens every sealed value of the database under its owner's data key and
 * names each one that fails (table, column, row id), without changing anything. A data key that
 * does not unwrap fails too, and with it every value of its owner.
 */
import type { Database } from 'bun:sqlite'
import { openField, sealedKeyVersion } from '../crypto/field-cipher.ts'
import type { DataKeyRepo, KeyRing } from './data-keys.ts'
import { readLegacyMessageMark } from './message-aad-upgrade.ts'
import { sealedPlaces } from './sealed-columns.ts'

export type FieldFailure = { table: string; column: string; rowId: string }
export type VerifyReport = { checkedValues: number; failures: FieldFailure[] }

/** Opens every sealed value; reports at most `maxFailures` failures (the count of checked values is exact). */
export function verifySealedFields(db: Database, dataKeys: DataKeyRepo, maxFailures = 1000): VerifyReport {
  const failures: FieldFailure[] = dataKeys.findUnopenableKeys().map((rowId) => ({ table: 'data_key', column: 'wrapped', rowId }))
  const rings = new Map<string, KeyRing | null>()
  const ringOf = (owner: string): KeyRing | null => {
    if (!rings.has(owner)) {
      try {
        rings.set(owner, dataKeys.keysForOwner(owner))
      } catch {
        rings.set(owner, null)
      }
    }
    return rings.get(owner)!
  }
  // note: a restored backup from before schema 6 holds messages sealed without their chat id until the store next starts.
  const legacyUpTo = readLegacyMessageMark(db)
  const legacyRowId = (table: string, rowId: string) => {
    const id = table === 'message' && legacyUpTo !== null ? Number(rowId.slice(rowId.lastIndexOf('/') + 1)) : NaN
    return id <= legacyUpTo! ? String(id) : null
  }
  let checkedValues = 0
  for (const place of sealedPlaces) {
    const select = db.query<Record<string, unknown>, []>(
      `SELECT ${place.rowId} AS row_id, ${place.owner} AS owner_id, ${place.columns.map((column) => `t.${column}`).join(', ')} FROM ${place.from}`)
    for (const row of select.iterate()) {
      const rowId = String(row.row_id)
      const ring = ringOf(String(row.owner_id))
      for (const column of place.columns) {
        const sealed = row[column]
        if (sealed === null) continue
        checkedValues++
        const version = sealed instanceof Uint8Array ? sealedKeyVersion(sealed) : null
        const key = version === null || ring === null ? null : ring.byVersion(version)
        const legacy = legacyRowId(place.table, rowId)
        const opened = key === null ? null : openField(key, sealed as Uint8Array, { table: place.table, column, rowId })
          ?? (legacy === null ? null : openField(key, sealed as Uint8Array, { table: place.table, column, rowId: legacy }))
        if (opened === null && failures.length < maxFailures) failures.push({ table: place.table, column, rowId })
      }
    }
  }
  // note: their other old fields wait in message_legacy, sealed under the message's id alone.
  const legacyFields = db.query<Record<string, unknown>, []>(
    `SELECT l.id, c.user_id AS owner_id, ${LEGACY_FIELDS.map((column) => `l.${column}`).join(', ')}
     FROM message_legacy l JOIN message m ON m.id = l.id JOIN chat c ON c.seq = m.chat_seq`)
  for (const row of legacyFields.iterate()) {
    const ring = ringOf(String(row.owner_id))
    for (const column of LEGACY_FIELDS) {
      const sealed = row[column]
      if (sealed === null) continue
      checkedValues++
      const version = sealed instanceof Uint8Array ? sealedKeyVersion(sealed) : null
      const key = version === null || ring === null ? null : ring.byVersion(version)
      const opened = key === null ? null : openField(key, sealed as Uint8Array, { table: 'message', column, rowId: String(row.id) })
      if (opened === null && failures.length < maxFailures) failures.push({ table: 'message_legacy', column, rowId: String(row.id) })
    }
  }
  return { checkedValues, failures }
}

const LEGACY_FIELDS = ['model', 'images', 'artifacts', 'stats'] as const
